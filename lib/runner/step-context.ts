/**
 * What a step method receives.
 */
import { RetryLater, StepDependencyError, type ChildFailureInfo, type ItemFailureInfo } from '../errors';
import type { StepName, StepOutput } from '../workflow-types';

/**
 * The argument of every step method. `I` is the input type, `P` the type of `previous`, and `W`,
 * when given, the workflow class: `ctx.result('fetch')` is then checked against its methods and
 * typed by what `fetch` returns.
 */
export interface StepContext<I = unknown, P = unknown, W = never> {
  /** The run's input (validated and transformed to the input class when `@Workflow({ input })` is set). */
  readonly input: I;
  /**
   * Output of this step's one dependency (the step declared before it, or the one step in `after`);
   * undefined for a step without dependencies. Throws `StepDependencyError` when the step has
   * several dependencies: use {@link StepContext.result} then.
   */
  readonly previous: P;
  /**
   * Output of a step named in this step's `after` (or its one implicit predecessor); any other name
   * throws `StepDependencyError`. `undefined` for a skipped step ({@link StepContext.skipped}).
   */
  result<K extends StepName<W>>(step: K): StepOutput<W, K>;
  /** Untyped, for a context without its workflow class (`W`): the output as `T`, unchecked. */
  result<T = unknown>(step: [W] extends [never] ? string : never): T;
  /** True when the dependency `step` was skipped (its `when` said no, or all its own dependencies were skipped); any other name than a dependency throws `StepDependencyError`. */
  skipped(step: string): boolean;
  /**
   * The items of dependency `step` (a fan-out, `@Step({ forEach })`) that failed within its
   * `toleratedFailures`, in the order of their indexes (their outputs in `result(step)` are
   * `undefined`); empty for any other dependency. Any other name than a dependency throws `StepDependencyError`.
   */
  failures(step: string): readonly ItemFailureInfo[];
  /**
   * In a step that starts child workflows (`@Step({ spawn })`): their outputs, in the order of the
   * committed list (`undefined` for one that did not complete, with `childFailure: 'tolerate'`).
   * Undefined in any other step.
   */
  readonly children: readonly unknown[] | undefined;
  /** In a spawn step with `childFailure: 'tolerate'`: the children that did not complete, in index order; empty otherwise. */
  childFailures(): readonly ChildFailureInfo[];
  /** In a fan-out (`@Step({ forEach })`): the item this call is for, from the committed list; undefined otherwise. */
  readonly item: unknown;
  /** In a fan-out: the item's index in the committed list (0-based); -1 otherwise. */
  readonly index: number;
  readonly workflowId: string;
  /** This step's name. */
  readonly step: string;
  /** 1-based attempt number. */
  readonly attempt: number;
  /** Aborted when the attempt times out or the run is cancelled. */
  readonly signal: AbortSignal;
  /**
   * Ends the call without failing: "not ready yet, call me again after `delay` ms (or at that Date)".
   * The time is stored and the step waits for it like a timer, holding no lease while it waits longer
   * than `maxInlineWaitMs`; `@Step({ poll: { timeoutMs } })` bounds how long it may keep asking.
   */
  retryAfter(delay: number | Date): never;
  /** How many times this step answered "not yet" before this call (0 on its first). */
  readonly polls: number;
  /** True on a polling step's last call, at its `poll.timeoutMs` with `onTimeout: 'run'`: it must answer now. */
  readonly lastPoll: boolean;
  /**
   * The payload of the event this step waited for (`@Step({ waitFor })`), decoded; the same on every
   * attempt and after a resume. Undefined when the wait timed out with `onTimeout: 'run'`, and for
   * steps that wait for no event.
   */
  event<T = unknown>(): T | undefined;
}

/** What the runner knows when it builds a context. */
export interface StepContextInit {
  readonly workflowId: string;
  readonly step: string;
  readonly attempt: number;
  /** The attempt's signal, or where to get it when first read. */
  readonly signal: AbortSignal | { readonly signal: AbortSignal };
  readonly input: unknown;
  /** The step's dependencies, in the order of its `after`. */
  readonly after: readonly string[];
  /** Their outputs, in the same order (two arrays, not a Map: one context per step is built on the hot path). */
  readonly outputs: readonly unknown[];
  /** Which of them were skipped, in the same order; absent when none was. */
  readonly skipped?: readonly boolean[];
  /** The tolerated item failures of each, in the same order; absent when none has any. */
  readonly failures?: readonly (readonly ItemFailureInfo[] | undefined)[];
  /** In a fan-out: the item and its index. */
  readonly item?: { readonly value: unknown; readonly index: number };
  /** Its "not yet" answers so far, and whether this is its last call; absent for a step that never polled. */
  readonly poll?: { readonly count: number; readonly last: boolean };
  /** The payload of the event the step consumed, if any. */
  readonly event?: unknown;
  /** In a spawn step: its children's outputs and those that did not complete. */
  readonly children?: { readonly children: readonly unknown[]; readonly failures: readonly ChildFailureInfo[] };
}

class Context implements StepContext {
  readonly workflowId: string;
  readonly step: string;
  readonly attempt: number;
  readonly input: unknown;

  constructor(private readonly init: StepContextInit) {
    this.workflowId = init.workflowId;
    this.step = init.step;
    this.attempt = init.attempt;
    this.input = init.input;
  }

  get signal(): AbortSignal {
    const { signal } = this.init;
    return signal instanceof AbortSignal ? signal : signal.signal;
  }

  get previous(): unknown {
    const { after, outputs } = this.init;
    if (after.length > 1) {
      throw new StepDependencyError(this.workflowId, this.step, `ctx.previous is ambiguous: the step depends on ${after.join(', ')}; use ctx.result(name)`);
    }
    return outputs[0];
  }

  get item(): unknown {
    return this.init.item?.value;
  }

  get children(): readonly unknown[] | undefined {
    return this.init.children?.children;
  }

  childFailures(): readonly ChildFailureInfo[] {
    return this.init.children?.failures ?? [];
  }

  get index(): number {
    return this.init.item?.index ?? -1;
  }

  get polls(): number {
    return this.init.poll?.count ?? 0;
  }

  get lastPoll(): boolean {
    return this.init.poll?.last === true;
  }

  retryAfter(delay: number | Date): never {
    throw new RetryLater(delay);
  }

  event<T>(): T | undefined {
    return this.init.event as T | undefined;
  }

  result<T>(name: string): T {
    return this.init.outputs[this.dependency('result', name)] as T;
  }

  skipped(name: string): boolean {
    return this.init.skipped?.[this.dependency('skipped', name)] === true;
  }

  failures(name: string): readonly ItemFailureInfo[] {
    return this.init.failures?.[this.dependency('failures', name)] ?? [];
  }

  /** The index of dependency `name`; any other name throws, naming the method that asked. */
  private dependency(method: 'result' | 'skipped' | 'failures', name: string): number {
    const { after } = this.init;
    const index = after.indexOf(name);
    if (index === -1) {
      const declared = after.length === 0 ? 'none' : after.join(', ');
      throw new StepDependencyError(
        this.workflowId,
        this.step,
        `ctx.${method}('${name}') asks for a step that is not a dependency of this one (dependencies: ${declared}); add it to @Step({ after: [...] })`,
      );
    }
    return index;
  }
}

/** Builds a {@link StepContext}; `previous` and `result()` only reach declared dependencies. */
export function createStepContext<I, P>(init: StepContextInit): StepContext<I, P> {
  return new Context(init) as StepContext<I, P>;
}
