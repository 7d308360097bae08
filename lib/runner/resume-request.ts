/**
 * `runner.requestResume(workflowId)`: asks for a run of a workflow from a process that need not know
 * its class (`waymark resume`, `waymark ui`). The request is durable: a wake entry now (and, for a
 * failed workflow, a mark in its record, written under the lease), so the next worker that has the
 * class resumes it at once, as `runner.resume` would: a waiting workflow goes on, an interrupted one
 * is recovered, a failed one retries its failed step.
 */
import { InvalidOptionError, WorkflowNotFoundError } from '../errors';
import { isoNow } from '../iso-now';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { WorkflowStatus } from '../storage/records';
import { assertWorkflowId } from '../workflow-id';
import { underLease } from './versions/under-lease';
import { statusOf } from './workflow-info';

/** What {@link requestResume} did. */
export interface ResumeRequestResult {
  readonly workflowId: string;
  /**
   * `'requested'`: a worker that has the class resumes it at once. `'running'`: a run holds it now
   * (nothing to ask). `'ended'`: it completed, was cancelled or compensated (nothing to resume).
   */
  readonly outcome: 'requested' | 'running' | 'ended';
  /** Its status when asked. */
  readonly status: WorkflowStatus;
}

/** Statuses nothing resumes. */
const ENDED: ReadonlySet<WorkflowStatus> = new Set(['completed', 'cancelled', 'compensated']);

/** What a request needs of the runner. */
export interface ResumeRequestDeps {
  readonly storage: CheckpointStorage;
  readonly owner: string;
  /** Puts the workflow in the wake index now and tells the workers. */
  wake(workflowId: string): Promise<void>;
}

/** Asks for a run of `workflowId` (see the module's comment); `WorkflowNotFoundError` when nothing is stored. */
export async function requestResume(d: ResumeRequestDeps, workflowId: string, options: { readonly dryRun?: boolean } = {}): Promise<ResumeRequestResult & { readonly dryRun: boolean }> {
  assertWorkflowId(workflowId);
  if (options === null || typeof options !== 'object' || (options.dryRun !== undefined && typeof options.dryRun !== 'boolean')) throw new InvalidOptionError('resume request options', options, '{ dryRun?: boolean }');
  const dryRun = options.dryRun === true;
  const holder = await d.storage.readLease(workflowId);
  const said = (status: WorkflowStatus): ResumeRequestResult => ({ workflowId, outcome: holder !== undefined ? 'running' : ENDED.has(status) ? 'ended' : 'requested', status });
  let outcome: ResumeRequestResult;
  if (dryRun || holder !== undefined) {
    const stored = await d.storage.readRecord(workflowId);
    if (stored === undefined) throw new WorkflowNotFoundError(workflowId);
    outcome = said(statusOf(stored.record));
  } else {
    outcome = await underLease(d.storage, workflowId, `resume request (${d.owner})`, async ({ lease, stored }) => {
      const { record, recordVersion } = stored;
      const now = said(statusOf(record));
      // A failed workflow is not in the wake index: its record says a run is asked for, so a worker resumes it.
      if (now.outcome === 'requested' && now.status === 'failed') await d.storage.writeRecord(workflowId, { ...record, resumeRequested: { at: isoNow(), by: d.owner }, updatedAt: isoNow() }, recordVersion, lease);
      return now;
    });
  }
  // Given up first: a worker woken now finds the lease free.
  if (!dryRun && outcome.outcome === 'requested') await d.wake(workflowId);
  return { ...outcome, dryRun };
}
