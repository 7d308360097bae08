/**
 * A step called again later: it answered "not yet" (`RetryLater`, `ctx.retryAfter`), or its retry
 * waits longer than `maxInlineWaitMs`. When to call it is stored in the workflow record before the
 * step waits; a short wait is slept, a long one makes the step wait (the run ends `'waiting'`).
 */
import { isoAt } from '../iso-now';
import { PollTimeoutError } from '../errors';
import type { StepNode } from '../graph';
import type { StoredPoll } from '../storage/records';
import type { RunEmitter } from './run-events';
import type { RunRecord } from './run-record';
import type { RunState } from './run-state';
import { sleep } from './sleep';
import { attemptFailure } from './stored-outcome';

/** What a later call needs of its run. */
export interface LaterCallRun {
  readonly workflowId: string;
  readonly state: RunState;
  readonly events: RunEmitter;
  readonly record: RunRecord;
  readonly signal: AbortSignal;
  readonly maxInlineWaitMs: number;
}

/** Why the attempts ended for now: "not yet" until `at`, or (`retry`) a failed attempt whose retry is due at `at`. */
export interface Later {
  readonly at: number;
  readonly attempts: number;
  readonly retry: boolean;
  /** With `retry`: what the failed attempt threw. */
  readonly error?: unknown;
}

/**
 * Stores when `node` is called again, before it waits: after a "not yet" (bounded by its
 * `poll.timeoutMs`), or a retry whose delay is too long to sleep holding the lease. Returns the
 * stored call, or the error that fails the step (`PollTimeoutError`, or a failed write).
 */
export async function storeNextCall(run: LaterCallRun, node: StepNode, poll: StoredPoll | undefined, later: Later, startedAt: number): Promise<StoredPoll | Error> {
  const since = poll?.since ?? isoAt(startedAt);
  let next: StoredPoll;
  if (later.retry) {
    const lastFailure = attemptFailure(later.error);
    next = { next: isoAt(later.at), count: poll?.count ?? 0, since, attempts: later.attempts, ...(lastFailure === undefined ? {} : { lastFailure }) };
  }
  else {
    const count = (poll?.count ?? 0) + 1;
    const limit = node.poll === undefined ? undefined : Date.parse(since) + node.poll.timeoutMs;
    if (poll?.last === true || (limit !== undefined && later.at > limit && node.poll!.onTimeout === 'fail')) return new PollTimeoutError(run.workflowId, node.name, count, node.poll!.timeoutMs);
    const last = limit !== undefined && later.at > limit;
    next = { next: isoAt(last ? limit : later.at), count, since, ...(last ? { last: true as const } : {}) };
    run.events.emit('step:retry-later', { step: node.name, attempt: later.attempts, next: next.next, polls: count });
  }
  try {
    await run.record.storePoll(node.name, next);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return next;
}

/** Waits for a stored call's time: slept when short, else the step waits (the run ends `'waiting'`, holding nothing). */
export async function awaitCall(run: LaterCallRun, node: StepNode, poll: StoredPoll): Promise<'due' | 'waiting' | 'cancelled'> {
  const at = Date.parse(poll.next);
  while (at > Date.now()) {
    if (at - Date.now() > run.maxInlineWaitMs) {
      run.state.wait(node.index, poll.next, undefined);
      run.events.emit('step:waiting', { step: node.name, wakeAt: poll.next });
      return 'waiting';
    }
    await sleep(at - Date.now(), run.signal);
    if (run.signal.aborted) return 'cancelled';
  }
  return 'due';
}
