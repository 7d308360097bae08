/**
 * Runs one step's attempts: retries with backoff, per-attempt timeouts, cancellation.
 * Writes nothing: the runner commits after a successful attempt.
 */
import { NonRetryableError, StepTimeoutError } from '../errors';
import type { StepNode } from '../graph';
import { retryDelay } from '../retry-options';
import type { RunEmitter } from './run-events';
import { sleep } from './sleep';

/** How the attempts ended. */
export type AttemptsOutcome =
  | { readonly kind: 'succeeded'; readonly output: unknown; readonly attempts: number }
  | { readonly kind: 'failed'; readonly error: unknown; readonly attempts: number }
  | { readonly kind: 'cancelled'; readonly attempts: number };

const CANCELLED = Symbol('cancelled');

/**
 * Calls `invoke(attempt, signal)` until it resolves, the retry policy gives up, or `runSignal` aborts.
 * A timed-out attempt counts as failed; its signal is aborted and its eventual result ignored.
 */
export async function runAttempts(
  workflowId: string,
  node: StepNode,
  runSignal: AbortSignal,
  events: RunEmitter,
  invoke: (attempt: number, signal: AbortSignal) => unknown,
): Promise<AttemptsOutcome> {
  const { retry } = node;
  for (let attempt = 1; ; attempt++) {
    if (runSignal.aborted) return { kind: 'cancelled', attempts: attempt - 1 };
    events.emit('step:started', { step: node.name, attempt });
    const controller = new AbortController();
    const onRunAbort = () => controller.abort(runSignal.reason);
    runSignal.addEventListener('abort', onRunAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    try {
      const racers: Promise<unknown>[] = [
        Promise.resolve().then(() => invoke(attempt, controller.signal)),
        new Promise((_, reject) => controller.signal.addEventListener('abort', () => reject(CANCELLED), { once: true })),
      ];
      if (node.timeoutMs !== undefined) {
        const timeoutMs = node.timeoutMs;
        racers.push(
          new Promise((_, reject) => {
            timer = setTimeout(() => {
              const error = new StepTimeoutError(workflowId, node.name, attempt, timeoutMs);
              reject(error);
              controller.abort(error);
            }, timeoutMs);
          }),
        );
      }
      const output = await Promise.race(racers);
      return { kind: 'succeeded', output, attempts: attempt };
    } catch (error) {
      if (error === CANCELLED || runSignal.aborted) return { kind: 'cancelled', attempts: attempt };
      const willRetry =
        attempt < retry.attempts && !(error instanceof NonRetryableError) && (retry.retryIf === undefined || Boolean(retry.retryIf(error, attempt)));
      const delayMs = willRetry ? retryDelay(retry, attempt + 1) : undefined;
      events.emit('step:attempt-failed', { step: node.name, attempt, error, willRetry, delayMs });
      if (!willRetry) return { kind: 'failed', error, attempts: attempt };
      await sleep(delayMs!, runSignal);
    } finally {
      clearTimeout(timer);
      runSignal.removeEventListener('abort', onRunAbort);
    }
  }
}
