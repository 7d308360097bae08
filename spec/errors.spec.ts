import { expect } from 'chai';
import * as errors from '../lib/errors';
import * as waymark from '../lib';
import type { RunResult, RunStatus } from '../lib/runner/run-result';

const classes = Object.entries(errors).filter(([, value]) => typeof value === 'function' && value.prototype instanceof errors.WaymarkError) as [string, new (...args: never[]) => errors.WaymarkError][];

/** One instance of each error class, built with placeholder arguments. */
function instance(Class: new (...args: never[]) => errors.WaymarkError): errors.WaymarkError {
  const args = ['wf-1', 'step-a', 'x', 'y', 'z'];
  if (Class === errors.WorkflowFailedError || Class === errors.WorkflowCancelledError) {
    return new (Class as unknown as new (...a: unknown[]) => errors.WaymarkError)({ workflowId: 'wf-1', runId: 'r', workflowName: 'W', status: 'failed', steps: {}, fingerprint: 'f' }, new Error('cause'));
  }
  if (Class === errors.WorkflowDefinitionChangedError || Class === errors.WorkflowInputError) {
    return new (Class as unknown as new (...a: unknown[]) => errors.WaymarkError)('wf-1', Class === errors.WorkflowInputError ? 'Input' : ['a changed'], []);
  }
  if (Class === errors.WorkflowBusyError) return new errors.WorkflowBusyError('wf-1', 'pid 7 on host-a', Date.UTC(2026, 0, 1));
  if (Class === errors.RetryLater) return new errors.RetryLater(60_000);
  if (Class === errors.PollTimeoutError) return new errors.PollTimeoutError('wf-1', 'step-a', 3, 1_000);
  if (Class === errors.ChildWorkflowFailedError) return new errors.ChildWorkflowFailedError('wf-1', 'step-a', 2, [{ index: 1, childId: 'wf-1/step-a/1', status: 'failed', code: 'E', message: 'boom' }]);
  if (Class === errors.MigrationRefusedError) return new errors.MigrationRefusedError('wf-1', 1, 2, ["committed step 'a' of version 1 is not a step of version 2"]);
  if (Class === errors.WorkflowVersionMismatchError) return new errors.WorkflowVersionMismatchError('wf-1', 'order', 1, 2);
  if (Class === errors.WorkflowNotRegisteredError) return new errors.WorkflowNotRegisteredError('wf-1', 'order', 1, [2]);
  if (Class === errors.FanOutFailedError) return new errors.FanOutFailedError('wf-1', 'step-a', 10, 0, [{ index: 3, code: 'E', message: 'boom', attempts: 1 }]);
  return new (Class as unknown as new (...a: unknown[]) => errors.WaymarkError)(...args);
}

/** A run result of workflow 'order-7', as a failed or cancelled run gives it. */
const run = (status: RunStatus = 'failed'): RunResult => ({ workflowId: 'order-7', runId: 'run-1', workflowName: 'order', status, steps: {}, fingerprint: 'f' });

/**
 * One realistic instance of every error class, and its whole message: what a user reads, said once.
 * A new class without a row here fails the spec.
 */
