/**
 * Cancel by id, from any process: `runner.cancel(workflowId, { reason })`.
 *
 * The request is stored first, as an event of the workflow's own (a name no step can wait for), so
 * whoever holds the workflow sees it: a run holding the lease looks for it at each lease renewal and
 * before it stores that it waits or failed. Then, when no run holds the lease, the cancel is carried
 * out at once under the lease: the record says `'cancelled'` (for good: no resume runs it again), or
 * `'compensating'` for a workflow that undoes its committed steps, which a worker then finishes.
 */
import { encodeValue, decodeValue } from '../checkpoint-codec';
import { InvalidOptionError, WorkflowNotFoundError } from '../errors';
import { isoNow } from '../iso-now';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Lease, StoredError, StoredEvent, WorkflowRecord, WorkflowStatus } from '../storage/records';
import { assertWorkflowId } from '../workflow-id';
import { CANCEL_EVENT, CANCELLED_CODE, ownEvents } from './mailbox';
import { RunRecord } from './run-record';
import { statusOf } from './workflow-info';

export { CANCEL_EVENT, CANCELLED_CODE };


/** Options of `runner.cancel()`. */
export interface CancelOptions {
  /** Why, in a word or a sentence: kept in the record (`error.message`) and shown by `waymark status`. */
  readonly reason?: string;
}

/**
 * What `runner.cancel()` did:
 * - `'cancelled'`: the workflow was waiting, failed or interrupted; it is `'cancelled'` now, durably.
 * - `'compensating'`: it declares compensations: it is `'compensating'` now, and a worker (or
 *   `runner.resume`) undoes its committed steps; it then ends `'compensated'`.
 * - `'requested'`: a run holds it (`holder`): the run stops within one lease renewal, and stores
 *   `'cancelled'` (or starts compensating). A run that completes first completes.
 * - `'ended'`: it had ended already (`status`): nothing was done.
 */
export interface CancelResult {
  readonly outcome: 'cancelled' | 'compensating' | 'requested' | 'ended';
  /** The workflow's status as this call leaves it. */
  readonly status: WorkflowStatus;
  /** With `'requested'`: who holds the workflow's lease. */
  readonly holder?: string;
}

/** A stored cancel request. */
export interface CancelRequest {
  readonly reason: string;
}

/** What {@link cancelWorkflow} needs of its runner. */
export interface CancelDeps {
  readonly storage: CheckpointStorage;
  readonly owner: string;
  /** Whether the workflow declares compensations, where the record does not say (its class, if registered). */
  readonly compensates: (record: WorkflowRecord) => boolean;
  /** Stops a run of this process that holds the workflow, at once; false when none does. */
  readonly stopLocal: (workflowId: string, request: CancelRequest) => boolean;
  /** Puts the workflow in the wake index now and tells the workers. */
  readonly wake: (workflowId: string) => Promise<void>;
  /** What follows the cancel of a parent: its unfinished children are cancelled (and a cancelled child's parent told). */
  readonly followUp: (record: WorkflowRecord) => Promise<void>;
}

/** Statuses a cancel leaves as they are. */
const ENDED: ReadonlySet<WorkflowStatus> = new Set(['completed', 'compensated', 'cancelled']);

/** How long the lease is held to carry a cancel out: a few writes. */
const CANCEL_LEASE_MS = 60_000;

/** The cancel request among `events` (those of the workflow created at `createdAt`), if one is stored. */
export function cancelRequest(events: readonly StoredEvent[], createdAt: string | undefined): CancelRequest | undefined {
  const event = ownEvents(events, createdAt).find((e) => e.name === CANCEL_EVENT);
  if (event === undefined) return undefined;
  const payload = decodeValue(event.payload, 'payload') as { reason?: unknown } | undefined;
  return { reason: typeof payload?.reason === 'string' ? payload.reason : 'cancelled' };
}

/** The error a record keeps for a cancel. */
export function cancelledError(request: CancelRequest): StoredError {
  return { code: CANCELLED_CODE, message: `cancelled: ${request.reason}` };
}

