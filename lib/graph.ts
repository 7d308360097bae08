/**
 * Builds and validates a workflow class's step graph. Reads decorator metadata; runs nothing.
 */
import { toConcurrency, toStepLimits, type FlowKeySource, type StepLimits } from './graph-limits';
import { WorkflowDefinitionError } from './errors';
import { readStepRecords, readWorkflow, type Constructor, type Migration, type StepRecord } from './metadata';
import type { RetryOptions } from './retry-options';
import type { StoredStep } from './storage/records';
import { checkMigrations } from './migrations';
import { sortCommitted } from './item-keys';

/** One validated step. */
export interface StepNode {
  readonly name: string;
  readonly method: string | symbol;
  /** Resolved dependencies: `after`, or the step declared before (none for the first). */
  readonly after: readonly string[];
  /** The same dependencies, by step index (the runner's hot path uses no names). */
  readonly afterIndexes: readonly number[];
  readonly retry: RetryOptions & { readonly attempts: number };
  readonly timeoutMs?: number;
  /** What the step waits for before it starts, if anything. */
  readonly wait?: StepWait;
  /** Its polling bound (`@Step({ poll })`), validated. */
  readonly poll?: { readonly timeoutMs: number; readonly onTimeout: 'fail' | 'run' };
  /** The branch predicate (`@Step({ when })`), if the step has one. */
  readonly when?: (ctx: unknown) => boolean | Promise<boolean>;
  /**
   * True when the step may end `'skipped'`: it has a `when`, or every one of its dependencies may be
   * skipped. A resume reads the checkpoints of such steps to tell skipped from completed.
   */
  readonly mayBeSkipped: boolean;
  /** Its per-item fan-out (`@Step({ forEach })`), validated. */
  readonly fanOut?: StepFanOut;
  /** The child workflows it starts (`@Step({ spawn })`), validated. */
  readonly spawn?: StepSpawn;
  /** The method that undoes the step once it committed, if it declares one (`@Step({ compensate })`). */
  readonly compensation?: StepCompensation;
  /** Its concurrency limit and rate limit (`@Step({ limit, rateLimit })`), validated. */
  readonly limits?: StepLimits;
  /** Declaration index. */
  readonly index: number;
}

/** A step's compensation, validated. */
export interface StepCompensation {
  /** The method's name on the workflow class. */
  readonly method: string;
  /** `compensateRetry`, or the step's own retry policy. */
  readonly retry: RetryOptions & { readonly attempts: number };
}

/** A step's per-item fan-out, validated. */
export interface StepFanOut {
  readonly forEach: (ctx: unknown) => readonly unknown[] | Promise<readonly unknown[]>;
  /** The step's own limit of items at once, if it sets one (the run's concurrency caps it). */
  readonly concurrency?: number;
  /** Failures it completes despite: a count, or a fraction of the items. */
  readonly tolerated: { readonly count: number } | { readonly fraction: number };
}

/** A step's child workflows, validated. */
export interface StepSpawn {
  readonly spawn: (ctx: unknown) => unknown;
  /** With `forEach`: the items, one child each. */
  readonly forEach?: (ctx: unknown) => unknown;
  readonly childFailure: 'fail' | 'tolerate';
}

/** A step's timers and awaited event, validated. */
export interface StepWait {
  readonly delayMs?: number;
  readonly startAt?: (ctx: unknown) => Date | string | number;
  readonly event?: { readonly name: string; readonly timeoutMs?: number; readonly onTimeout: 'fail' | 'run' };
}

/** A validated step graph. */
export interface StepGraph {
  readonly workflowName: string;
  /** `@Workflow({ version })`, default 1. */
  readonly version: number;
  /** `@Workflow({ migrate })`, checked: by the version each moves from. */
  readonly migrations: ReadonlyMap<number, Migration>;
  readonly className: string;
  /** Steps in declaration order. */
  readonly steps: readonly StepNode[];
  /** Their names, in the same order. */
  readonly stepNames: readonly string[];
  readonly byName: ReadonlyMap<string, StepNode>;
  /** Steps that list each step in `after`. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
  /** The same, by step index: the nodes that list `steps[i]` in `after` (the scheduler's hot path uses no names). */
  readonly dependentNodes: readonly (readonly StepNode[])[];
  /** The step whose output is the run's output: the last declared. */
  readonly finalStep: string;
  /** Class of the input for validation, if any. */
  readonly inputClass?: Constructor;
  /** True when a step declares a compensation: a step failing for good then compensates, and the workflow ends `'compensated'`. */
  readonly compensates: boolean;
  /** Its concurrency key (`@Workflow({ concurrency })`), validated. */
  readonly concurrency?: { readonly key: FlowKeySource; readonly limit: number };
  /** True when it has a concurrency key or a step with a limit: its runs hold or wait for slots. */
  readonly limited: boolean;
}

