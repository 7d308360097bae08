/**
 * Waits and the worker:
 * - wake latency: a due timer → its step started, with the worker's poll interval at 1 s and at
 *   100 ms; an event sent in the worker's process → the waiting step started (goal < 10 ms);
 * - due-scan cost: a scan of a wake index holding 10,000 waiting workflows of which 10 are due,
 *   against one holding those 10 alone (time per scan on files, LIST requests on S3);
 * - worker memory: heap used by a worker that scanned 10,000 waiting workflows against 10.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { FileStorage, MemoryStorage, WorkflowRunner, WorkflowWorker, type CheckpointStorage } from '../../lib';
import { S3Storage } from '../../lib/storage/s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { countRequests } from '../../spec/helpers/count-requests';
import { startS3 } from '../../spec/helpers/s3-server';
import { startRgw } from '../../spec/helpers/ceph-rgw';

let stepStarted: (() => void) | undefined;

@Workflow({ name: 'bench-timer' })
class Timer {
  @Step() first() {
    return 1;
  }
  @Step({ delayMs: 200 }) second() {
    stepStarted?.();
    return 2;
  }
}

@Workflow({ name: 'bench-event' })
class Awaiting {
  @Step() first() {
    return 1;
  }
  @Step({ waitFor: { event: 'go' } }) second() {
    stepStarted?.();
    return 2;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Starts the next time a waiting step starts: resolves with the time it did. */
function nextStepStart(): Promise<number> {
  return new Promise((resolve) => (stepStarted = () => resolve(performance.now() + performance.timeOrigin)));
}

/** Median ms from a timer's wake time to its step starting, with a worker polling every `pollIntervalMs`. */
async function timerLatency(pollIntervalMs: number, rounds = 5): Promise<number> {
  const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [Timer], maxInlineWaitMs: 0, tracer: false });
  const worker = new WorkflowWorker({ runner, pollIntervalMs });
  await worker.start();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const started = nextStepStart();
      const waiting = await runner.run(new Timer(), { workflowId: `timer-${pollIntervalMs}-${i}` });
      latencies.push((await started) - Date.parse(waiting.wakeAt!));
    }
  } finally {
    await worker.stop();
  }
  return median(latencies);
}

/** Median ms from calling `sendEvent` to the waiting step starting, in the worker's own process. */
async function eventLatency(rounds = 9): Promise<number> {
  const runner = new WorkflowRunner({ storage: new MemoryStorage(), workflows: [Awaiting], tracer: false });
  const worker = new WorkflowWorker({ runner, pollIntervalMs: 600_000 });
  await worker.start();
  const latencies: number[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      await runner.run(new Awaiting(), { workflowId: `event-${i}` });
      const started = nextStepStart();
      const sentAt = performance.now() + performance.timeOrigin;
      await runner.sendEvent(`event-${i}`, 'go', i);
      latencies.push((await started) - sentAt);
    }
  } finally {
    await worker.stop();
  }
  return median(latencies);
}

/** Fills the wake index with `waiting` entries spread over the next 30 days, and 10 due now. */
async function fill(storage: CheckpointStorage, waiting: number): Promise<void> {
  const now = Date.now();
  const entries = [
    ...Array.from({ length: 10 }, (_, i) => ({ workflowId: `due-${i}`, wakeAt: now - 1000 - i })),
    ...Array.from({ length: waiting - 10 }, (_, i) => ({ workflowId: `later-${i}`, wakeAt: now + 60_000 + Math.floor((i / waiting) * 30 * 86_400_000) })),
  ];
  for (let i = 0; i < entries.length; i += 200) await Promise.all(entries.slice(i, i + 200).map((e) => storage.addWake(e)));
}

