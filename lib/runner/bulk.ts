/**
 * Acting on many workflows at once, for the CLI's bulk commands and the dashboard's bulk actions:
 * which workflows a filter selects (read page by page, never the whole store at once), and one
 * action on each in turn, where one that fails is named and the others go on.
 */
import { WaymarkError } from '../errors';
import type { ListOptions } from './workflow-info';
import type { WorkflowRunner } from './workflow-runner';

/** A filter of {@link selectWorkflowIds}: what `runner.list` takes, and how recently a workflow was updated. */
export type BulkFilter = Omit<ListOptions, 'cursor' | 'limit' | 'leases'> & {
  /** Only workflows updated at or after this time (epoch ms). */
  readonly updatedSince?: number;
};

/** A workflow a bulk action could not act on: its id, the error's code and message. */
export interface BulkFailure {
  readonly workflowId: string;
  readonly code: string;
  readonly error: string;
}

/**
 * The ids of the workflows `filter` selects, in `runner.list`'s order; at most `max` (the rest are
 * not read: `more` says there are some).
 */
export async function selectWorkflowIds(runner: WorkflowRunner, filter: BulkFilter, max = Number.POSITIVE_INFINITY): Promise<{ ids: string[]; more: boolean }> {
  const { updatedSince, ...list } = filter;
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await runner.list({ ...list, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    for (const item of page.items) {
      if (updatedSince !== undefined && !(Date.parse(item.updatedAt ?? '') >= updatedSince)) continue;
      if (ids.length === max) return { ids, more: true };
      ids.push(item.workflowId);
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { ids, more: false };
}

/** `act` on each id in turn; an error is kept as a {@link BulkFailure} (coded `fallbackCode` when it has no code of its own) and the others go on. */
export async function eachWorkflow<R>(ids: readonly string[], act: (workflowId: string) => Promise<R>, fallbackCode = 'WAYMARK_BULK_ERROR'): Promise<{ done: R[]; failures: BulkFailure[] }> {
  const done: R[] = [];
  const failures: BulkFailure[] = [];
  for (const id of ids) {
    try {
      done.push(await act(id));
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      failures.push({ workflowId: id, code: error instanceof WaymarkError || (error instanceof Error && typeof code === 'string') ? (code as string) : fallbackCode, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { done, failures };
}