const cache = new WeakMap<Constructor, StepGraph>();

const MAX_STEP_NAME = 100;

/** The validated graph of a workflow class; throws {@link WorkflowDefinitionError} naming class and step. */
export function buildGraph(target: Constructor): StepGraph {
  let graph = cache.get(target);
  if (!graph) cache.set(target, (graph = build(target)));
  return graph;
}

function build(target: Constructor): StepGraph {
  const className = target.name || '(anonymous class)';
  const options = readWorkflow(target) ?? {};
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
    throw new WorkflowDefinitionError('@Workflow name must be a non-empty string', className);
  }
  const records = readStepRecords(target);
  if (records.length === 0) throw new WorkflowDefinitionError('has no @Step() methods', className);

  const steps: StepNode[] = [];
  const byName = new Map<string, StepNode>();
  records.forEach((record, index) => {
    const node = toNode(record, index, steps.at(-1), className, target);
    if (byName.has(node.name)) throw new WorkflowDefinitionError(`duplicate step name '${node.name}'`, className, node.name);
    byName.set(node.name, node);
    steps.push(node);
  });

  const dependents = new Map<string, string[]>(steps.map((s) => [s.name, []]));
  for (const step of steps) {
    for (const dep of step.after) {
      if (!byName.has(dep)) throw new WorkflowDefinitionError(`'after' names unknown step '${dep}' (steps: ${[...byName.keys()].join(', ')})`, className, step.name);
      dependents.get(dep)!.push(step.name);
    }
  }
  assertAcyclic(steps, byName, className);
  const stepMethods = new Set(records.map((r) => r.method));
  for (const step of steps) {
    const method = step.compensation?.method;
    if (method !== undefined && stepMethods.has(method)) {
      throw new WorkflowDefinitionError(`compensate names '${method}', which is a step itself; a compensation is a plain method of the class`, className, step.name);
    }
  }
  for (const step of steps) (step as { afterIndexes: readonly number[] }).afterIndexes = step.after.map((dep) => byName.get(dep)!.index);
  // A step may be skipped when it has a `when` or all its dependencies may be: settled in an order
  // where every dependency comes first (the graph is acyclic; a pass per level until nothing changes).
  for (let changed = true; changed; ) {
    changed = false;
    for (const step of steps) {
      if (step.mayBeSkipped || step.after.length === 0 || !step.after.every((dep) => byName.get(dep)!.mayBeSkipped)) continue;
      (step as { mayBeSkipped: boolean }).mayBeSkipped = true;
      changed = true;
    }
  }
  const dependentNodes = steps.map((s) => dependents.get(s.name)!.map((name) => byName.get(name)!));
  const version = options.version ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new WorkflowDefinitionError(`@Workflow version must be an integer >= 1, got ${JSON.stringify(version)}`, className);
  const migrations = checkMigrations(options.migrate, version, byName, className);
  const concurrency = toConcurrency(options.concurrency, className);
  return { workflowName: options.name ?? className, version, migrations, className, steps, stepNames: steps.map((s) => s.name), byName, dependents, dependentNodes, finalStep: steps[steps.length - 1].name, inputClass: options.input, compensates: steps.some((s) => s.compensation !== undefined), ...(concurrency === undefined ? {} : { concurrency }), limited: concurrency !== undefined || steps.some((s) => s.limits !== undefined) };
}

/** Names of what every object has (`__proto__`, `constructor`, `hasOwnProperty`...): never step names, since steps are keys of plain objects in results and records. */
const RESERVED_STEP_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

