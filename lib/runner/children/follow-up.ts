/**
 * What follows a workflow's end when it is a child or a cancelled parent: the parent hears the
 * child's outcome, and a cancelled parent cancels its unfinished children. Both are idempotent, and
 * the record that ended keeps a wake entry a few seconds ahead until they are done, so a process
 * that dies in between leaves the follow-up to a worker, never undone.
 */
import { WorkflowNotFoundError } from '../../errors';
import { CANCELLED_CODE } from '../mailbox';
import { childrenKey, keyMeaning } from '../../item-keys';
import { decodeValue } from '../../checkpoint-codec';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import { deliverEvent } from '../send-event';
import type { WorkflowRecord, WorkflowStatus } from '../../storage/records';
import { childEventName, outcomeEventId, outcomePayload } from './child-events';
import type { StoredChild } from './child-list';
import { StepKeys } from '../versions/step-keys';

/** How long after a child or a cancelled parent ended a worker looks at it, should its follow-up not be done. */
export const FOLLOW_UP_MS = 5_000;

const ENDED: ReadonlySet<WorkflowStatus | undefined> = new Set(['completed', 'failed', 'cancelled', 'compensated']);

/** True when `record` was cancelled by id (or compensates because of it). */
function cancelledById(record: WorkflowRecord): boolean {
  return record.cancelled !== undefined || record.error?.code === CANCELLED_CODE || record.compensation?.cause.code === CANCELLED_CODE;
}

/** True when `record`, ending (or compensating after a cancel), has a follow-up: a parent to tell, or children to cancel. */
export function needsFollowUp(record: WorkflowRecord): boolean {
  if (record.parent !== undefined && ENDED.has(record.status)) return true;
  return record.children !== undefined && (ENDED.has(record.status) || record.status === 'compensating') && cancelledById(record);
}

/** What a follow-up needs of its runner. */
export interface FollowUpDeps {
  readonly storage: CheckpointStorage;
  /** Puts a workflow in the wake index now and tells the workers. */
  wake(workflowId: string): Promise<void>;
  /** Cancels a workflow by id (`runner.cancel`). */
  cancel(workflowId: string, reason: string): Promise<void>;
}

/** Does `record`'s follow-up (see {@link needsFollowUp}); then drops the wake entry that stood for it. */
export async function followUp(d: FollowUpDeps, record: WorkflowRecord): Promise<void> {
  if (!needsFollowUp(record)) return;
  const { parent } = record;
  if (parent !== undefined && ENDED.has(record.status) && record.endedAt !== undefined) {
    // A parent cleared since, or started again under its id, hears nothing.
    await deliverEvent(d, parent.workflowId, childEventName(parent.step), outcomeEventId(record.workflowId, record.endedAt), outcomePayload({ ...record, parent }), true, parent.createdAt).catch((error: unknown) => {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    });
  }
  if (record.children !== undefined && cancelledById(record)) {
    const reason = `its parent '${record.workflowId}' was cancelled`;
    for (const child of await startedChildren(d.storage, record.workflowId)) {
      await d.cancel(child.id, reason).catch((error: unknown) => {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      });
    }
  }
  if (record.wakeAt !== undefined && ENDED.has(record.status)) await d.storage.removeWake({ workflowId: record.workflowId, wakeAt: Date.parse(record.wakeAt) });
}

/** Every child the workflow's spawn steps committed to start, from their committed lists. */
async function startedChildren(storage: CheckpointStorage, workflowId: string): Promise<StoredChild[]> {
  const children: StoredChild[] = [];
  const stored = await storage.load(workflowId);
  // A spawn step renamed by a migration keeps its list under its old name.
  const keys = StepKeys.of(stored?.record);
  for (const name of keys.live(stored?.committedSteps ?? [])) {
    const meaning = keyMeaning(name);
    if (meaning.kind !== 'children') continue;
    const list = decodeValue((await storage.readCheckpoint(workflowId, keys.key(childrenKey(meaning.step)))).output, 'children') as StoredChild[];
    children.push(...list);
  }
  return children;
}
