/**
 * Retries an S3 request on transient faults, with exponential backoff and full jitter.
 */
import { isTransient } from './s3-faults';

/** Retry settings of {@link S3Storage}. */
export interface S3RetryOptions {
  /** Total tries per request, including the first; default 5. */
  readonly attempts?: number;
  /** Backoff base in ms; default 50 (waits up to 50, 100, 200... ms). */
  readonly baseDelayMs?: number;
  /** Longest single wait in ms; default 2,000. */
  readonly maxDelayMs?: number;
}

/** Runs `request` until it succeeds, fails with a non-transient error, or the tries run out (then the last error). */
export async function withRetries<T>(options: S3RetryOptions, request: (attempt: number) => Promise<T>): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 50;
  const max = options.maxDelayMs ?? 2_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await request(attempt);
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      const ceiling = Math.min(max, base * 2 ** (attempt - 1));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    }
  }
}