const MESSAGES: [() => errors.WaymarkError, string][] = [
  [
    () => new errors.WorkflowDefinitionError("'after' names unknown step 'fecth' (steps: fetch, charge)", 'Order', 'charge'),
    "Order.charge: 'after' names unknown step 'fecth' (steps: fetch, charge)",
  ],
  [
    () => new errors.WorkflowDefinitionChangedError('order-7', ["step 'charge' now depends on 'check', which has not run"]),
    "workflow 'order-7': the step graph changed since its checkpoints were committed: step 'charge' now depends on 'check', which has not run. Run with resume: false (or clear the workflow) to start over",
  ],
  [
    () => new errors.WorkflowVersionMismatchError('order-7', 'order', 1, 2),
    "workflow 'order-7': its run is pinned to order@1, and this run was given order@2: nothing was run or changed. Resume it by id (runner.resume picks the run's own version), move it with runner.migrate(id, { to: 2 }), or start it over with resume: false",
  ],
  [
    () => new errors.MigrationRefusedError('order-7', 1, 2, ["committed step 'pay' is not a step of version 2"]),
    "workflow 'order-7': cannot move from version 1 to 2: committed step 'pay' is not a step of version 2. Nothing was changed; declare the move in @Workflow({ migrate }) or finish the run under version 1",
  ],
  [
    () => new errors.RestartRefusedError('order-7', 'charge', 'no such step in its graph (order@1: fetch, ship)'),
    "workflow 'order-7': cannot restart from step 'charge': no such step in its graph (order@1: fetch, ship). Nothing was changed",
  ],
  [
    () => new errors.InvalidInputChangePolicyError('ignore', "@OnInputChange of class 'Order'"),
    "@OnInputChange of class 'Order': invalid input-change policy 'ignore'; expected 'reuse', 'reset', 'raise' or a function (change) => one of them",
  ],
  [
    () => new errors.InvalidOptionError('concurrency', 0, 'an integer >= 1'),
    "option 'concurrency' is 0; expected an integer >= 1",
  ],
  [
    () => new errors.InputChangedError('order-7', 'sha256:aa', 'sha256:bb'),
    "workflow 'order-7': input changed since the checkpoints were written (stored fingerprint sha256:aa, current sha256:bb); policy is 'raise', nothing was run or written",
  ],
  [
    () => new errors.UnfingerprintableInputError('input.callback', 'a function'),
    'input at input.callback cannot be fingerprinted: a function',
  ],
  [
    () => new errors.InvalidFingerprintPathError('items.', 'it ends with a dot'),
    "fingerprint path 'items.' is invalid: it ends with a dot",
  ],
  [
    () => new errors.WorkflowInputError('order-7', 'OrderInput', [{ property: 'quantity', constraints: { min: 'quantity must not be less than 1' } }]),
    "workflow 'order-7': input is not a valid OrderInput: quantity (quantity must not be less than 1)",
  ],
  [
    () => new errors.CheckpointSerializationError('order-7', 'fetch', 'output.client', 'a function'),
    "workflow 'order-7', step 'fetch': output at output.client cannot be checkpointed: a function",
  ],
  [
    () => new errors.InputSerializationError('order-7', 'input.socket', 'a Socket instance'),
    "workflow 'order-7': input at input.socket cannot be stored: a Socket instance. The input is stored so that any process can resume the workflow by its id: pass plain data (JSON values, Date, Map, Set, BigInt, Buffer) and keep clients and connections on the workflow instance",
  ],
  [
    () => new errors.WorkflowNotFoundError('order-7'),
    "workflow 'order-7': nothing is stored under this id (it never ran with this storage, or was cleared or pruned): start it with runner.run(instance, { workflowId, input })",
  ],
  [
    () => new errors.WorkflowNotRegisteredError('order-7', 'order', 1, [2]),
    "workflow 'order-7': its run is pinned to order@1 and this runner has order@2 only: nothing was run or changed. Register the class of version 1 beside the new one (workflows: [...]), or move the run with runner.migrate(id, { to }) / waymark migrate",
  ],
  [
    () => new errors.EventSerializationError('order-7', 'approved', 'payload.at', 'a function'),
    "workflow 'order-7': event 'approved': payload at payload.at cannot be stored: a function. Send plain data (JSON values, Date, Map, Set, BigInt, Buffer)",
  ],
  [
    () => new errors.EventTimeoutError('order-7', 'approve', 'approved', 60_000),
    "workflow 'order-7', step 'approve': no 'approved' event arrived within 60000 ms of the step becoming ready (waitFor.timeoutMs); use onTimeout: 'run' to run it anyway",
  ],
  [
    () => new errors.RetryLater(new Date(Date.UTC(2026, 0, 1))),
    'not ready yet; look again at 2026-01-01T00:00:00.000Z',
  ],
  [
    () => new errors.PollTimeoutError('order-7', 'await-payment', 12, 3_600_000),
    "workflow 'order-7', step 'await-payment': still not ready after 12 polls and 3600000 ms (poll.timeoutMs); raise it, or use onTimeout: 'run' to let the step decide on its last call",
  ],
  [
    () => new errors.CheckpointCorruptedError('order-7', 'checkpoint fetch', 'not JSON'),
    "workflow 'order-7': stored data at checkpoint fetch is corrupted: not JSON. To recover, run it with resume: false (replaces what is stored) or clear it (storage.clear, or 'waymark clear order-7'); its committed steps will run again",
  ],
  [
    () => new errors.InvalidWorkflowIdError('order\u00007', 'it holds a control character'),
    "workflow id \"order\\u00007\" is invalid: it holds a control character",
  ],
  [
    () => new errors.UnsupportedNodeError('20.19.0', '>=22'),
    'waymark needs Node.js >=22; this is Node.js 20.19.0. Install a supported long-term-support line (22 or 24), or run with one: npx --package node@24 -- node your-app.js',
  ],
  [
    () => new errors.NonRetryableError('card declined'),
    'card declined',
  ],
  [
    () => new errors.StepDependencyError('order-7', 'charge', "ctx.result('ship') asks for a step that is not a dependency of this one (dependencies: fetch); add it to @Step({ after: [...] })"),
    "workflow 'order-7', step 'charge': ctx.result('ship') asks for a step that is not a dependency of this one (dependencies: fetch); add it to @Step({ after: [...] })",
  ],
  [
    () => new errors.StepTimeoutError('order-7', 'charge', 2, 5_000),
    "workflow 'order-7', step 'charge': attempt 2 timed out after 5000 ms",
  ],
  [
    () => new errors.StepFailedError('order-7', 'charge', 3, new errors.StepTimeoutError('order-7', 'charge', 3, 5_000)),
    "workflow 'order-7', step 'charge' failed after 3 attempts: attempt 3 timed out after 5000 ms",
  ],
  [
    () => new errors.FanOutListError('order-7', 'notify', 'undefined'),
    "workflow 'order-7', step 'notify': forEach returned undefined; it must return an array of the items to run the step for (or a promise of one)",
  ],
  [
    () => new errors.FanOutFailedError('order-7', 'notify', 100, 5, [{ index: 4, code: 'BOUNCED', message: 'mailbox full', attempts: 3 }]),
    "workflow 'order-7', step 'notify': 1 of 100 items failed, more than the 5 its toleratedFailures allows: item 4 (BOUNCED: mailbox full). Committed items are kept: a resume runs only the items not committed",
  ],
  [
    () => new errors.ChildSpawnError('order-7', 'ship', "children[1].workflow 'Parcel' is not registered with this runner"),
    "workflow 'order-7', step 'ship': spawn cannot start its child workflows: children[1].workflow 'Parcel' is not registered with this runner",
  ],
  [
    () => new errors.ChildIdTakenError('order-7', 'ship', 'parcel-1', "workflow 'parcel' (status running)"),
    "workflow 'order-7', step 'ship': child workflow id 'parcel-1' is taken by workflow 'parcel' (status running), which has not ended; give the child another id in spawn, or cancel or clear 'parcel-1', then resume",
  ],
  [
    () => new errors.ChildWorkflowFailedError('order-7', 'ship', 3, [{ index: 1, childId: 'order-7/ship/1', status: 'failed', code: 'NO_STOCK', message: 'no stock in b' }]),
    "workflow 'order-7', step 'ship': 1 of 3 child workflows did not complete: child 'order-7/ship/1' failed (NO_STOCK: no stock in b). A resume of this workflow resumes its failed children and waits for them again",
  ],
  [
    () => new errors.StorageError('order-7', 'commit', new Error('EIO'), 'charge', '/data/order-7/charge.json'),
    "workflow 'order-7', step 'charge': storage commit failed at /data/order-7/charge.json: EIO",
  ],
  [
    () => new errors.RecordConflictError('order-7', 's3://bucket/wm/order-7/record.json'),
    "workflow 'order-7': the record at s3://bucket/wm/order-7/record.json was changed by another writer",
  ],
  [
    () => new errors.WorkflowBusyError('order-7', 'worker (pid 7 on host-a)', Date.UTC(2026, 0, 1)),
    "workflow 'order-7' is already running: its lease is held by worker (pid 7 on host-a) until 2026-01-01T00:00:00.000Z",
  ],
  [
    () => new errors.LeaseLostError('order-7', 'charge'),
    "workflow 'order-7', step 'charge': the lease on this workflow was lost; nothing was committed",
  ],
  [
    () => new errors.CompensationFailedError('order-7', 'charge', 3, new Error('refund API down')),
    "workflow 'order-7', step 'charge' compensation failed after 3 attempts: refund API down; resume the workflow to try it again",
  ],
  [
    () => new errors.WorkflowFailedError(run(), new errors.StepFailedError('order-7', 'ship', 0, new errors.ChildWorkflowFailedError('order-7', 'ship', 3, [{ index: 1, childId: 'order-7/ship/1', status: 'failed', code: 'NO_STOCK', message: 'no stock in b' }]))),
    "workflow 'order-7' failed: step 'ship' failed: 1 of 3 child workflows did not complete: child 'order-7/ship/1' failed (NO_STOCK: no stock in b). A resume of this workflow resumes its failed children and waits for them again",
  ],
  [
    () => new errors.RunInterruptedError('the worker stopped'),
    'interrupted: the worker stopped; the workflow stays running and another worker resumes it',
  ],
  [
    () => new errors.WorkflowCancelledError(run('cancelled')),
    "workflow 'order-7' was cancelled",
  ],
  [
    () => new errors.InvalidFlowKeyError('order-7', 'quote', 'a key must be a string, got undefined'),
    "workflow 'order-7', step 'quote': its limit key function returned no key (a key must be a string, got undefined): return a name of 1-100 characters, then resume the workflow",
  ],
  [
    () => new errors.InvalidFlowKeyError('order-7', undefined, 'a key must have 1-100 characters, got 0'),
    "workflow 'order-7': its concurrency key function returned no key (a key must have 1-100 characters, got 0): return a name of 1-100 characters, then resume the workflow",
  ],
  [
    () => new errors.WorkflowCancelRequestedError('order-7', 'customer cancelled'),
    "workflow 'order-7': cancelled by id: customer cancelled",
  ],
];

