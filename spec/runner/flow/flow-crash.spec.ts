/**
 * Flow control across real processes under kills, on every durable store (MemoryStorage is one
 * process: flow-control.spec.ts proves it with three runners). Worker processes share the store;
 * some are SIGKILLed at random and replaced. From the steps' journal (timestamps of each start and
 * end, and of each kill): never two runs of one concurrency key at once, runs of a key in arrival
 * order, never more than 5 calls under a step limit of 5, never more than 20 calls in a second
 * under a rate limit of 20/s (within the stated tolerance), and every workflow completes.
 *
 * `npm test` runs a short slice; `npm run stress` runs the issue's sizes (FLOW_WORKERS=8,
 * FLOW_RUNS=200, FLOW_KEYS=10, FLOW_KILLS=12, FLOW_CALLS=200).
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { FLOW_WORKFLOWS, journal as flowJournal, KeyedOrder, LlmCall, PartnerCall } from '../../fixtures/flow-flows';
import { startFleet } from '../../helpers/fleet';
import { until } from '../../helpers/until';
import { processStores, type ProcessStore } from '../../helpers/process-stores';
import { seeded } from '../../helpers/race-harness';
import { tempDir } from '../../helpers/temp-dir';
import { readEvents } from '../../helpers/worker';

const env = process.env;
const WORKERS = Number(env.FLOW_WORKERS ?? 4);
const RUNS = Number(env.FLOW_RUNS ?? 40);
const KEYS = Number(env.FLOW_KEYS ?? 4);
const KILLS = Number(env.FLOW_KILLS ?? 3);
const CALLS = Number(env.FLOW_CALLS ?? 60);
/** The rate-limit check's tolerance: a call's start line follows its admission by one store round trip, under load. */
const RATE_TOLERANCE_MS = 150;

const { providers, close } = processStores('flow');

/** The share of the runs and calls a store's rounds take (the S3 servers are slow on two cores). */
const share = (store: ProcessStore) => (store.s3 === undefined ? 1 : 0.5);

type Line = { at: number; pid: string; what: string; id: string; key: string };

function lines(file: string): Line[] {
  return readEvents(file).map(([at, pid, text]) => {
    const [what, id = '', key = ''] = text.split(' ');
    return { at: Number(at), pid, what: what!, id, key };
  });
}

/**
 * The time each attempt ran: from its start line to its end line by the same process, or to when
 * that process was killed (a SIGKILLed process runs no code after it). A start with neither is
 * still running (the spec's own blockers end with their line).
 */
function intervals(all: readonly Line[], start: string, end: string, killedAt: ReadonlyMap<string, number>): { id: string; key: string; from: number; to: number }[] {
  const out: { id: string; key: string; from: number; to: number }[] = [];
  for (const [i, l] of all.entries()) {
    if (l.what !== start) continue;
    const closing = all.slice(i + 1).find((e) => e.what === end && e.id === l.id && e.pid === l.pid);
    const to = closing?.at ?? killedAt.get(l.pid) ?? Infinity;
    out.push({ id: l.id, key: l.key, from: l.at, to });
  }
  return out;
}

/** The most intervals open at one time (an end at the same ms as a start counts as before it). */
function mostAtOnce(spans: readonly { from: number; to: number }[]): number {
  const marks = spans.flatMap((s) => [
    [s.from, 1],
    [s.to, -1],
  ]);
  marks.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let most = 0;
  for (const [, d] of marks) most = Math.max(most, (open += d!));
  return most;
}

async function allCompleted(runner: WorkflowRunner, ids: readonly string[]): Promise<boolean> {
  for (const id of ids) if ((await runner.get(id))?.status !== 'completed') return false;
  return true;
}

async function unfinished(runner: WorkflowRunner, ids: readonly string[]): Promise<string> {
  const out: string[] = [];
  for (const id of ids) {
    const info = await runner.get(id);
    if (info?.status !== 'completed') out.push(`${id}: ${info?.status} ${JSON.stringify(info?.waitingFor ?? [])} ${info?.wakeAt ?? ''}`);
    if (out.length === 5) break;
  }
  return out.join('; ');
}

/**
 * Starts `count` workers on the store, lets the spec's blockers go, SIGKILLs one every 200-800 ms
 * `kills` times (replaced at once), and waits for every run of `ids` to complete; the fleet's kill
 * times, for the journal's checks.
 */
async function round(store: ProcessStore, events: string, count: number, kills: number, next: () => number, release: readonly (() => void)[], blockers: readonly Promise<unknown>[], runner: WorkflowRunner, ids: readonly string[], context: string): Promise<ReadonlyMap<string, number>> {
  const workers = await startFleet('spec/fixtures/flow-worker.ts', count, { STORE: store.store, EVENTS: events, LEASE_TTL_MS: '2000' }, { ready: 'up' });
  try {
    for (const go of release) go();
    await Promise.all(blockers);
    for (let k = 0; k < kills; k++) {
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(next() * 600)));
      workers.kill(next());
    }
    const done = await until(() => allCompleted(runner, ids), 10 * 60_000);
    expect(done, `${context}: every run completes; not yet: ${await unfinished(runner, ids)}`).to.equal(true);
  } finally {
    await workers.stop();
  }
  return workers.killedAt;
}

