/**
 * How many runs each version of each workflow has, by status, and how many are stranded: what an
 * operator reads after a deploy ("12 runs still on order@1, no process has it"). Reads one record
 * per workflow, through `runner.list`, up to a bound.
 */
import type { ListedStatus, ListOptions, WorkflowPage } from '../workflow-info';

/** The runs of one workflow version. */
export interface VersionCount {
  readonly workflowName: string;
  readonly version: number;
  /** Runs of it, by status. */
  readonly statuses: Readonly<Partial<Record<ListedStatus, number>>>;
  /** Running, waiting or compensating runs. */
  readonly unfinished: number;
  /** Unfinished runs no process could run (marked in their record, or missing from the listing runner's versions). */
  readonly stranded: number;
}

/** What {@link countVersions} found. */
export interface VersionCounts {
  /** By workflow name, then version. */
  readonly versions: readonly VersionCount[];
  /** Records read. */
  readonly examined: number;
  /** False when `maxReads` stopped it before the end: the counts are of the first `examined` workflows. */
  readonly complete: boolean;
}

const UNFINISHED: ReadonlySet<ListedStatus> = new Set(['running', 'waiting', 'compensating']);

/** Counts runs by workflow name and version through `list` (a runner's), reading at most `maxReads` records. */
export async function countVersions(list: (options: ListOptions) => Promise<WorkflowPage>, options: { readonly workflowName?: string; readonly maxReads?: number } = {}): Promise<VersionCounts> {
  const counts = new Map<string, { workflowName: string; version: number; statuses: Partial<Record<ListedStatus, number>>; unfinished: number; stranded: number }>();
  const maxReads = options.maxReads ?? 100_000;
  let examined = 0;
  let cursor: string | undefined;
  do {
    // Unfiltered, every record read is an item: what was examined is known exactly.
    const page = await list({ limit: Math.min(1000, maxReads - examined), ...(cursor === undefined ? {} : { cursor }) });
    examined += page.items.length;
    for (const item of page.items) {
      if (item.workflowName === undefined || (options.workflowName !== undefined && item.workflowName !== options.workflowName)) continue;
      const version = item.version ?? 1;
      const key = `${item.workflowName}@${version}`;
      const count = counts.get(key) ?? { workflowName: item.workflowName, version, statuses: {}, unfinished: 0, stranded: 0 };
      count.statuses[item.status] = (count.statuses[item.status] ?? 0) + 1;
      if (UNFINISHED.has(item.status)) count.unfinished++;
      if (item.stranded !== undefined) count.stranded++;
      counts.set(key, count);
    }
    cursor = page.cursor;
  } while (cursor !== undefined && examined < maxReads);
  const versions = [...counts.values()].sort((a, b) => a.workflowName.localeCompare(b.workflowName) || a.version - b.version);
  return { versions, examined, complete: cursor === undefined };
}
