/**
 * How a run stores its outcome in its record: completed, failed or cancelled, or waiting. Each
 * write that fails is reported, never turned into the run's error: the run's outcome stands, and
 * the record then reads as interrupted (a worker resumes it).
 */
import { encodeValue } from '../checkpoint-codec';
import { isoNow } from '../iso-now';
import type { WorkflowRecord } from '../storage/records';
import type { RunRecord, WaitingState } from './run-record';

/** Reports a warning with its code and details (the runner's logger, or a process warning). */
export type Warn = (message: string, code: string, detail: Record<string, unknown>) => void;

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Marks the record completed, with the final output, so a late duplicate is answered without
 * running. Every step is committed already: a failure here only costs that shortcut.
 */
export async function recordCompletion(warn: Warn, workflowId: string, record: RunRecord, runId: string, output: unknown): Promise<void> {
  try {
    const completion = { runId, completedAt: isoNow(), output: encodeValue(output) };
    await record.end({ status: 'completed', completion, error: undefined });
  } catch (error) {
    warn(`workflow '${workflowId}': completed, but could not mark its record completed (a late duplicate will restore its steps instead): ${errorText(error)}`, 'WAYMARK_COMPLETION_NOT_RECORDED', { workflowId, error });
  }
}

/**
 * Stores how a run that did not complete ended (`'failed'` with its error, or `'cancelled'`), when
 * it got as far as writing its record; on failure the record still says `'running'`.
 */
export async function recordOutcome(warn: Warn, workflowId: string, record: RunRecord | undefined, outcome: Pick<WorkflowRecord, 'status' | 'error'>): Promise<void> {
  if (record === undefined) return;
  try {
    await record.end(outcome);
  } catch (error) {
    warn(`workflow '${workflowId}': ${outcome.status}, but could not store that in its record (it reads as interrupted): ${errorText(error)}`, 'WAYMARK_OUTCOME_NOT_RECORDED', { workflowId, error });
  }
}

/**
 * Stores what the workflow waits for, with its wake entry; true once stored. The run looks at the
 * events (and slots) once more after it gave its lease up. On failure its recovery entry brings a
 * worker back to it.
 */
export async function recordWaiting(warn: Warn, workflowId: string, record: RunRecord, state: WaitingState): Promise<boolean> {
  try {
    await record.wait(state);
    return true;
  } catch (error) {
    warn(`workflow '${workflowId}': waiting, but could not store that in its record (it reads as interrupted, and a worker will resume it): ${errorText(error)}`, 'WAYMARK_WAITING_NOT_RECORDED', { workflowId, error });
    return false;
  }
}