function toNode(record: StepRecord, index: number, previous: StepNode | undefined, className: string, target: Constructor): StepNode {
  const methodName = typeof record.method === 'symbol' ? undefined : record.method;
  const name = record.name ?? methodName;
  const label = name || String(record.method);
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_STEP_NAME || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new WorkflowDefinitionError(`step name must be 1-${MAX_STEP_NAME} characters without control characters (symbol-keyed methods need @Step({ name }))`, className, label);
  }
  if (RESERVED_STEP_NAMES.has(name)) {
    throw new WorkflowDefinitionError(`step name '${name}' is a name every object has (Object.prototype): steps keyed by it would be confused with it; give the step another name with @Step({ name })`, className, name);
  }
  if (typeof (target.prototype as Record<string | symbol, unknown>)[record.method] !== 'function') {
    throw new WorkflowDefinitionError(`@Step() must decorate a method`, className, name);
  }
  if (record.after !== undefined && (!Array.isArray(record.after) || record.after.some((d) => typeof d !== 'string'))) {
    throw new WorkflowDefinitionError(`'after' must be an array of step names`, className, name);
  }
  if (record.after?.includes(name)) throw new WorkflowDefinitionError(`step lists itself in 'after'`, className, name);
  const retry = checkRetry(record.retry, 'retry', className, name);
  if (record.timeoutMs !== undefined && !(typeof record.timeoutMs === 'number' && record.timeoutMs > 0)) {
    throw new WorkflowDefinitionError(`timeoutMs must be a number > 0, got ${String(record.timeoutMs)}`, className, name);
  }
  const after = record.after ? [...new Set(record.after)] : previous ? [previous.name] : [];
  const wait = toWait(record, className, name);
  const compensation = toCompensation(record, retry, className, name, target);
  if (record.when !== undefined && typeof record.when !== 'function') {
    throw new WorkflowDefinitionError(`when must be a function (ctx) => boolean, got ${record.when === null ? 'null' : typeof record.when}`, className, name);
  }
  const when = record.when as StepNode['when'];
  const poll = toPoll(record, className, name);
  const spawn = toSpawn(record, className, name);
  const fanOut = spawn === undefined ? toFanOut(record, className, name) : undefined;
  if (fanOut !== undefined && wait?.event !== undefined) {
    throw new WorkflowDefinitionError(`a fan-out cannot wait for an event: put the waitFor on a step before it, and list the items from that step's output`, className, name);
  }
  if (spawn !== undefined && poll !== undefined) {
    throw new WorkflowDefinitionError(`a step that starts child workflows cannot poll: poll in a step of its own, or in the child`, className, name);
  }
  if (fanOut !== undefined && poll !== undefined) {
    throw new WorkflowDefinitionError(`a fan-out's items cannot poll: drop poll, or make the polling a step of its own`, className, name);
  }
  const limits = toStepLimits(record.limit, record.rateLimit, className, name);
  if (limits !== undefined && spawn !== undefined) {
    throw new WorkflowDefinitionError(`a step that starts child workflows cannot take a limit: limit the children's workflow with @Workflow({ concurrency }), or their steps`, className, name);
  }
  return {
    name,
    method: record.method,
    after,
    afterIndexes: [],
    retry,
    timeoutMs: record.timeoutMs,
    ...(wait === undefined ? {} : { wait }),
    ...(when === undefined ? {} : { when }),
    ...(poll === undefined ? {} : { poll }),
    ...(fanOut === undefined ? {} : { fanOut }),
    ...(spawn === undefined ? {} : { spawn }),
    mayBeSkipped: when !== undefined,
    ...(compensation === undefined ? {} : { compensation }),
    ...(limits === undefined ? {} : { limits }),
    index,
  };
}