/**
 * Carries a cancel out in `record` (held under the lease): `'compensating'` (with a wake entry now:
 * the caller wakes the workers once it gave the lease up) when the workflow compensates and has
 * committed steps to undo, else `'cancelled'` for good.
 */
export async function recordCancel(record: RunRecord, request: CancelRequest, compensate: boolean): Promise<'cancelled' | 'compensating'> {
  if (compensate) {
    await record.beginCompensation(cancelledError(request), Date.now());
    return 'compensating';
  }
  await record.end({ status: 'cancelled', error: cancelledError(request), cancelled: { at: isoNow(), reason: request.reason } });
  return 'cancelled';
}

/** `runner.cancel(workflowId, options)`: see {@link CancelResult}. */
export async function cancelWorkflow(d: CancelDeps, workflowId: string, options: CancelOptions = {}): Promise<CancelResult> {
  assertWorkflowId(workflowId);
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('cancel options', options, '{ reason? }');
  if (options.reason !== undefined && (typeof options.reason !== 'string' || options.reason.length > 1000)) throw new InvalidOptionError('reason', options.reason, 'a string of at most 1,000 characters');
  const request: CancelRequest = { reason: options.reason ?? 'cancelled' };
  const stored = await d.storage.readRecord(workflowId);
  if (stored === undefined) throw new WorkflowNotFoundError(workflowId);
  const status = statusOf(stored.record);
  if (ENDED.has(status)) return { outcome: 'ended', status };
  // Stored first: a run that holds the workflow now, or takes it before this call does, finds it.
  await d.storage.putEvent(workflowId, { formatVersion: 1, eventId: CANCEL_EVENT, name: CANCEL_EVENT, payload: encodeValue({ reason: request.reason }), sentAt: isoNow(), ...(stored.record.createdAt === undefined ? {} : { sentTo: stored.record.createdAt }) });
  if (d.stopLocal(workflowId, request)) return { outcome: 'requested', status };
  const attempt = await d.storage.acquireLease(workflowId, d.owner, CANCEL_LEASE_MS);
  if (!attempt.acquired) {
    // Should the holder die before it sees the request (a waiting workflow's run about to give its
    // lease up, killed), a worker looks at the workflow once that lease expired, and carries it out.
    await d.storage.addWake({ workflowId, wakeAt: attempt.expiresAt + 1_000 });
    return { outcome: 'requested', status, holder: attempt.holder };
  }
  const lease: Lease = attempt.lease;
  let result: CancelResult;
  let ended: WorkflowRecord | undefined;
  try {
    // Read again under the lease: a run may have ended it meanwhile.
    const now = await d.storage.readRecord(workflowId);
    if (now === undefined) throw new WorkflowNotFoundError(workflowId);
    const current = statusOf(now.record);
    if (ENDED.has(current)) return { outcome: 'ended', status: current };
    // Compensating already: undoing is what a cancel asks; it goes on.
    if (current === 'compensating') return { outcome: 'compensating', status: current };
    const record = new RunRecord(d.storage, workflowId, now.record, now.version, () => lease);
    // Only a workflow that compensates needs to know whether it committed anything (a listing).
    const undo = d.compensates(now.record) && ((await d.storage.load(workflowId))?.committedSteps.length ?? 0) > 0;
    const outcome = await recordCancel(record, request, undo);
    ended = record.current;
    result = { outcome, status: outcome };
  } finally {
    await d.storage.releaseLease(lease).catch(() => undefined);
  }
  // Given up first: a worker woken now finds the lease free.
  if (result.outcome === 'compensating') await d.wake(workflowId);
  // A worker does it in seconds should this fail: the record keeps an entry for it.
  if (ended !== undefined) await d.followUp(ended).catch(() => undefined);
  return result;
}

/** The cancel request stored for the workflow created at `createdAt`, read now; undefined when there is none (or it cannot be read: the next look finds it). */
export async function storedCancel(storage: CheckpointStorage, workflowId: string, createdAt: string | undefined): Promise<CancelRequest | undefined> {
  try {
    return cancelRequest(await storage.listEvents(workflowId), createdAt);
  } catch {
    return undefined;
  }
}
