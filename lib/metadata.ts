/**
 * The metadata that decorators record on a workflow class, and how it is read back.
 *
 * Decorators only write here; the graph only reads. Nothing here runs a step.
 */
import 'reflect-metadata';
import type { FingerprintStrategy } from './fingerprint/fingerprint-strategy';
import type { InputChangePolicy } from './input-change-policy';
import type { RetryOptions } from './retry-options';

/** A class constructor of any arity (DI containers construct workflows with dependencies). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Constructor<T = unknown> = abstract new (...args: any[]) => T;

/** Options of `@Step()`. */
export interface StepOptions {
  /** The step's stable identity in storage; defaults to the method name. */
  readonly name?: string;
  /**
   * Steps whose outputs this one needs. Omit to depend on the step declared just before
   * (none for the first); `[]` makes a root that runs concurrently with other roots. The compiler
   * checks the names against the class's public methods (a `string[]` opts out).
   */
  readonly after?: readonly string[];
  /** Retry policy for this step; default one attempt, no retry. */
  readonly retry?: RetryOptions;
  /** Per-attempt time limit in ms: the attempt fails and `ctx.signal` aborts. */
  readonly timeoutMs?: number;
  /**
   * A durable timer: the step starts no earlier than this many ms after its dependencies committed
   * (after the workflow was first stored, for a step without dependencies).
   */
  readonly delayMs?: number;
  /**
   * A durable timer: the step starts no earlier than the time this returns (a `Date`, an ISO string
   * or epoch ms), given the step's context without `attempt`. Called once, when the step is ready;
   * the time is stored, so a resume never calls it again. Keep it a function of `ctx.input` and
   * the dependencies' outputs.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly startAt?: (ctx: any) => Date | string | number;
  /**
   * A branch: whether the step runs, decided once when its dependencies have committed, from the
   * step's context (`attempt` 0). `false` commits the step as `'skipped'`; `true` is stored in the
   * workflow record before the step acts: a resume reads the answer and never asks again. A throw
   * (or a promise that rejects) fails like an attempt: the step's retry policy applies. A step whose
   * dependencies were all skipped is skipped without asking; one with at least one completed
   * dependency runs (a join after an if/else runs once).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly when?: (ctx: any) => boolean | Promise<boolean>;
  /**
   * Bounds a polling step: one whose method answers "not yet" with `ctx.retryAfter(ms | Date)` (or
   * `throw new RetryLater(...)`); see {@link PollOptions}. Without it a step may poll for ever.
   */
  readonly poll?: PollOptions;
  /**
   * A per-item fan-out: the items to run the step for, computed once from the step's context
   * (`attempt` 0) when its dependencies have committed, and committed before any item runs (a
   * resume reads the same list, in the same order, and never calls this again). The method then runs
   * once per item, with `ctx.item` and `ctx.index`; each item has the step's retries and timeout and
   * commits its own checkpoint. The step's output is the array of the items' outputs, in order. A
   * throw, or anything but an array, fails the step (a resume asks again, as no list was committed).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly forEach?: (ctx: any) => readonly unknown[] | Promise<readonly unknown[]>;
  /** With `forEach`: most items running at once (an integer >= 1); default, and at most, the run's `concurrency`. */
  readonly concurrency?: number;
  /**
   * With `forEach`: how many items may fail for good while the step still completes, as a count
   * (an integer >= 0) or `{ fraction }` of the items (0 to 1). A failed item's output is
   * `undefined`, and dependents read the failures with `ctx.failures(step)`. Default 0: the first
   * failure fails the step (items already running settle first; committed items stay committed).
   */
  readonly toleratedFailures?: number | { readonly fraction: number };
  /**
   * Child workflows this step starts: `(ctx) => ({ workflow: Shipment, input, id? })`, or an array
   * of them; with `forEach`, called once per item (`ctx.item`, `ctx.index`) for one child each.
   * Computed once (`attempt` 0) when the step is ready and committed before any child starts: a
   * resume reads the list and never calls this again. Each child is a workflow of its own (any
   * registered class) with a deterministic id (default `<parent id>/<step>/<index>`), started exactly
   * once. The parent then waits without a lease (status `'waiting'`) and is woken as children end,
   * whichever process runs them; once every child ended, the method runs with `ctx.children` (their
   * outputs, in order) and its return is the step's output. See {@link StepOptions.childFailure}.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly spawn?: (ctx: any) => ChildSpec | readonly ChildSpec[] | Promise<ChildSpec | readonly ChildSpec[]>;
  /**
   * With `spawn`: what a child that ends failed, cancelled or compensated does to the step.
   * `'fail'` (default): the step fails with `ChildWorkflowFailedError` once every child ended (a
   * resume of the parent resumes its failed children and waits again). `'tolerate'`: the step goes
   * on; the child's output is `undefined`, and `ctx.childFailures()` names it.
   */
  readonly childFailure?: 'fail' | 'tolerate';
  /** Wait for an event sent with `runner.sendEvent(workflowId, event, payload)`; see {@link WaitForOptions}. */
  readonly waitFor?: WaitForOptions;
  /**
   * The name of a method of the class (not a step) that undoes this step: when a later step fails for
   * good, the runner calls it once for this step's committed output (a `CompensationContext`),
   * after the compensations of the steps that depend on this one. A durable step of its own:
   * committed once after its successful attempt, at least once like every step.
   */
  readonly compensate?: string;
  /** Retry policy of the compensation; default the step's own `retry`. */
  readonly compensateRetry?: RetryOptions;
  /**
   * A concurrency limit shared by every step, of any workflow in any process on the store, that names
   * the same key: at most `concurrency` of their attempts run at once. See {@link StepLimit}.
   */
  readonly limit?: StepLimit;
  /** A rate limit shared by every step that names the same key: see {@link StepRateLimit}. */
  readonly rateLimit?: StepRateLimit;
}