/** A retry policy (`retry` or `compensateRetry`), validated, with its attempts resolved (default 1). */
function checkRetry(options: RetryOptions | undefined, key: string, className: string, name: string): RetryOptions & { readonly attempts: number } {
  const retry = options ?? {};
  if (retry === null || typeof retry !== 'object') throw new WorkflowDefinitionError(`${key} must be an object { attempts?, delayMs?, backoff?, maxDelayMs?, retryIf? }`, className, name);
  const attempts = retry.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) throw new WorkflowDefinitionError(`${key}.attempts must be an integer >= 1, got ${String(attempts)}`, className, name);
  for (const field of ['delayMs', 'maxDelayMs'] as const) {
    const v = retry[field];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) throw new WorkflowDefinitionError(`${key}.${field} must be a number >= 0, got ${String(v)}`, className, name);
  }
  if (retry.backoff !== undefined && !(typeof retry.backoff === 'number' && retry.backoff >= 1)) {
    throw new WorkflowDefinitionError(`${key}.backoff must be a number >= 1, got ${String(retry.backoff)}`, className, name);
  }
  if (retry.retryIf !== undefined && typeof retry.retryIf !== 'function') throw new WorkflowDefinitionError(`${key}.retryIf must be a function`, className, name);
  return { ...retry, attempts };
}

function toCompensation(record: StepRecord, retry: RetryOptions & { readonly attempts: number }, className: string, name: string, target: Constructor): StepCompensation | undefined {
  const { compensate, compensateRetry } = record;
  if (compensate === undefined) {
    if (compensateRetry !== undefined) throw new WorkflowDefinitionError(`compensateRetry needs a compensate method`, className, name);
    return undefined;
  }
  if (typeof compensate !== 'string' || compensate.length === 0) throw new WorkflowDefinitionError(`compensate must be the name of a method of the class, got ${String(compensate)}`, className, name);
  if (typeof (target.prototype as Record<string, unknown>)[compensate] !== 'function') {
    throw new WorkflowDefinitionError(`compensate names '${compensate}', which is not a method of the class`, className, name);
  }
  return { method: compensate, retry: compensateRetry === undefined ? retry : checkRetry(compensateRetry, 'compensateRetry', className, name) };
}

function toSpawn(record: StepRecord, className: string, name: string): StepSpawn | undefined {
  const { spawn, childFailure, forEach } = record;
  if (spawn === undefined) {
    if (childFailure !== undefined) throw new WorkflowDefinitionError(`childFailure applies to child workflows: it needs spawn`, className, name);
    return undefined;
  }
  if (typeof spawn !== 'function') throw new WorkflowDefinitionError(`spawn must be a function (ctx) => ({ workflow, input?, id? }) or an array of them, got ${spawn === null ? 'null' : typeof spawn}`, className, name);
  if (childFailure !== undefined && childFailure !== 'fail' && childFailure !== 'tolerate') throw new WorkflowDefinitionError(`childFailure must be 'fail' or 'tolerate', got ${JSON.stringify(childFailure)}`, className, name);
  if (record.concurrency !== undefined || record.toleratedFailures !== undefined) {
    throw new WorkflowDefinitionError(`${record.concurrency !== undefined ? 'concurrency' : 'toleratedFailures'} does not apply to child workflows (each runs on its own; use childFailure: 'tolerate')`, className, name);
  }
  if (forEach !== undefined && typeof forEach !== 'function') throw new WorkflowDefinitionError(`forEach must be a function (ctx) => items[], got ${forEach === null ? 'null' : typeof forEach}`, className, name);
  return { spawn: spawn as StepSpawn['spawn'], ...(forEach === undefined ? {} : { forEach: forEach as StepSpawn['forEach'] }), childFailure: childFailure ?? 'fail' };
}

function toFanOut(record: StepRecord, className: string, name: string): StepFanOut | undefined {
  const { forEach, concurrency, toleratedFailures } = record;
  if (forEach === undefined) {
    if (concurrency !== undefined || toleratedFailures !== undefined) {
      throw new WorkflowDefinitionError(`${concurrency !== undefined ? 'concurrency' : 'toleratedFailures'} applies to a fan-out's items: it needs forEach`, className, name);
    }
    return undefined;
  }
  if (typeof forEach !== 'function') {
    throw new WorkflowDefinitionError(`forEach must be a function (ctx) => items[], got ${forEach === null ? 'null' : typeof forEach}`, className, name);
  }
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new WorkflowDefinitionError(`concurrency must be an integer >= 1, got ${String(concurrency)}`, className, name);
  }
  let tolerated: StepFanOut['tolerated'];
  if (toleratedFailures === undefined) tolerated = { count: 0 };
  else if (typeof toleratedFailures === 'number') {
    if (!(Number.isInteger(toleratedFailures) && toleratedFailures >= 0)) {
      throw new WorkflowDefinitionError(`toleratedFailures must be an integer >= 0 (a count) or { fraction } from 0 to 1, got ${String(toleratedFailures)}`, className, name);
    }
    tolerated = { count: toleratedFailures };
  } else {
    const fraction = (toleratedFailures as { fraction?: unknown } | null)?.fraction;
    if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
      throw new WorkflowDefinitionError(`toleratedFailures must be an integer >= 0 (a count) or { fraction } from 0 to 1, got ${JSON.stringify(toleratedFailures)}`, className, name);
    }
    tolerated = { fraction };
  }
  return { forEach: forEach as StepFanOut['forEach'], ...(concurrency === undefined ? {} : { concurrency }), tolerated };
}

