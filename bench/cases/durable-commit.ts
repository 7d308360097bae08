/**
 * Durable commit: 2,000 steps on FileStorage, against a bare loop doing the same atomic write (temp
 * file, fsync, rename, directory fsync) with the same bytes. Reported as throughput (steps/s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeValue } from '../../lib/checkpoint-codec';
import { isoNow } from '../../lib/iso-now';
import { FileStorage, WorkflowRunner } from '../../lib';
import { writeFileAtomic } from '../../lib/storage/file/atomic-file';
import { mkdir } from 'node:fs/promises';
import { generatedWorkflow, measurePair, type PairResult } from '../harness';

export const COMMIT_STEPS = 2_000;
const CommitWorkflow = generatedWorkflow(COMMIT_STEPS, (i) => ({ i, label: `row ${i}` }));

export async function durableCommit(): Promise<PairResult & { measuredPerSecond: number; baselinePerSecond: number }> {
  const root = mkdtempSync(join(tmpdir(), 'waymark-bench-commit-'));
  let n = 0;
  try {
    const result = await measurePair({
      measured: () => new WorkflowRunner({ storage: new FileStorage({ directory: join(root, 'engine') }), tracer: false }).run(new CommitWorkflow(), { workflowId: `run-${n++}` }),
      baseline: async () => {
        const dir = join(root, 'bare', `run-${n++}`);
        await mkdir(dir, { recursive: true });
        for (let i = 0; i < COMMIT_STEPS; i++) {
          const bytes = JSON.stringify({ formatVersion: 1, step: `s${i}`, status: 'completed', attempts: 1, committedAt: isoNow(), output: encodeValue({ i, label: `row ${i}` }) });
          await writeFileAtomic(join(dir, `s${i}.json`), bytes);
        }
      },
      warmup: 1,
      rounds: 5,
    });
    return { ...result, measuredPerSecond: COMMIT_STEPS / (result.measuredMs / 1000), baselinePerSecond: COMMIT_STEPS / (result.baselineMs / 1000) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