/**
 * `@Step({ limit })`: at most `concurrency` attempts at once of the steps naming `key`, across every
 * process sharing the store (a partner API's calls in flight). An attempt waits for a slot before it
 * starts, first come first served; a retry is a call like any other and waits for a slot too. A
 * step's first attempt that finds no slot within the runner's `maxInlineWaitMs` waits durably, like
 * a timer: the workflow is `'waiting'` (holding no lease and no slot) and is woken when a slot frees.
 * A fan-out's items each take a slot per attempt, waiting in the run.
 */
export interface StepLimit {
  /** The key: a name, or a function of the step's context (an item's, for a fan-out) returning one (1-100 characters, no control characters). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: string | ((ctx: any) => string);
  /** Attempts at once for the key (an integer from 1 to 1,000). Give one key one limit everywhere. */
  readonly concurrency: number;
}

/**
 * `@Step({ rateLimit })`: at most `limit` attempts start in any `perMs` window for the steps naming
 * `key`, across every process sharing the store (a provider's requests per minute). Each attempt,
 * retries included, takes one; one that finds none waits until the oldest of the window leaves it
 * (in the run when that is within `maxInlineWaitMs`, else durably, like a timer). The window is read
 * by each process's clock: processes whose clocks differ by `d` ms may start up to `limit` calls
 * within `perMs - d` ms.
 */
export interface StepRateLimit {
  /** The key: a name, or a function of the step's context returning one (1-100 characters, no control characters). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: string | ((ctx: any) => string);
  /** Attempts per window (an integer from 1 to 1,000). */
  readonly limit: number;
  /** The window, in ms (an integer >= 1). */
  readonly perMs: number;
}

/**
 * `@Workflow({ concurrency })`: at most `limit` runs at once of this workflow with one key, across
 * every process sharing the store (one order of a customer at a time). The key is computed once,
 * from the run's input when it first runs, and stored in its record. A run that finds no free slot
 * waits without a lease (status `'waiting'`, `waitingFor` naming the key) and is woken, first come
 * first served, when a slot frees. A run holds its slot while it runs, not while it waits (a timer,
 * an event, children): it queues again when it wakes.
 */
