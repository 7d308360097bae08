import { expect } from 'chai';
import sinon from 'sinon';
import { Step } from '../../decorators';
import { LeaseLostError, WorkflowBusyError, WorkflowCancelledError, WorkflowFailedError } from '../../lib/errors';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { deferred, within } from '../helpers/deferred';
import type { LeaseAttempt } from '../../lib/storage/records';

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

  it('never reports completed a run that lost its lease, even when its last commit got through first', async () => {
    const storage = new MemoryStorage();
    const lost = deferred();
    sinon.stub(storage, 'renewLease').resolves(undefined);
    const commit = storage.commit.bind(storage);
    // The final commit passes its fence and is written, but only once the renewal has found the lease gone.
    sinon.stub(storage, 'commit').callsFake(async (...args) => {
      await lost.promise;
      return commit(...args);
    });
    class One {
      @Step() only() {
        return 1;
      }
    }
    const runner = new WorkflowRunner({ storage, leaseTtlMs: 900 }); // renewed after 300 ms; 600 ms to spare
    runner.on('lease:lost', () => lost.resolve());
    const error = await runner.run(new One(), { workflowId: 'late-loss' }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).to.be.instanceOf(LeaseLostError);
    expect((error as WorkflowFailedError).result.steps.only.status, 'the step itself committed').to.equal('completed');
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

  describe('a run holds its lease until every attempt it started has settled', () => {
    /** A step that ignores its signal until `finish` resolves; counts executions and the most at once. */
    function stubbornWorkflow(options: { timeoutMs?: number } = {}) {
      const inside = deferred();
      const finish = deferred();
      const log: string[] = [];
      const executions = { running: 0, most: 0, count: 0 };
      class Stubborn {
        @Step(options) async work() {
          executions.count++;
          executions.running++;
          executions.most = Math.max(executions.most, executions.running);
          log.push(`start ${executions.count}`);
          inside.resolve();
          if (executions.count === 1) await finish.promise;
          executions.running--;
          log.push(`end ${executions.count}`);
          return 'done';
        }
      }
      return { Stubborn, inside, finish, log, executions };
    }

    it('cancel: result() settles only after the step returned, and a waiting runner never overlaps it', async () => {
      const storage = new MemoryStorage();
      const attempts: Promise<LeaseAttempt>[] = [];
      const thirdAsk = deferred();
      const acquire = storage.acquireLease.bind(storage);
      sinon.stub(storage, 'acquireLease').callsFake((...args) => {
        attempts.push(acquire(...args));
        if (attempts.length === 3) thirdAsk.resolve();
        return attempts.at(-1)!;
      });
      const { Stubborn, inside, finish, log, executions } = stubbornWorkflow();
      const handle = new WorkflowRunner({ storage }).start(new Stubborn(), { workflowId: 'job' });
      await inside.promise;
      handle.cancel();
      const first = handle.result().then(
        () => log.push('first settled: completed'),
        (error: unknown) => log.push(`first settled: ${(error as Error).name}`),
      );
      const secondRunner = new WorkflowRunner({ storage, onBusy: 'wait', busyTimeoutMs: 10_000 });
      const second = secondRunner.run(new Stubborn(), { workflowId: 'job', resume: true });
      // The second runner asks for the lease, is refused, waits its pause and asks again: by then a
      // run that let go at cancel() would have handed it over while the step still runs.
      // (A run that let go hands the lease to the second ask, and then there is no third: the guard fails.)
      await within(thirdAsk.promise, 5_000, 'the second runner stopped asking for the lease: it got it while the step still ran');
      const asked = await Promise.all(attempts.slice(1));
      expect(asked.map((attempt) => attempt.acquired)).to.deep.equal([false, false]);
      expect(log).to.deep.equal(['start 1']);
      finish.resolve();
      await first;
      const result = await second;
      expect(log).to.deep.equal(['start 1', 'end 1', `first settled: ${WorkflowCancelledError.name}`, 'start 2', 'end 2']);
      expect(executions.most).to.equal(1);
      expect(result.steps.work.status).to.equal('completed');
    });

    it('timeout: a timed-out attempt that ignores its signal keeps the lease until it returns', async () => {
      const storage = new MemoryStorage();
      const release = sinon.spy(storage, 'releaseLease');
      const { Stubborn, inside, finish, log } = stubbornWorkflow({ timeoutMs: 10 });
      const runner = new WorkflowRunner({ storage });
      const timedOut = deferred();
      runner.on('step:attempt-failed', () => timedOut.resolve());
      const run = runner.run(new Stubborn(), { workflowId: 'job' }).then(
        () => log.push('settled: completed'),
        (error: unknown) => log.push(`settled: ${(error as Error).name}`),
      );
      await inside.promise;
      await timedOut.promise;
      const busy = await new WorkflowRunner({ storage }).run(new Stubborn(), { workflowId: 'job', resume: true }).catch((e: unknown) => e);
      expect(busy).to.be.instanceOf(WorkflowBusyError);
      expect(release.callCount).to.equal(0);
      finish.resolve();
      await run;
      expect(log).to.deep.equal(['start 1', 'end 1', `settled: ${WorkflowFailedError.name}`]);
      expect(release.callCount).to.equal(1);
      expect(await storage.load('job')).to.deep.include({ committedSteps: [] });
    });
  });
});
