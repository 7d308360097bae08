import { expect } from 'chai';
import { UnrecoverableError } from 'bullmq';
import { failureMessage, isTerminal, jobFailure, rootCause } from '../../lib/bullmq/job-failure';
import {
  CheckpointCorruptedError,
  CompensationFailedError,
  InputChangedError,
  InvalidOptionError,
  NonRetryableError,
  StepDependencyError,
  StepFailedError,
  StorageError,
  WorkflowBusyError,
  WorkflowFailedError,
  WorkflowNotRegisteredError,
} from '../../lib/errors';
import type { RunResult } from '../../lib/runner/run-result';

const result: RunResult = { workflowId: 'wf', runId: 'r', workflowName: 'n', status: 'failed', steps: {}, fingerprint: 'f' };
const failedWith = (error: unknown, attempts = 2) => new WorkflowFailedError(result, new StepFailedError('wf', 'pay', attempts, error));

describe('bullmq job failures', () => {
  it("finds a failed step's own error behind the run's failure, and nothing behind other errors", () => {
    const own = new Error('declined');
    expect(rootCause(failedWith(own))).to.equal(own);
    const other = new StorageError('wf', 'load', new Error('disk'));
    expect(rootCause(other)).to.equal(other);
    const bare = new WorkflowFailedError(result, new Error('lease'));
    expect(rootCause(bare)).to.equal(bare);
  });

  it('calls terminal what another delivery cannot fix, directly or as a step error, and nothing else', () => {
    expect(isTerminal(new InputChangedError('wf', 'a', 'b'))).to.equal(true);
    expect(isTerminal(new WorkflowNotRegisteredError('wf', 'n'))).to.equal(true);
    expect(isTerminal(new InvalidOptionError('x', 1, 'y'))).to.equal(true);
    expect(isTerminal(failedWith(new NonRetryableError('stolen')))).to.equal(true);
    expect(isTerminal(failedWith(new StepDependencyError('wf', 'pay', 'charge')))).to.equal(true);
    expect(isTerminal(new CheckpointCorruptedError('wf', 'x', 'y'))).to.equal(true);
    expect(isTerminal(failedWith(new Error('declined')))).to.equal(false);
    expect(isTerminal(new StorageError('wf', 'load', new Error('disk')))).to.equal(false);
    expect(isTerminal(new WorkflowBusyError('wf'))).to.equal(false);
    expect(isTerminal('a string')).to.equal(false);
  });

  it("puts the step error's own code first, then the message and the step", () => {
    expect(failureMessage(failedWith(Object.assign(new Error('card declined'), { code: 'CARD_DECLINED' }), 3))).to.equal("CARD_DECLINED: card declined (step 'pay', after 3 attempts)");
    // No code of its own: the run's.
    expect(failureMessage(failedWith(new Error('boom'), 1))).to.equal("WAYMARK_WORKFLOW_FAILED: boom (step 'pay', after 1 attempt)");
    expect(failureMessage(failedWith(Object.assign(new Error('boom'), { code: '' }), 1))).to.match(/^WAYMARK_WORKFLOW_FAILED: /);
    expect(failureMessage(failedWith(Object.assign(new Error('boom'), { code: 7 }), 1))).to.match(/^WAYMARK_WORKFLOW_FAILED: /);
    expect(failureMessage(new StorageError('wf', 'load', new Error('disk')))).to.match(/^WAYMARK_STORAGE: /);
    expect(failureMessage('plain')).to.equal('WAYMARK_RUN_FAILED: plain');
    expect(failureMessage(null)).to.equal('WAYMARK_RUN_FAILED: null');
  });

  it('turns terminal errors into UnrecoverableError and others into plain errors, keeping the original as a hidden cause', () => {
    const terminal = new NonRetryableError('stolen');
    const failure = jobFailure(failedWith(terminal));
    expect(failure).to.be.instanceOf(UnrecoverableError);
    expect(failure.message).to.equal("WAYMARK_NON_RETRYABLE: stolen (step 'pay', after 2 attempts)");
    const retryable = failedWith(new Error('declined'));
    const plain = jobFailure(retryable);
    expect(plain).to.not.be.instanceOf(UnrecoverableError);
    expect(plain.cause).to.equal(retryable);
    expect(Object.keys(plain)).to.not.include('cause');
  });

  it('a workflow that compensated is finished (terminal); one whose compensation failed is retried, the failure naming it', () => {
    const cause = new StepFailedError('wf', 'issue', 1, Object.assign(new Error('sold out'), { code: 'NO_TICKETS' }));
    const compensated = new WorkflowFailedError({ ...result, status: 'compensated' }, cause);
    expect(isTerminal(compensated)).to.equal(true);
    expect(jobFailure(compensated)).to.be.instanceOf(UnrecoverableError);
    expect(failureMessage(compensated)).to.equal("NO_TICKETS: sold out (step 'issue', after 1 attempt); compensated");
    const refundDown = new WorkflowFailedError(result, cause, [new CompensationFailedError('wf', 'charge', 3, new Error('payments down'))]);
    expect(isTerminal(refundDown)).to.equal(false);
    expect(failureMessage(refundDown)).to.equal("NO_TICKETS: sold out (step 'issue', after 1 attempt); compensation failed for 'charge' (the next delivery tries again)");
  });

  it('a failed compensation is retried whatever error started it, a NonRetryableError too', () => {
    const stolen = new StepFailedError('wf', 'pay', 1, new NonRetryableError('card stolen'));
    const refundDown = new WorkflowFailedError(result, stolen, [new CompensationFailedError('wf', 'charge', 3, new Error('payments down'))]);
    expect(isTerminal(refundDown)).to.equal(false);
    expect(jobFailure(refundDown)).to.not.be.instanceOf(UnrecoverableError);
    expect(isTerminal(new WorkflowFailedError({ ...result, status: 'compensated' }, stolen))).to.equal(true);
    expect(isTerminal(new WorkflowFailedError(result, stolen)), 'no compensation: the step error decides').to.equal(true);
  });
});
