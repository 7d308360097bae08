/**
 * What the compiler knows of a workflow class: its step names, what each step gives, and its input.
 * Types only: nothing here exists at run time.
 *
 * Decorator arguments never reach a class's type, so the names are the class's public methods (a step
 * renamed with `@Step({ name })`, or a `private` one, is not among them: see {@link StepNames}).
 */
import type { StepContext } from './runner/step-context';

/**
 * The public method names of workflow class `W`: what `after`, `compensate` and a typed
 * `ctx.result()` accept. `never` when `W` is not given.
 */
export type StepName<W> = [W] extends [never] ? never : { [K in keyof W]: W[K] extends (...args: never[]) => unknown ? K : never }[keyof W] & string;

/** What step `K` of workflow class `W` gives: its method's return type, awaited. */
export type StepOutput<W, K extends StepName<W>> = W[K] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** What a run of `W` outputs: what its last step `F` returns when named, `unknown` when not. */
export type RunOutput<W, F extends StepName<W>> = [F] extends [never] ? unknown : StepOutput<W, F>;

/**
 * What a decorator that names steps (`@Step({ after, compensate })`) asks of the class it decorates:
 * methods by those names. A list typed as plain `string[]` (names computed at run time, a step
 * renamed with `@Step({ name })`), or a pattern (`` `s${number}` ``), asks nothing: the graph checks
 * such names when it is built.
 */
export type StepNames<K extends string> = {} extends Record<K, unknown> ? unknown : Record<K, unknown>;

/**
 * The input of workflow class `W`, as its step methods declare it with `StepContext<I>`: the
 * intersection of the declared `I`s, or `unknown` when no step declares one.
 */
export type WorkflowInput<W> = [DeclaredInputs<W>] extends [never] ? unknown : Intersection<DeclaredInputs<W>>;

type DeclaredInputs<W> = { [K in keyof W]: DeclaredInput<W[K]> }[keyof W];

type DeclaredInput<F> = F extends (ctx: StepContext<infer I, any, any>, ...rest: never[]) => unknown ? (unknown extends I ? never : I) : never;

type Intersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer R) => void ? R : never;

/**
 * For standard decorators, which see the class through the method's context: nothing when class
 * `This` has a member by every name in `K`, or a property the context lacks, `stepsTheClassLacks`,
 * whose type lists the missing names (what the compiler's error shows).
 */
export type MissingSteps<This, K extends string> = {} extends Record<K, unknown> ? unknown : [Exclude<K, keyof This>] extends [never] ? unknown : { readonly stepsTheClassLacks: Exclude<K, keyof This> };
