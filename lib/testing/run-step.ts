/**
 * Runs one step of a workflow in isolation, for unit tests: a real StepContext, no storage, no lease.
 */
import { encodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointSerializationError, FanOutListError, InvalidOptionError, StepDependencyError, type ChildFailureInfo, type ItemFailureInfo } from '../errors';
import { spawnedChildren, type SpawnedChild } from '../runner/children/child-list';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';
import { createStepContext } from '../runner/step-context';

/** What the step sees. */
export interface RunStepOptions<I = unknown> {
  readonly input?: I;
  /** Output of the step's one dependency (`ctx.previous`). */
  readonly previous?: unknown;
  /** Outputs of the step's dependencies by name (`ctx.result(name)`); only declared dependencies are allowed. */
  readonly results?: Readonly<Record<string, unknown>>;
  /** `ctx.attempt`; default 1. */
  readonly attempt?: number;
  /** `ctx.signal`; default a signal that never aborts. */
  readonly signal?: AbortSignal;
  /** `ctx.workflowId`; default `'test'`. */
  readonly workflowId?: string;
  /** Dependencies to treat as skipped by a branch (`ctx.skipped(name)` true, their output `undefined`); only declared dependencies are allowed. */
  readonly skipped?: readonly string[];
  /** For one item of a fan-out (`@Step({ forEach })`): `ctx.item`. */
  readonly item?: unknown;
  /** For one item of a fan-out: `ctx.index`; default 0 when `item` is given. */
  readonly index?: number;
  /** Tolerated item failures of fan-out dependencies, by name (`ctx.failures(name)`); only declared dependencies are allowed. */
  readonly failures?: Readonly<Record<string, readonly ItemFailureInfo[]>>;
  /** For a step that starts child workflows (`@Step({ spawn })`): `ctx.children`, their outputs in order. */
  readonly children?: readonly unknown[];
  /** For such a step with `childFailure: 'tolerate'`: `ctx.childFailures()`. */
  readonly childFailures?: readonly ChildFailureInfo[];
}

/**
 * Calls step `step` of `workflow` with a real `StepContext` and returns its output. Like the runner,
 * it throws `CheckpointSerializationError` if the output could not be checkpointed, and
 * `StepDependencyError` if `results` names a step that is not a dependency.
 */
export async function runStep<O = unknown, I = unknown>(workflow: object, step: string, options: RunStepOptions<I> = {}): Promise<O> {
  const { node, workflowId, ctx } = contextFor(workflow, step, options);
  const method = (workflow as Record<string | symbol, (ctx: unknown) => unknown>)[node.method];
  const output = await method.call(workflow, ctx);
  try {
    encodeValue(output);
  } catch (error) {
    if (error instanceof UnencodableValue) throw new CheckpointSerializationError(workflowId, step, error.path, error.reason);
    throw error;
  }
  return output as O;
}

/**
 * Asks step `step`'s branch (`@Step({ when })`) with a real `StepContext`, as the runner would when
 * the step's dependencies have committed: true when the step would run, false when it would be
 * skipped. A step whose `skipped` dependencies are all of them answers false without asking, like
 * the runner; a step without a `when` answers true otherwise.
 */
export async function runWhen<I = unknown>(workflow: object, step: string, options: RunStepOptions<I> = {}): Promise<boolean> {
  const { node, ctx } = contextFor(workflow, step, options);
  if (node.after.length > 0 && node.after.every((dep) => options.skipped?.includes(dep) === true)) return false;
  if (node.when === undefined) return true;
  return Boolean(await node.when(ctx));
}

/**
 * The items fan-out step `step` (`@Step({ forEach })`) would run for, as the runner would list them
 * when the step's dependencies have committed: `FanOutListError` for anything but an array, as in a
 * run. Each can then be given to {@link runStep} as `item` (with its `index`).
 */
export async function runForEach<T = unknown, I = unknown>(workflow: object, step: string, options: RunStepOptions<I> = {}): Promise<readonly T[]> {
  const { node, workflowId, ctx } = contextFor(workflow, step, options);
  if (node.fanOut === undefined) throw new InvalidOptionError('step', step, 'a step with forEach');
  const items: unknown = await node.fanOut.forEach(ctx);
  if (!Array.isArray(items)) throw new FanOutListError(workflowId, step, items === null ? 'null' : typeof items);
  return items as readonly T[];
}

/**
 * The child workflows spawn step `step` (`@Step({ spawn })`) would start, as the runner would list
 * them when the step's dependencies have committed: each `{ id, workflow, input }`, default ids
 * (`<workflowId>/<step>/<index>`) filled in, and `ChildSpawnError` for what a run would refuse
 * (whether the class is registered with a runner is not asked: there is none). Their outputs can
 * then be given to {@link runStep} as `children`.
 */
export async function runSpawn<I = unknown>(workflow: object, step: string, options: RunStepOptions<I> = {}): Promise<readonly SpawnedChild[]> {
  const { node, workflowId } = contextFor(workflow, step, options);
  if (node.spawn === undefined) throw new InvalidOptionError('step', step, 'a step with spawn');
  return spawnedChildren({ workflowId, node, registered: () => true, context: (item) => contextFor(workflow, step, { ...options, attempt: 0, ...(item === undefined ? {} : { item: item.value, index: item.index }) }).ctx });
}

/** The step's node and the context the runner would give it. */
function contextFor<I>(workflow: object, step: string, options: RunStepOptions<I>) {
  const graph = buildGraph(workflow.constructor as Constructor);
  const node = graph.byName.get(step);
  if (!node) throw new InvalidOptionError('step', step, `a step of ${graph.className} (${[...graph.byName.keys()].join(', ')})`);
  const workflowId = options.workflowId ?? 'test';
  for (const [option, names] of [['results', Object.keys(options.results ?? {})], ['skipped', options.skipped ?? []], ['failures', Object.keys(options.failures ?? {})]] as const) {
    for (const name of names) {
      if (!node.after.includes(name)) throw new StepDependencyError(workflowId, step, `${option} names '${name}', which is not a dependency of this step (dependencies: ${node.after.join(', ') || 'none'})`);
    }
  }
  const skipped = options.skipped === undefined || options.skipped.length === 0 ? undefined : node.after.map((dep) => options.skipped!.includes(dep));
  const outputs = node.after.map((dep, i) => (skipped?.[i] === true ? undefined : options.results !== undefined && dep in options.results ? options.results[dep] : node.after.length === 1 ? options.previous : undefined));
  const failures = options.failures === undefined ? undefined : node.after.map((dep) => options.failures![dep]);
  const item = options.item === undefined && options.index === undefined ? undefined : { value: options.item, index: options.index ?? 0 };
  const children = options.children === undefined && options.childFailures === undefined ? undefined : { children: options.children ?? [], failures: options.childFailures ?? [] };
  const ctx = createStepContext({ workflowId, step, attempt: options.attempt ?? 1, signal: options.signal ?? new AbortController().signal, input: options.input, after: node.after, outputs, skipped, failures, item, children });
  return { node, workflowId, ctx };
}
