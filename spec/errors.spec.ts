import { expect } from 'chai';
import * as errors from '../lib/errors';
import * as waymark from '../lib';

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

  it('are all exported from the package entry point', () => {
    for (const [name, Class] of classes) expect((waymark as Record<string, unknown>)[name], name).to.equal(Class);
    expect(waymark.WaymarkError).to.equal(errors.WaymarkError);
  });

  it('never throw while being built, even from odd values', () => {
    expect(new errors.WorkflowBusyError('wf', 'someone', Number.NaN).message).to.equal("workflow 'wf' is already running (lease held by someone)");
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
