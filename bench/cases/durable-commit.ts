/**
 * Durable commits on FileStorage against the disk's limit: a bare *synchronous* loop doing the
 * syscalls of one atomic write (new temp file, write, fsync, close, rename into a new name, directory
 * open, fsync, close) with the same bytes. Three figures, in one run:
 *
 * - sequential: 2,000 steps in a chain, steps/s against the loop;
 * - parallel: 100 independent steps committing at once, commits/s against the same sequential loop
 *   (the disk's journal can batch concurrent fsyncs, and one directory fsync can cover several renames).
 *   Two figures: the commits themselves (first step started to last step committed, from the runner's
 *   events: the goal), and the whole run, whose lease, record, recovery entry, completion and release
 *   are about a dozen more fsyncs in a row (reported);
 * - event loop: while the sequential chain commits, how late a 1 ms interval timer fires (p99; the
 *   median of three chains).
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeValue } from '../../lib/checkpoint-codec';
import { isoNow } from '../../lib/iso-now';
import { FileStorage, WorkflowRunner } from '../../lib';
import { generatedWorkflow, measurePair, median, type PairResult } from '../harness';

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

/** How late a 1 ms interval fires while `work` runs: p99 and max, in ms (the SQLite case measures with it too). */
export async function timerLateness(work: () => Promise<unknown>): Promise<{ p99Ms: number; maxMs: number }> {
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
  /** The commit window: first step started to last step committed. */
  readonly parallel: { readonly perSecond: number; readonly baselinePerSecond: number; readonly ratio: number };
  /** The same runs timed whole, lease to release. */
  readonly parallelRun: { readonly perSecond: number; readonly ratio: number };
  /** The median of three chains' p99, the largest delay of all three, and each chain's p99. */
  readonly eventLoop: { readonly p99Ms: number; readonly maxMs: number; readonly runsP99Ms: readonly number[] };
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
    const parallel = await parallelRounds(root, () => bare(PARALLEL_STEPS)(), 9);
    // Three chains, each with its own timer: the median p99 (one run can meet a stall of the VM's disk).
    const lateness: { p99Ms: number; maxMs: number }[] = [];
    for (let i = 0; i < 3; i++) lateness.push(await timerLateness(() => engine(CommitWorkflow)));
    const eventLoop = { p99Ms: median(lateness.map((l) => l.p99Ms)), maxMs: Math.max(...lateness.map((l) => l.maxMs)), runsP99Ms: lateness.map((l) => l.p99Ms) };
    return { sequential: { ...pair, measuredPerSecond, baselinePerSecond, ratio: 1 / pair.ratio }, ...parallel, eventLoop };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Rounds of one 100-step run against 100 writes of the sequential loop, alternating which goes first.
 * The run's commit window comes from its own events (`step:started` of the first step to
 * `step:committed` of the last): the steps return at once, so that is the commits, all at once.
 */
async function parallelRounds(root: string, baseline: () => Promise<void>, rounds: number): Promise<Pick<DurableCommitResult, 'parallel' | 'parallelRun'>> {
  const storage = new FileStorage({ directory: join(root, 'parallel') });
  const runner = new WorkflowRunner({ storage, tracer: false, concurrency: PARALLEL_STEPS });
  let firstStarted = 0;
  let lastCommitted = 0;
  runner.on('step:started', () => void (firstStarted ||= performance.now()));
  runner.on('step:committed', () => void (lastCommitted = performance.now()));
  let n = 0;
  const engineRound = async () => {
    firstStarted = 0;
    const started = performance.now();
    await runner.run(new ParallelWorkflow(), { workflowId: `parallel-${n++}` });
    return { windowMs: lastCommitted - firstStarted, runMs: performance.now() - started };
  };
  const baselineRound = async () => {
    const started = performance.now();
    await baseline();
    return performance.now() - started;
  };
  await baselineRound();
  await engineRound();
  const windows: number[] = [];
  const runs: number[] = [];
  const bases: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const first = i % 2 === 0 ? await baselineRound() : undefined;
    const engine = await engineRound();
    const base = first ?? (await baselineRound());
    windows.push(engine.windowMs);
    runs.push(engine.runMs);
    bases.push(base);
  }
  const perSecond = (ms: number) => PARALLEL_STEPS / (ms / 1000);
  return {
    parallel: { perSecond: perSecond(median(windows)), baselinePerSecond: perSecond(median(bases)), ratio: median(bases.map((b, i) => b / windows[i]!)) },
    parallelRun: { perSecond: perSecond(median(runs)), ratio: median(bases.map((b, i) => b / runs[i]!)) },
  };
}
