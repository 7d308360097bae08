/**
 * The data a storage provider persists. Providers store these as they are; the runner alone decides
 * what they mean.
 */
import type { EncodedValue } from '../checkpoint-codec';

/** One step of a stored graph definition. */
export interface StoredStep {
  readonly name: string;
  readonly after: readonly string[];
  /** True when the step has a branch predicate (`@Step({ when })`); absent otherwise. */
  readonly when?: true;
  /** True when the step is a per-item fan-out (`@Step({ forEach })`); absent otherwise. */
  readonly forEach?: true;
  /** True when the step starts child workflows (`@Step({ spawn })`); absent otherwise. */
  readonly spawn?: true;
}

/**
 * Where a workflow stands, as its record says. A run writes `'running'` when it starts (a resume of a
 * workflow already `'running'` writes nothing) and its outcome when it ends: `'waiting'` when steps
 * wait for a timer or an event. A run that lost its lease writes nothing, so an interrupted workflow
 * stays `'running'` with no live lease. A workflow whose steps declare compensations is
 * `'compensating'` from the moment a step failed for good until every compensation committed
 * (`'compensated'`) or one failed for good (`'failed'`, with {@link WorkflowRecord.compensation}).
 */
export type WorkflowStatus = 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled' | 'compensating' | 'compensated';

/** Why a workflow last failed, as stored in its record. */
export interface StoredError {
  /** The error's own string `code` (a waymark code, a Node system code...), else `WAYMARK_STEP_FAILED` or `WAYMARK_RUN_FAILED`. */
  readonly code: string;
  /** The error's message. */
  readonly message: string;
  /** The step that failed for good, when a step did. */
  readonly step?: string;
  /** The attempts that step made. */
  readonly attempts?: number;
  /** The error's stack, with its causes' (`Caused by: ...`), at most 8,000 characters; absent for a thrown value without one. */
  readonly stack?: string;
  /** For a fan-out that failed: how many items failed, and the first of them (at most 20). */
  readonly items?: { readonly failed: number; readonly first: readonly StoredItemFailure[] };
}

/** An item of a fan-out that failed for good: where it is in the list, its error's code and message, its attempts. */
export interface StoredItemFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
  readonly attempts: number;
}

/**
 * The per-workflow record stored beside the checkpoints: input fingerprint and graph definition,
 * and (since 0.2) the input itself, the status and the last error. Records written by 0.1 lack those
 * optional fields; readers treat a missing status as `'running'` (or `'completed'` with a completion).
 */
