/**
 * Measures a case against its baseline in the same process: warm-up rounds, then rounds that
 * alternate which of the two runs first. The ratio is the median of each round's own ratio: a
 * machine whose speed drifts during the run (a disk's does, by half) moves both sides of a round
 * together, so the drift cancels in the ratio where it would not in a ratio of two medians.
 */

/** One measured pair. */
export interface Pair {
  /** Runs the measured code once. */
  readonly measured: () => Promise<unknown>;
  /** Runs the baseline once. */
  readonly baseline: () => Promise<unknown>;
  readonly warmup?: number;
  readonly rounds?: number;
  /**
   * Force a full garbage collection before each timed run (the default). Off for the engine rows: a
   * forced collection leaves the heap cold, and the next run of the engine took ×1.5 its warm time
   * (the hand-written loop, which allocates far less, barely moves), which a worker whose heap is
   * warm never sees. Without it, each run pays for collecting the previous run's garbage instead.
   */
  readonly collect?: boolean;
}

/** Medians in ms, and the median of the rounds' measured / baseline. */
export interface PairResult {
  readonly measuredMs: number;
  readonly baselineMs: number;
  /** Median over rounds of measured / baseline, each round's two runs side by side. */
  readonly ratio: number;
  readonly rounds: number;
}

/** The median (the mean of the two middle values for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function time(run: () => Promise<unknown>, gc: boolean): Promise<number> {
  if (gc) collect();
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Runs the pair and returns medians. */
export async function measurePair(pair: Pair): Promise<PairResult> {
  const rounds = pair.rounds ?? 9;
  for (let i = 0; i < (pair.warmup ?? 2); i++) {
    await pair.baseline();
    await pair.measured();
  }
  const measured: number[] = [];
  const baseline: number[] = [];
  const gc = pair.collect ?? true;
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      baseline.push(await time(pair.baseline, gc));
      measured.push(await time(pair.measured, gc));
    } else {
      measured.push(await time(pair.measured, gc));
      baseline.push(await time(pair.baseline, gc));
    }
  }
  return { measuredMs: median(measured), baselineMs: median(baseline), ratio: median(measured.map((ms, i) => ms / baseline[i]!)), rounds };
}

/** A workflow class with `count` steps built at run time: `s0`..`s{n-1}`, in declaration order or all roots. */
export function generatedWorkflow(count: number, body: (i: number, ctx: { previous: unknown }) => unknown, options: { roots?: boolean } = {}): new () => object {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Step } = require('../decorators') as typeof import('../decorators');
  class Generated {}
  for (let i = 0; i < count; i++) {
    const name = `s${i}`;
    Object.defineProperty(Generated.prototype, name, { value: (ctx: { previous: unknown }) => body(i, ctx) });
    Step(options.roots ? { after: [] } : {})(Generated.prototype, name, Object.getOwnPropertyDescriptor(Generated.prototype, name)!);
  }
  return Generated;
}
