/**
 * `runner.clear(workflowId)`: a whole workflow deleted under its lease, never under a run's feet.
 */
import { CheckpointCorruptedError, InvalidOptionError, WorkflowBusyError } from '../errors';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import { assertWorkflowId } from '../workflow-id';

/** How long `clear` holds a workflow's lease at most: a large workflow's deletion takes a while. */
const CLEAR_LEASE_MS = 10 * 60_000;

/** Options of `runner.clear`. */
export interface ClearWorkflowOptions {
  /** Hears how many of the workflow's stored objects are deleted so far, of how many. */
  readonly onProgress?: (deleted: number, total: number) => void;
}

/** Deletes `workflowId` whole under its lease (taken as `owner`); see `WorkflowRunner.clear`. */
export async function clearWorkflow(storage: CheckpointStorage, owner: string, workflowId: string, options: ClearWorkflowOptions = {}): Promise<{ readonly checkpoints: number } | undefined> {
  assertWorkflowId(workflowId);
  if (options?.onProgress !== undefined && typeof options.onProgress !== 'function') throw new InvalidOptionError('onProgress', options.onProgress, 'a function (deleted, total) => void');
  const stored = await storage.load(workflowId).catch((error: unknown) => {
    // A corrupted record must not keep a workflow from being cleared.
    if (error instanceof CheckpointCorruptedError) return { committedSteps: [] };
    throw error;
  });
  if (stored === undefined) return undefined;
  const attempt = await storage.acquireLease(workflowId, owner, CLEAR_LEASE_MS);
  if (!attempt.acquired) throw new WorkflowBusyError(workflowId, attempt.holder, attempt.expiresAt);
  try {
    await storage.clear(workflowId, { lease: attempt.lease, ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) });
  } finally {
    await storage.releaseLease(attempt.lease);
  }
  return { checkpoints: stored.committedSteps.length };
}