function toPoll(record: StepRecord, className: string, name: string): StepNode['poll'] {
  const { poll } = record;
  if (poll === undefined) return undefined;
  if (poll === null || typeof poll !== 'object' || !(typeof poll.timeoutMs === 'number' && poll.timeoutMs > 0 && poll.timeoutMs <= MAX_WAIT_MS)) {
    throw new WorkflowDefinitionError(`poll must be { timeoutMs: <ms > 0>, onTimeout?: 'fail' | 'run' }, got timeoutMs ${String((poll as { timeoutMs?: unknown } | null)?.timeoutMs)}`, className, name);
  }
  const onTimeout = poll.onTimeout ?? 'fail';
  if (onTimeout !== 'fail' && onTimeout !== 'run') throw new WorkflowDefinitionError(`poll.onTimeout must be 'fail' or 'run', got ${String(onTimeout)}`, className, name);
  return { timeoutMs: poll.timeoutMs, onTimeout };
}

/** The longest wait a timer can express (a Date's range ends at 8.64e15 ms after 1970). */
const MAX_WAIT_MS = 8.64e15;

function toWait(record: StepRecord, className: string, name: string): StepWait | undefined {
  const { delayMs, startAt, waitFor } = record;
  if (delayMs === undefined && startAt === undefined && waitFor === undefined) return undefined;
  if (delayMs !== undefined && !(typeof delayMs === 'number' && delayMs >= 0 && delayMs <= MAX_WAIT_MS)) {
    throw new WorkflowDefinitionError(`delayMs must be a number of ms >= 0, got ${String(delayMs)}`, className, name);
  }
  if (startAt !== undefined && typeof startAt !== 'function') {
    throw new WorkflowDefinitionError(`startAt must be a function (ctx) => Date | ISO string | epoch ms, got ${typeof startAt}`, className, name);
  }
  let event: StepWait['event'];
  if (waitFor !== undefined) {
    if (waitFor === null || typeof waitFor !== 'object' || typeof waitFor.event !== 'string' || waitFor.event.length === 0 || waitFor.event.length > MAX_STEP_NAME) {
      throw new WorkflowDefinitionError(`waitFor must be { event: '<name>' (1-${MAX_STEP_NAME} characters), timeoutMs?, onTimeout? }`, className, name);
    }
    const { timeoutMs, onTimeout = 'fail' } = waitFor;
    if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_WAIT_MS)) {
      throw new WorkflowDefinitionError(`waitFor.timeoutMs must be a number of ms > 0, got ${String(timeoutMs)}`, className, name);
    }
    if (onTimeout !== 'fail' && onTimeout !== 'run') throw new WorkflowDefinitionError(`waitFor.onTimeout must be 'fail' or 'run', got ${String(onTimeout)}`, className, name);
    if (waitFor.onTimeout !== undefined && timeoutMs === undefined) throw new WorkflowDefinitionError(`waitFor.onTimeout needs a timeoutMs (without one the step waits for the event forever)`, className, name);
    event = { name: waitFor.event, ...(timeoutMs === undefined ? {} : { timeoutMs }), onTimeout };
  }
  return { ...(delayMs === undefined ? {} : { delayMs }), ...(startAt === undefined ? {} : { startAt }), ...(event === undefined ? {} : { event }) };
}

