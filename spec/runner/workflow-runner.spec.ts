import { expect } from 'chai';
import sinon from 'sinon';
import { Step, Workflow } from '../../decorators';
import {
  CheckpointSerializationError,
  InvalidOptionError,
  NonRetryableError,
  StepDependencyError,
  StepFailedError,
  StepTimeoutError,
  WorkflowCancelledError,
  WorkflowDefinitionChangedError,
  WorkflowDefinitionError,
  WorkflowFailedError,
} from '../../lib/errors';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { deferred, within } from '../helpers/deferred';
import { callLog, spyStorage, STORAGE_METHODS } from '../helpers/spy-storage';

async function failure(promise: Promise<unknown>): Promise<WorkflowFailedError> {
  const error = await promise.then(
    () => expect.fail('expected the run to fail'),
    (e: unknown) => e,
  );
  expect(error).to.be.instanceOf(WorkflowFailedError);
  return error as WorkflowFailedError;
}

describe('WorkflowRunner', () => {
  describe('commits', () => {
    it('commits exactly once per successful step, after its successful attempt, and never for failed attempts', async () => {
      const storage = spyStorage();
      let transformCalls = 0;
      class Etl {
        @Step() extract() {
          return [1, 2, 3];
        }
        @Step({ retry: { attempts: 3 } }) transform(ctx: StepContext<unknown, number[]>) {
          transformCalls++;
          if (transformCalls < 3) throw new Error(`flaky ${transformCalls}`);
          return ctx.previous.map((x) => x * 2);
        }
        @Step() load(ctx: StepContext<unknown, number[]>) {
          return ctx.previous.length;
        }
      }
      const result = await new WorkflowRunner({ storage }).run(new Etl(), { workflowId: 'etl' });
      expect(result.status).to.equal('completed');
      expect(result.output).to.equal(3);
      expect(result.steps.transform).to.deep.include({ status: 'completed', attempts: 3 });
      expect(storage.commit.callCount).to.equal(3);
      expect(storage.commit.getCalls().map((c) => c.args[1].step)).to.deep.equal(['extract', 'transform', 'load']);
      expect(storage.commit.getCall(1).args[1]).to.deep.include({ step: 'transform', attempts: 3, status: 'completed' });
      // Nothing else touches storage: run-state assignments (outputs, statuses, attempts) do no I/O.
      // The record is written once before the steps, and once after the last commit to mark it completed.
      expect(callLog(storage)).to.deep.equal(['acquireLease', 'load', 'addWake', 'writeRecord', 'commit', 'commit', 'commit', 'writeRecord', 'removeWake', 'releaseLease']);
      expect(storage.writeRecord.lastCall.args[1].completion).to.deep.include({ runId: result.runId, output: 3 });
    });

    it('finishes a step\'s commit before any dependent step starts (the commit is awaited, not just called)', async () => {
      const storage = new MemoryStorage();
      const log: string[] = [];
      const commit = storage.commit.bind(storage);
      sinon.stub(storage, 'commit').callsFake(async (...args: Parameters<MemoryStorage['commit']>) => {
        log.push(`commit ${args[1].step} called`);
        await commit(...args);
        // A storage's commit takes at least an I/O turn: a runner that did not wait for it would start b first.
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`commit ${args[1].step} done`);
      });
      class Chain {
        @Step() a() {
          log.push('a runs');
        }
        @Step() b() {
          log.push('b runs');
        }
      }
      await new WorkflowRunner({ storage }).run(new Chain(), { workflowId: 'chain' });
      expect(log).to.deep.equal(['a runs', 'commit a called', 'commit a done', 'b runs', 'commit b called', 'commit b done']);
    });

    it('commits outside the attempt: a commit slower than timeoutMs neither times the step out nor commits twice', async () => {
      const storage = new MemoryStorage();
      const commit = storage.commit.bind(storage);
      const commits = sinon.stub(storage, 'commit').callsFake(async (...args: Parameters<MemoryStorage['commit']>) => {
        // Slow storage: the commit outlasts the step's timeout several times over.
        await new Promise((resolve) => setTimeout(resolve, 60));
        await commit(...args);
      });
      let calls = 0;
      class Quick {
        @Step({ timeoutMs: 15, retry: { attempts: 3 } }) quick() {
          return ++calls;
        }
      }
      const result = await new WorkflowRunner({ storage }).run(new Quick(), { workflowId: 'q' });
      expect(result.steps.quick).to.deep.equal({ status: 'completed', attempts: 1, output: 1 });
      expect(calls).to.equal(1);
      expect(commits.callCount).to.equal(1);
    });

    it('fails a step whose output cannot be checkpointed, naming step and path, and writes nothing for it', async () => {
      const storage = spyStorage();
      class Leaky {
        @Step() ok() {
          return 1;
        }
        @Step() leaky() {
          return { rows: [{ format: () => 'x' }] };
        }
      }
      const error = await failure(new WorkflowRunner({ storage }).run(new Leaky(), { workflowId: 'leaky' }));
      const cause = error.cause as StepFailedError;
      expect(cause).to.be.instanceOf(StepFailedError).and.include({ step: 'leaky' });
      expect(cause.cause).to.be.instanceOf(CheckpointSerializationError).and.include({ workflowId: 'leaky', step: 'leaky', path: 'output.rows[0].format' });
      expect(storage.commit.getCalls().map((c) => c.args[1].step)).to.deep.equal(['ok']);
      expect((await storage.load('leaky'))?.committedSteps).to.deep.equal(['ok']);
    });

    it('fails the run when a commit fails, without recording the step as done', async () => {
      const storage = new MemoryStorage();
      sinon.stub(storage, 'commit').rejects(new Error('disk full'));
      class One {
        @Step() only() {
          return 1;
        }
      }
      const error = await failure(new WorkflowRunner({ storage }).run(new One(), { workflowId: 'one' }));
      expect(error.result.steps.only.status).to.equal('failed');
      expect((error.cause as Error).message).to.contain('disk full');
    });
  });

  describe('resume', () => {
    it("refuses to resume a workflow id holding another workflow's checkpoints, naming both, and writes nothing", async () => {
      const storage = spyStorage();
      @Workflow({ name: 'invoice' })
      class Invoice {
        @Step() fetch() {
          return 'invoice';
        }
        @Step() send() {
          return 'sent';
        }
      }
      @Workflow({ name: 'refund' })
      class Refund {
        @Step() fetch() {
          return 'refund';
        }
        @Step() send() {
          return 'refunded';
        }
      }
      const runner = new WorkflowRunner({ storage });
      await runner.run(new Invoice(), { workflowId: 'doc-7' });
      const before = await storage.load('doc-7');
      storage.writeRecord.resetHistory();
      storage.commit.resetHistory();
      storage.clear.resetHistory();
      const error = await runner.run(new Refund(), { workflowId: 'doc-7', resume: true }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowDefinitionChangedError);
      expect((error as Error).message).to.contain("'invoice'").and.contain("'refund'");
      expect(storage.writeRecord.callCount + storage.commit.callCount + storage.clear.callCount).to.equal(0);
      expect(await storage.load('doc-7')).to.deep.equal(before);
      // Starting over (resume: false) is still allowed: it replaces the other workflow's data.
      expect((await runner.run(new Refund(), { workflowId: 'doc-7' })).output).to.equal('refunded');
    });

    it('skips committed steps, including one whose output was undefined, and hands that undefined on', async () => {
      const storage = new MemoryStorage();
      const runs: string[] = [];
      const handed: unknown[] = [];
      let failLoad = true;
      class Etl {
        @Step() notify() {
          runs.push('notify');
        }
        @Step() extract(ctx: StepContext<unknown, undefined>) {
          runs.push('extract');
          handed.push(ctx.previous);
          return 'rows';
        }
        @Step() load(ctx: StepContext<unknown, string>) {
          runs.push('load');
          if (failLoad) throw new Error('db down');
          return ctx.previous.toUpperCase();
        }
        @Step({ after: ['load', 'notify'] }) audit(ctx: StepContext) {
          runs.push('audit');
          handed.push(ctx.result('notify'));
          return 'audited';
        }
      }
      const runner = new WorkflowRunner({ storage });
      const readCheckpoint = sinon.spy(storage, 'readCheckpoint');
      await failure(runner.run(new Etl(), { workflowId: 'job' }));
      expect(runs).to.deep.equal(['notify', 'extract', 'load']);
      failLoad = false;
      const result = await runner.run(new Etl(), { workflowId: 'job', resume: true });
      expect(runs).to.deep.equal(['notify', 'extract', 'load', 'load', 'audit']);
      // notify's stored undefined was loaded for audit, and handed on as undefined (not re-run, not null).
      expect(readCheckpoint.getCalls().map((c) => c.args[1])).to.include('notify');
      expect(handed).to.deep.equal([undefined, undefined]);
      expect(result.output).to.equal('audited');
      expect(result.steps.notify).to.deep.equal({ status: 'restored', attempts: 0, output: undefined });
      expect(result.steps.extract).to.deep.equal({ status: 'restored', attempts: 0, output: 'rows' });
    });

    it('hands a resumed step the same values a fresh run handed it', async () => {
      const received: unknown[] = [];
      let crash = true;
      class Typed {
        @Step() produce() {
          return { at: new Date(5), ids: new Set([1n, 2n]), byKey: new Map([['k', new Uint8Array([1, 2])]]), buf: Buffer.from('x'), none: undefined, deep: [{ n: -0 }] };
        }
        @Step() consume(ctx: StepContext<unknown, unknown>) {
          received.push(ctx.previous);
          if (crash) throw new Error('crash');
          return 'ok';
        }
      }
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      await failure(runner.run(new Typed(), { workflowId: 'typed' }));
      crash = false;
      await runner.run(new Typed(), { workflowId: 'typed', resume: true });
      expect(received).to.have.length(2);
      expect(received[1]).to.deep.equal(received[0]);
    });

    it('resume: false replaces the old checkpoints', async () => {
      const storage = new MemoryStorage();
      const runs: string[] = [];
      class Two {
        @Step() a() {
          runs.push('a');
        }
        @Step() b() {
          runs.push('b');
        }
      }
      const runner = new WorkflowRunner({ storage });
      await runner.run(new Two(), { workflowId: 'w' });
      await runner.run(new Two(), { workflowId: 'w' });
      expect(runs).to.deep.equal(['a', 'b', 'a', 'b']);
      await runner.run(new Two(), { workflowId: 'w', resume: true });
      expect(runs).to.have.length(4);
    });

    it('resume: false clears the old checkpoints before it runs: a step it did not reach is never restored from the old run', async () => {
      const storage = new MemoryStorage();
      let version = 1;
      let failB = false;
      class Two {
        @Step() a() {
          return `a${version}`;
        }
        @Step() b(ctx: StepContext<unknown, string>) {
          if (failB) throw new Error('b fails');
          return `b${version} after ${ctx.previous}`;
        }
      }
      const runner = new WorkflowRunner({ storage });
      expect((await runner.run(new Two(), { workflowId: 'w' })).output).to.equal('b1 after a1');
      version = 2;
      failB = true;
      await failure(runner.run(new Two(), { workflowId: 'w' }));
      expect(await storage.load('w').then((s) => s?.committedSteps)).to.deep.equal(['a']);
      failB = false;
      const resumed = await runner.run(new Two(), { workflowId: 'w', resume: true });
      expect(resumed.steps.b.status).to.equal('completed');
      expect(resumed.output).to.equal('b2 after a2');
    });

    it('resumes parallel branches and a diamond, running only what is left', async () => {
      const runs: string[] = [];
      let failJoin = true;
      class Diamond {
        @Step() start() {
          runs.push('start');
          return 1;
        }
        @Step({ after: ['start'] }) left(ctx: StepContext<unknown, number>) {
          runs.push('left');
          return ctx.previous + 1;
        }
        @Step({ after: ['start'] }) right(ctx: StepContext<unknown, number>) {
          runs.push('right');
          return ctx.previous + 2;
        }
        @Step({ after: ['left', 'right'] }) join(ctx: StepContext) {
          runs.push('join');
          if (failJoin) throw new Error('join failed');
          return ctx.result<number>('left') * 10 + ctx.result<number>('right');
        }
      }
      const storage = spyStorage();
      const runner = new WorkflowRunner({ storage });
      await failure(runner.run(new Diamond(), { workflowId: 'd' }));
      failJoin = false;
      storage.readCheckpoint.resetHistory();
      const result = await runner.run(new Diamond(), { workflowId: 'd', resume: true });
      expect(result.output).to.equal(23);
      expect(runs.filter((r) => r !== 'join').sort()).to.deep.equal(['left', 'right', 'start']);
      expect(storage.readCheckpoint.getCalls().map((c) => c.args[1]).sort()).to.deep.equal(['left', 'right'], 'only the outputs join needs are read');
    });

    it('refuses to resume when a committed step was renamed or re-wired, listing the differences', async () => {
      const storage = new MemoryStorage();
      @Workflow({ name: 'evolving' })
      class V1 {
        @Step() a() {}
        @Step() b() {
          throw new Error('stop');
        }
      }
      @Workflow({ name: 'evolving' })
      class V2 {
        @Step() renamed() {}
        @Step() b() {}
      }
      @Workflow({ name: 'evolving' })
      class V3 {
        @Step() a() {}
        @Step() b() {}
        @Step() c() {}
      }
      const runner = new WorkflowRunner({ storage });
      await failure(runner.run(new V1(), { workflowId: 'e' }));
      const error = await runner.run(new V2(), { workflowId: 'e', resume: true }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowDefinitionChangedError);
      expect((error as WorkflowDefinitionChangedError).differences).to.deep.equal(["committed step 'a' no longer exists"]);
      const added = await runner.run(new V3(), { workflowId: 'e', resume: true });
      expect([added.steps.a.status, added.steps.b.status, added.steps.c.status]).to.deep.equal(['restored', 'completed', 'completed']);
      // The added steps are in the record now: re-wiring one of them, once committed, is refused too.
      @Workflow({ name: 'evolving' })
      class V4 {
        @Step() a() {}
        @Step() b() {}
        @Step({ after: ['a'] }) c() {}
      }
      const rewired = await runner.run(new V4(), { workflowId: 'e', resume: true }).catch((e: unknown) => e);
      expect(rewired).to.be.instanceOf(WorkflowDefinitionChangedError);
      expect((rewired as WorkflowDefinitionChangedError).differences).to.deep.equal(["step 'c' was after [b], now after [a]"]);
    });
  });

  describe('graph execution', () => {
    it('runs independent branches concurrently', async () => {
      const aStarted = deferred();
      const bStarted = deferred();
      class Branches {
        @Step({ after: [] }) async a() {
          aStarted.resolve();
          await within(bStarted.promise, 5_000, 'b did not start while a was running');
          return 'a';
        }
        @Step({ after: [] }) async b() {
          bStarted.resolve();
          await within(aStarted.promise, 5_000, 'a did not start while b was running');
          return 'b';
        }
        @Step({ after: ['a', 'b'] }) join(ctx: StepContext) {
          return [ctx.result('a'), ctx.result('b')];
        }
      }
      const result = await new WorkflowRunner().run(new Branches(), { workflowId: 'x' });
      expect(result.output).to.deep.equal(['a', 'b']);
    });

    it('never runs more steps at once than concurrency', async () => {
      let running = 0;
      let peak = 0;
      const gates = Array.from({ length: 6 }, () => deferred());
      class Wide {}
      for (let i = 0; i < 6; i++) {
        Object.defineProperty(Wide.prototype, `s${i}`, {
          value: async () => {
            running++;
            peak = Math.max(peak, running);
            if (i > 0) gates[i - 1].resolve();
            await gates[i].promise.catch(() => undefined);
            running--;
          },
        });
        Step({ after: [] })(Wide.prototype, `s${i}`, Object.getOwnPropertyDescriptor(Wide.prototype, `s${i}`)!);
      }
      gates[5].resolve();
      const done = new WorkflowRunner({ concurrency: 2 }).run(new Wide(), { workflowId: 'wide' });
      // Each step releases its predecessor, so the run only finishes if steps keep overlapping.
      await within(done, 5_000, 'steps never overlapped');
      expect(peak).to.equal(2);
    });

    it('stops starting steps after a failure by default, and lets independent branches finish with failFast: false', async () => {
      const runs: string[] = [];
      const failed = deferred();
      class Fork {
        @Step({ after: [] }) async bad() {
          runs.push('bad');
          failed.resolve();
          throw new Error('boom');
        }
        @Step({ after: [] }) async slow() {
          await failed.promise;
          runs.push('slow');
        }
        @Step({ after: ['slow'] }) after() {
          runs.push('after');
        }
        @Step({ after: ['bad'] }) dependent() {
          runs.push('dependent');
        }
      }
      const fast = await failure(new WorkflowRunner().run(new Fork(), { workflowId: 'f1' }));
      expect(runs).to.deep.equal(['bad', 'slow']);
      expect(fast.result.steps).to.deep.include({ after: { status: 'not-run', attempts: 0 }, dependent: { status: 'not-run', attempts: 0 } });
      expect(fast.result.steps.slow.status).to.equal('completed', 'a step already running finishes and commits');

      runs.length = 0;
      const lenient = await failure(new WorkflowRunner({ failFast: false }).run(new Fork(), { workflowId: 'f2' }));
      expect(runs.sort()).to.deep.equal(['after', 'bad', 'slow']);
      expect(lenient.result.steps.dependent.status).to.equal('not-run');
      expect((lenient.cause as StepFailedError).step).to.equal('bad');
    });

    it('limits ctx.previous and ctx.result to declared dependencies', async () => {
      class Reach {
        @Step() a() {
          return 'A';
        }
        @Step() b() {
          return 'B';
        }
        @Step() c(ctx: StepContext) {
          return ctx.result('a');
        }
      }
      const error = await failure(new WorkflowRunner().run(new Reach(), { workflowId: 'r' }));
      const cause = (error.cause as StepFailedError).cause as StepDependencyError;
      expect(cause).to.be.instanceOf(StepDependencyError);
      expect(cause.message).to.contain("ctx.result('a') asks for a step that is not a dependency of this one").and.contain('add it to @Step({ after');
      expect(error.result.steps.c.attempts).to.equal(1);

      class Join {
        @Step({ after: [] }) x() {}
        @Step({ after: [] }) y() {}
        @Step({ after: ['x', 'y'] }) z(ctx: StepContext) {
          return ctx.previous;
        }
      }
      const ambiguous = await failure(new WorkflowRunner().run(new Join(), { workflowId: 'j' }));
      expect(((ambiguous.cause as StepFailedError).cause as Error).message).to.contain('ctx.previous is ambiguous');
    });

    it('gives a root step previous === undefined and the context fields', async () => {
      let seen: StepContext<{ n: number }> | undefined;
      class Ctx {
        @Step() only(ctx: StepContext<{ n: number }>) {
          seen = ctx;
          return [ctx.previous, ctx.workflowId, ctx.step, ctx.attempt, ctx.input.n, ctx.signal.aborted];
        }
      }
      const result = await new WorkflowRunner().run(new Ctx(), { workflowId: 'ctx', input: { n: 4 } });
      expect(result.output).to.deep.equal([undefined, 'ctx', 'only', 1, 4, false]);
      expect(seen).to.not.equal(undefined);
    });
  });

  describe('retries and timeouts', () => {
    it('retries with backoff, reporting each delay', async () => {
      const delays: (number | undefined)[] = [];
      let calls = 0;
      class Flaky {
        @Step({ retry: { attempts: 4, delayMs: 2, backoff: 3, maxDelayMs: 10 } }) flaky() {
          if (++calls < 4) throw new Error('again');
          return calls;
        }
      }
      const runner = new WorkflowRunner();
      runner.on('step:attempt-failed', (e) => delays.push(e.delayMs));
      const result = await runner.run(new Flaky(), { workflowId: 'r' });
      expect(result.output).to.equal(4);
      expect(delays).to.deep.equal([2, 6, 10]);
    });

    it('stops at NonRetryableError and when retryIf says no', async () => {
      let calls = 0;
      class Stops {
        @Step({ retry: { attempts: 5 } }) fatal() {
          calls++;
          throw new NonRetryableError('bad request');
        }
      }
      const error = await failure(new WorkflowRunner().run(new Stops(), { workflowId: 's' }));
      expect(calls).to.equal(1);
      expect((error.cause as StepFailedError).attempts).to.equal(1);

      let filtered = 0;
      class Filtered {
        @Step({ retry: { attempts: 5, retryIf: (e) => (e as Error).message !== 'permanent' } }) f() {
          filtered++;
          throw new Error(filtered < 2 ? 'transient' : 'permanent');
        }
      }
      await failure(new WorkflowRunner().run(new Filtered(), { workflowId: 'f' }));
      expect(filtered).to.equal(2);
    });

    it('fails an attempt that runs past timeoutMs, aborting its signal, and commits nothing, not even its late result', async () => {
      const storage = spyStorage();
      const signals: AbortSignal[] = [];
      class Hangs {
        @Step({ timeoutMs: 20, retry: { attempts: 2 } }) hang(ctx: StepContext) {
          signals.push(ctx.signal);
          // Settles only after the timeout, with a result that must be ignored.
          return new Promise((resolve) => ctx.signal.addEventListener('abort', () => setImmediate(() => resolve('too late'))));
        }
      }
      const error = await failure(new WorkflowRunner({ storage }).run(new Hangs(), { workflowId: 'h' }));
      const cause = error.cause as StepFailedError;
      expect(cause.attempts).to.equal(2);
      expect(cause.cause).to.be.instanceOf(StepTimeoutError).and.include({ step: 'hang', attempt: 2, timeoutMs: 20 });
      expect(signals.map((s) => s.aborted)).to.deep.equal([true, true]);
      expect(storage.commit.callCount).to.equal(0);
    });
  });

  describe('user code failing outside an attempt', () => {
    it('fails the step, instead of hanging, when retryIf throws', async () => {
      class BadPolicy {
        @Step({ retry: { attempts: 3, retryIf: () => { throw new Error('retryIf bug'); } } }) flaky() {
          throw new Error('first failure');
        }
      }
      const error = await within(failure(new WorkflowRunner().run(new BadPolicy(), { workflowId: 'r' })), 5_000, 'the run hung');
      expect(error.result.steps.flaky.status).to.equal('failed');
      expect(((error.cause as StepFailedError).cause as Error).message).to.equal('retryIf bug');
    });

    it('fails the step, instead of hanging, when reading its output throws', async () => {
      class Getter {
        @Step() out() {
          return {
            get broken() {
              throw new TypeError('getter bug');
            },
          };
        }
      }
      const error = await within(failure(new WorkflowRunner().run(new Getter(), { workflowId: 'g' })), 5_000, 'the run hung');
      expect(((error.cause as StepFailedError).cause as Error).message).to.equal('getter bug');
    });

    it('a lease that cannot be released does not fail a completed run (it expires on its own)', async () => {
      const storage = new MemoryStorage();
      sinon.stub(storage, 'releaseLease').rejects(new Error('network down'));
      class One {
        @Step() only() {
          return 1;
        }
      }
      const result = await new WorkflowRunner({ storage }).run(new One(), { workflowId: 'rel' });
      expect(result.status).to.equal('completed');
    });
  });

  describe('background runs', () => {
    it('start() returns at once; cancel() aborts running steps and keeps committed ones for a resume', async () => {
      const storage = new MemoryStorage();
      const waiting = deferred();
      let block = true;
      class Cancellable {
        @Step() first() {
          return 1;
        }
        @Step() second(ctx: StepContext) {
          if (!block) return 2;
          waiting.resolve();
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))));
        }
      }
      const runner = new WorkflowRunner({ storage });
      const handle = runner.start(new Cancellable(), { workflowId: 'bg' });
      expect(handle.status()).to.equal('running');
      await waiting.promise;
      handle.cancel();
      const error = await handle.result().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowCancelledError);
      expect(handle.status()).to.equal('cancelled');
      expect((error as WorkflowCancelledError).result.steps).to.deep.include({ second: { status: 'not-run', attempts: 1 } });
      block = false;
      const resumed = await runner.run(new Cancellable(), { workflowId: 'bg', resume: true });
      expect(resumed.steps.first.status).to.equal('restored');
      expect(resumed.output).to.equal(2);
    });

    it('cancel() ends a retry backoff at once, and the step is not tried again', async () => {
      let calls = 0;
      class Backoff {
        @Step({ retry: { attempts: 3, delayMs: 3_600_000 } }) flaky() {
          calls++;
          throw new Error('try again in an hour');
        }
      }
      // The hour is slept in-process here (by default a retry that long waits durably, holding nothing).
      const runner = new WorkflowRunner({ maxInlineWaitMs: 7_200_000 });
      const handle = runner.start(new Backoff(), { workflowId: 'backoff' });
      runner.on('step:attempt-failed', () => handle.cancel());
      const error = await within(handle.result().catch((e: unknown) => e), 5_000, 'cancel waited for the backoff');
      expect(error).to.be.instanceOf(WorkflowCancelledError);
      expect(calls).to.equal(1);
      expect((error as WorkflowCancelledError).result.steps.flaky).to.deep.equal({ status: 'not-run', attempts: 1 });
    });

    it('an AbortSignal run option cancels like handle.cancel()', async () => {
      const controller = new AbortController();
      class Waits {
        @Step() wait(ctx: StepContext) {
          controller.abort();
          // The signal is already aborted here: a well-behaved step checks before it listens.
          return new Promise((_, reject) => {
            if (ctx.signal.aborted) reject(new Error('aborted'));
            ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
          });
        }
      }
      const error = await new WorkflowRunner().run(new Waits(), { workflowId: 'sig', signal: controller.signal }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowCancelledError);
    });

    it('leaves no listener on a signal shared by many runs', async () => {
      const shared = new AbortController();
      const add = sinon.spy(shared.signal, 'addEventListener');
      const remove = sinon.spy(shared.signal, 'removeEventListener');
      class Quick {
        @Step() only() {
          return 1;
        }
      }
      const runner = new WorkflowRunner();
      for (let i = 0; i < 5; i++) await runner.run(new Quick(), { workflowId: `shared-${i}`, signal: shared.signal });
      expect(add.callCount).to.equal(5);
      expect(remove.getCalls().map((c) => c.args.slice(0, 2))).to.deep.equal(add.getCalls().map((c) => c.args.slice(0, 2)));
      expect(add.getCalls().every((c) => c.args[0] === 'abort')).to.equal(true);
    });
  });

  describe('validation', () => {
    it('throws definition and option errors from start(), before anything is read', () => {
      const storage = spyStorage();
      const runner = new WorkflowRunner({ storage });
      class NoSteps {}
      class One {
        @Step() a() {}
      }
      expect(() => runner.start(new NoSteps(), { workflowId: 'x' })).to.throw(WorkflowDefinitionError);
      expect(() => runner.start(new One(), { workflowId: 'x', concurrency: 0 })).to.throw(InvalidOptionError, 'concurrency');
      expect(() => runner.start(new One(), { workflowId: 'x', resume: 'yes' as never })).to.throw(InvalidOptionError, 'resume');
      expect(() => new WorkflowRunner({ onBusy: 'later' as never })).to.throw(InvalidOptionError, 'onBusy');
      for (const notAnInstance of [null, undefined, 'One', One]) expect(() => runner.start(notAnInstance as never, { workflowId: 'x' }), String(notAnInstance)).to.throw(InvalidOptionError, 'workflow');
      expect(callLog(storage)).to.deep.equal([]);
    });

    it('refuses a storage that lacks methods of the interface, naming them (a provider written for 0.1 has no readRecord)', () => {
      const { readRecord: _readRecord, ...old } = Object.fromEntries(STORAGE_METHODS.map((m) => [m, () => undefined]));
      expect(() => new WorkflowRunner({ storage: old as never })).to.throw(InvalidOptionError, 'missing readRecord');
      expect(() => new WorkflowRunner({ storage: {} as never })).to.throw(InvalidOptionError, 'missing load, readRecord');
    });
  });

  describe('what it reports, and how', () => {
    class Two {
      @Step() a() {
        return 'a';
      }
      @Step() b() {
        return 'b';
      }
    }
    let warnings: sinon.SinonStub;
    beforeEach(() => {
      warnings = sinon.stub(process, 'emitWarning');
    });
    afterEach(() => sinon.restore());
    const warned = () => warnings.getCalls().map((c) => [String(c.args[0]), (c.args[1] as { code?: string } | undefined)?.code]);

    it('refuses what is not a workflow instance, saying what it expects', () => {
      const runner = new WorkflowRunner();
      for (const workflow of [null, undefined, 'Two', Two]) {
        try {
          runner.start(workflow as never, { workflowId: 'x' });
          expect.fail('accepted');
        } catch (error) {
          expect(error).to.be.instanceOf(InvalidOptionError);
          expect(error).to.include({ option: 'workflow', expected: 'an instance of a workflow class' });
        }
      }
    });

    it('ignores a hook left undefined (a listener map built from optional settings)', async () => {
      const logger = { info: sinon.fake(), warn: sinon.fake(), error: sinon.fake() };
      await new WorkflowRunner({ logger, hooks: { 'step:committed': undefined, 'run:completed': undefined } }).run(new Two(), { workflowId: 'hooks' });
      expect(logger.error.called).to.equal(false);
      expect(warned()).to.deep.equal([]);
    });

    it('reports a throwing listener through the logger with the event and the error, else as a process warning with its code', async () => {
      const logger = { info: sinon.fake(), warn: sinon.fake(), error: sinon.fake() };
      const bug = new Error('listener bug');
      await new WorkflowRunner({ logger, hooks: { 'run:completed': () => { throw bug; } } }).run(new Two(), { workflowId: 'l1' });
      expect(logger.error.getCalls().map((c) => c.args)).to.deep.equal([["waymark: a 'run:completed' listener threw: listener bug", { event: 'run:completed', error: bug }]]);
      await new WorkflowRunner({ hooks: { 'run:completed': () => { throw 'plain'; } } }).run(new Two(), { workflowId: 'l2' });
      expect(warned()).to.deep.equal([["a 'run:completed' listener threw: plain", 'WAYMARK_LISTENER_ERROR']]);
    });

    it('hands a step cancelled without a reason the reason "cancelled", and one given a reason that reason', async () => {
      const reasons: unknown[] = [];
      let started = deferred();
      class Waits {
        @Step() wait(ctx: StepContext) {
          started.resolve();
          return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason);
          }));
        }
      }
      const runner = new WorkflowRunner();
      const plain = runner.start(new Waits(), { workflowId: 'c1' });
      await started.promise;
      plain.cancel();
      await plain.result().catch(() => undefined);
      expect(reasons[0]).to.be.instanceOf(Error).with.property('message', 'cancelled');
      started = deferred();
      const why = runner.start(new Waits(), { workflowId: 'c2' });
      await started.promise;
      why.cancel('shutting down');
      await why.result().catch(() => undefined);
      expect(reasons[1]).to.equal('shutting down');
    });

    it('runs no step when its signal was aborted before the run began, and reports it cancelled, never failed', async () => {
      let ran = 0;
      class Counted {
        @Step() a() {
          ran++;
        }
      }
      const runner = new WorkflowRunner();
      const seen: string[] = [];
      runner.on('run:cancelled', () => seen.push('cancelled'));
      runner.on('run:failed', () => seen.push('failed'));
      const stopped = new AbortController();
      stopped.abort('no');
      const error = await runner.run(new Counted(), { workflowId: 'pre', signal: stopped.signal }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowCancelledError);
      expect((error as WorkflowCancelledError).result.status).to.equal('cancelled');
      expect(ran).to.equal(0);
      expect(seen).to.deep.equal(['cancelled']);
    });

    it('resolves a completed run whose lease could not be released, and warns that it expires on its own', async () => {
      const storage = new MemoryStorage();
      sinon.stub(storage, 'releaseLease').rejects(new Error('network down'));
      const result = await new WorkflowRunner({ storage }).run(new Two(), { workflowId: 'stuck-lease' });
      expect(result.status).to.equal('completed');
      expect(warned()).to.deep.equal([["workflow 'stuck-lease': could not release its lease (it expires after leaseTtlMs): network down", 'WAYMARK_LEASE_RELEASE_FAILED']]);
      const logger = { info: sinon.fake(), warn: sinon.fake(), error: sinon.fake() };
      await new WorkflowRunner({ storage, logger }).run(new Two(), { workflowId: 'stuck-2' });
      const [message, detail] = logger.warn.firstCall.args;
      expect(message).to.equal("waymark: workflow 'stuck-2': could not release its lease (it expires after leaseTtlMs): network down");
      expect(detail).to.include({ code: 'WAYMARK_LEASE_RELEASE_FAILED', workflowId: 'stuck-2' });
    });

    it('resolves a run whose completion could not be recorded, warns, and a late duplicate then restores its steps', async () => {
      const storage = new MemoryStorage();
      const write = storage.writeRecord.bind(storage);
      const stub = sinon.stub(storage, 'writeRecord').callsFake(async (id, record, version, lease) => {
        if (record.completion !== undefined) throw new Error('disk full');
        return write(id, record, version, lease);
      });
      const runner = new WorkflowRunner({ storage });
      expect((await runner.run(new Two(), { workflowId: 'no-completion' })).output).to.equal('b');
      expect(warned()).to.deep.equal([["workflow 'no-completion': completed, but could not mark its record completed (a late duplicate will restore its steps instead): disk full", 'WAYMARK_COMPLETION_NOT_RECORDED']]);
      // A logger gets the same warning, with the workflow and the error as data.
      const logger = { info: sinon.spy(), warn: sinon.spy(), error: sinon.spy() };
      await new WorkflowRunner({ storage, logger }).run(new Two(), { workflowId: 'no-completion-logged' });
      const logged = logger.warn.getCalls().find((c) => (c.args[1] as { code?: string }).code === 'WAYMARK_COMPLETION_NOT_RECORDED');
      expect(logged?.args[1]).to.include({ workflowId: 'no-completion-logged' }).and.have.property('error').that.has.property('message', 'disk full');
      stub.restore();
      const again = await runner.run(new Two(), { workflowId: 'no-completion', resume: true });
      expect(again.steps).to.deep.equal({ a: { status: 'restored', attempts: 0 }, b: { status: 'restored', attempts: 0, output: 'b' } });
    });

    it('reports how long a step took, from its first attempt to its commit', async () => {
      const durations: number[] = [];
      const runner = new WorkflowRunner({ hooks: { 'step:committed': ({ durationMs }) => void durations.push(durationMs) } });
      const before = Date.now();
      await runner.run(new Two(), { workflowId: 'durations' });
      const elapsed = Date.now() - before;
      expect(durations).to.have.length(2);
      for (const d of durations) expect(d).to.be.within(0, elapsed);
    });

    it('refuses a fingerprint strategy that answers anything but a non-empty string', async () => {
      for (const answer of ['', 7, undefined]) {
        const error = await new WorkflowRunner()
          .run(new Two(), { workflowId: 'fp', fingerprint: { fingerprint: () => answer as never } })
          .catch((e: unknown) => e);
        expect(error).to.be.instanceOf(InvalidOptionError);
        expect(error).to.include({ option: "fingerprint strategy result for workflow 'fp'", expected: 'a non-empty string' });
      }
    });

    it('leaves no timer behind: a step that beat its timeout, one that did on its retry, a finished run', async () => {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      let calls = 0;
      class Quick {
        @Step({ timeoutMs: 60_000 }) fast() {
          return 1;
        }
        @Step({ timeoutMs: 60_000, retry: { attempts: 2, delayMs: 0 } }) second() {
          if (++calls % 2 === 1) throw new Error('once');
          return 2;
        }
      }
      const runner = new WorkflowRunner();
      await runner.run(new Two(), { workflowId: 'warm-up' });
      const before = timers();
      const result = await runner.run(new Quick(), { workflowId: 'timers' });
      await runner.run(new Quick(), { workflowId: 'timers-2' });
      expect(result.steps.second).to.include({ status: 'completed', attempts: 2 });
      expect(timers()).to.equal(before);
    });

    it('tells the listeners of a failed attempt that a throwing retryIf retries nothing', async () => {
      const failed: boolean[] = [];
      class Bad {
        @Step({ retry: { attempts: 3, retryIf: () => { throw new Error('policy bug'); } } }) flaky() {
          throw new Error('first');
        }
      }
      const runner = new WorkflowRunner({ hooks: { 'step:attempt-failed': ({ willRetry }) => void failed.push(willRetry) } });
      const error = await failure(runner.run(new Bad(), { workflowId: 'retryif' }));
      expect(failed).to.deep.equal([false]);
      expect((error.cause as Error).message).to.contain('policy bug');
    });

    it('stops calling a listener once it unsubscribed', async () => {
      const runner = new WorkflowRunner();
      const seen: string[] = [];
      const off = runner.on('step:committed', ({ step }) => void seen.push(step));
      await runner.run(new Two(), { workflowId: 'on' });
      off();
      await runner.run(new Two(), { workflowId: 'off' });
      expect(seen).to.deep.equal(['a', 'b']);
    });
  });
});