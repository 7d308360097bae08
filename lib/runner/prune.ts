/**
 * Retention: deletes whole workflows that ended (completed, failed, cancelled, compensated) before a
 * cutoff, found through the storage's index of ended workflows, so its cost follows what it deletes,
 * never the size of the store. Each workflow is deleted under its lease, after its record was read
 * again under that lease: a run that holds the lease, or resumed the workflow since it ended, keeps it.
 */
import { CheckpointCorruptedError, InvalidOptionError } from '../errors';
import { parseDuration } from '../duration';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import { defaultLeaseOwner } from '../storage/lease-owner';
import type { EndedEntry, WorkflowRecord, WorkflowStatus } from '../storage/records';
import { statusOf } from './workflow-info';

/** The statuses of ended workflows: the ones prune can delete. */
export type PrunableStatus = 'completed' | 'failed' | 'cancelled' | 'compensated';

const PRUNABLE: readonly PrunableStatus[] = ['completed', 'failed', 'cancelled', 'compensated'];

/** Options of `runner.prune()`. */
export interface PruneOptions {
  /** Delete workflows that ended longer ago than this: ms, or a string such as `'30d'`, `'12h'`, `'90min'`. */
  readonly olderThan: number | string;
  /** Which ended statuses; default `['completed', 'compensated']`. Running, waiting or compensating workflows are never pruned. */
  readonly status?: PrunableStatus | readonly PrunableStatus[];
  /** List what would be deleted, deleting nothing. */
  readonly dryRun?: boolean;
  /** Delete at most this many (default no limit): a periodic prune spreads a large backlog over its runs. */
  readonly limit?: number;
  /** Told after each workflow deleted (or found, in a dry run), with the count so far. */
  readonly onProgress?: (count: number, workflowId: string) => void;
  /** Stops between workflows (one being deleted is finished first). */
  readonly signal?: AbortSignal;
}

/** What `runner.prune()` resolves with. */
export interface PruneResult {
  /** The workflows deleted (in a dry run: that would be), in the order they were found. */
  readonly workflowIds: readonly string[];
  /** Workflows that matched but whose lease a run held: kept, for the next prune. */
  readonly busy: readonly string[];
  /**
   * Workflows that matched but could not be deleted (a storage error on that one workflow): kept,
   * for the next prune, with why. Prune goes on past them: one workflow never blocks the rest.
   */
  readonly failures: readonly PruneFailure[];
  /** The cutoff, ISO: workflows that ended at or before it matched. */
  readonly cutoff: string;
  readonly dryRun: boolean;
}

/** A workflow `runner.prune()` could not delete, and why. */
export interface PruneFailure {
  readonly workflowId: string;
  readonly error: unknown;
}

/** Entries read from the index at a time. */
const BATCH = 100;
/** How long prune holds a workflow's lease at most, while it deletes it. */
const PRUNE_LEASE_MS = 10 * 60_000;

/** Checks `runner.prune()` options. */
function checkOptions(options: PruneOptions): { olderThanMs: number; statuses: readonly PrunableStatus[]; limit: number } {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('prune options', options, "{ olderThan: '30d' | ms, status?, dryRun?, limit? }");
  if (options.olderThan === undefined) throw new InvalidOptionError('olderThan', undefined, "how long ago a workflow must have ended to be pruned: '30d', '12h' or ms");
  const olderThanMs = parseDuration('olderThan', options.olderThan);
  const status = options.status ?? ['completed', 'compensated'];
  const statuses = typeof status === 'string' ? [status] : status;
  if (!Array.isArray(statuses) || statuses.length === 0) throw new InvalidOptionError('status', status, `one or more of ${PRUNABLE.map((s) => `'${s}'`).join(', ')}`);
  for (const s of statuses) {
    if (!PRUNABLE.includes(s as PrunableStatus)) {
      throw new InvalidOptionError('status', s, `one of ${PRUNABLE.map((x) => `'${x}'`).join(', ')} (running, waiting and compensating workflows are never pruned)`);
    }
  }
  const limit = options.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) throw new InvalidOptionError('limit', limit, 'an integer >= 1');
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') throw new InvalidOptionError('dryRun', options.dryRun, 'true or false');
  return { olderThanMs, statuses: [...new Set(statuses as PrunableStatus[])], limit };
}

