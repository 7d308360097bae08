/**
 * The one interface every storage provider implements. Providers only persist: they never decide
 * what a changed input or a missing checkpoint means; the runner does.
 *
 * Each workflow id is its own namespace: no operation on one id ever reads, writes or deletes
 * another's data, whatever prefix they share.
 */
import type { Checkpoint, EndedEntry, Lease, LeaseAttempt, LeaseHolder, StoredEvent, StoredRecord, StoredWorkflow, WakeEntry, WorkflowRecord, WorkflowStatus } from './records';

/** Options of {@link CheckpointStorage.clear}. */
export interface ClearOptions {
  /** Fence the clear with this lease. */
  readonly lease?: Lease;
  /** Called as objects are deleted, with the count so far and the total. */
  readonly onProgress?: (deleted: number, total: number) => void;
}

export interface CheckpointStorage {
  /**
   * The workflow's record and the names of its committed steps, without any output (so resume cost
   * does not grow with step count). Undefined when nothing is stored for the id.
   */
  load(workflowId: string): Promise<StoredWorkflow | undefined>;

  /**
   * The workflow's record alone, in one read (no listing of steps): how a late duplicate finds a
   * completed workflow cheaply. Undefined when there is no record; `CheckpointCorruptedError` if it
   * cannot be parsed.
   */
  readRecord(workflowId: string): Promise<StoredRecord | undefined>;

  /** One committed checkpoint in full. Throws `CheckpointCorruptedError` if it cannot be parsed, `StorageError` if it is missing. */
  readCheckpoint(workflowId: string, step: string): Promise<Checkpoint>;

  /**
   * Optional: several committed checkpoints in full, in one request, in the order asked (a store
   * that can, like PostgreSQL, saves a round trip per step a resume needs). Same errors as
   * {@link CheckpointStorage.readCheckpoint}; without it the runner reads them one by one.
   */
  readCheckpoints?(workflowId: string, steps: readonly string[]): Promise<Checkpoint[]>;

  /**
   * Writes the workflow's record conditionally: `expectedVersion` null means "only if there is none",
   * a string means "only if the stored version is still this one". Returns the new version; throws
   * `RecordConflictError` when the condition fails, `LeaseLostError` when `lease` is no longer held.
   */
  writeRecord(workflowId: string, record: WorkflowRecord, expectedVersion: string | null, lease?: Lease): Promise<string>;

  /**
   * Stores a checkpoint atomically: after a crash it is either whole or absent. When `lease` is
   * given the write is fenced: it throws `LeaseLostError` instead of writing if the lease is lost.
   */
  commit(workflowId: string, checkpoint: Checkpoint, lease?: Lease): Promise<void>;

  /**
   * Optional: stores several checkpoints in one request (a store that can, like PostgreSQL, saves a
   * round trip per checkpoint when many are ready at once, as a fan-out's items are). All of them
   * are stored or none, each as {@link CheckpointStorage.commit} would store it, fenced by `lease`
   * the same way (`LeaseLostError`, nothing written). Without it the runner commits them one by one.
   */
  commitMany?(workflowId: string, checkpoints: readonly Checkpoint[], lease?: Lease): Promise<void>;

  /**
   * Deletes the workflow's record, checkpoints and events, and the wake entry its record names (not
   * its lease), exactly that id's and nothing else. Fenced by `options.lease` when given;
   * `options.onProgress` is told how many objects are deleted so far.
   */
  clear(workflowId: string, options?: ClearOptions): Promise<void>;

  /** Ids of the workflows that have stored data, sorted. */
  list(): Promise<string[]>;

  /** Takes the workflow's lease for `ttlMs` unless a live owner holds it (an expired or dead one is taken over). */
  acquireLease(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt>;

  /** Extends a held lease by `ttlMs`; undefined when it was lost (expired and taken, or cleared). */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>;

  /** Gives up a held lease; leaves nothing behind. A lease already lost is ignored. */
  releaseLease(lease: Lease): Promise<void>;

  /** Who holds the workflow's lease now, without taking it; undefined when nobody live does (none, expired, or a dead owner's). */
  readLease(workflowId: string): Promise<LeaseHolder | undefined>;

  /**
   * Optional, for stores that can tell at once that a lease's owner died (FileStorage: its process
   * is gone from this host): ids of workflows whose lease such an owner still holds, at most
   * `limit`. {@link CheckpointStorage.acquireLease} takes each of them over at once, so a worker
   * resumes a killed run in seconds instead of after the lease's TTL. Costs in proportion to the
   * leases held.
   */
  deadLeases?(limit: number): Promise<string[]>;

  /**
   * Adds an entry to the store's wake index (one index for all workflows, ordered by time). Adding an
   * entry that is there already changes nothing. Durable before it resolves, like a commit.
   */
  addWake(entry: WakeEntry): Promise<void>;

  /** Removes an entry of the wake index; one that is not there is ignored. */
  removeWake(entry: WakeEntry): Promise<void>;

  /**
   * The entries due at `now` (`wakeAt <= now`), earliest first, at most `limit`. Costs in proportion
   * to the entries returned, not to all the entries or all the workflows stored.
   */
  dueWakes(now: number, limit: number): Promise<WakeEntry[]>;

  /**
   * Adds an entry to the store's index of ended workflows (one index per status, ordered by time).
   * Adding an entry that is there already changes nothing. Durable before it resolves.
   */
  addEnded(entry: EndedEntry): Promise<void>;

  /** Removes an entry of the index of ended workflows; one that is not there is ignored. */
  removeEnded(entry: EndedEntry): Promise<void>;

  /**
   * The entries of `status` that ended at or before `before` (epoch ms), earliest first, at most
   * `limit`. Costs in proportion to the entries returned, not to all the workflows stored.
   */
  endedBefore(status: WorkflowStatus, before: number, limit: number): Promise<EndedEntry[]>;

  /**
   * Stores `event` in the workflow's namespace, unless an event with its `eventId` is stored there
   * already (then nothing is written): resolves true when stored, false for a duplicate. Exactly one
   * of concurrent senders of one id stores it.
   */
  putEvent(workflowId: string, event: StoredEvent): Promise<boolean>;

  /** The workflow's events in send order (`sentAt`, then `eventId`); `CheckpointCorruptedError` for one that cannot be parsed. */
  listEvents(workflowId: string): Promise<StoredEvent[]>;

  /**
   * Optional, for stores that can reach other processes at once (PostgreSQL's NOTIFY): tells every
   * process listening on this store that `workflowId` was just put in the wake index as due. Best
   * effort: a notice that is lost costs only the wait for a worker's next scan.
   */
  notifyWake?(workflowId: string): Promise<void>;

  /**
   * Optional, the other half of {@link CheckpointStorage.notifyWake}: calls `listener` with each
   * workflow id another process (or this one) notified. Resolves once listening; the function it
   * resolves to stops listening.
   */
  listenWakes?(listener: (workflowId: string) => void): Promise<() => Promise<void>>;
}