describe('flow control under kills', function () {
  this.timeout(15 * 60_000);
  after(close);

  for (const [name, open] of providers) {
    describe(name, () => {
      let store: ProcessStore;
      let dir: Awaited<ReturnType<typeof tempDir>>;
      let events: string;
      beforeEach(async () => {
        store = await open();
        dir = await tempDir('waymark-flow-events-');
        events = join(dir.path, 'events.log');
        flowJournal.path = events;
        flowJournal.holds.clear();
      });
      afterEach(async () => {
        flowJournal.path = undefined;
        await dir.remove();
        await store.teardown();
      });

      it(`${WORKERS} workers, ${RUNS} runs (fewer on S3) over ${KEYS} concurrency keys of limit 1, ${KILLS} SIGKILLs: never two runs of a key at once, each key's runs in arrival order, all complete`, async () => {
        const seed = Number(env.FLOW_SEED ?? Date.now() % 100_000);
        const next = seeded(seed);
        // The spec's runner holds every key's slot with a blocker, then queues the runs in order.
        const runner = new WorkflowRunner({ storage: store.storage, workflows: FLOW_WORKFLOWS, tracer: false, maxInlineWaitMs: 0, leaseTtlMs: 2_000 });
        const release: (() => void)[] = [];
        const blockers = Array.from({ length: KEYS }, (_, k) => {
          flowJournal.holds.set(`block-${k}`, new Promise<void>((resolve) => release.push(resolve)));
          return runner.run(new KeyedOrder(), { workflowId: `block-${k}`, input: { key: `customer-${k}` } });
        });
        expect(await until(() => lines(events).filter((l) => l.what === 'start').length === KEYS, 30_000), 'the blockers hold every key').to.equal(true);
        const ids = Array.from({ length: Math.round(RUNS * share(store)) }, (_, i) => `order-${i}`);
        for (const [i, id] of ids.entries()) {
          const result = await runner.run(new KeyedOrder(), { workflowId: id, input: { key: `customer-${i % KEYS}` } });
          expect(result.status, id).to.equal('waiting');
        }
        const killedAt = await round(store, events, WORKERS, KILLS, next, release, blockers, runner, ids, `seed ${seed}`);
        const all = lines(events);
        const spans = intervals(all, 'start', 'end', killedAt);
        for (let k = 0; k < KEYS; k++) {
          const key = `customer-${k}`;
          const mine = spans.filter((s) => s.key === key);
          expect(mostAtOnce(mine), `seed ${seed}: runs of ${key} at once`).to.equal(1);
          // Arrival order: the first start of each run, in time, is the order they were queued in.
          const firsts = [...new Set(all.filter((l) => l.what === 'start' && l.key === key).map((l) => l.id))];
          expect(firsts, `seed ${seed}: ${key} in arrival order`).to.deep.equal([`block-${k}`, ...ids.filter((_, i) => i % KEYS === k)]);
        }
      });

      it(`${Math.min(WORKERS, 3)} workers, ${RUNS} calls (fewer on S3) under a step limit of 5, ${KILLS} SIGKILLs: never more than 5 at once, all complete`, async () => {
        const seed = Number(env.FLOW_SEED ?? Date.now() % 100_000);
        const next = seeded(seed);
        const runner = new WorkflowRunner({ storage: store.storage, workflows: FLOW_WORKFLOWS, tracer: false, maxInlineWaitMs: 0, leaseTtlMs: 2_000 });
        // The spec holds the 5 slots, queues the calls (each waits durably), then lets the workers at them.
        const release: (() => void)[] = [];
        const blockers = Array.from({ length: 5 }, (_, k) => {
          flowJournal.holds.set(`hold-${k}`, new Promise<void>((resolve) => release.push(resolve)));
          return runner.run(new PartnerCall(), { workflowId: `hold-${k}` });
        });
        expect(await until(() => lines(events).filter((l) => l.what === 'cstart').length === 5, 30_000)).to.equal(true);
        const ids = Array.from({ length: Math.round(RUNS * share(store)) }, (_, i) => `call-${i}`);
        for (const id of ids) expect((await runner.run(new PartnerCall(), { workflowId: id })).status, id).to.equal('waiting');
        const killedAt = await round(store, events, Math.min(WORKERS, 3), KILLS, next, release, blockers, runner, ids, `seed ${seed}`);
        const spans = intervals(lines(events), 'cstart', 'cend', killedAt);
        expect(mostAtOnce(spans), `seed ${seed}: calls at once`).to.be.at.most(5);
        expect(mostAtOnce(spans), `seed ${seed}: the limit is used`).to.be.at.least(2);
      });

      it(`3 workers, ${CALLS} calls (fewer on S3) under a rate limit of 20 a second: never more than 20 start within a second (less ${RATE_TOLERANCE_MS} ms), all complete`, async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: FLOW_WORKFLOWS, tracer: false, maxInlineWaitMs: 0, leaseTtlMs: 2_000 });
        const calls = Math.round(CALLS * share(store));
        const ids = Array.from({ length: calls }, (_, i) => `ask-${i}`);
        // Each run waits for its first step's timer: the workers make every call.
        for (const id of ids) expect((await runner.run(new LlmCall(), { workflowId: id })).status, id).to.equal('waiting');
        await round(store, events, 3, 0, Math.random, [], [], runner, ids, 'rate');
        const starts = lines(events)
          .filter((l) => l.what === 'rstart')
          .map((l) => l.at)
          .sort((a, b) => a - b);
        expect(new Set(lines(events).filter((l) => l.what === 'rstart').map((l) => l.id)).size).to.equal(calls);
        for (const at of starts) expect(starts.filter((t) => t >= at && t < at + 1_000 - RATE_TOLERANCE_MS).length, `calls from ${at}`).to.be.at.most(20);
        // The limit is what paces them: so many calls at 20 a second take that long.
        expect(starts[starts.length - 1]! - starts[0]!).to.be.at.least(((calls - 20) / 20) * 1_000 - RATE_TOLERANCE_MS);
      });
    });
  }
});
