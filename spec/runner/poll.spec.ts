/**
 * Polling (`ctx.retryAfter`, `RetryLater`, `@Step({ poll })`) and retries that wait durably: when to
 * call a step again is stored before it waits, a long wait holds no lease, and a restart neither calls
 * early nor forgets the count; on every store.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { PollTimeoutError, RetryLater, StepFailedError, WorkflowDefinitionError, WorkflowFailedError } from '../../lib/errors';
import { buildGraph } from '../../lib/graph';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { runTs } from '../helpers/child';
import { deferred, within } from '../helpers/deferred';
import { tempDir } from '../helpers/temp-dir';
import { everyStore, type OpenStore } from '../helpers/stores';
import { ShipmentFlow } from '../fixtures/poll-crash';

/** What each call of the export step saw: its poll count and attempt. */
const seen: { polls: number; attempt: number; lastPoll: boolean }[] = [];
/** How many "not yet" answers the export gives before it is ready, and how long each asks to wait. */
let notYet = 2;
let waitMs = 20;

@Workflow({ name: 'export' })
class ExportFlow {
  @Step() start() {
    return 'export-7';
  }
  @Step()
  download(ctx: StepContext<unknown, string>) {
    seen.push({ polls: ctx.polls, attempt: ctx.attempt, lastPoll: ctx.lastPoll });
    if (ctx.polls < notYet) ctx.retryAfter(waitMs);
    return `${ctx.previous}.csv`;
  }
}

const STORES = everyStore('poll');
type Store = OpenStore;

