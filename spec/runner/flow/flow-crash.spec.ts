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
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import type { CheckpointStorage } from '../../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../../lib/storage/file/file-storage';
import { S3Storage } from '../../../lib/storage/s3';
import { SqliteStorage } from '../../../lib/storage/sqlite';
import { FLOW_WORKFLOWS, journal as flowJournal, KeyedOrder, LlmCall, PartnerCall } from '../../fixtures/flow-flows';
import { TS_REGISTER } from '../../helpers/child';
import { startRgw } from '../../helpers/ceph-rgw';
import { freshSchema, PG_URL } from '../../helpers/postgres';
import { seeded } from '../../helpers/race-harness';
import { startS3, type S3Fixture } from '../../helpers/s3-server';
import { tempDir } from '../../helpers/temp-dir';
import { readEvents } from '../../helpers/worker';

const ROOT = join(__dirname, '..', '..', '..');
const env = process.env;
const WORKERS = Number(env.FLOW_WORKERS ?? 4);
const RUNS = Number(env.FLOW_RUNS ?? 40);
const KEYS = Number(env.FLOW_KEYS ?? 4);
const KILLS = Number(env.FLOW_KILLS ?? 3);
const CALLS = Number(env.FLOW_CALLS ?? 60);
/** The rate-limit check's tolerance: a call's start line follows its admission by one store round trip, under load. */
const RATE_TOLERANCE_MS = 150;

interface Store {
  readonly store: string;
  readonly storage: CheckpointStorage;
  /** The share of the runs and calls this store's rounds take (the S3 servers are slow on two cores). */
  readonly share: number;
  teardown(): Promise<void>;
}

let s3: S3Fixture | undefined;
const providers: readonly (readonly [string, () => Promise<Store>])[] = [
  [
    'FileStorage',
    async () => {
      const dir = await tempDir('waymark-flow-crash-');
      const root = join(dir.path, 'store');
      return { store: `file:${root}`, storage: new FileStorage({ directory: root }), share: 1, teardown: dir.remove };
    },
  ],
  [
    'SqliteStorage',
    async () => {
      const dir = await tempDir('waymark-flow-crash-');
      const path = join(dir.path, 'waymark.db');
      const storage = new SqliteStorage({ path });
      return {
        store: `sqlite:${path}`,
        storage,
        share: 1,
        teardown: async () => {
          await storage.close();
          await dir.remove();
        },
      };
    },
  ],
  [
    'S3Storage',
    async () => {
      s3 ??= await startS3();
      const prefix = `flow-${Date.now()}`;
      return { store: `s3:${s3.endpoint}|${s3.bucket}|${prefix}`, storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix }), share: 0.5, teardown: async () => undefined };
    },
  ],
  [
    'S3Storage on Ceph',
    async () => {
      const rgw = await startRgw();
      const bucket = await rgw.bucket();
      return { store: `s3:${rgw.endpoint}|${bucket}|flow|rgw`, storage: new S3Storage({ client: rgw.client(), bucket, prefix: 'flow' }), share: 0.5, teardown: async () => undefined };
    },
  ],
  [
    'PostgresStorage',
    async () => {
      const pg = await freshSchema();
      return { store: `postgres:${PG_URL}|${pg.schema}`, storage: pg.storage, share: 1, teardown: pg.drop };
    },
  ],
];

type Line = { at: number; pid: string; what: string; id: string; key: string };

function lines(file: string): Line[] {
  return readEvents(file).map(([at, pid, text]) => {
    const [what, id = '', key = ''] = text.split(' ');
    return { at: Number(at), pid, what: what!, id, key };
  });
}

