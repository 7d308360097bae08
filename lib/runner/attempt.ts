/**
 * One attempt of a step, and the set of attempts in flight in a run.
 *
 * Cheap by design, because a run may have tens of thousands of steps: the attempt's AbortSignal is
 * created only if the step reads `ctx.signal` (it is born aborted if the attempt already was), and a
 * run listens to its stop signal once, not once per attempt.
 */

/** Why an attempt was interrupted by its run (cancel or lease loss), as opposed to failing. */
export const INTERRUPTED = Symbol('interrupted');

/** One attempt: its lazily created signal, and how to interrupt it. */
export class Attempt {
  private controller?: AbortController;
  private abortReason?: { reason: unknown };
  private interrupt?: (reason: unknown) => void;

  /** The signal a step sees as `ctx.signal`. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the signal (now, or when it is first read) and rejects the attempt's pending result with `rejection`. */
  abort(reason: unknown, rejection: unknown): void {
    if (this.abortReason) return;
    this.abortReason = { reason };
    this.controller?.abort(reason);
    this.interrupt?.(rejection);
  }

  /**
   * Calls `invoke` and settles with its result, or rejects as soon as the attempt is aborted (a step
   * that ignores its signal cannot hold the run). A synchronous result settles without extra ticks.
   */
  run(invoke: () => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.interrupt = reject;
      let result: unknown;
      try {
        result = invoke();
      } catch (error) {
        reject(error);
        return;
      }
      if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') (result as PromiseLike<unknown>).then(resolve, reject);
      else resolve(result);
    });
  }
}

/** Attempts in flight in one run; aborting the run's signal interrupts them all. */
export class AttemptsInFlight {
  private readonly attempts = new Set<Attempt>();

  constructor(readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => {
      for (const attempt of this.attempts) attempt.abort(signal.reason, INTERRUPTED);
    }, { once: true });
  }

  /** A new attempt, interrupted at once if the run already stopped. */
  start(): Attempt {
    const attempt = new Attempt();
    if (this.signal.aborted) attempt.abort(this.signal.reason, INTERRUPTED);
    else this.attempts.add(attempt);
    return attempt;
  }

  end(attempt: Attempt): void {
    this.attempts.delete(attempt);
  }
}