describe('polling and durable retries', () => {
  beforeEach(() => {
    seen.length = 0;
    notYet = 2;
    waitMs = 20;
  });

  for (const [name, open] of STORES) {
    describe(`on ${name}`, () => {
      let store: Store;
      beforeEach(async () => (store = await open()));
      afterEach(() => store.close());

      it('sleeps a short "not yet" in-process, counting the polls, and commits only the last answer', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        const later: unknown[] = [];
        runner.on('step:retry-later', (e) => later.push([e.step, e.polls]));
        const result = await runner.run(new ExportFlow(), { workflowId: 'e-1' });
        expect(result.status).to.equal('completed');
        expect(result.output).to.equal('export-7.csv');
        expect(seen.map((s) => s.polls)).to.deep.equal([0, 1, 2]);
        expect(seen.map((s) => s.attempt), 'each poll is a call of its own').to.deep.equal([1, 1, 1]);
        expect(later).to.deep.equal([['download', 1], ['download', 2]]);
        expect((await store.storage.readRecord('e-1'))!.record.polls, 'a completed workflow keeps no polls').to.equal(undefined);
      });

      it('waits a long "not yet" durably: the time is stored, no lease is held, nothing is called early, and a worker calls it when due', async () => {
        notYet = 1;
        waitMs = 400;
        const runner = new WorkflowRunner({ storage: store.storage, maxInlineWaitMs: 0, workflows: [ExportFlow] });
        const first = await runner.run(new ExportFlow(), { workflowId: 'e-2' });
        expect(first.status).to.equal('waiting');
        const stored = (await store.storage.readRecord('e-2'))!.record;
        expect(stored.polls!.download).to.include({ count: 1 });
        expect(first.wakeAt).to.equal(stored.polls!.download!.next);
        expect(first.steps.download).to.deep.include({ status: 'waiting', wakeAt: stored.polls!.download!.next });
        expect(await store.storage.readLease('e-2'), 'waiting holds no lease').to.equal(undefined);
        expect((await runner.get('e-2'))!.steps.download!.calls).to.deep.equal({ polls: 1, next: stored.polls!.download!.next });

        const early = await runner.resume('e-2');
        expect(early.status, 'a resume before the time calls nothing').to.equal('waiting');
        expect(seen).to.have.length(1);

        const done = deferred<void>();
        runner.on('run:completed', () => done.resolve());
        const worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        await worker.start();
        try {
          await within(done.promise, 10_000, 'the worker never called the step again');
        } finally {
          await worker.stop();
        }
        expect(seen.map((s) => s.polls)).to.deep.equal([0, 1]);
        const info = await runner.get('e-2', { outputs: true });
        expect(info!.output).to.equal('export-7.csv');
      });

      it('a retry longer than maxInlineWaitMs waits durably, and the next attempt goes on counting', async () => {
        let calls = 0;
        const attemptsSeen: number[] = [];
        @Workflow({ name: 'flaky-upload' })
        class Upload {
          @Step({ retry: { attempts: 3, delayMs: 300 } })
          send(ctx: StepContext) {
            attemptsSeen.push(ctx.attempt);
            if (++calls < 2) throw new Error('503 from upstream');
            return 'sent';
          }
        }
        const runner = new WorkflowRunner({ storage: store.storage, maxInlineWaitMs: 0, workflows: [Upload] });
        const first = await runner.run(new Upload(), { workflowId: 'u-1' });
        expect(first.status).to.equal('waiting');
        expect((await store.storage.readRecord('u-1'))!.record.polls!.send).to.include({ attempts: 1, count: 0 });
        expect((await runner.get('u-1'))!.steps.send!.calls).to.deep.equal({ polls: 0, next: first.wakeAt, failedAttempts: 1 });
        const at = Date.parse(first.wakeAt!);
        while (Date.now() < at) await new Promise((resolve) => setTimeout(resolve, at - Date.now() + 1));
        const second = await runner.resume('u-1');
        expect(second.status).to.equal('completed');
        expect(attemptsSeen).to.deep.equal([1, 2]);
        expect(second.steps.send).to.deep.include({ status: 'completed', attempts: 2 });
      });
    });
  }

  describe('poll.timeoutMs', () => {
    it("onTimeout 'fail': the step fails with PollTimeoutError as soon as it asks for a time past the limit", async () => {
      class Bounded {
        @Step({ poll: { timeoutMs: 50 } })
        check(ctx: StepContext) {
          seen.push({ polls: ctx.polls, attempt: ctx.attempt, lastPoll: ctx.lastPoll });
          ctx.retryAfter(30);
        }
      }
      const error = (await new WorkflowRunner().run(new Bounded(), { workflowId: 'b' }).catch((e: unknown) => e)) as WorkflowFailedError;
      const cause = (error.cause as StepFailedError).cause as PollTimeoutError;
      expect(cause).to.be.instanceOf(PollTimeoutError);
      expect(cause.code).to.equal('WAYMARK_POLL_TIMEOUT');
      expect(seen.length, 'the first call asks within the limit (unless the machine stalled 20 ms before it)').to.be.within(1, 2);
      expect(cause.polls).to.equal(seen.length);
      expect(cause.message).to.include("step 'check'").and.include('poll.timeoutMs');
    });

    it("onTimeout 'run': called once more at the limit with ctx.lastPoll, which must answer then", async () => {
      const calledAt: number[] = [];
      class LastCall {
        @Step({ poll: { timeoutMs: 60, onTimeout: 'run' } })
        check(ctx: StepContext) {
          calledAt.push(Date.now());
          seen.push({ polls: ctx.polls, attempt: ctx.attempt, lastPoll: ctx.lastPoll });
          if (!ctx.lastPoll) ctx.retryAfter(1_000);
          return 'gave up waiting, used the cached copy';
        }
      }
      const started = Date.now();
      const runner = new WorkflowRunner();
      const nextCalls: number[] = [];
      runner.on('step:retry-later', (e) => nextCalls.push(Date.parse(e.next)));
      const result = await runner.run(new LastCall(), { workflowId: 'l' });
      expect(result.output).to.equal('gave up waiting, used the cached copy');
      expect(seen.map((s) => s.lastPoll)).to.deep.equal([false, true]);
      // The asked second was cut to the limit: 60 ms after the step began, which was between the run's start and its first call.
      expect(nextCalls).to.have.length(1);
      expect(nextCalls[0]!, 'the last call is set at the limit, not at the asked second').to.be.within(started + 60, calledAt[0]! + 60);

      class Stubborn {
        @Step({ poll: { timeoutMs: 30, onTimeout: 'run' } })
        check(ctx: StepContext) {
          ctx.retryAfter(1_000);
        }
      }
      const refused = (await new WorkflowRunner().run(new Stubborn(), { workflowId: 's' }).catch((e: unknown) => e)) as WorkflowFailedError;
      expect((refused.cause as StepFailedError).cause).to.be.instanceOf(PollTimeoutError);
    });

    it('refuses a poll option it cannot honour, and a retryAfter that is no time, naming them', () => {
      class Bad {
        @Step({ poll: { timeoutMs: 0 } })
        check() {
          return 1;
        }
      }
      expect(() => buildGraph(Bad)).to.throw(WorkflowDefinitionError, 'poll must be { timeoutMs: <ms > 0>');
      expect(() => new RetryLater(-1)).to.throw("option 'retryAfter' is -1");
      expect(() => new RetryLater(new Date(NaN))).to.throw("option 'retryAfter'");
    });
  });

  it('a process SIGKILLed while it slept a poll: the resume calls at the stored time with the stored count', async () => {
    const dir = await tempDir('waymark-poll-crash-');
    try {
      const log = join(dir.path, 'calls.log');
      const storage = new FileStorage({ directory: join(dir.path, 'store') });
      const child = runTs('spec/fixtures/poll-crash.ts', { STORE: join(dir.path, 'store'), WORKFLOW_ID: 'parcel-1', POLL_LOG: log });
      // Killed once its "not yet" is stored: it sleeps the 2 s in-process, holding the lease.
      let polls: NonNullable<Awaited<ReturnType<typeof storage.readRecord>>>['record']['polls'];
      for (;;) {
        polls = (await storage.readRecord('parcel-1').catch(() => undefined))?.record.polls;
        if (polls?.track !== undefined) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const pid = Number((await storage.readLease('parcel-1'))?.owner.match(/pid (\d+)/)?.[1]);
      expect(pid, 'the sleeping run still holds the lease').to.be.above(0);
      process.kill(pid, 'SIGKILL');
      expect((await child).signal).to.equal('SIGKILL');
      const next = Date.parse(polls!.track!.next);
      // The dead run's lease is taken over at once (FileStorage sees its owner is gone); the rest of
      // the stored wait is slept in-process here.
      process.env.POLL_LOG = log;
      const result = await new WorkflowRunner({ storage, workflows: [ShipmentFlow], maxInlineWaitMs: 5_000 }).resume('parcel-1');
      expect(result.output).to.equal('delivered after 1 polls');
      const calls = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number) as [number, number, number]);
      expect(calls.map(([, count]) => count)).to.deep.equal([0, 1]);
      expect(calls[1]![2], 'not called before the stored time').to.be.at.least(next);
    } finally {
      delete process.env.POLL_LOG;
      await dir.remove();
    }
  });
});
