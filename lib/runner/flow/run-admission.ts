/**
 * A run of a workflow with a concurrency key (`@Workflow({ concurrency })`) takes a slot of its key
 * before any step runs, and holds it until the run ends or waits. The key is computed from the
 * input once, and stored in the record before the run asks under it; a resume reads it. A run
 * that finds no slot (within the runner's `maxInlineWaitMs`) waits durably: its ready steps wait
 * for the slot, with the time a slot must have freed by as their timer, and a release wakes it.
 */
import type { StepGraph } from '../../graph';
import type { RunRecord } from '../run-record';
import type { RunState } from '../run-state';
import type { RunSlots } from './run-slots';
import { flowKey } from './step-limits';
import { flowWaitName } from './wait-name';

/** What admission needs of its run. */
export interface AdmissionRun {
  readonly graph: StepGraph;
  readonly workflowId: string;
  readonly input: unknown;
  readonly record: RunRecord;
  readonly state: RunState;
  readonly slots: RunSlots;
  readonly maxWaitMs: number;
  readonly signal: AbortSignal;
}

/** `'admitted'` (its slot is held by `run.slots`), `'waiting'` (its ready steps wait for a slot), or `'cancelled'`. */
export type Admission = 'admitted' | 'waiting' | 'cancelled';

/** Takes the run's slot; without a concurrency key, or with every step done, at once. */
export async function admitRun(run: AdmissionRun): Promise<Admission> {
  const { graph, state, record, workflowId } = run;
  const concurrency = graph.concurrency;
  if (concurrency === undefined || state.allDone()) return 'admitted';
  let key = record.current.concurrencyKey;
  if (key === undefined) {
    key = flowKey(concurrency.key, run.input, workflowId);
    await record.setConcurrencyKey(key);
  }
  // A run's slot is counted per workflow name: two workflows using the same key do not share it.
  const scope = `${graph.workflowName}\u001f${key}`;
  const outcome = await run.slots.flow.acquire({ kind: 'concurrency', key, scope, limit: concurrency.limit, holder: workflowId, holdUntil: run.slots.holdUntil, maxWaitMs: run.maxWaitMs, signal: run.signal });
  if (outcome.kind === 'cancelled') return 'cancelled';
  if (outcome.kind === 'held') {
    run.slots.hold(outcome.slot);
    return 'admitted';
  }
  run.slots.waiting({ kind: 'concurrency', key, scope, holder: workflowId, limit: concurrency.limit });
  const wakeAt = new Date(outcome.retryAt).toISOString();
  const waitingFor = flowWaitName('concurrency', key);
  for (const node of graph.steps) {
    if (!state.isDone(node.index) && node.afterIndexes.every((dep) => state.isDone(dep))) state.wait(node.index, wakeAt, waitingFor);
  }
  return 'waiting';
}
