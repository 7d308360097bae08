/** Retry policy of a step (see `@Step({ retry })`). */
export interface RetryOptions {
  /** Total attempts including the first; default 1 (no retry). */
  readonly attempts?: number;
  /** Delay before the second attempt, in ms; default 0. */
  readonly delayMs?: number;
  /** Multiplier applied to the delay after each failed attempt; default 1 (constant delay). */
  readonly backoff?: number;
  /** Upper bound of any delay, in ms; default unbounded. */
  readonly maxDelayMs?: number;
  /** Return false to stop retrying after this error. `NonRetryableError` always stops. */
  readonly retryIf?: (error: unknown, attempt: number) => boolean;
}

/** Delay before attempt `nextAttempt` (2-based: the first retry is attempt 2). */
export function retryDelay(retry: RetryOptions, nextAttempt: number): number {
  const base = retry.delayMs ?? 0;
  const delay = base * Math.pow(retry.backoff ?? 1, nextAttempt - 2);
  return Math.min(delay, retry.maxDelayMs ?? Infinity);
}