function assertAcyclic(steps: readonly StepNode[], byName: ReadonlyMap<string, StepNode>, className: string): void {
  // Depth-first, without recursion (a 10,000-step chain is 10,000 deep) and without copying the path
  // at each step (that was quadratic): the path is one stack, and a cycle is cut out of it when found.
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const next: number[] = [];
  for (const root of steps) {
    if (state.has(root.name)) continue;
    state.set(root.name, 'visiting');
    path.push(root.name);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const after = byName.get(path[top]!)!.after;
      if (next[top]! === after.length) {
        state.set(path.pop()!, 'done');
        next.pop();
        continue;
      }
      const dep = after[next[top]!++]!;
      const seen = state.get(dep);
      if (seen === 'done') continue;
      if (seen === 'visiting') {
        const cycle = [...path.slice(path.indexOf(dep)), dep];
        throw new WorkflowDefinitionError(`cycle in 'after': ${cycle.join(' -> ')}`, className, dep);
      }
      state.set(dep, 'visiting');
      path.push(dep);
      next.push(0);
    }
  }
}

const storedCache = new WeakMap<StepGraph, readonly StoredStep[]>();

/** The graph as stored beside the checkpoints; one frozen array per graph, as every run of it stores the same. */
export function storedSteps(graph: StepGraph): readonly StoredStep[] {
  let stored = storedCache.get(graph);
  if (!stored) storedCache.set(graph, (stored = Object.freeze(graph.steps.map((s) => Object.freeze({ name: s.name, after: Object.freeze([...s.after]), ...(s.when === undefined ? {} : { when: true as const }), ...(s.fanOut === undefined ? {} : { forEach: true as const }), ...(s.spawn === undefined ? {} : { spawn: true as const }) })))));
  return stored;
}

/**
 * Differences that make committed checkpoints unusable: a committed step removed or renamed, its
 * `after` changed, or a `when` or `forEach` added to it or taken from it; a fan-out whose list or
 * items are committed removed, re-wired or no longer a fan-out. Steps added, or uncommitted steps
 * changed, are fine.
 */
export function definitionChanges(stored: readonly StoredStep[], graph: StepGraph, committed: readonly string[]): string[] {
  const storedByName = new Map(stored.map((s) => [s.name, s]));
  const changes: string[] = [];
  const sorted = sortCommitted(committed);
  const started = [...new Set([...sorted.lists, ...sorted.items.keys()])].filter((step) => !sorted.steps.includes(step));
  // A step that started child workflows and has not committed: it must still start those children.
  for (const name of sorted.children) {
    if (sorted.steps.includes(name)) continue;
    if (graph.byName.get(name)?.spawn === undefined) changes.push(`step '${name}' started child workflows and ${graph.byName.has(name) ? 'no longer has its spawn' : 'no longer exists'}; finish or cancel its children under the old code`);
  }
  for (const name of [...sorted.steps, ...started]) {
    const now = graph.byName.get(name);
    const partly = !sorted.steps.includes(name);
    if (!now) {
      changes.push(partly ? `fan-out step '${name}', whose items are committed, no longer exists` : `committed step '${name}' no longer exists`);
      continue;
    }
    const before = storedByName.get(name);
    if (before && [...before.after].sort().join('\u0000') !== [...now.after].sort().join('\u0000')) {
      changes.push(`step '${name}' was after [${before.after.join(', ')}], now after [${now.after.join(', ')}]`);
    }
    // A committed step's answer to its branch was given (or never asked): adding or removing a
    // `when` would make that checkpoint mean something else.
    if (!partly && before && (before.when === true) !== (now.when !== undefined)) {
      changes.push(now.when !== undefined ? `committed step '${name}' now has a when (a branch); it had none` : `committed step '${name}' no longer has its when (a branch)`);
    }
    // Its output is one value or the array of its items' outputs: the checkpoints would mean something else.
    if (partly ? now.fanOut === undefined : before !== undefined && (before.forEach === true) !== (now.fanOut !== undefined)) {
      changes.push(now.fanOut !== undefined ? `committed step '${name}' now has a forEach (a fan-out); it had none` : `${partly ? 'fan-out ' : 'committed '}step '${name}' no longer has its forEach (a fan-out)${partly ? ', and items of it are committed' : ''}`);
    }
  }
  return changes;
}
