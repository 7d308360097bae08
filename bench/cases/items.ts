/**
 * Per-item fan-out (`@Step({ forEach })`) on each durable store:
 * - throughput: N trivial items at concurrency 50, in items/s, against the same store's sequential
 *   chain (one durable step after another; its rate measured on a chain of up to 2,000 steps);
 * - resume of that fan-out with half its items committed: time and storage reads against a fresh
 *   run of the whole fan-out on the same store;
 * - memory: heap kept per item by a 100,000-item fan-out on MemoryStorage, against the same
 *   outputs and checkpoints held without the engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Step } from '../../decorators';
import { FileStorage, MemoryStorage, WorkflowRunner, type CheckpointStorage } from '../../lib';
import { encodeValue } from '../../lib/checkpoint-codec';
import { buildGraph, storedSteps } from '../../lib/graph';
import { itemKey, listKey } from '../../lib/item-keys';
import type { StepContext } from '../../lib/runner/step-context';
import { S3Storage } from '../../lib/storage/s3';
import { startRgw } from '../../spec/helpers/ceph-rgw';
import { freshSchema } from '../../spec/helpers/postgres';
import { startS3 } from '../../spec/helpers/s3-server';
import { generatedWorkflow } from '../harness';

export const FAN_OUT_ITEMS = 10_000;
const CHAIN_STEPS = 2_000;
const MEMORY_ITEMS = 100_000;

export interface ItemsRow {
  readonly storage: string;
  readonly items: number;
  readonly itemsPerSecond: number;
  readonly chainPerSecond: number;
  readonly resumeMs: number;
  readonly freshMs: number;
  readonly resumeReads: number;
  readonly freshReads: number;
}

class Items {
  @Step() load(ctx: StepContext<{ count: number }>) {
    return ctx.input.count;
  }
  @Step({ forEach: (ctx: StepContext<unknown, number>) => Array.from({ length: ctx.previous }, (_, i) => i), concurrency: 50 })
  each(ctx: StepContext) {
    return (ctx.item as number) * 2;
  }
}

/** Counts the reads a run makes of a store: loads, records and checkpoints (a batch read counts its checkpoints). */
function counted(storage: CheckpointStorage): { storage: CheckpointStorage; reads: () => number; reset: () => void } {
  let reads = 0;
  const proxy = new Proxy(storage, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (key === 'load' || key === 'readRecord' || key === 'readCheckpoint') return (...args: unknown[]) => (reads++, (value as (...a: unknown[]) => unknown).apply(target, args));
      if (key === 'readCheckpoints') return (id: string, steps: readonly string[]) => ((reads += steps.length), (value as (...a: unknown[]) => unknown).call(target, id, steps));
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { storage: proxy, reads: () => reads, reset: () => (reads = 0) };
}

/** Puts `workflowId` in the state of a fan-out killed at half: its list and the first half of its items committed. */
async function seedHalf(storage: CheckpointStorage, workflowId: string, n: number): Promise<void> {
  const graph = buildGraph(Items);
  const now = new Date().toISOString();
  await storage.writeRecord(workflowId, { formatVersion: 1, workflowId, workflowName: graph.workflowName, fingerprint: 'seeded', steps: storedSteps(graph), updatedAt: now, createdAt: now, status: 'running', fanOuts: { each: n } }, null);
  const commit = (step: string, output: unknown) => storage.commit(workflowId, { formatVersion: 1, step, status: 'completed', attempts: 1, committedAt: now, output: encodeValue(output) });
  await commit('load', n);
  await commit(listKey('each'), Array.from({ length: n }, (_, i) => i));
  for (let i = 0; i < n / 2; i += 100) await Promise.all(Array.from({ length: Math.min(100, n / 2 - i) }, (_, k) => commit(itemKey('each', i + k), (i + k) * 2)));
}

async function storeRow(name: string, storage: CheckpointStorage, n: number): Promise<ItemsRow> {
  const { storage: store, reads, reset } = counted(storage);
  const runner = new WorkflowRunner({ storage: store, tracer: false, concurrency: 50 });
  let started = Date.now();
  await runner.run(new Items(), { workflowId: 'fresh', input: { count: n } });
  const freshMs = Date.now() - started;
  const freshReads = reads();

  const Chain = generatedWorkflow(Math.min(n, CHAIN_STEPS), (i) => i);
  started = Date.now();
  await runner.run(new Chain(), { workflowId: 'chain' });
  const chainPerSecond = Math.min(n, CHAIN_STEPS) / ((Date.now() - started) / 1000);

  await seedHalf(storage, 'half', n);
  reset();
  started = Date.now();
  const resumed = await runner.run(new Items(), { workflowId: 'half', input: { count: n }, resume: true, fingerprint: 'seeded' });
  const resumeMs = Date.now() - started;
  if ((resumed.output as number[]).length !== n) throw new Error(`${name}: the resumed fan-out output ${String((resumed.output as number[]).length)} items`);
  return { storage: name, items: n, itemsPerSecond: n / (freshMs / 1000), chainPerSecond, resumeMs, freshMs, resumeReads: reads(), freshReads };
}

/** Heap kept per item by a finished fan-out of {@link MEMORY_ITEMS} items, and by the same data held bare. */
async function memoryPerItem(): Promise<{ engineBytes: number; bareBytes: number }> {
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const heap = () => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  let before = heap();
  const storage = new MemoryStorage();
  const result = await new WorkflowRunner({ storage, tracer: false, concurrency: 50 }).run(new Items(), { workflowId: 'memory', input: { count: MEMORY_ITEMS } });
  const engineBytes = (heap() - before) / MEMORY_ITEMS;
  before = heap();
  // The same: the outputs array, and a stored checkpoint per item plus the list and the step's own.
  const bare = new Map<string, string>();
  const outputs = Array.from({ length: MEMORY_ITEMS }, (_, i) => i * 2);
  const now = new Date().toISOString();
  bare.set('list', JSON.stringify(encodeValue(Array.from({ length: MEMORY_ITEMS }, (_, i) => i))));
  for (let i = 0; i < MEMORY_ITEMS; i++) bare.set(itemKey('each', i), JSON.stringify({ formatVersion: 1, step: itemKey('each', i), status: 'completed', attempts: 1, committedAt: now, output: encodeValue(i * 2) }));
  bare.set('each', JSON.stringify(encodeValue(outputs)));
  const bareBytes = (heap() - before) / MEMORY_ITEMS;
  // Both stay reachable until both are measured: the store is part of what the engine's side keeps.
  if (result.status !== 'completed' || bare.size === 0 || outputs.length === 0 || (await storage.load('memory')) === undefined) throw new Error('memory case did not run');
  return { engineBytes, bareBytes };
}

export async function items(): Promise<{ rows: ItemsRow[]; memory: { engineBytes: number; bareBytes: number } }> {
  const rows: ItemsRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'waymark-bench-items-'));
  const s3 = await startS3();
  const pg = await freshSchema(10);
  try {
    rows.push(await storeRow('FileStorage', new FileStorage({ directory: dir }), FAN_OUT_ITEMS));
    rows.push(await storeRow('PostgresStorage', pg.storage, FAN_OUT_ITEMS));
    rows.push(await storeRow('S3Storage (s3rver)', new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: 'items' }), FAN_OUT_ITEMS));
    const rgw = await startRgw();
    rows.push(await storeRow('S3Storage (Ceph RGW)', new S3Storage({ client: rgw.client(), bucket: await rgw.bucket(), prefix: 'items' }), FAN_OUT_ITEMS));
    return { rows, memory: await memoryPerItem() };
  } finally {
    await s3.close();
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}
