/**
 * Flow control on every store, with three runners (each with its worker) standing for three
 * processes sharing the store: concurrency keys, step limits and rate limits. The kill rounds with
 * real processes are in flow-crash.spec.ts.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import { InvalidFlowKeyError, InvalidWorkflowIdError, WorkflowFailedError } from '../../../lib/errors';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import type { CheckpointStorage } from '../../../lib/storage/checkpoint-storage';
import { WorkflowWorker } from '../../../lib/worker/workflow-worker';
import { deferred, type Deferred } from '../../helpers/deferred';
import { everyStore } from '../../helpers/stores';
import { until as pollUntil } from '../../helpers/until';

/** What the steps did, in order: `[what, workflow id, ms]`. */
let journal: [string, string, number][] = [];
const note = (what: string, id: string) => journal.push([what, id, Date.now()]);
/** Held open by a spec: a step with this id waits for it. */
const holds = new Map<string, Deferred>();

@Workflow({ name: 'booking', concurrency: { key: (input: { customer: string }) => input.customer, limit: 1 } })
class Booking {
  @Step() async book(ctx: StepContext<{ customer: string }>) {
    note('start', ctx.workflowId);
    await (holds.get(ctx.workflowId)?.promise ?? new Promise((resolve) => setTimeout(resolve, 5)));
    note('end', ctx.workflowId);
    return ctx.input.customer;
  }
}

@Workflow({ name: 'partner-call' })
class PartnerCall {
  @Step() prepare() {
    return 1;
  }
  @Step({ limit: { key: 'partner-api', concurrency: 2 } }) async call(ctx: StepContext) {
    note('start', ctx.workflowId);
    await (holds.get(ctx.workflowId)?.promise ?? new Promise((resolve) => setTimeout(resolve, 15)));
    note('end', ctx.workflowId);
    return 2;
  }
}

@Workflow({ name: 'partner-batch' })
class PartnerBatch {
  @Step({ forEach: () => Array.from({ length: 12 }, (_, i) => i), concurrency: 12, limit: { key: 'partner-api', concurrency: 2 } })
  async call(ctx: StepContext) {
    note('start', `${ctx.workflowId}#${ctx.index}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    note('end', `${ctx.workflowId}#${ctx.index}`);
    return ctx.index;
  }
}

@Workflow({ name: 'llm-call' })
class LlmCall {
  @Step({ rateLimit: { key: (ctx: StepContext<{ account: string }>) => `llm:${ctx.input.account}`, limit: 4, perMs: 400 } })
  ask(ctx: StepContext<{ account: string }>) {
    note('start', ctx.workflowId);
    return 'answer';
  }
}

let keyCalls = 0;
@Workflow({ name: 'counted-key', concurrency: { key: (input: { key: unknown }) => (keyCalls++, input.key as string), limit: 1 } })
class CountedKey {
  @Step() only(ctx: StepContext) {
    note('start', ctx.workflowId);
    return 1;
  }
}

/** Polls `done` every 10 ms for up to `ms`; the last answer. */
const until = (done: () => boolean | Promise<boolean>, ms = 15_000) => pollUntil(done, ms, 10);

/** The largest number of open start/end intervals at once in the journal, of ids that `pick` keeps. */
function mostAtOnce(pick: (id: string) => boolean = () => true): number {
  let open = 0;
  let most = 0;
  for (const [what, id] of journal) {
    if (!pick(id)) continue;
    open += what === 'start' ? 1 : what === 'end' ? -1 : 0;
    most = Math.max(most, open);
  }
  return most;
}

/** Three runners with their workers on one store, like three processes; the workers scan rarely, so a wake must come from a release. */
function fleet(storage: CheckpointStorage, options: { maxInlineWaitMs?: number; pollIntervalMs?: number } = {}) {
  const runners = [0, 1, 2].map(() => new WorkflowRunner({ storage, workflows: [Booking, PartnerCall, PartnerBatch, LlmCall, CountedKey], tracer: false, maxInlineWaitMs: options.maxInlineWaitMs ?? 0 }));
  const workers = runners.map((runner) => new WorkflowWorker({ runner, pollIntervalMs: options.pollIntervalMs ?? 60_000, onError: () => undefined }));
  return {
    runners,
    start: () => Promise.all(workers.map((w) => w.start())),
    stop: () => Promise.all(workers.map((w) => w.stop())),
  };
}

describe('flow control', function () {
  // s3rver on two cores: the step-limit round takes 5 to 20 s there, seconds elsewhere.
  this.timeout(120_000);
  beforeEach(() => {
    journal = [];
    holds.clear();
  });

  it('fails a run whose key function returns no key, with InvalidFlowKeyError naming the run, and calls it once per workflow (the key is stored)', async () => {
    const { MemoryStorage } = await import('../../../lib/storage/memory-storage');
    const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [CountedKey], tracer: false });
    const failed = await runner.run(new CountedKey(), { workflowId: 'no-key', input: { key: 42 } }).catch((e: unknown) => e);
    expect(failed).to.be.instanceOf(InvalidFlowKeyError);
    expect((failed as Error).message).to.equal("workflow 'no-key': its concurrency key function returned no key (a key must be a string, got number): return a name of 1-100 characters, then resume the workflow");
    expect(await runner.get('no-key')).to.include({ status: 'failed' });
    expect(journal, 'no step ran').to.deep.equal([]);
    keyCalls = 0;
    await runner.run(new CountedKey(), { workflowId: 'keyed', input: { key: 'k' } });
    await runner.restart('keyed', { from: 'only' }).catch(() => undefined);
    await runner.resume('keyed');
    expect(keyCalls).to.equal(1);
    expect((await runner.storage.readRecord('keyed'))?.record.concurrencyKey).to.equal('k');
  });

