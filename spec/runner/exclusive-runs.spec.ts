import { expect } from 'chai';
import sinon from 'sinon';
import { Step } from '../../decorators';
import { LeaseLostError, WorkflowBusyError, WorkflowFailedError } from '../../lib/errors';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { deferred } from '../helpers/deferred';

/** A one-step workflow whose step waits for `release`; `inside` resolves once it runs. */
function blockingWorkflow() {
  const inside = deferred();
  const release = deferred();
  const executions = { count: 0 };
  class Slow {
    @Step() async work() {
      executions.count++;
      inside.resolve();
      await release.promise;
      return 'done';
    }
  }
  return { Slow, inside, release, executions };
}

describe('exclusive runs', () => {
  it('a second run of the same workflow id gets WorkflowBusyError while the first holds the lease', async () => {
    const storage = new MemoryStorage();
    const { Slow, inside, release, executions } = blockingWorkflow();
    const runner = new WorkflowRunner({ storage, owner: 'worker-1' });
    const first = runner.run(new Slow(), { workflowId: 'job' });
    await inside.promise;
    const error = await new WorkflowRunner({ storage }).run(new Slow(), { workflowId: 'job' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowBusyError).and.include({ workflowId: 'job', holder: 'worker-1' });
    expect((error as Error).message).to.contain('worker-1');
    release.resolve();
    await first;
    expect(executions.count).to.equal(1);
  });

  it("with onBusy: 'wait' the second run waits for the lease, then resumes what the first committed", async () => {
    const storage = new MemoryStorage();
    const { Slow, inside, release, executions } = blockingWorkflow();
    const first = new WorkflowRunner({ storage }).run(new Slow(), { workflowId: 'job' });
    await inside.promise;
    const waiter = new WorkflowRunner({ storage, onBusy: 'wait', busyTimeoutMs: 10_000 }).run(new Slow(), { workflowId: 'job', resume: true });
    release.resolve();
    await first;
    const second = await waiter;
    expect(executions.count).to.equal(1);
    expect(second.steps.work.status).to.equal('restored');
  });

  it("gives up waiting after busyTimeoutMs", async () => {
    const storage = new MemoryStorage();
    await storage.acquireLease('job', 'someone else', 60_000);
    class One {
      @Step() a() {}
    }
    const error = await new WorkflowRunner({ storage, onBusy: 'wait', busyTimeoutMs: 30 }).run(new One(), { workflowId: 'job' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowBusyError).and.include({ holder: 'someone else' });
  });

  it('fails the run with LeaseLostError when renewal finds the lease gone, and commits nothing more', async () => {
    const storage = new MemoryStorage();
    sinon.stub(storage, 'renewLease').resolves(undefined);
    const commit = sinon.spy(storage, 'commit');
    const lost = deferred();
    class Long {
      @Step() first() {
        return 1;
      }
      @Step() second(ctx: StepContext) {
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
      }
      @Step() third() {
        return 3;
      }
    }
    const runner = new WorkflowRunner({ storage, leaseTtlMs: 30 });
    runner.on('lease:lost', () => lost.resolve());
    const error = await runner.run(new Long(), { workflowId: 'job' }).catch((e: unknown) => e);
    await lost.promise;
    expect(error).to.be.instanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).to.be.instanceOf(LeaseLostError);
    expect(commit.getCalls().map((c) => c.args[1].step)).to.deep.equal(['first']);
    expect((error as WorkflowFailedError).result.steps.third.status).to.equal('not-run');
  });

  it('a commit fenced by a lost lease is not recorded as done', async () => {
    const storage = new MemoryStorage();
    const acquire = sinon.spy(storage, 'acquireLease');
    class Stolen {
      @Step() async a() {
        // While this step runs, another owner takes the workflow over.
        const attempt = await acquire.firstCall.returnValue;
        if (attempt.acquired) await storage.releaseLease(attempt.lease);
        expect((await storage.acquireLease('job', 'thief', 60_000)).acquired).to.equal(true);
        return 1;
      }
    }
    const error = await new WorkflowRunner({ storage }).run(new Stolen(), { workflowId: 'job' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowFailedError);
    expect(((error as WorkflowFailedError).cause as Error & { cause: unknown }).cause).to.be.instanceOf(LeaseLostError);
    expect((await storage.load('job'))?.committedSteps).to.deep.equal([]);
  });
});
