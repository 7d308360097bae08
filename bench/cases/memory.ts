/**
 * Memory, each figure from its own child process: peak RSS of the 10,000-step run against node
 * running an empty script; and heap retained per step (after GC, result held) by the engine against a
 * bare loop that keeps the same outputs and checkpoint strings, from 10,000- and 40,000-step runs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface Sample {
  maxRss: number;
  retained: number;
}

function sample(mode: 'empty' | 'engine' | 'bare', steps: number): Sample {
  const runs = Array.from({ length: 3 }, () =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', join(__dirname, '..', 'memory-child.js'), mode, String(steps)], { encoding: 'utf8' })) as Sample,
  );
  const median = (pick: (s: Sample) => number) => runs.map(pick).sort((a, b) => a - b)[1];
  return { maxRss: median((s) => s.maxRss), retained: median((s) => s.retained) };
}

export interface MemoryResult {
  readonly emptyRss: number;
  readonly engineRss10k: number;
  /** Heap retained per step by the engine (run state, result, MemoryStorage checkpoints). */
  readonly engineBytesPerStep: number;
  /** Heap retained per step by a loop keeping the same outputs and checkpoint strings. */
  readonly bareBytesPerStep: number;
}

export async function memory(): Promise<MemoryResult> {
  const perStep = (mode: 'engine' | 'bare') => (sample(mode, 40_000).retained - sample(mode, 10_000).retained) / 30_000;
  return { emptyRss: sample('empty', 0).maxRss, engineRss10k: sample('engine', 10_000).maxRss, engineBytesPerStep: perStep('engine'), bareBytesPerStep: perStep('bare') };
}