  it("keeps a key's document out of the workflows: not listed, and no run may take its id", async () => {
    const { MemoryStorage } = await import('../../../lib/storage/memory-storage');
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Booking], tracer: false });
    await runner.run(new Booking(), { workflowId: 'listed', input: { customer: 'kim' } });
    const ids = await storage.list();
    expect(ids).to.have.length(2);
    expect((await runner.list()).items.map((w) => w.workflowId)).to.deep.equal(['listed']);
    const flowDoc = ids.find((id) => id !== 'listed')!;
    expect(() => runner.start(new Booking(), { workflowId: flowDoc, input: { customer: 'kim' } })).to.throw(InvalidWorkflowIdError, "it is the id of a flow-control key's document");
  });

  it('stops a run whose slot was taken from it (it stalled past its lease): nothing more is committed under it', async () => {
    const { MemoryStorage } = await import('../../../lib/storage/memory-storage');
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Booking], tracer: false, leaseTtlMs: 300 });
    holds.set('stalled', deferred());
    const run = runner.run(new Booking(), { workflowId: 'stalled', input: { customer: 'eve' } }).catch((e: unknown) => e);
    expect(await until(() => journal.length > 0)).to.equal(true);
    const lost = deferred();
    runner.on('lease:lost', () => lost.resolve());
    // Another process took the slot over (as after the holder's expiry): the next renewal finds it gone.
    const id = (await storage.list()).find((i) => i !== 'stalled')!;
    const stored = (await storage.readRecord(id))!;
    const flow = (stored.record as unknown as { flow: { holders: { id: string; token: string; until: number }[] } }).flow;
    await storage.writeRecord(id, { ...stored.record, flow: { ...flow, holders: [{ id: 'someone-else', token: 't', until: Date.now() + 60_000 }] } } as never, stored.version);
    await lost.promise;
    // The step (which ignores its signal) returns after: its output is not committed.
    holds.get('stalled')!.resolve();
    const stopped = await run;
    expect(stopped).to.be.instanceOf(WorkflowFailedError);
    expect(String((stopped as WorkflowFailedError).cause)).to.contain('LeaseLostError');
    expect((await storage.load('stalled'))!.committedSteps, 'nothing committed').to.deep.equal([]);
  });

  for (const [name, open] of everyStore('flow')) {
    describe(name, () => {
      it('runs one workflow of a key at a time across three runners; the others wait without a lease, say for what, and run in arrival order', async () => {
        const { storage, close } = await open();
        const { runners, start, stop } = fleet(storage);
        try {
          await start();
          // The first run of key 'ann' holds its slot until the spec lets it go.
          holds.set('ann-0', deferred());
          const first = runners[0]!.run(new Booking(), { workflowId: 'ann-0', input: { customer: 'ann' } });
          expect(await until(() => journal.length > 0)).to.equal(true);
          const waiting = [];
          for (let i = 1; i <= 4; i++) {
            const result = await runners[i % 3]!.run(new Booking(), { workflowId: `ann-${i}`, input: { customer: 'ann' } });
            waiting.push(result);
          }
          // Another key is not held up.
          expect((await runners[1]!.run(new Booking(), { workflowId: 'bob-0', input: { customer: 'bob' } })).status).to.equal('completed');
          for (const result of waiting) expect(result).to.include({ status: 'waiting' }).and.to.have.deep.property('waitingFor', ["a slot of concurrency key 'ann'"]);
          const info = await runners[2]!.get('ann-3');
          expect(info).to.include({ status: 'waiting' });
          expect(info!.waitingFor).to.deep.equal(["a slot of concurrency key 'ann'"]);
          expect(info!.lease, 'a waiting run holds no lease').to.equal(undefined);
          holds.get('ann-0')!.resolve();
          await first;
          expect(await until(async () => (await Promise.all([1, 2, 3, 4].map((i) => runners[0]!.get(`ann-${i}`)))).every((w) => w?.status === 'completed')), 'every run completes').to.equal(true);
          expect(mostAtOnce((id) => id.startsWith('ann')), 'runs of one key at once').to.equal(1);
          expect(journal.filter(([what, id]) => what === 'start' && id.startsWith('ann')).map(([, id]) => id)).to.deep.equal(['ann-0', 'ann-1', 'ann-2', 'ann-3', 'ann-4']);
        } finally {
          for (const hold of holds.values()) hold.resolve();
          await stop();
          await close();
        }
      });

      it('wakes the next waiter when the first one in line was cancelled while it waited (it leaves the queue)', async () => {
        const { storage, close } = await open();
        const { runners, start, stop } = fleet(storage);
        try {
          await start();
          holds.set('zed-0', deferred());
          const first = runners[0]!.run(new Booking(), { workflowId: 'zed-0', input: { customer: 'zed' } });
          expect(await until(() => journal.length > 0)).to.equal(true);
          expect((await runners[1]!.run(new Booking(), { workflowId: 'zed-1', input: { customer: 'zed' } })).status).to.equal('waiting');
          expect((await runners[2]!.run(new Booking(), { workflowId: 'zed-2', input: { customer: 'zed' } })).status).to.equal('waiting');
          await runners[1]!.cancel('zed-1', { reason: 'customer left' });
          expect(await until(async () => (await runners[0]!.get('zed-1'))?.status === 'cancelled')).to.equal(true);
          holds.get('zed-0')!.resolve();
          await first;
          // Its timer is a lease TTL (30 s) away and the workers scan once a minute: the release wakes it.
          expect(await until(async () => (await runners[0]!.get('zed-2'))?.status === 'completed', 10_000), 'the second in line runs').to.equal(true);
          expect(journal.filter(([w]) => w === 'start').map(([, id]) => id)).to.deep.equal(['zed-0', 'zed-2']);
        } finally {
          for (const hold of holds.values()) hold.resolve();
          await stop();
          await close();
        }
      });

      it('holds a step limit across three runners, whether steps wait durably or in the run, and for a fan-out\'s items', async () => {
        const { storage, close } = await open();
        const { runners, start, stop } = fleet(storage);
        try {
          await start();
          holds.set('call-0', deferred());
          holds.set('call-1', deferred());
          const held = [0, 1].map((i) => runners[i]!.run(new PartnerCall(), { workflowId: `call-${i}` }));
          expect(await until(() => journal.filter(([w]) => w === 'start').length === 2)).to.equal(true);
          // Both slots are held: the next call waits durably, holding nothing, and says for what.
          const third = await runners[2]!.run(new PartnerCall(), { workflowId: 'call-2' });
          expect(third).to.include({ status: 'waiting' });
          expect(third.waitingFor).to.deep.equal(["a slot of step limit 'partner-api'"]);
          expect((await runners[0]!.get('call-2'))!.lease).to.equal(undefined);
          const more = [3, 4, 5, 6, 7, 8].map((i) => runners[i % 3]!.run(new PartnerCall(), { workflowId: `call-${i}` }));
          const batch = runners[1]!.run(new PartnerBatch(), { workflowId: 'batch' });
          holds.get('call-0')!.resolve();
          holds.get('call-1')!.resolve();
          await Promise.all([...held, ...more]);

          expect(await until(async () => (await Promise.all([...[2, 3, 4, 5, 6, 7, 8].map((i) => `call-${i}`), 'batch'].map((id) => runners[0]!.get(id)))).every((w) => w?.status === 'completed'), 45_000), 'every call completes').to.equal(true);
          await batch;
          expect(journal.filter(([w]) => w === 'start').length).to.equal(9 + 12);
          expect(mostAtOnce(), 'attempts at once').to.equal(2);
        } finally {
          for (const hold of holds.values()) hold.resolve();
          await stop();
          await close();
        }
      });

      it('holds a rate limit across three runners: never more than its limit in a window, the rest waiting in the run or durably', async () => {
        const { storage, close } = await open();
        // Waits of up to 250 ms in the run, longer ones durably (their timers found by the workers' scans).
        const { runners, start, stop } = fleet(storage, { maxInlineWaitMs: 250, pollIntervalMs: 50 });
        try {
          await start();
          const t0 = Date.now();
          await Promise.all(Array.from({ length: 12 }, (_, i) => runners[i % 3]!.run(new LlmCall(), { workflowId: `ask-${i}`, input: { account: 'acme' } })));
          const done = await until(async () => (await Promise.all(Array.from({ length: 12 }, (_, i) => runners[0]!.get(`ask-${i}`)))).every((w) => w?.status === 'completed'));
          expect(done).to.equal(true);
          const starts = journal.filter(([w]) => w === 'start').map(([, , at]) => at).sort((a, b) => a - b);
          expect(starts.length).to.equal(12);
          // 12 calls at 4 per 400 ms take two windows' waits at least.
          expect(starts[11]! - t0).to.be.at.least(800);
          // A call starts at most 100 ms after its admission here (one store round trip, under load).
          for (const at of starts) expect(starts.filter((t) => t >= at && t < at + 300).length, `calls in the 300 ms from ${at - t0}`).to.be.at.most(4);
        } finally {
          await stop();
          await close();
        }
      });
    });
  }
});