/** `count` worker processes; `kill` SIGKILLs one at random (noting when) and starts another. */
function fleet(count: number, workerEnv: Record<string, string>) {
  const live = new Map<number, ChildProcess>();
  const killedAt = new Map<string, number>();
  const start = () => {
    const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, 'spec/fixtures/flow-worker.ts')], { cwd: ROOT, env: { ...env, TS_NODE_TRANSPILE_ONLY: '1', ...workerEnv }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    live.set(child.pid!, child);
    child.on('exit', () => live.delete(child.pid!));
    return new Promise<void>((resolve) => child.on('message', (m) => m === 'up' && resolve()));
  };
  return {
    killedAt,
    start: () => Promise.all(Array.from({ length: count }, start)),
    kill(pick: number) {
      const pids = [...live.keys()];
      const pid = pids[Math.floor(pick * pids.length)]!;
      killedAt.set(String(pid), Date.now());
      live.get(pid)!.kill('SIGKILL');
      live.delete(pid);
      void start();
    },
    async stop() {
      const exits = [...live.values()].map((c) => new Promise((resolve) => c.once('exit', resolve)));
      for (const child of live.values()) child.kill('SIGKILL');
      await Promise.all(exits);
    },
  };
}

/** Looks every 50 ms until `done()` or `ms` passed; true when done. */
async function until(done: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return done();
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

describe('flow control under kills', function () {
  this.timeout(15 * 60_000);
  after(async () => s3?.close());

  for (const [name, open] of providers) {
    describe(name, () => {
      let store: Store;
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
        const ids = Array.from({ length: Math.round(RUNS * store.share) }, (_, i) => `order-${i}`);
        for (const [i, id] of ids.entries()) {
          const result = await runner.run(new KeyedOrder(), { workflowId: id, input: { key: `customer-${i % KEYS}` } });
          expect(result.status, id).to.equal('waiting');
        }
        const workers = fleet(WORKERS, { STORE: store.store, EVENTS: events, LEASE_TTL_MS: '2000' });
        try {
          await workers.start();
          for (const go of release) go();
          await Promise.all(blockers);
          for (let k = 0; k < KILLS; k++) {
            await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(next() * 600)));
            workers.kill(next());
          }
          const done = await until(() => allCompleted(runner, ids), 10 * 60_000);
          expect(done, `seed ${seed}: every run completes; not yet: ${await unfinished(runner, ids)}`).to.equal(true);
        } finally {
          await workers.stop();
        }
        const all = lines(events);
        const spans = intervals(all, 'start', 'end', workers.killedAt);
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
        const ids = Array.from({ length: Math.round(RUNS * store.share) }, (_, i) => `call-${i}`);
        for (const id of ids) expect((await runner.run(new PartnerCall(), { workflowId: id })).status, id).to.equal('waiting');
        const workers = fleet(Math.min(WORKERS, 3), { STORE: store.store, EVENTS: events, LEASE_TTL_MS: '2000' });
        try {
          await workers.start();
          for (const go of release) go();
          await Promise.all(blockers);
          for (let k = 0; k < KILLS; k++) {
            await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(next() * 600)));
            workers.kill(next());
          }
          const done = await until(() => allCompleted(runner, ids), 10 * 60_000);
          expect(done, `seed ${seed}: every call completes; not yet: ${await unfinished(runner, ids)}`).to.equal(true);
        } finally {
          await workers.stop();
        }
        const spans = intervals(lines(events), 'cstart', 'cend', workers.killedAt);
        expect(mostAtOnce(spans), `seed ${seed}: calls at once`).to.be.at.most(5);
        expect(mostAtOnce(spans), `seed ${seed}: the limit is used`).to.be.at.least(2);
      });

      it(`3 workers, ${CALLS} calls (fewer on S3) under a rate limit of 20 a second: never more than 20 start within a second (less ${RATE_TOLERANCE_MS} ms), all complete`, async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: FLOW_WORKFLOWS, tracer: false, maxInlineWaitMs: 0, leaseTtlMs: 2_000 });
        const calls = Math.round(CALLS * store.share);
        const ids = Array.from({ length: calls }, (_, i) => `ask-${i}`);
        // Each run waits for its first step's timer: the workers make every call.
        for (const id of ids) expect((await runner.run(new LlmCall(), { workflowId: id })).status, id).to.equal('waiting');
        const workers = fleet(3, { STORE: store.store, EVENTS: events, LEASE_TTL_MS: '2000' });
        try {
          await workers.start();
          const done = await until(() => allCompleted(runner, ids), 5 * 60_000);
          expect(done, `every call completes; not yet: ${await unfinished(runner, ids)}`).to.equal(true);
        } finally {
          await workers.stop();
        }
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
