/**
 * What a resume restores before its walk: committed steps marked restored, with only the outputs still
 * needed read (dependencies of steps to run, the final step), and which events committed steps consumed.
 */
import { decodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointCorruptedError } from '../errors';
import type { StepGraph } from '../graph';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Checkpoint } from '../storage/records';
import type { RunEmitter } from './run-events';
import type { RunState } from './run-state';

/** Marks committed steps restored, loading only the outputs still needed: dependencies of steps to run, and the final step. Returns the ids of the events committed steps consumed. */
export async function restoreCommitted(
  storage: CheckpointStorage,
  graph: StepGraph,
  workflowId: string,
  committed: ReadonlySet<string>,
  state: RunState,
  concurrency: number,
  events: RunEmitter,
): Promise<string[]> {
  // A fresh run restores nothing: no walk of the graph.
  if (committed.size === 0) return [];
  const needed = new Set<string>();
  for (const node of graph.steps) {
    if (committed.has(node.name)) continue;
    for (const dep of node.after) if (committed.has(dep)) needed.add(dep);
  }
  if (committed.has(graph.finalStep)) needed.add(graph.finalStep);
  // Committed steps that consumed an event: their checkpoints say which, so no step consumes it again.
  // Committed steps that may have been skipped: their checkpoints say whether they were.
  const others = graph.steps.filter((n) => (n.wait?.event !== undefined || n.mayBeSkipped) && committed.has(n.name) && !needed.has(n.name)).map((n) => n.name);
  const consumed: string[] = [];
  const queue = [...needed, ...others];
  const loaded = new Map<string, Checkpoint>();
  if (storage.readCheckpoints !== undefined && queue.length > 0) {
    // One request for every checkpoint needed, where the store can.
    const checkpoints = await storage.readCheckpoints(workflowId, queue);
    queue.forEach((name, i) => loaded.set(name, checkpoints[i]!));
  }
  const load = async (): Promise<void> => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
      const checkpoint = loaded.get(name) ?? (await storage.readCheckpoint(workflowId, name));
      if (checkpoint.event?.eventId !== undefined) consumed.push(checkpoint.event.eventId);
      if (checkpoint.status === 'skipped') {
        state.skip(name, 0, Date.parse(checkpoint.committedAt));
        continue;
      }
      if (!needed.has(name)) continue;
      let value: unknown;
      try {
        value = decodeValue(checkpoint.output);
      } catch (error) {
        if (!(error instanceof UnencodableValue)) throw error;
        throw new CheckpointCorruptedError(workflowId, `checkpoint of step '${name}'`, error.message, { cause: error });
      }
      state.restore(name, { value }, Date.parse(checkpoint.committedAt));
      if (checkpoint.items?.failed !== undefined) state.setItemFailures(name, checkpoint.items.failed);
    }
  };
  // Stryker disable next-line MethodExpression: equivalent, loaders beyond the queue's length find it empty and return
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, load));
  for (const node of graph.steps) {
    if (!committed.has(node.name)) continue;
    if (!needed.has(node.name) && !state.isSkipped(node.index)) state.restore(node.name);
    events.emit('step:restored', { step: node.name });
  }
  return consumed;
}