export interface WorkflowConcurrency {
  /** The key: a name for every run, or a function of the run's input returning one (1-100 characters, no control characters). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly key: string | ((input: any) => string);
  /** Runs at once for one key (an integer from 1 to 1,000). */
  readonly limit: number;
}

/** A child workflow a step starts (`@Step({ spawn })`). */
export interface ChildSpec<I = unknown> {
  /** Its class: a `@Workflow` registered with the runner (runner option `workflows`). */
  readonly workflow: Constructor;
  /** Its input: validated by its input class and stored before it starts. */
  readonly input?: I;
  /** Its workflow id; default `<parent id>/<step>/<index>`. Unique among the step's children. */
  readonly id?: string;
}

/** Options of `@Step({ poll })`. */
export interface PollOptions {
  /** How long the step may keep answering "not yet", counted from its first call; then `onTimeout` decides. */
  readonly timeoutMs: number;
  /**
   * `'fail'` (default): the step fails with `PollTimeoutError` as soon as it asks for a time past the
   * limit. `'run'`: it is called once more at the limit with `ctx.lastPoll` true, and must answer
   * then (asking again fails it with `PollTimeoutError`).
   */
  readonly onTimeout?: 'fail' | 'run';
}

/** Options of `@Step({ waitFor })`. */
export interface WaitForOptions {
  /** The event's name. Each event is consumed by one waiting step, in the order events were sent. */
  readonly event: string;
  /** How long to wait, counted from when the step became ready; default no limit. */
  readonly timeoutMs?: number;
  /** When the time is up: `'fail'` the step with `EventTimeoutError` (default), or `'run'` it with `ctx.event()` undefined. */
  readonly onTimeout?: 'fail' | 'run';
}

/** What `@Step()` records for one method. */
export interface StepRecord extends StepOptions {
  readonly method: string | symbol;
}

/** Options of `@Workflow()`. */
export interface WorkflowOptions {
  /** Workflow name (for logs and the stored record); defaults to the class name. */
  readonly name?: string;
  /** A class-validator class the input must satisfy before anything is read or written. */
  readonly input?: Constructor;
  /**
   * The version of this class of the workflow (an integer >= 1; default 1). A run is pinned to the
   * version it started on (stored in its record): a runner that registers several versions of one
   * name starts new runs on the highest and resumes each run on its own. A run whose version no
   * registered class has is never failed and never re-run: it is reported as stranded until a
   * process that has it resumes it, or it is migrated (`runner.migrate`).
   */
  readonly version?: number;
  /**
   * How runs of older versions move to this one (`runner.migrate`, `waymark migrate`, or the
   * worker option `migrate: 'auto'`): one declaration per version it moves from. See {@link Migration}.
   */
  readonly migrate?: Migration | readonly Migration[];
  /** At most `limit` runs at once per key, across every process: see {@link WorkflowConcurrency}. */
  readonly concurrency?: WorkflowConcurrency;
}

/**
 * How runs of version `from` move to the version that declares this: their committed steps are
 * kept by name, `renamed` ones under their new name and `dropped` ones forgotten; steps the new
 * version adds run. A migration is checked against the run before it writes anything.
 */
export interface Migration {
  /** The version runs move from. */
  readonly from: number;
  /** Steps of the old version kept under a new name: `{ oldName: 'newName' }`. */
  readonly renamed?: Readonly<Record<string, string>>;
  /** Steps of the old version the new one no longer has: their commits are forgotten (not undone). */
  readonly dropped?: readonly string[];
  /**
   * For the rare case where the input's shape changed: the stored input, converted. Called once per
   * run at migration (never again); its return is validated by the new version's input class.
   */
  readonly input?: (old: unknown) => unknown;
  /**
   * For the rare case where a kept step's output changed shape, by step name in the new version:
   * its committed output, converted. Called once per run at migration; the result is committed as
   * a checkpoint of its own before the record moves (the old one is left as it was).
   */
  readonly outputs?: Readonly<Record<string, (old: unknown) => unknown>>;
}

