/**
 * Reads back the outputs of a fan-out's items committed by earlier runs: once, when the step
 * completes, in batches (one request per batch where the store reads several checkpoints at once).
 */
import { decodeValue, UnencodableValue } from '../../checkpoint-codec';
import { CheckpointCorruptedError } from '../../errors';
import { itemKey, keyMeaning, listKey } from '../../item-keys';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';

/** Checkpoints asked for in one request, or read at once one by one. */
const BATCH = 500;
const READS_AT_ONCE = 16;

/** Decodes each of `indexes`' item checkpoints of `step` into `outputs[index]`. */
export async function readItemOutputs(storage: CheckpointStorage, workflowId: string, step: string, indexes: readonly number[], outputs: unknown[]): Promise<void> {
  const decode = (index: number, encoded: Parameters<typeof decodeValue>[0]): void => {
    try {
      outputs[index] = decodeValue(encoded);
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointCorruptedError(workflowId, `checkpoint of item ${index} of step '${step}'`, error.message, { cause: error });
    }
  };
  if (storage.readCheckpoints !== undefined) {
    for (let from = 0; from < indexes.length; from += BATCH) {
      const batch = indexes.slice(from, from + BATCH);
      const checkpoints = await storage.readCheckpoints(workflowId, batch.map((i) => itemKey(step, i)));
      batch.forEach((index, i) => decode(index, checkpoints[i]!.output));
    }
    return;
  }
  let next = 0;
  const read = async (): Promise<void> => {
    for (let i = next++; i < indexes.length; i = next++) decode(indexes[i]!, (await storage.readCheckpoint(workflowId, itemKey(step, indexes[i]!))).output);
  };
  await Promise.all(Array.from({ length: Math.min(READS_AT_ONCE, indexes.length) }, read));
}

/** A fan-out's committed items, with the item each was for and its output: what compensating it undoes. */
export async function committedItems(storage: CheckpointStorage, workflowId: string, step: string): Promise<{ index: number; item: unknown; output: unknown }[]> {
  const stored = await storage.load(workflowId);
  const indexes: number[] = [];
  for (const name of stored?.committedSteps ?? []) {
    const meaning = keyMeaning(name);
    if (meaning.kind === 'item' && meaning.step === step && meaning.index >= 0) indexes.push(meaning.index);
  }
  if (indexes.length === 0) return [];
  indexes.sort((a, b) => a - b);
  const list = decodeValue((await storage.readCheckpoint(workflowId, listKey(step))).output, 'items') as readonly unknown[];
  const outputs: unknown[] = [];
  await readItemOutputs(storage, workflowId, step, indexes, outputs);
  return indexes.map((index) => ({ index, item: list[index], output: outputs[index] }));
}