describe('errors', () => {
  it('form one hierarchy rooted at WaymarkError, each class with its own stable code', () => {
    expect(classes.length).to.be.greaterThan(15);
    const codes = new Map<string, string>();
    for (const [name, Class] of classes) {
      const error = instance(Class);
      expect(error).to.be.instanceOf(errors.WaymarkError).and.instanceOf(Error);
      expect(error.name).to.equal(name);
      expect(error.code, name).to.match(/^WAYMARK_[A-Z_]+$/);
      expect(codes.has(error.code), `${name} reuses ${error.code} of ${codes.get(error.code)}`).to.equal(false);
      codes.set(error.code, name);
      if (Class !== errors.NonRetryableError) expect(error.message.length, name).to.be.greaterThan(10); // NonRetryableError carries the user's own message
    }
  });

  it('have every class\'s whole message written down here, realistic and said once', () => {
    const covered = new Set<string>();
    for (const [make, expected] of MESSAGES) {
      const error = make();
      covered.add(error.name);
      expect(error.message, error.name).to.equal(expected);
    }
    expect(classes.map(([name]) => name).filter((name) => !covered.has(name)), 'classes without a written message').to.deep.equal([]);
  });

  it('say each thing once: the workflow id and each quoted name at most once, no nested quotes, no doubled punctuation', () => {
    for (const [make] of MESSAGES) {
      const { name, message } = make();
      expect(message.split("workflow 'order-7'").length - 1, `${name} names the workflow more than once: ${message}`).to.be.at.most(1);
      expect(message, name).not.to.match(/''|""|'"|"'|(?<!\.)\.\.(?!\.)|: :|;;|,,|\s$|\.$/);
      expect(message, name).not.to.match(/after 0 attempts/);
      // A quoted name said twice in a row ("'ship': 'ship' is …") says it once too many.
      expect(message, name).not.to.match(/('[^']+'): \1/);
    }
  });

  it('are all exported from the package entry point', () => {
    for (const [name, Class] of classes) expect((waymark as Record<string, unknown>)[name], name).to.equal(Class);
    expect(waymark.WaymarkError).to.equal(errors.WaymarkError);
  });

  it('never throw while being built, even from odd values', () => {
    expect(new errors.WorkflowBusyError('wf', 'someone', Number.NaN).message).to.equal("workflow 'wf' is already running: its lease is held by someone");
    expect(new errors.WorkflowBusyError('wf').message).to.equal("workflow 'wf' is already running");
  });

  it('name what was wrong and where', () => {
    expect(new errors.InputChangedError('order-42', 'aa', 'bb').message).to.contain("'order-42'").and.contain('aa').and.contain('bb');
    expect(new errors.StorageError('order-42', 'commit', new Error('EIO'), 'load', '/data/x.json').message).to.contain("'order-42'").and.contain("'load'").and.contain('commit').and.contain('/data/x.json').and.contain('EIO');
    expect(new errors.CheckpointSerializationError('order-42', 'load', 'output.rows[0]', 'a function').message).to.contain('output.rows[0]').and.contain("'load'");
  });

  it('name the failed items of a fan-out, the first three in full', () => {
    const failures = [4, 9, 17, 21, 30].map((index) => ({ index, code: 'CARD_DECLINED', message: `declined ${index}`, attempts: 2 }));
    const error = new errors.FanOutFailedError('order-9', 'charge', 40, 2, failures);
    expect(error.message).to.equal(
      "workflow 'order-9', step 'charge': 5 of 40 items failed, more than the 2 its toleratedFailures allows: item 4 (CARD_DECLINED: declined 4); item 9 (CARD_DECLINED: declined 9); item 17 (CARD_DECLINED: declined 17), and 2 more. Committed items are kept: a resume runs only the items not committed",
    );
    expect(error.failures).to.equal(failures);
    expect(new errors.FanOutListError('order-9', 'charge', 'undefined')).to.be.instanceOf(errors.NonRetryableError);
  });

  it('say each thing once when one wraps another', () => {
    const timeout = new errors.StepTimeoutError('co', 'price', 1, 20);
    expect(timeout.message).to.equal("workflow 'co', step 'price': attempt 1 timed out after 20 ms");
    const step = new errors.StepFailedError('co', 'price', 1, timeout);
    expect(step.message).to.equal("workflow 'co', step 'price' failed after 1 attempt: attempt 1 timed out after 20 ms");
    const run = new errors.WorkflowFailedError({ workflowId: 'co', runId: 'r', workflowName: 'W', status: 'failed', steps: {}, fingerprint: 'f' }, step);
    expect(run.message).to.equal("workflow 'co' failed: step 'price' failed after 1 attempt: attempt 1 timed out after 20 ms");
    // A cause about another workflow, or a plain error, is quoted whole.
    expect(new errors.StepFailedError('co', 'price', 2, new errors.LeaseLostError('other')).message).to.contain("failed after 2 attempts: workflow 'other': the lease");
    expect(new errors.StepFailedError('co', 'price', 1, new Error('ECONNRESET')).message).to.equal("workflow 'co', step 'price' failed after 1 attempt: ECONNRESET");
    // A storage error of the run's own workflow, about another step, keeps its step.
    const storage = new errors.StorageError('co', 'commit', new Error('EIO'), 'ship');
    expect(new errors.WorkflowFailedError({ workflowId: 'co', runId: 'r', workflowName: 'W', status: 'failed', steps: {}, fingerprint: 'f' }, storage).message).to.equal(
      "workflow 'co' failed: step 'ship': storage commit failed: EIO",
    );
  });
});
