/**
 * Where a flow-control key's document lives: a record of its own in the store, under an id no
 * workflow can have (it holds control characters, which workflow ids may not), replaced
 * conditionally like any record. Every provider gives that already, so limits work on every store
 * without a method of their own, and processes share nothing but the store.
 */
import { createHash, randomUUID } from 'node:crypto';
import { RecordConflictError } from '../../errors';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { WorkflowRecord } from '../../storage/records';
import { FLOW_ID } from '../../workflow-id';
import { sleep } from '../sleep';
import { EMPTY_FLOW, type FlowDoc } from './flow-doc';

/** The kinds of keys: a workflow's concurrency key, a step's concurrency limit, a step's rate limit. */
export type FlowKind = 'concurrency' | 'limit' | 'rate';

const PREFIX = '\u001fwaymark-flow\u001f';

/** The store id of a key's document: short and safe for every store's names, whatever the key. */
export function flowId(kind: FlowKind, scope: string): string {
  return `${PREFIX}${kind}\u001f${createHash('sha256').update(scope).digest('hex').slice(0, 40)}`;
}

/** True for the id of a flow-control document: listings of workflows leave them out. */
export function isFlowId(id: string): boolean {
  return FLOW_ID.test(id);
}

/** A key's document as stored: a record (so any store keeps it) that names its key. */
interface FlowRecord extends WorkflowRecord {
  readonly flow: FlowDoc & { readonly kind: FlowKind; readonly key: string; readonly write: string };
}

/** The document a stored record holds (the empty one for none). */
function flowOf(record: WorkflowRecord | undefined): FlowDoc {
  const current = (record as FlowRecord | undefined)?.flow;
  return current === undefined ? EMPTY_FLOW : { holders: current.holders ?? [], queue: current.queue ?? [], recent: current.recent ?? [] };
}

/** Key `id`'s document as stored now, without changing it. */
export async function readFlow(storage: CheckpointStorage, id: string): Promise<FlowDoc> {
  return flowOf((await storage.readRecord(id))?.record);
}

/** The most conditional writes one change tries before it reports the store as too contended. */
const MAX_TRIES = 200;

/**
 * Reads key `id`'s document, applies `change`, and writes the result only if nobody wrote in between
 * (else reads again and applies it again). `change` returns no document when nothing is to be written.
 */
export async function updateFlow<T>(storage: CheckpointStorage, kind: FlowKind, key: string, id: string, change: (doc: FlowDoc, now: number) => { doc: FlowDoc | undefined; answer: T }): Promise<T> {
  for (let tries = 1; ; tries++) {
    const stored = await storage.readRecord(id);
    const doc = flowOf(stored?.record);
    const now = Date.now();
    const { doc: next, answer } = change(doc, now);
    if (next === undefined) return answer;
    const record: FlowRecord = {
      formatVersion: 1,
      workflowId: id,
      workflowName: `(waymark ${kind} key)`,
      fingerprint: '',
      steps: [],
      updatedAt: new Date(now).toISOString(),
      // Unique per write: two writers that computed the same document in the same millisecond must
      // still conflict (a store may take a stored record equal to its own as its own retried write).
      flow: { kind, key, holders: next.holders, queue: next.queue, recent: next.recent, write: randomUUID() },
    };
    try {
      await storage.writeRecord(id, record, stored?.version ?? null);
      return answer;
    } catch (error) {
      if (!(error instanceof RecordConflictError) || tries >= MAX_TRIES) throw error;
      // Another process changed the key first: look again after a short random pause, so that
      // contenders spread out instead of colliding again.
      await sleep(Math.random() * Math.min(2 * tries, 50));
    }
  }
}
