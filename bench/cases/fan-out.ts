/**
 * Fan-out: 1,000 independent steps each awaiting 10 ms of simulated I/O at concurrency 100, against
 * the ideal 1,000 / 100 × 10 ms = 100 ms.
 */
import { MemoryStorage, WorkflowRunner } from '../../lib';
import { generatedWorkflow } from '../harness';

const FanOut = generatedWorkflow(1_000, (i) => new Promise((resolve) => setTimeout(() => resolve(i), 10)), { roots: true });

export async function fanOut(): Promise<{ measuredMs: number; idealMs: number; ratio: number }> {
  const idealMs = (1_000 / 100) * 10;
  const times: number[] = [];
  for (let round = 0; round < 6; round++) {
    const started = process.hrtime.bigint();
    await new WorkflowRunner({ storage: new MemoryStorage(), concurrency: 100, tracer: false }).run(new FanOut(), { workflowId: `fan-${round}` });
    if (round > 0) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const measuredMs = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return { measuredMs, idealMs, ratio: measuredMs / idealMs };
}
