/**
 * Runs one step's attempts: retries with backoff, per-attempt timeouts, cancellation.
 * Writes nothing: the runner commits after a successful attempt.
 */
import { NonRetryableError, RetryLater, StepTimeoutError } from '../errors';
import { retryDelay, type RetryOptions } from '../retry-options';
import { INTERRUPTED, type Attempt, type AttemptsInFlight } from './attempt';
import type { RunEmitter } from './run-events';
import { sleep } from './sleep';

/** How the attempts ended. */
export type AttemptsOutcome =
  | {
      readonly kind: 'succeeded';
      readonly output: unknown;
      readonly attempts: number;
      /** When the successful attempt started (epoch ms), when it was a retry. */
      readonly startedAt?: number;
      /** What the attempt before the successful one threw, when it was a retry. */
      readonly lastError?: unknown;
    }
  | { readonly kind: 'failed'; readonly error: unknown; readonly attempts: number }
  | { readonly kind: 'cancelled'; readonly attempts: number }
  /**
   * Call the step again at `at` (epoch ms): it answered "not yet" (`RetryLater`), or (`retry: true`)
   * attempt `attempts` failed and the retry's delay is longer than the target's `maxInlineWaitMs`.
   */
  | { readonly kind: 'later'; readonly at: number; readonly attempts: number; readonly retry: boolean; /** With `retry`: what the attempt threw. */ readonly error?: unknown };

/** What is attempted: a step, or a step's compensation (`compensating: true`). */
export interface AttemptTarget {
  /** The step's name. */
  readonly name: string;
  readonly retry: RetryOptions & { readonly attempts: number };
  readonly timeoutMs?: number;
  /** True for a compensation: its attempts emit `step:compensating`, and its failures say `compensation: true`. */
  readonly compensating?: boolean;
  /** True for the step's `when`: its attempts emit no `step:started`, and its failures say `branch: true`. */
  readonly branch?: boolean;
  /** For one item of a fan-out: its index. Its attempts emit no `step:started`, and its failures say `item`. */
  readonly item?: number;
}

/**
 * Starts attempt `number` of `node`: emits its event, arms its timeout (a timed-out attempt is aborted
 * with a {@link StepTimeoutError}; its eventual result is ignored). Undefined when the run has stopped.
 * The caller awaits `inFlight.run(attempt, invoke)`, then hands the attempt to `inFlight.end`.
 */
export function startAttempt(workflowId: string, node: AttemptTarget, inFlight: AttemptsInFlight, events: RunEmitter, number: number): Attempt | undefined {
  if (inFlight.stopped) return undefined;
  if (node.compensating === true) events.emit('step:compensating', { step: node.name, attempt: number, ...(node.item === undefined ? {} : { item: node.item }) });
  else if (node.branch !== true && node.item === undefined && events.listens('step:started')) events.emit('step:started', { step: node.name, attempt: number });
  const attempt = inFlight.start(number);
  const { timeoutMs } = node;
  if (timeoutMs !== undefined) {
    attempt.limit(timeoutMs, () => {
      const error = new StepTimeoutError(workflowId, node.name, number, timeoutMs);
      attempt.abort(error, error);
    });
  }
  return attempt;
}

/**
 * Calls `invoke(attempt)` (its number is `attempt.number`) until it succeeds, the retry policy gives up, or the run
 * stops. A timed-out attempt counts as failed; its signal is aborted and its eventual result ignored.
 * Its code may still be running when the next attempt starts (a step that ignores `ctx.signal`); the
 * run waits for it before giving up its lease.
 *
 * The runner's hot path does this function's first attempt itself (see `WorkflowRunner.runStep`: one
 * async frame less per step, measured in `npm run bench`) and calls {@link retryAttempts} when it fails.
 */
export async function runAttempts(
  workflowId: string,
  node: AttemptTarget,
  inFlight: AttemptsInFlight,
  events: RunEmitter,
  invoke: (attempt: Attempt) => unknown,
): Promise<AttemptsOutcome> {
  const attempt = startAttempt(workflowId, node, inFlight, events, 1);
  if (attempt === undefined) return { kind: 'cancelled', attempts: 0 };
  let output: unknown;
  try {
    output = await inFlight.run(attempt, invoke);
  } catch (error) {
    inFlight.end(attempt);
    return retryAttempts(workflowId, node, inFlight, events, invoke, error, 1);
  }
  inFlight.end(attempt);
  return { kind: 'succeeded', output, attempts: 1 };
}

/**
 * After attempt `number` failed with `error` (and was ended): decides whether to retry (and says so in
 * `step:attempt-failed`), waits the backoff, and runs the next attempts as {@link runAttempts} does.
 *
 * With `maxInlineWaitMs` (a step's own attempts), a `RetryLater` ends them with a `'later'` outcome,
 * and so does a retry whose delay is longer than that: the runner stores it and waits durably.
 * Without it, `RetryLater` is an error like any other, and every retry delay is slept.
 */
export async function retryAttempts(
  workflowId: string,
  node: AttemptTarget,
  inFlight: AttemptsInFlight,
  events: RunEmitter,
  invoke: (attempt: Attempt) => unknown,
  error: unknown,
  number: number,
  maxInlineWaitMs?: number,
): Promise<AttemptsOutcome> {
  const { retry } = node;
  const durable = maxInlineWaitMs !== undefined;
  for (;;) {
    if (error === INTERRUPTED || inFlight.stopped) return { kind: 'cancelled', attempts: number };
    // "Not yet" is no failure: the caller stores when to call again.
    if (durable && error instanceof RetryLater) return { kind: 'later', at: error.at, attempts: number, retry: false };
    let willRetry: boolean;
    try {
      willRetry = number < retry.attempts && !(error instanceof NonRetryableError) && (retry.retryIf === undefined || Boolean(retry.retryIf(error, number)));
    } catch (retryIfError) {
      // A throwing retryIf is a bug in the policy: the step fails with it, and is not retried.
      events.emit('step:attempt-failed', { step: node.name, attempt: number, error, willRetry: false, ...marks(node) });
      return { kind: 'failed', error: retryIfError, attempts: number };
    }
    const delayMs = willRetry ? retryDelay(retry, number + 1) : undefined;
    events.emit('step:attempt-failed', { step: node.name, attempt: number, error, willRetry, delayMs, ...marks(node) });
    if (!willRetry) return { kind: 'failed', error, attempts: number };
    // Too long to hold the lease for: the caller stores the attempt count and the time, and waits durably.
    if (durable && delayMs! > maxInlineWaitMs) return { kind: 'later', at: Date.now() + delayMs!, attempts: number, retry: true, error };
    await sleep(delayMs!, inFlight.signal);
    number++;
    const attempt = startAttempt(workflowId, node, inFlight, events, number);
    if (attempt === undefined) return { kind: 'cancelled', attempts: number - 1 };
    const startedAt = Date.now();
    try {
      const output = await inFlight.run(attempt, invoke);
      return { kind: 'succeeded', output, attempts: number, startedAt, lastError: error };
    } catch (failure) {
      error = failure;
    } finally {
      inFlight.end(attempt);
    }
  }
}

/** What a failed attempt's event says of what was attempted, besides the step. */
function marks(node: AttemptTarget): { compensation?: true; branch?: true; item?: number } {
  return { ...(node.compensating === true ? { compensation: true } : {}), ...(node.branch === true ? { branch: true } : {}), ...(node.item === undefined ? {} : { item: node.item }) };
}