/** What `@Fingerprint()` records: a strategy, or path options for the default strategy. */
export type FingerprintRecord = FingerprintStrategy | { readonly exclude?: readonly string[]; readonly include?: readonly string[] };

// TC39 standard decorators hand a class's decorators a shared `context.metadata` object only where
// `Symbol.metadata` exists. Node does not define it yet; TypeScript then passes no metadata, and
// esbuild falls back to `Symbol.for('Symbol.metadata')`. Defining it as that same symbol, before any
// decorated class is evaluated (this module loads with the decorators), gives both the same object.
const METADATA: symbol = ((Symbol as { metadata?: symbol }).metadata ??= Symbol.for('Symbol.metadata'));

const STEPS = Symbol.for('waymark:steps');
const WORKFLOW = Symbol.for('waymark:workflow');
const INPUT_CHANGE = Symbol.for('waymark:on-input-change');
const FINGERPRINT = Symbol.for('waymark:fingerprint');

/** Appends a step record to a class prototype (legacy decorators; declaration order is kept). */
export function recordStep(prototype: object, record: StepRecord): void {
  const own: StepRecord[] | undefined = Reflect.getOwnMetadata(STEPS, prototype);
  if (own) own.push(record);
  else Reflect.defineMetadata(STEPS, [record], prototype);
}

/**
 * Appends a step record to a class's standard-decorator metadata object (declaration order is kept).
 * Each class gets its own object, inheriting its base class's through the prototype chain, so only
 * own records are this class's.
 */
export function recordStandardStep(metadata: DecoratorMetadataObject, record: StepRecord): void {
  const bag = metadata as Record<symbol, StepRecord[] | undefined>;
  if (Object.hasOwn(bag, STEPS)) bag[STEPS]!.push(record);
  else bag[STEPS] = [record];
}

/** Step records of a class, base classes' first, each in declaration order, from either decorator mode. */
export function readStepRecords(target: Constructor): StepRecord[] {
  const chain: object[] = [];
  for (let p = target.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) chain.unshift(p);
  return chain.flatMap((p) => [...((Reflect.getOwnMetadata(STEPS, p) as StepRecord[] | undefined) ?? []), ...standardRecords(p)]);
}

function standardRecords(prototype: object): StepRecord[] {
  const ctor = (prototype as { constructor?: unknown }).constructor;
  if (typeof ctor !== 'function' || !Object.hasOwn(ctor, METADATA)) return [];
  const metadata = (ctor as unknown as Record<symbol, Record<symbol, StepRecord[] | undefined> | null>)[METADATA];
  return metadata && Object.hasOwn(metadata, STEPS) ? metadata[STEPS]! : [];
}

/** Records `@Workflow()` options on a class. */
export function recordWorkflow(target: Constructor, options: WorkflowOptions): void {
  Reflect.defineMetadata(WORKFLOW, options, target);
}

/** `@Workflow()` options of a class, or undefined when it has none. */
export function readWorkflow(target: Constructor): WorkflowOptions | undefined {
  return Reflect.getMetadata(WORKFLOW, target);
}

/** Records a class-level input-change policy. */
export function recordInputChangePolicy(target: Constructor, policy: InputChangePolicy): void {
  Reflect.defineMetadata(INPUT_CHANGE, policy, target);
}

/** The class-level input-change policy, if any. */
export function readInputChangePolicy(target: Constructor): InputChangePolicy | undefined {
  return Reflect.getMetadata(INPUT_CHANGE, target);
}

/** Records a class-level fingerprint strategy or options. */
export function recordFingerprint(target: Constructor, record: FingerprintRecord): void {
  Reflect.defineMetadata(FINGERPRINT, record, target);
}

/** The class-level fingerprint strategy or options, if any. */
export function readFingerprint(target: Constructor): FingerprintRecord | undefined {
  return Reflect.getMetadata(FINGERPRINT, target);
}
