/**
 * Runs one step's attempts: retries with backoff, per-attempt timeouts, cancellation.
 * Writes nothing: the runner commits after a successful attempt.
 */
import { NonRetryableError, StepTimeoutError } from '../errors';
import { retryDelay, type RetryOptions } from '../retry-options';
import { INTERRUPTED, type Attempt, type AttemptsInFlight } from './attempt';
import type { RunEmitter } from './run-events';
import { sleep } from './sleep';

/** How the attempts ended. */
export type AttemptsOutcome =
  | { readonly kind: 'succeeded'; readonly output: unknown; readonly attempts: number }
  | { readonly kind: 'failed'; readonly error: unknown; readonly attempts: number }
  | { readonly kind: 'cancelled'; readonly attempts: number };

/** What is attempted: a step, or a step's compensation (`compensating: true`). */
export interface AttemptTarget {
  /** The step's name. */
  readonly name: string;
  readonly retry: RetryOptions & { readonly attempts: number };
  readonly timeoutMs?: number;
  /** True for a compensation: its attempts emit `step:compensating`, and its failures say `compensation: true`. */
  readonly compensating?: boolean;
}

/**
 * Calls `invoke(attempt)` (its number is `attempt.number`) until it succeeds, the retry policy gives up, or the run
 * stops. A timed-out attempt counts as failed; its signal is aborted and its eventual result ignored.
 * Its code may still be running when the next attempt starts (a step that ignores `ctx.signal`); the
 * run waits for it before giving up its lease.
 */
export async function runAttempts(
  workflowId: string,
  node: AttemptTarget,
  inFlight: AttemptsInFlight,
  events: RunEmitter,
  invoke: (attempt: Attempt) => unknown,
): Promise<AttemptsOutcome> {
  const { retry, timeoutMs } = node;
  for (let number = 1; ; number++) {
    if (inFlight.signal.aborted) return { kind: 'cancelled', attempts: number - 1 };
    if (node.compensating === true) events.emit('step:compensating', { step: node.name, attempt: number });
    else if (events.listens('step:started')) events.emit('step:started', { step: node.name, attempt: number });
    const attempt = inFlight.start(number);
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        const error = new StepTimeoutError(workflowId, node.name, number, timeoutMs);
        attempt.abort(error, error);
      }, timeoutMs);
    }
    try {
      const output = await inFlight.run(attempt, invoke);
      return { kind: 'succeeded', output, attempts: number };
    } catch (error) {
      if (error === INTERRUPTED || inFlight.signal.aborted) return { kind: 'cancelled', attempts: number };
      let willRetry: boolean;
      try {
        willRetry = number < retry.attempts && !(error instanceof NonRetryableError) && (retry.retryIf === undefined || Boolean(retry.retryIf(error, number)));
      } catch (retryIfError) {
        // A throwing retryIf is a bug in the policy: the step fails with it, and is not retried.
        events.emit('step:attempt-failed', { step: node.name, attempt: number, error, willRetry: false, ...(node.compensating === true ? { compensation: true } : {}) });
        return { kind: 'failed', error: retryIfError, attempts: number };
      }
      const delayMs = willRetry ? retryDelay(retry, number + 1) : undefined;
      events.emit('step:attempt-failed', { step: node.name, attempt: number, error, willRetry, delayMs, ...(node.compensating === true ? { compensation: true } : {}) });
      if (!willRetry) return { kind: 'failed', error, attempts: number };
      await sleep(delayMs!, inFlight.signal);
    } finally {
      clearTimeout(timer);
      inFlight.end(attempt);
    }
  }
}
