/**
 * A spawn step's children: computed once from its `spawn` (and `forEach`) and committed as the
 * checkpoint `childrenKey(step)` before any child starts; every later run reads it back.
 */
import { decodeValue, encodeValue, UnencodableValue } from '../../checkpoint-codec';
import { ChildSpawnError, CheckpointCorruptedError, InvalidWorkflowIdError, WorkflowInputError } from '../../errors';
import { buildGraph, type StepNode } from '../../graph';
import { isoNow } from '../../iso-now';
import { childrenKey } from '../../item-keys';
import type { Constructor } from '../../metadata';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import type { Lease } from '../../storage/records';
import { assertWorkflowId } from '../../workflow-id';
import type { RunRecord } from '../run-record';
import type { StepContext } from '../step-context';
import { validateInput } from '../validate-input';

/** One child as the committed list keeps it. */
export interface StoredChild {
  readonly id: string;
  /** Its workflow name (`@Workflow({ name })` or the class name): how any process finds its class. */
  readonly workflow: string;
  readonly input: unknown;
}

/** What finding a spawn step's children needs. */
export interface ChildListInput {
  readonly workflowId: string;
  readonly node: StepNode;
  readonly storage: CheckpointStorage;
  readonly record: RunRecord;
  readonly lease: () => Lease;
  /** True when an earlier run committed the list. */
  readonly committed: boolean;
  /** The step's context for `spawn` and `forEach` (`attempt` 0), for one item with `forEach`. */
  readonly context: (item?: { value: unknown; index: number }) => StepContext;
  /** True when this runner can run workflows of that name (a child must be registered). */
  readonly registered: (workflowName: string) => boolean;
}

/**
 * The step's children: the committed list, or (the first time) what `spawn` returns, checked and
 * committed before it is returned. Throws what `spawn` or `forEach` throws, `ChildSpawnError` for
 * what cannot start (nothing is committed then), and what storage throws.
 */
export async function childList(l: ChildListInput): Promise<readonly StoredChild[]> {
  const { workflowId, node, storage } = l;
  const key = childrenKey(node.name);
  if (l.committed) {
    const checkpoint = await storage.readCheckpoint(workflowId, key);
    try {
      const value = decodeValue(checkpoint.output, 'children');
      if (!Array.isArray(value)) throw new UnencodableValue('children', 'it is not an array');
      return value as StoredChild[];
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointCorruptedError(workflowId, `the child workflows of step '${node.name}'`, error.message, { cause: error });
    }
  }
  const children = (await spawnedChildren(l)).map(({ id, workflow, input }) => ({ id, workflow: buildGraph(workflow).workflowName, input }));
  let output;
  try {
    output = encodeValue(children, 'children');
  } catch (error) {
    if (!(error instanceof UnencodableValue)) throw error;
    throw new ChildSpawnError(workflowId, node.name, `${error.path} cannot be stored: ${error.reason}`);
  }
  await storage.commit(workflowId, { formatVersion: 1, step: key, status: 'completed', attempts: 1, committedAt: isoNow(), output }, l.lease());
  return children;
}

/** A child as its step's `spawn` gave it, checked, with its id. */
export interface SpawnedChild {
  readonly id: string;
  readonly workflow: Constructor;
  readonly input: unknown;
}

/**
 * What the step's `spawn` (and `forEach`) return now, checked as a run checks them (see
 * {@link childList}), ids filled in; nothing is stored. `waymark/testing`'s `runSpawn` asks this.
 */
export async function spawnedChildren(l: Pick<ChildListInput, 'workflowId' | 'node' | 'context' | 'registered'>): Promise<SpawnedChild[]> {
  const { workflowId, node } = l;
  const spawn = node.spawn!;
  const specs: unknown[] = [];
  if (spawn.forEach !== undefined) {
    const items: unknown = await spawn.forEach(l.context());
    if (!Array.isArray(items)) throw new ChildSpawnError(workflowId, node.name, `forEach returned ${items === null ? 'null' : typeof items}; it must return an array of items, one child each`);
    for (let index = 0; index < items.length; index++) {
      const spec: unknown = await spawn.spawn(l.context({ value: items[index], index }));
      if (Array.isArray(spec)) throw new ChildSpawnError(workflowId, node.name, `with forEach, spawn returns one child per item ({ workflow, input?, id? }); item ${index} got an array`);
      specs.push(spec);
    }
  } else {
    const spec: unknown = await spawn.spawn(l.context());
    specs.push(...(Array.isArray(spec) ? spec : [spec]));
  }
  const children: SpawnedChild[] = [];
  const ids = new Set<string>();
  for (let index = 0; index < specs.length; index++) children.push(await checkChild(l, specs[index], index, ids));
  return children;
}

/** One spawned child, checked: a registered class, a valid and unique id, an input its class accepts. */
async function checkChild(l: Pick<ChildListInput, 'workflowId' | 'node' | 'registered'>, spec: unknown, index: number, ids: Set<string>): Promise<SpawnedChild> {
  const { workflowId, node } = l;
  const at = `children[${index}]`;
  const fail = (reason: string) => new ChildSpawnError(workflowId, node.name, `${at}: ${reason}`);
  if (spec === null || typeof spec !== 'object') throw fail(`expected { workflow, input?, id? }, got ${spec === null ? 'null' : typeof spec}`);
  const { workflow, input, id } = spec as { workflow?: unknown; input?: unknown; id?: unknown };
  if (typeof workflow !== 'function') throw fail(`workflow must be a workflow class, got ${workflow === null ? 'null' : typeof workflow}`);
  let graph;
  try {
    graph = buildGraph(workflow as Constructor);
  } catch (error) {
    throw fail(`workflow ${(workflow as Constructor).name || '(anonymous class)'} is not a workflow class: ${(error as Error).message}`);
  }
  if (!l.registered(graph.workflowName)) throw fail(`workflow '${graph.workflowName}' is not registered with the runner: add ${(workflow as Constructor).name} to its workflows, in every process that runs either workflow`);
  const childId: unknown = id ?? `${workflowId}/${node.name}/${index}`;
  try {
    assertWorkflowId(childId);
  } catch (error) {
    if (!(error instanceof InvalidWorkflowIdError)) throw error;
    throw fail(`${id === undefined ? `the default id ${JSON.stringify(String(childId).slice(0, 80))}` : 'id'} is invalid: ${error.reason}${id === undefined ? '; give the child an id' : ''}`);
  }
  if (childId === workflowId) throw fail(`id '${childId}' is the parent's own`);
  if (ids.has(childId)) throw fail(`id '${childId}' is given to two children`);
  ids.add(childId);
  if (graph.inputClass !== undefined) {
    try {
      await validateInput(childId, graph.inputClass, input);
    } catch (error) {
      if (!(error instanceof WorkflowInputError)) throw error;
      throw fail(`its input is refused by ${graph.inputClass.name}: ${error.detail}`);
    }
  }
  return { id: childId as string, workflow: workflow as Constructor, input };
}
