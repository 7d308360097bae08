/** The testing patterns README.md recommends, proven. */
import { expect } from 'chai';
import sinon from 'sinon';
import { Step } from '../../decorators';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';

class Etl {
  @Step() extract() {
    return [1, 2];
  }
  @Step() transform(ctx: StepContext<unknown, number[]>) {
    return ctx.previous.map((x) => x * 10);
  }
  @Step() load(ctx: StepContext<unknown, number[]>) {
    return ctx.previous.length;
  }
}

describe('testing with sinon', () => {
  it('a createStubInstance(MemoryStorage) storage sees exactly one commit per step', async () => {
    const storage = sinon.createStubInstance(MemoryStorage);
    storage.acquireLease.resolves({ acquired: true, lease: { workflowId: 'etl', owner: 'test', token: 't', expiresAt: Date.now() + 60_000 } });
    const result = await new WorkflowRunner({ storage }).run(new Etl(), { workflowId: 'etl' });
    expect(result.output).to.equal(2);
    sinon.assert.calledThrice(storage.commit);
    expect(storage.commit.getCalls().map((c) => c.args[1].step)).to.deep.equal(['extract', 'transform', 'load']);
    // The record: once before the first step, once after the last commit to mark it completed.
    sinon.assert.calledTwice(storage.writeRecord);
    expect(storage.writeRecord.secondCall.args[1].completion).to.deep.include({ runId: result.runId, output: 2 });
    sinon.assert.calledOnce(storage.releaseLease);
  });

  it('fake timers drive retries with backoff: 1 s + 2 s + 4 s of delays without waiting for them', async () => {
    const clock = sinon.useFakeTimers();
    try {
      let calls = 0;
      class Flaky {
        @Step({ retry: { attempts: 4, delayMs: 1_000, backoff: 2 } }) call() {
          if (++calls < 4) throw new Error('503 from upstream');
          return 'ok';
        }
      }
      // Backoffs up to 10 s are slept in-process (longer ones would wait durably: the run ends 'waiting').
      const run = new WorkflowRunner({ maxInlineWaitMs: 10_000 }).run(new Flaky(), { workflowId: 'flaky' });
      await clock.tickAsync(6_999);
      expect(calls).to.equal(3, 'the third retry waits for the 4 s delay');
      await clock.tickAsync(1);
      const result = await run;
      expect(result.output).to.equal('ok');
      expect(result.steps.call.attempts).to.equal(4);
    } finally {
      clock.restore();
    }
  });
});
