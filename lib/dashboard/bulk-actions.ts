/**
 * The dashboard's bulk actions (`POST /api/workflows/bulk`): resume, cancel or restart the workflows
 * the list's checkboxes selected, or every one its filter matches. A dry run counts them; the action
 * itself needs that count typed back (`confirm`), so a filter that matches more than the operator
 * saw acts on nothing. A resume is always a request (`runner.requestResume`): a worker that has the
 * class runs it, never the dashboard's process, however many there are.
 */
import { eachWorkflow, selectWorkflowIds, type BulkFailure, type BulkFilter } from '../runner/bulk';
import { LISTED_STATUSES, type ListedStatus } from '../runner/workflow-info';
import type { WorkflowRunner } from '../runner/workflow-runner';
import { HttpProblem } from './http-problem';

/** The most workflows one bulk action acts on; more are the CLI's (`waymark resume --status failed …`). */
export const BULK_MAX = 10_000;
/** Ids a dry run lists, and failures an action names. */
const LISTED = 100;

/** What a bulk action can do. */
export type BulkActionName = 'resume' | 'cancel' | 'restart';

/** A dry run's answer: how many workflows the action would act on, and the first of them. */
export interface BulkPreview {
  readonly action: BulkActionName;
  readonly count: number;
  readonly ids: readonly string[];
}

/** An action's answer: how many it acted on, and those it could not (the first {@link LISTED}). */
export interface BulkOutcome {
  readonly action: BulkActionName;
  readonly count: number;
  readonly done: number;
  readonly failed: number;
  readonly failures: readonly BulkFailure[];
}

/** Checks `body`, selects the workflows, and previews (`dryRun`) or acts once `confirm` is their count. */
export async function bulkAction(runner: WorkflowRunner, body: unknown): Promise<BulkPreview | BulkOutcome> {
  const { action, ids: given, filter, from, reason, dryRun, confirm } = (body ?? {}) as Record<string, unknown>;
  if (action !== 'resume' && action !== 'cancel' && action !== 'restart') throw invalid('"action" must be "resume", "cancel" or "restart"');
  if (action === 'restart' && (typeof from !== 'string' || from === '')) throw invalid('a restart needs "from": the step to run again');
  if (reason !== undefined && typeof reason !== 'string') throw invalid('"reason" must be a string');
  if ((given === undefined) === (filter === undefined)) throw invalid('give "ids" (the workflows selected) or "filter" (every one that matches), not both');
  const ids = given === undefined ? await filtered(runner, filter) : checkedIds(given);
  if (dryRun === true) return { action, count: ids.length, ids: ids.slice(0, LISTED) };
  if (confirm !== ids.length) {
    throw new HttpProblem(400, 'WAYMARK_CONFIRMATION_MISMATCH', `type the number of workflows, ${ids.length}, to confirm (the selection has changed if that is not the number you saw)`);
  }
  const { done, failures } = await eachWorkflow(
    ids,
    async (workflowId) => {
      if (action === 'cancel') return runner.cancel(workflowId, reason === undefined || reason === '' ? {} : { reason });
      if (action === 'restart') return runner.restart(workflowId, { from: from as string });
      const request = await runner.requestResume(workflowId);
      if (request.outcome === 'ended') throw new HttpProblem(409, 'WAYMARK_WORKFLOW_ENDED', `it has ${request.status} already: nothing to resume`);
      return request;
    },
    'WAYMARK_DASHBOARD_ERROR',
  );
  return { action, count: ids.length, done: done.length, failed: failures.length, failures: failures.slice(0, LISTED) };
}

function checkedIds(given: unknown): string[] {
  if (!Array.isArray(given) || given.length === 0 || !given.every((id) => typeof id === 'string' && id !== '')) throw invalid('"ids" must be a non-empty array of workflow ids');
  if (given.length > BULK_MAX) throw invalid(`at most ${BULK_MAX} workflows at once; use the waymark CLI for more`);
  return [...new Set(given as string[])];
}

/** The ids the list's filter (`{ status?, name?, id? }`, as the list page sends them) matches. */
async function filtered(runner: WorkflowRunner, filter: unknown): Promise<string[]> {
  if (filter === null || typeof filter !== 'object') throw invalid('"filter" must be { status?, name?, id? }');
  const { status, name, id } = filter as Record<string, unknown>;
  for (const [key, value] of Object.entries({ status, name, id })) if (value !== undefined && typeof value !== 'string') throw invalid(`filter "${key}" must be a string`);
  const statuses = ((status as string | undefined) ?? '').split(',').filter((s) => s !== '');
  for (const s of statuses) if (!LISTED_STATUSES.includes(s as ListedStatus)) throw invalid(`status '${s}' is not one of ${LISTED_STATUSES.join(', ')}`);
  // Nothing in the filter would act on the whole store: a filter must say something.
  if (statuses.length === 0 && !name && !id) throw invalid('a filter acting on every workflow is refused: filter by status, name or id first');
  const select: BulkFilter = { ...(statuses.length === 0 ? {} : { status: statuses as ListedStatus[] }), ...(name ? { workflowName: name as string } : {}), ...(id ? { idPrefix: id as string } : {}) };
  const { ids, more } = await selectWorkflowIds(runner, select, BULK_MAX);
  if (more) throw invalid(`the filter matches more than ${BULK_MAX} workflows; narrow it, or use the waymark CLI`);
  return ids;
}

function invalid(message: string): HttpProblem {
  return new HttpProblem(400, 'WAYMARK_INVALID_OPTION', message);
}
