/**
 * Runs one step of a workflow in isolation, for unit tests: a real StepContext, no storage, no lease.
 */
import { encodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointSerializationError, InvalidOptionError, StepDependencyError } from '../errors';
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
}

/**
 * Calls step `step` of `workflow` with a real `StepContext` and returns its output. Like the runner,
 * it throws `CheckpointSerializationError` if the output could not be checkpointed, and
 * `StepDependencyError` if `results` names a step that is not a dependency.
 */
export async function runStep<O = unknown, I = unknown>(workflow: object, step: string, options: RunStepOptions<I> = {}): Promise<O> {
  const graph = buildGraph(workflow.constructor as Constructor);
  const node = graph.byName.get(step);
  if (!node) throw new InvalidOptionError('step', step, `a step of ${graph.className} (${[...graph.byName.keys()].join(', ')})`);
  const workflowId = options.workflowId ?? 'test';
  for (const name of Object.keys(options.results ?? {})) {
    if (!node.after.includes(name)) throw new StepDependencyError(workflowId, step, `results names '${name}', which is not a dependency of this step (dependencies: ${node.after.join(', ') || 'none'})`);
  }
  const outputs = node.after.map((dep) => (options.results !== undefined && dep in options.results ? options.results[dep] : node.after.length === 1 ? options.previous : undefined));
  const ctx = createStepContext({ workflowId, step, attempt: options.attempt ?? 1, signal: options.signal ?? new AbortController().signal, input: options.input, after: node.after, outputs });
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
