/**
 * Engine overhead: a 10,000-step sequential workflow on MemoryStorage with tiny outputs, against a
 * hand-written loop doing the same awaits and the same serialisation into a Map.
 */
import { encodeValue } from '../../lib/checkpoint-codec';
import { isoNow } from '../../lib/iso-now';
import { MemoryStorage, WorkflowRunner } from '../../lib';
import { generatedWorkflow, measurePair, type PairResult } from '../harness';

export const STEPS = 10_000;

const step = async (i: number) => ({ i });
export const EngineWorkflow = generatedWorkflow(STEPS, (i) => step(i));

export async function engineOverhead(): Promise<PairResult> {
  let n = 0;
  return measurePair({
    measured: () => new WorkflowRunner({ storage: new MemoryStorage(), tracer: false }).run(new EngineWorkflow(), { workflowId: `engine-${n++}` }),
    baseline: async () => {
      const checkpoints = new Map<string, string>();
      for (let i = 0; i < STEPS; i++) {
        const output = await step(i);
        // The same bytes the engine stores for a checkpoint.
        checkpoints.set(`s${i}`, JSON.stringify({ formatVersion: 1, step: `s${i}`, status: 'completed', attempts: 1, committedAt: isoNow(), output: encodeValue(output) }));
      }
    },
    rounds: 15,
  });
}