/** True when `record` still says what `entry` says: ended with that status at that time. */
function stillEnded(record: WorkflowRecord | undefined, entry: EndedEntry): boolean {
  // Stryker disable next-line ConditionalExpression: equivalent, a missing record or end time fails the comparisons after it too
  return record !== undefined && statusOf(record) === entry.status && record.endedAt !== undefined && Math.floor(Date.parse(record.endedAt)) === entry.endedAt;
}

/** Deletes the workflows `options` select; see {@link PruneOptions}. */
export async function prune(storage: CheckpointStorage, options: PruneOptions, now = Date.now()): Promise<PruneResult> {
  const { olderThanMs, statuses, limit } = checkOptions(options);
  const cutoff = now - olderThanMs;
  const dryRun = options.dryRun === true;
  const owner = `waymark prune (${defaultLeaseOwner()})`;
  const workflowIds: string[] = [];
  const busy: string[] = [];
  const failures: PruneFailure[] = [];

  /** Reads the record, treating one that cannot be parsed as not ended (it is kept: `waymark clear` deletes it). */
  const readRecord = async (workflowId: string): Promise<WorkflowRecord | undefined | 'corrupted'> => {
    try {
      return (await storage.readRecord(workflowId))?.record;
    } catch (error) {
      if (error instanceof CheckpointCorruptedError) return 'corrupted';
      throw error;
    }
  };

  /**
   * One entry: `'deleted'`, `'found'` (dry run), `'stale'` (the entry no longer says what the record
   * says: it goes, except in a dry run), or `'kept'` (busy, or a record that cannot be read).
   */
  const pruneOne = async (entry: EndedEntry): Promise<'deleted' | 'found' | 'stale' | 'kept'> => {
    const { workflowId } = entry;
    const record = await readRecord(workflowId);
    if (record === 'corrupted') return 'kept';
    if (!stillEnded(record, entry)) {
      if (!dryRun) await storage.removeEnded(entry);
      return 'stale';
    }
    if (dryRun) {
      workflowIds.push(workflowId);
      return 'found';
    }
    const attempt = await storage.acquireLease(workflowId, owner, PRUNE_LEASE_MS);
    if (!attempt.acquired) {
      busy.push(workflowId);
      return 'kept';
    }
    try {
      // Under the lease: a run that resumed the workflow between the first read and now has changed its record.
      const again = await readRecord(workflowId);
      if (again === 'corrupted') return 'kept';
      if (!stillEnded(again, entry)) {
        await storage.removeEnded(entry);
        return 'stale';
      }
      await storage.clear(workflowId, { lease: attempt.lease });
      await storage.removeEnded(entry);
      workflowIds.push(workflowId);
      return 'deleted';
    } finally {
      // Best effort: a lease left behind expires on its own.
      await storage.releaseLease(attempt.lease).catch(() => undefined);
    }
  };

  for (const status of statuses) {
    // Entries left in the index (busy, corrupted, or anything in a dry run) are skipped on later reads.
    const kept = new Set<string>();
    const key = (e: EndedEntry) => `${e.endedAt}~${e.workflowId}`;
    for (;;) {
      const wanted = kept.size + BATCH;
      const entries = await storage.endedBefore(status as WorkflowStatus, cutoff, wanted);
      const fresh = entries.filter((e) => !kept.has(key(e)));
      for (const entry of fresh) {
        if (workflowIds.length >= limit || options.signal?.aborted) return done();
        let outcome: Awaited<ReturnType<typeof pruneOne>>;
        try {
          outcome = await pruneOne(entry);
        } catch (error) {
          // This workflow's storage failed it: reported, kept for the next prune, and the rest go on.
          failures.push({ workflowId: entry.workflowId, error });
          outcome = 'kept';
        }
        if (outcome === 'kept' || dryRun) kept.add(key(entry));
        if (outcome === 'deleted' || outcome === 'found') options.onProgress?.(workflowIds.length, entry.workflowId);
      }
      if (fresh.length === 0 || entries.length < wanted) break;
    }
  }
  return done();

  function done(): PruneResult {
    return { workflowIds, busy, failures, cutoff: new Date(cutoff).toISOString(), dryRun };
  }
}