export interface WorkflowRecord {
  readonly formatVersion: 1;
  readonly workflowId: string;
  readonly workflowName: string;
  /** Fingerprint of the input of the latest run. */
  readonly fingerprint: string;
  /** The step graph the checkpoints were committed under. */
  readonly steps: readonly StoredStep[];
  /** ISO time of the last write. */
  readonly updatedAt: string;
  /** ISO time the record was first written (since the workflow was last cleared or started over). */
  readonly createdAt?: string;
  /** The latest run's input, encoded by the checkpoint codec: what `runner.resume(workflowId)` runs with. */
  readonly input?: EncodedValue;
  /** Where the workflow stands; see {@link WorkflowStatus}. */
  readonly status?: WorkflowStatus;
  /** Why the last run failed, while `status` is `'failed'`. */
  readonly error?: StoredError;
  /**
   * ISO time of this workflow's entry in the wake index: its earliest timer while `'waiting'`; while
   * `'running'`, when to look for a run that died (the lease's TTL after the run started).
   */
  readonly wakeAt?: string;
  /** While `'waiting'`: the events its waiting steps wait for. */
  readonly waitingFor?: readonly string[];
  /** While `'waiting'`: each waiting step, with its timer (or event timeout, ISO) and its event. */
  readonly waiting?: Readonly<Record<string, { readonly wakeAt?: string; readonly event?: string }>>;
  /** Start times computed by steps' `startAt` (ISO, by step), stored so that no resume computes them again. */
  readonly timers?: Readonly<Record<string, string>>;
  /**
   * Steps whose `when` answered true (by step), stored before the step acts so that no resume asks
   * again. A `false` answer is the step's checkpoint itself (status `'skipped'`).
   */
  readonly branches?: Readonly<Record<string, true>>;
  /**
   * How many items each fan-out step (`@Step({ forEach })`) runs, by step: stored once its item list
   * is committed, so progress is read without reading the list.
   */
  readonly fanOuts?: Readonly<Record<string, number>>;
  /**
   * Steps that will be called again later (by step): one that answered "not yet" (`RetryLater`), or
   * whose retry waits longer than `maxInlineWaitMs`. Stored before the step waits, so a restart
   * neither calls it early nor forgets how many polls and attempts it made.
   */
  readonly polls?: Readonly<Record<string, StoredPoll>>;
  /**
   * Set by the run that committed the last step: a late duplicate with the same input returns this
   * without taking the lease. Absent while a run is under way, was interrupted, or failed.
   */
  readonly completion?: WorkflowCompletion;
  /**
   * Once a step failed for good in a workflow that compensates: why, and which compensations are
   * committed. It stays until the workflow is cleared or started over, so no resume runs its steps
   * again.
   */
  readonly compensation?: StoredCompensation;
  /** ISO time the workflow ended (completed, failed, cancelled, compensated): its entry in the index of ended workflows. */
  readonly endedAt?: string;
  /**
   * Set when the workflow was cancelled by id (`runner.cancel`): when, and why. Such a workflow is
   * cancelled for good: a resume answers with `WorkflowCancelledError` and runs nothing.
   */
  readonly cancelled?: { readonly at: string; readonly reason: string };
  /** True when its steps declare compensations (written by each run): a cancel then compensates. */
  readonly compensates?: true;
  /**
   * For a child workflow (started by a parent's `@Step({ spawn })`): its parent, the step and its
   * index among the step's children, and the parent's `createdAt` (the parent it belongs to, should
   * the id be cleared and started again).
   */
  readonly parent?: ParentLink;
  /**
   * Each spawn step's children (by step): how many its committed list holds, stored as soon as the
   * list is committed (a cancel then finds them all), and `started` once every one of them is stored.
   */
  readonly children?: Readonly<Record<string, { readonly count: number; readonly started?: true }>>;
  /** A schedule's slot skipped under `overlap: 'skip'`: the id of the unfinished run it was skipped for. */
  readonly skippedFor?: string;
  /** The version of the workflow this run is pinned to (`@Workflow({ version })`); absent means 1. */
  readonly version?: number;
  /**
   * Steps whose checkpoints are stored under another name (by step): a step renamed by a migration
   * keeps its old name's checkpoints, and a step run again by a restart commits under a fresh name.
   * Stored names no step owns are no longer the run's (they go when the workflow is deleted).
   */
  readonly stepKeys?: Readonly<Record<string, string>>;
  /**
   * Set when a process was asked to run this workflow and has no class for its name and version:
   * when, by whom, and the version it lacked. The run is untouched (never failed, never re-run); the
   * next run of it, or a migration, removes this.
   */
  readonly stranded?: StrandedMark;
  /**
   * Set on a failed workflow when a run of it was asked for by a process that may not know its class
   * (`runner.requestResume`, `waymark resume`): a worker resumes it, and that run removes this.
   */
  readonly resumeRequested?: { readonly at: string; readonly by: string };
  /** The migrations and restarts this workflow went through, oldest first (at most the last 20). */
  readonly history?: readonly VersionChange[];
  /** The run's concurrency key (`@Workflow({ concurrency })`), computed from its input once, when it first ran. */
  readonly concurrencyKey?: string;
}

/** See {@link WorkflowRecord.stranded}. */
export interface StrandedMark {
  /** ISO time a process last found it could not run it. */
  readonly at: string;
  /** That process's lease owner name. */
  readonly by: string;
  /** The `name@version` it lacked. */
  readonly missing: string;
}

/** One migration or restart of a workflow (see {@link WorkflowRecord.history}). */
export interface VersionChange {
  readonly kind: 'migrated' | 'restarted';
  /** ISO time it was written. */
  readonly at: string;
  /** For a migration: the versions it moved between. */
  readonly from?: number;
  readonly to?: number;
  /** The steps whose commits were discarded (a restart) or forgotten (a migration's `dropped`). */
  readonly discarded?: readonly string[];
  /** For a migration: steps kept under a new name, `{ old: new }`. */
  readonly renamed?: Readonly<Record<string, string>>;
  /** The status the workflow had before. */
  readonly status?: WorkflowStatus;
}

/** Where a child workflow comes from: see {@link WorkflowRecord.parent}. */
export interface ParentLink {
  readonly workflowId: string;
  readonly step: string;
  readonly index: number;
  readonly createdAt: string;
}

/** The compensation of a workflow, as its record keeps it. */
export interface StoredCompensation {
  /** ISO time the first compensation run began. */
  readonly startedAt: string;
  /** The step failure that started it. */
  readonly cause: StoredError;
  /** Committed compensations, by the step they undo: each is committed once, after its successful attempt. */
  readonly done: Readonly<Record<string, { readonly attempts: number; readonly committedAt: string }>>;
  /** Compensations that failed for good in the last run, while the status is `'failed'`; a resume tries them again. */
  readonly errors?: readonly StoredError[];
  /** ISO time every compensation was committed (status `'compensated'`). */
  readonly compensatedAt?: string;
}

/** How a workflow completed, as stored in its record. */
export interface WorkflowCompletion {
  /** The id of the run that completed it (the `runId` its events carried). */
  readonly runId: string;
  /** ISO time of completion. */
  readonly completedAt: string;
  /** The final step's output, encoded by the checkpoint codec. */
  readonly output: EncodedValue;
}

/** What {@link CheckpointStorage.readRecord} returns. */
export interface StoredRecord {
  readonly record: WorkflowRecord;
  /** Opaque version for conditional replace, as in {@link StoredWorkflow.recordVersion}. */
  readonly version: string;
}

