/**
 * One operator action on a stored workflow (a migration, a restart, a stranded mark), done under
 * the workflow's lease: no run of it can write while the action reads and writes its record.
 */
import { WorkflowBusyError, WorkflowNotFoundError } from '../../errors';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { Lease, StoredWorkflow, WorkflowRecord } from '../../storage/records';

/** How long such an action holds the lease: a few reads and one write. */
const ACTION_LEASE_MS = 60_000;

/** What the action is given: the workflow as stored now (read under the lease), and the lease. */
export interface HeldWorkflow {
  readonly lease: Lease;
  readonly stored: StoredWorkflow & { readonly record: WorkflowRecord; readonly recordVersion: string };
}

/**
 * Runs `action` holding workflow `workflowId`'s lease, and gives the lease up after. Throws
 * `WorkflowBusyError` when a run holds it, `WorkflowNotFoundError` when nothing (or no record) is stored.
 */
export async function underLease<T>(storage: CheckpointStorage, workflowId: string, owner: string, action: (held: HeldWorkflow) => Promise<T>): Promise<T> {
  const attempt = await storage.acquireLease(workflowId, owner, ACTION_LEASE_MS);
  if (!attempt.acquired) throw new WorkflowBusyError(workflowId, attempt.holder, attempt.expiresAt);
  try {
    const stored = await storage.load(workflowId);
    if (stored?.record === undefined || stored.recordVersion === undefined) throw new WorkflowNotFoundError(workflowId);
    return await action({ lease: attempt.lease, stored: stored as HeldWorkflow['stored'] });
  } finally {
    await storage.releaseLease(attempt.lease).catch(() => undefined);
  }
}
