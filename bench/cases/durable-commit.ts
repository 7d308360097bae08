/**
 * Durable commits on FileStorage against the disk's limit: a bare *synchronous* loop doing the
 * syscalls of one atomic write (new temp file, write, fsync, close, rename into a new name, directory
 * open, fsync, close) with the same bytes. Three figures, in one run:
 *
 * - sequential: 2,000 steps in a chain, steps/s against the loop;
 * - parallel: 100 independent steps committing at once, commits/s against the same sequential loop
 *   (the disk's journal can batch concurrent fsyncs, and one directory fsync can cover several renames);
 * - event loop: while the sequential chain commits, how late a 1 ms interval timer fires (p99).
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeValue } from '../../lib/checkpoint-codec';
import { isoNow } from '../../lib/iso-now';
import { FileStorage, WorkflowRunner } from '../../lib';
import { generatedWorkflow, measurePair, type PairResult } from '../harness';

export const COMMIT_STEPS = 2_000;
export const PARALLEL_STEPS = 100;
const payload = (i: number) => ({ i, s: 'x'.repeat(64) });
const CommitWorkflow = generatedWorkflow(COMMIT_STEPS, payload);
const ParallelWorkflow = generatedWorkflow(PARALLEL_STEPS, payload, { roots: true });

/** The bytes FileStorage writes for step `i`. */
function checkpointBytes(i: number): string {
  return JSON.stringify({ formatVersion: 1, step: `s${i}`, status: 'completed', attempts: 1, committedAt: isoNow(), output: encodeValue(payload(i)) });
}

/** One atomic write, synchronously: what the disk allows with these syscalls. */
function writeSync_(directory: string, name: string, data: string, n: number): void {
  const temp = join(directory, `.tmp-bench-${n}`);
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(directory, name));
  const dir = openSync(directory, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** How late a 1 ms interval fires while `work` runs: p99 and max, in ms. */
async function timerLateness(work: () => Promise<unknown>): Promise<{ p99Ms: number; maxMs: number }> {
  const late: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - last - 1));
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  late.sort((a, b) => a - b);
  return { p99Ms: late[Math.min(late.length - 1, Math.floor(late.length * 0.99))] ?? 0, maxMs: late[late.length - 1] ?? 0 };
}

export interface DurableCommitResult {
  readonly sequential: PairResult & { readonly measuredPerSecond: number; readonly baselinePerSecond: number; readonly ratio: number };
  readonly parallel: { readonly perSecond: number; readonly baselinePerSecond: number; readonly ratio: number };
  readonly eventLoop: { readonly p99Ms: number; readonly maxMs: number };
}

export async function durableCommit(): Promise<DurableCommitResult> {
  const root = mkdtempSync(join(tmpdir(), 'waymark-bench-commit-'));
  let n = 0;
  const engine = (workflow: new () => object, storage = new FileStorage({ directory: join(root, 'engine') })) =>
    new WorkflowRunner({ storage, tracer: false, concurrency: PARALLEL_STEPS }).run(new workflow(), { workflowId: `run-${n++}` });
  const bare = (steps: number) => async () => {
    const dir = join(root, 'bare', `run-${n++}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < steps; i++) writeSync_(dir, `s${i}.json`, checkpointBytes(i), i);
  };
  try {
    // Ratios of rates: each round's baseline time over its measured time, the median of the rounds.
    const pair = await measurePair({ measured: () => engine(CommitWorkflow), baseline: bare(COMMIT_STEPS), warmup: 1, rounds: 5 });
    const measuredPerSecond = COMMIT_STEPS / (pair.measuredMs / 1000);
    const baselinePerSecond = COMMIT_STEPS / (pair.baselineMs / 1000);
    // Parallel: 100 independent steps against 100 commits of the sequential loop, side by side.
    const parallelPair = await measurePair({ measured: () => engine(ParallelWorkflow), baseline: bare(PARALLEL_STEPS), warmup: 1, rounds: 9 });
    const perSecond = PARALLEL_STEPS / (parallelPair.measuredMs / 1000);
    const eventLoop = await timerLateness(() => engine(CommitWorkflow));
    return {
      sequential: { ...pair, measuredPerSecond, baselinePerSecond, ratio: 1 / pair.ratio },
      parallel: { perSecond, baselinePerSecond: PARALLEL_STEPS / (parallelPair.baselineMs / 1000), ratio: 1 / parallelPair.ratio },
      eventLoop,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
