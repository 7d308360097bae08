/**
 * One attempt of a step, and the set of attempts in flight in a run.
 *
 * Cheap by design, because a run may have tens of thousands of steps: the attempt's AbortSignal is
 * created only if the step reads `ctx.signal` (it is born aborted if the attempt already was), and a
 * run listens to its stop signal once, not once per attempt.
 *
 * An interrupted attempt (cancel, lease loss, timeout) stops counting for the run at once, but its
 * user code may ignore the signal and keep running: the set keeps that code's promise until it
 * settles, so the run can hold its lease until nothing it started is still running.
 */

/** Why an attempt was interrupted by its run (cancel or lease loss), as opposed to failing. */
export const INTERRUPTED = Symbol('interrupted');

/** One attempt: its lazily created signal, and how to interrupt it. */
export class Attempt {
  private controller?: AbortController;
  private abortReason?: { reason: unknown };
  private interrupt?: (reason: unknown) => void;
  /** The user code's promise, once it returned one. */
  private running?: Promise<unknown>;
  /** The attempt's timeout, armed by {@link limit}, cleared when the run ends the attempt. */
  private timer?: NodeJS.Timeout;

  /**
   * @param onInterrupted learns of user code still running when the attempt is interrupted.
   * @param number the attempt's 1-based number among its step's attempts.
   */
  constructor(
    private readonly onInterrupted?: (running: Promise<unknown>) => void,
    readonly number = 1,
  ) {}

  /** The signal a step sees as `ctx.signal`. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason.reason);
    }
    return this.controller.signal;
  }

  /** Calls `onTimeout` after `ms` unless the attempt has ended first ({@link AttemptsInFlight.end}). */
  limit(ms: number, onTimeout: () => void): void {
    this.timer = setTimeout(onTimeout, ms);
  }

  /** Disarms the timeout: the attempt is over. */
  disarm(): void {
    clearTimeout(this.timer);
  }

  /** Aborts the signal (now, or when it is first read) and rejects the attempt's pending result with `rejection`. */
  abort(reason: unknown, rejection: unknown): void {
    if (this.abortReason) return;
    this.abortReason = { reason };
    this.controller?.abort(reason);
    // Only interrupted code can outlive the attempt's result: code that settles first needs no tracking.
    if (this.running) this.onInterrupted?.(this.running);
    this.interrupt?.(rejection);
  }

  /**
   * Calls `invoke(this)` and settles with its result, or rejects as soon as the attempt is aborted (a
   * step that ignores its signal cannot hold the run). A synchronous result settles without extra ticks.
   */
  run(invoke: (attempt: Attempt) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.interrupt = reject;
      let result: unknown;
      try {
        result = invoke(this);
      } catch (error) {
        reject(error);
        return;
      }
      if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
        const running = Promise.resolve(result as PromiseLike<unknown>);
        // Kept after it settles: tracking settled code on a late abort costs one tick and holds nothing.
        this.running = running;
        running.then(resolve, reject);
        // Aborted while invoke ran (it read and aborted nothing yet, or a timer fired): track it now.
        if (this.abortReason) this.onInterrupted?.(running);
      } else resolve(result);
    });
  }
}

/** Attempts in flight in one run; aborting the run's signal interrupts them all. */
export class AttemptsInFlight {
  private readonly attempts = new Set<Attempt>();
  /** User code started by this run that has not settled yet although its attempt was interrupted. */
  private readonly running = new Set<Promise<unknown>>();
  private readonly track = (running: Promise<unknown>): void => {
    this.running.add(running);
    const forget = () => void this.running.delete(running);
    running.then(forget, forget);
  };

  private aborted: boolean;

  constructor(readonly signal: AbortSignal) {
    this.aborted = signal.aborted;
    signal.addEventListener('abort', () => {
      this.aborted = true;
      for (const attempt of this.attempts) attempt.abort(signal.reason, INTERRUPTED);
    }, { once: true });
  }

  /** Whether the run stopped (its signal is aborted): kept in a field, since `signal.aborted` is a costly getter read for every attempt. */
  get stopped(): boolean {
    return this.aborted;
  }

  /** Attempt `number` of a step, interrupted at once if the run already stopped. */
  start(number = 1): Attempt {
    const attempt = new Attempt(this.track, number);
    if (this.aborted) attempt.abort(this.signal.reason, INTERRUPTED);
    else this.attempts.add(attempt);
    return attempt;
  }

  /** Runs `invoke` as `attempt` (see {@link Attempt.run}); its user code is remembered if interrupted before it settles. */
  run(attempt: Attempt, invoke: (attempt: Attempt) => unknown): Promise<unknown> {
    return attempt.run(invoke);
  }

  /** The attempt is over: its timeout is disarmed and a stop of the run no longer interrupts it. */
  end(attempt: Attempt): void {
    attempt.disarm();
    this.attempts.delete(attempt);
  }

  /** Resolves once every attempt's user code this run started has settled (at once when none runs). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
