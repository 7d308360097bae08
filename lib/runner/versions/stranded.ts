/**
 * A stranded run: unfinished, pinned to a workflow name and version that the process asked to run
 * it does not have. It is never failed and never run by another version: the record is marked (under
 * the lease, nothing else changed), so `runner.list`, `waymark list` and the dashboard show it
 * without knowing any class, until a process that has the version runs it or it is migrated.
 */
import { isoNow } from '../../iso-now';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { StrandedMark, WorkflowRecord } from '../../storage/records';
import { isUnfinished, statusOf } from '../workflow-info';
import { underLease } from './under-lease';
import { WorkflowNotRegisteredError } from '../../errors';
import type { WorkflowRegistry } from '../workflow-registry';

/** A mark older than this is written again (the operator sees it is still stranded now). */
const MARK_AGAIN_MS = 3_600_000;

/**
 * Marks workflow `workflowId` stranded for lack of `missing` (`name@version`). True when written;
 * false when a run holds it (then it is not stranded), it ended, or a recent mark says the same.
 */
export async function markStranded(storage: CheckpointStorage, workflowId: string, owner: string, missing: string, seen?: WorkflowRecord): Promise<boolean> {
  // The record just read says so already: no lease is taken (a worker looks at a stranded run every minute).
  if (seen !== undefined && isRecent(seen.stranded, missing)) return false;
  const holder = await storage.readLease(workflowId);
  if (holder !== undefined) return false;
  return underLease(storage, workflowId, `stranded mark (${owner})`, async ({ lease, stored }) => {
    const { record, recordVersion } = stored;
    if (!isUnfinished(statusOf(record))) return false;
    if (isRecent(record.stranded, missing)) return false;
    await storage.writeRecord(workflowId, { ...record, stranded: { at: isoNow(), by: owner, missing }, updatedAt: isoNow() }, recordVersion, lease);
    return true;
  });
}

/** True when `mark` says `missing` and was written within the last {@link MARK_AGAIN_MS}. */
function isRecent(mark: StrandedMark | undefined, missing: string): boolean {
  return mark !== undefined && mark.missing === missing && Date.now() - Date.parse(mark.at) < MARK_AGAIN_MS;
}

/**
 * The registered instance of the version `record`'s run is pinned to. A missing one throws
 * `WorkflowNotRegisteredError`, and marks the run stranded when this registry has its workflow in
 * other versions (where a deploy left it; a process that knows nothing of the name proves nothing).
 */
export async function pinnedInstance(registry: WorkflowRegistry, storage: CheckpointStorage, owner: string, record: WorkflowRecord): Promise<object> {
  const version = record.version ?? 1;
  try {
    return registry.instance(record.workflowId, record.workflowName, version);
  } catch (error) {
    if (!(error instanceof WorkflowNotRegisteredError) || !registry.has(record.workflowName)) throw error;
    await markStranded(storage, record.workflowId, owner, `${record.workflowName}@${version}`, record).catch(() => false);
    throw error;
  }
}
