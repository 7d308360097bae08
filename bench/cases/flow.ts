/**
 * Flow control:
 * - cost per step of a step limit and of a rate limit: a chain of steps that each take a slot (or
 *   a token), against the same chain without, on FileStorage, SqliteStorage and PostgreSQL;
 * - wake latency: a run waiting durably for a concurrency key's slot → its step started, after the
 *   run holding the slot (another runner, as another process would) gave it up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { FileStorage, WorkflowRunner, WorkflowWorker, type CheckpointStorage } from '../../lib';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { freshSchema } from '../../spec/helpers/postgres';

/** Steps in each measured chain. */
export const FLOW_STEPS = 200;

function chain(name: string, options: object): new () => object {
  const Chain = class {};
  Object.defineProperty(Chain, 'name', { value: name });
  for (let i = 0; i < FLOW_STEPS; i++) {
    Object.defineProperty(Chain.prototype, `s${i}`, { value: () => i });
    Step(options)(Chain.prototype, `s${i}`, Object.getOwnPropertyDescriptor(Chain.prototype, `s${i}`)!);
  }
  Workflow({ name })(Chain);
  return Chain;
}

const Plain = chain('bench-plain-chain', {});
const Limited = chain('bench-limited-chain', { limit: { key: 'bench-api', concurrency: 10 } });
// A limit it never reaches: the cost of counting, not of waiting.
const Rated = chain('bench-rated-chain', { rateLimit: { key: 'bench-llm', limit: 1_000, perMs: 100 } });

let holdRelease: (() => void) | undefined;
let stepStarted: (() => void) | undefined;

@Workflow({ name: 'bench-keyed', concurrency: { key: (input: { key: string }) => input.key, limit: 1 } })
class Keyed {
  @Step() async work(ctx: { workflowId: string }) {
    if (ctx.workflowId.startsWith('holder')) await new Promise<void>((resolve) => (holdRelease = resolve));
    else stepStarted?.();
    return 1;
  }
}

export interface FlowCostRow {
  readonly storage: string;
  /** Ms per step: the plain chain, with a step limit, with a rate limit. */
  readonly plainMsPerStep: number;
  readonly limitMsPerStep: number;
  readonly rateMsPerStep: number;
}

export interface FlowBench {
  readonly cost: FlowCostRow[];
  /** Median ms from the holder's step ending to the waiter's step starting, by store. */
  readonly wake: { readonly storage: string; readonly ms: number }[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function perStep(storage: CheckpointStorage, Target: new () => object, rounds = 3): Promise<number> {
  const runner = new WorkflowRunner({ storage, workflows: [Target], tracer: false });
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await runner.run(new Target(), { workflowId: `${Target.name}-${i}` });
    times.push((performance.now() - started) / FLOW_STEPS);
  }
  return median(times);
}

async function cost(storage: string, open: () => Promise<{ storage: CheckpointStorage; close(): Promise<void> }>): Promise<FlowCostRow> {
  const store = await open();
  try {
    return { storage, plainMsPerStep: await perStep(store.storage, Plain), limitMsPerStep: await perStep(store.storage, Limited), rateMsPerStep: await perStep(store.storage, Rated) };
  } finally {
    await store.close();
  }
}

/** Median of `rounds`: the holder gives its slot up → the durably waiting run's step starts (worker polls every 1 s). */
async function wake(open: () => Promise<{ storage: CheckpointStorage; close(): Promise<void> }>, rounds = 5): Promise<number> {
  const store = await open();
  const holderRunner = new WorkflowRunner({ storage: store.storage, workflows: [Keyed], tracer: false });
  const runner = new WorkflowRunner({ storage: store.storage, workflows: [Keyed], tracer: false, maxInlineWaitMs: 0 });
  const worker = new WorkflowWorker({ runner, pollIntervalMs: 1_000 });
  await worker.start();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const holding = holderRunner.run(new Keyed(), { workflowId: `holder-${i}`, input: { key: `k${i}` } });
      while (holdRelease === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      const waiting = await runner.run(new Keyed(), { workflowId: `waiter-${i}`, input: { key: `k${i}` } });
      if (waiting.status !== 'waiting') throw new Error(`the waiter ran at once (${waiting.status})`);
      const started = new Promise<number>((resolve) => (stepStarted = () => resolve(performance.now())));
      const releasedAt = performance.now();
      holdRelease();
      holdRelease = undefined;
      await holding;
      latencies.push((await started) - releasedAt);
    }
  } finally {
    await worker.stop();
    await store.close();
  }
  return median(latencies);
}

function fileStore(): Promise<{ storage: CheckpointStorage; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-flow-'));
  return Promise.resolve({ storage: new FileStorage({ directory: dir }), close: async () => rmSync(dir, { recursive: true, force: true }) });
}

function sqliteStore(): Promise<{ storage: CheckpointStorage; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-flow-'));
  const storage = new SqliteStorage({ path: join(dir, 'waymark.db') });
  return Promise.resolve({
    storage,
    close: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

async function postgresStore(): Promise<{ storage: CheckpointStorage; close(): Promise<void> }> {
  const pg = await freshSchema(10);
  return { storage: pg.storage, close: pg.drop };
}

export async function flow(): Promise<FlowBench> {
  const stores: [string, () => Promise<{ storage: CheckpointStorage; close(): Promise<void> }>][] = [
    ['FileStorage', fileStore],
    ['SqliteStorage', sqliteStore],
    ['PostgresStorage', postgresStore],
  ];
  const rows: FlowCostRow[] = [];
  const wakes: { storage: string; ms: number }[] = [];
  for (const [name, open] of stores) {
    rows.push(await cost(name, open));
    wakes.push({ storage: name, ms: await wake(open) });
  }
  return { cost: rows, wake: wakes };
}