/** Median ms of a worker's scan query (the due entries and the next one) over `rounds`. */
async function scanMs(storage: CheckpointStorage, rounds = 21): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const entries = await storage.dueWakes(Number.MAX_SAFE_INTEGER, 11);
    times.push(performance.now() - started);
    if (entries.filter((e) => e.workflowId.startsWith('due-')).length !== 10) throw new Error('the scan missed due entries');
  }
  return median(times);
}

export interface DueScanRow {
  readonly storage: string;
  readonly manyMs: number;
  readonly fewMs: number;
  readonly ratio: number;
  /** S3: LIST requests of one scan, with 10,000 and with 10 waiting. */
  readonly lists?: { readonly many: number; readonly few: number };
}

async function fileScan(): Promise<DueScanRow> {
  const dirs = [mkdtempSync(join(tmpdir(), 'waymark-bench-')), mkdtempSync(join(tmpdir(), 'waymark-bench-'))];
  try {
    const many = new FileStorage({ directory: dirs[0]! });
    const few = new FileStorage({ directory: dirs[1]! });
    await fill(many, 10_000);
    await fill(few, 10);
    const manyMs = await scanMs(many);
    const fewMs = await scanMs(few);
    return { storage: 'FileStorage', manyMs, fewMs, ratio: manyMs / fewMs };
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

async function s3Scan(name: string, client: S3Client, bucket: string): Promise<DueScanRow> {
  const many = new S3Storage({ client, bucket, prefix: 'many' });
  const few = new S3Storage({ client, bucket, prefix: 'few' });
  await fill(many, 10_000);
  await fill(few, 10);
  const counts = countRequests(client);
  const manyMs = await scanMs(many, 5);
  const manyLists = (counts.get('ListObjectsV2Command') ?? 0) / 5;
  counts.clear();
  const fewMs = await scanMs(few, 5);
  const fewLists = (counts.get('ListObjectsV2Command') ?? 0) / 5;
  return { storage: name, manyMs, fewMs, ratio: manyMs / fewMs, lists: { many: manyLists, few: fewLists } };
}

/** The scan on s3rver behind the specs' proxy, and on Ceph's RADOS Gateway. */
async function s3Scans(): Promise<DueScanRow[]> {
  const s3 = await startS3();
  try {
    const rows = [await s3Scan('S3Storage (s3rver)', s3.client(), s3.bucket)];
    const rgw = await startRgw();
    rows.push(await s3Scan('S3Storage (Ceph RGW)', rgw.client(), await rgw.bucket()));
    return rows;
  } finally {
    await s3.close();
  }
}

/** Heap used after a worker scanned an index of `waiting` entries (none due), in bytes. */
async function workerHeap(waiting: number): Promise<number> {
  const storage = new MemoryStorage();
  const now = Date.now();
  for (let i = 0; i < waiting; i++) await storage.addWake({ workflowId: `w-${i}`, wakeAt: now + 3_600_000 + i });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const before = process.memoryUsage().heapUsed;
  const worker = new WorkflowWorker({ runner: new WorkflowRunner({ storage, tracer: false }), pollIntervalMs: 600_000 });
  await worker.start();
  gc?.();
  const after = process.memoryUsage().heapUsed;
  await worker.stop();
  return Math.max(0, after - before);
}

export interface WaitsResult {
  readonly timerLatencyMs: { readonly poll1s: number; readonly poll100ms: number };
  readonly eventLatencyMs: number;
  readonly dueScan: readonly DueScanRow[];
  readonly workerHeapBytes: { readonly waiting10k: number; readonly waiting10: number };
}

export async function waits(): Promise<WaitsResult> {
  const poll1s = await timerLatency(1_000);
  const poll100ms = await timerLatency(100);
  const eventLatencyMs = await eventLatency();
  const dueScan = [await fileScan(), ...(await s3Scans())];
  const waiting10k = await workerHeap(10_000);
  const waiting10 = await workerHeap(10);
  return { timerLatencyMs: { poll1s, poll100ms }, eventLatencyMs, dueScan, workerHeapBytes: { waiting10k, waiting10 } };
}
