/**
 * Memory: peak RSS of the 10,000-step run, against node running an empty script; and the growth per
 * step, from 10,000- and 40,000-step runs, against the bytes each step's kept output costs.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

function peakRss(steps: number): number {
  const samples = Array.from({ length: 3 }, () => Number(execFileSync(process.execPath, [join(__dirname, '..', 'memory-child.js'), String(steps)], { encoding: 'utf8' })));
  return samples.sort((a, b) => a - b)[1];
}

export async function memory(): Promise<{ emptyBytes: number; run10kBytes: number; run40kBytes: number; bytesPerStep: number }> {
  const emptyBytes = peakRss(0);
  const run10kBytes = peakRss(10_000);
  const run40kBytes = peakRss(40_000);
  return { emptyBytes, run10kBytes, run40kBytes, bytesPerStep: (run40kBytes - run10kBytes) / 30_000 };
}
