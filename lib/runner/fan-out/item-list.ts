/**
 * A fan-out's item list: computed once by the step's `forEach` and committed before any item runs,
 * then read back by every later run (never computed again, whatever the code or data say now).
 */
import { decodeValue, encodeValue, UnencodableValue } from '../../checkpoint-codec';
import { CheckpointCorruptedError, CheckpointSerializationError, FanOutListError } from '../../errors';
import type { StepNode } from '../../graph';
import { isoNow } from '../../iso-now';
import { listKey } from '../../item-keys';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { Lease } from '../../storage/records';
import type { RunRecord } from '../run-record';
import type { StepContext } from '../step-context';

/** What finding a fan-out's list needs. */
export interface ItemListInput {
  readonly workflowId: string;
  readonly node: StepNode;
  readonly storage: CheckpointStorage;
  readonly record: RunRecord;
  readonly lease: () => Lease;
  /** True when the list was committed by an earlier run. */
  readonly committed: boolean;
  /** The step's context for `forEach` (`attempt` 0). */
  readonly context: () => StepContext;
}

/**
 * The step's items: the committed list, or (the first time) what `forEach` returns, committed as the
 * checkpoint `listKey(step)` and counted in the record before it is returned. Throws what `forEach`
 * throws, `FanOutListError` for anything but an array, `CheckpointSerializationError` for items that
 * cannot be stored, and what storage throws (`LeaseLostError` when fenced out).
 */
export async function itemList(l: ItemListInput): Promise<readonly unknown[]> {
  const { workflowId, node, storage, record } = l;
  const key = listKey(node.name);
  let items: readonly unknown[];
  if (l.committed) {
    const checkpoint = await storage.readCheckpoint(workflowId, key);
    let value: unknown;
    try {
      value = decodeValue(checkpoint.output, 'items');
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointCorruptedError(workflowId, `the item list of step '${node.name}'`, error.message, { cause: error });
    }
    if (!Array.isArray(value)) throw new CheckpointCorruptedError(workflowId, `the item list of step '${node.name}'`, 'it is not an array');
    items = value;
  } else {
    const value: unknown = await node.fanOut!.forEach(l.context());
    if (!Array.isArray(value)) throw new FanOutListError(workflowId, node.name, value === null ? 'null' : typeof value);
    let output;
    try {
      output = encodeValue(value, 'items');
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointSerializationError(workflowId, node.name, error.path, `${error.reason} (in the list forEach returned)`);
    }
    await storage.commit(workflowId, { formatVersion: 1, step: key, status: 'completed', attempts: 1, committedAt: isoNow(), output }, l.lease());
    items = value;
  }
  // Where progress is read from; an earlier run that died between the two writes left it out.
  if (record.current.fanOuts?.[node.name] !== items.length) await record.countItems(node.name, items.length);
  return items;
}