/** A failed attempt, as a checkpoint remembers it: its error's code and message (the stack of a failed step is in the record's error). */
export interface AttemptFailure {
  readonly code: string;
  readonly message: string;
}

/** When a step is called again, and what it did so far. */
export interface StoredPoll {
  /** When to call it again, ISO. */
  readonly next: string;
  /** How many times it answered "not yet". */
  readonly count: number;
  /** ISO time of its first call: `poll.timeoutMs` counts from here. */
  readonly since: string;
  /** Attempts that failed before a retry that waits durably; the next attempt is this plus one. */
  readonly attempts?: number;
  /** With `attempts`: what the last of them threw. */
  readonly lastFailure?: AttemptFailure;
  /** The next call is the last one (`poll.onTimeout: 'run'` at the limit). */
  readonly last?: true;
}

/** A committed step: written once, after the step's successful attempt. */
export interface Checkpoint {
  readonly formatVersion: 1;
  readonly step: string;
  /**
   * `'completed'`, stored explicitly so an `undefined` output still means done; or `'skipped'`: the
   * step's `when` said no (or every dependency was skipped), and its output is `undefined`.
   */
  readonly status: 'completed' | 'skipped';
  /** Attempts the step took, the successful one included. */
  readonly attempts: number;
  /** ISO time of the commit. */
  readonly committedAt: string;
  /** ISO time its successful attempt started (absent in checkpoints written before 0.9, and for skips, lists and items). */
  readonly startedAt?: string;
  /** What the attempt before the successful one threw, when the step was retried (absent when it succeeded at once). */
  readonly lastFailure?: AttemptFailure;
  /** The step's output, encoded by the checkpoint codec. */
  readonly output: EncodedValue;
  /**
   * For a fan-out step (`@Step({ forEach })`): how many items it ran, and those that failed within
   * its `toleratedFailures` (their outputs are `undefined`).
   */
  readonly items?: { readonly count: number; readonly failed?: readonly StoredItemFailure[] };
  /** For a step with `waitFor`: the event it consumed (no `eventId` when it ran after a timeout with `onTimeout: 'run'`). */
  readonly event?: { readonly name: string; readonly eventId?: string };
}

/** An entry of the wake index: look at workflow `workflowId` again at `wakeAt` (epoch ms). */
export interface WakeEntry {
  readonly workflowId: string;
  readonly wakeAt: number;
}

/**
 * An entry of the index of ended workflows: workflow `workflowId` ended with `status` at `endedAt`
 * (epoch ms). What `runner.prune` finds the workflows to delete by, in proportion to how many it
 * deletes. An entry may outlive what it says (the workflow ran again, or was cleared): prune reads
 * the record before it deletes anything, and drops such an entry.
 */
export interface EndedEntry {
  readonly workflowId: string;
  readonly status: WorkflowStatus;
  readonly endedAt: number;
}

/** An event sent to a workflow, as stored in its namespace until the workflow is cleared. */
export interface StoredEvent {
  readonly formatVersion: 1;
  /** Unique per workflow: a second event with the same id is a duplicate and is not stored. */
  readonly eventId: string;
  /** The event's name, as steps' `waitFor.event` name it. */
  readonly name: string;
  /** The payload, encoded by the checkpoint codec. */
  readonly payload: EncodedValue;
  /** ISO time of sending: events are consumed in this order (then by id). */
  readonly sentAt: string;
  /**
   * The `createdAt` of the workflow record the event was sent to. A run consumes only the events
   * sent to its own workflow, never those of one cleared or started over under the same id (whose
   * sender raced the deletion). Events stored without it (before 0.3) go to any run.
   */
  readonly sentTo?: string;
}

/** What {@link CheckpointStorage.load} returns: the record and which steps are committed, no outputs. */
export interface StoredWorkflow {
  /** The record, or undefined when checkpoints exist without one (an interrupted first write). */
  readonly record?: WorkflowRecord;
  /** Opaque version of the record for conditional replace (ETag, revision); undefined when there is no record. */
  readonly recordVersion?: string;
  /** Names of committed steps. */
  readonly committedSteps: readonly string[];
}

/** Exclusive right to run one workflow id, held until `expiresAt` unless renewed. */
export interface Lease {
  readonly workflowId: string;
  /** Who holds it, for messages (e.g. `pid 4242 on host-a`). */
  readonly owner: string;
  /** Unique per acquisition; fencing compares it. */
  readonly token: string;
  /** Epoch ms after which another owner may take the lease over. */
  readonly expiresAt: number;
  /** Provider-specific version of the stored lease (an S3 ETag), for conditional renew and release. */
  readonly version?: string;
  /** The TTL it was taken or last renewed with, where the provider fences with a margin of it (S3). */
  readonly ttlMs?: number;
}

/** Who holds a workflow's lease, and until when (epoch ms). */
export interface LeaseHolder {
  readonly owner: string;
  readonly expiresAt: number;
}

/** Result of {@link CheckpointStorage.acquireLease}. */
export type LeaseAttempt =
  | { readonly acquired: true; readonly lease: Lease }
  | { readonly acquired: false; readonly holder: string; readonly expiresAt: number };
