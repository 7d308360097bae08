/**
 * A run that compensates: its committed steps are undone, each compensation committed into the
 * record, and the record ends `'compensated'` or `'failed'` (see `compensation.ts` for the order).
 */
import { decodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointCorruptedError, LeaseLostError, type CompensationFailedError, type StepFailedError } from '../errors';
import type { StepGraph } from '../graph';
import { isoNow } from '../iso-now';
import { compensate } from './compensation';
import { committedItems } from './fan-out/item-outputs';
import type { CompensationResult } from './run-result';
import type { StepRun } from './step-run';
import { storedError } from './stored-outcome';

/** What compensating needs of the runner. */
export interface CompensateRunDeps {
  /** When a worker should look for this run, should it die (epoch ms). */
  recoverAt(): number;
  warn(message: string, code: string, detail: Record<string, unknown>): void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Compensates the run's committed steps: the record says `'compensating'` first (with a recovery
 * entry, so a worker finishes if this process dies), each compensation commits into it, and it
 * ends `'compensated'` or `'failed'`. Waits first for every attempt this run started to settle.
 */
export async function compensateRun(
  d: CompensateRunDeps,
  workflow: object,
  graph: StepGraph,
  concurrency: number,
  stepRun: StepRun,
  cause: StepFailedError,
): Promise<{ results: ReadonlyMap<string, CompensationResult>; errors: readonly CompensationFailedError[]; interrupted: boolean; leaseLost: boolean }> {
  const { workflowId, state, inFlight } = stepRun;
  const record = stepRun.stored.record!;
  await inFlight.settled();
  try {
    await record.beginCompensation(storedError(cause), d.recoverAt());
  } catch (error) {
    // Fenced out: whoever holds the workflow now decides; this run writes nothing more.
    if (error instanceof LeaseLostError) return { results: new Map(), errors: [], interrupted: false, leaseLost: true };
    throw error;
  }
  const outcome = await compensate({
    graph,
    workflow,
    workflowId,
    input: stepRun.input,
    state,
    cause,
    done: record.current.compensation!.done,
    concurrency,
    inFlight,
    events: stepRun.events,
    output: async (node) => {
      if (state.hasOutput(node.index)) return state.output(node.index);
      const checkpoint = await stepRun.storage.readCheckpoint(workflowId, node.name);
      try {
        return decodeValue(checkpoint.output);
      } catch (error) {
        if (!(error instanceof UnencodableValue)) throw error;
        throw new CheckpointCorruptedError(workflowId, `checkpoint of step '${node.name}'`, error.message, { cause: error });
      }
    },
    items: (node) => committedItems(stepRun.storage, workflowId, node.name),
    commit: (step, attempts) => record.commitCompensation(step, attempts, isoNow()),
  });
  const leaseLost = outcome.errors.some((e) => e.cause instanceof LeaseLostError);
  if (!leaseLost && !outcome.interrupted) {
    try {
      await record.endCompensation(outcome.errors.map((e) => ({ ...storedError(e.cause), step: e.step, attempts: e.attempts })));
    } catch (error) {
      if (error instanceof LeaseLostError) return { ...outcome, leaseLost: true };
      // The compensations stand (each is committed); the record still says 'compensating', so a worker comes back and ends it.
      d.warn(`workflow '${workflowId}': compensated, but could not store the outcome in its record (a worker will end it): ${errorText(error)}`, 'WAYMARK_OUTCOME_NOT_RECORDED', { workflowId, error });
    }
  }
  return { ...outcome, leaseLost };
}

