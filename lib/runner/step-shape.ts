/**
 * What a run-time shape of a step (a branch, a fan-out) is given of its run: the step, its
 * dependencies as its context sees them, and where it stores what it decides.
 */
import type { StepNode } from '../graph';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { Lease } from '../storage/records';
import type { AttemptsInFlight } from './attempt';
import type { RunEmitter } from './run-events';
import type { RunRecord } from './run-record';
import type { RunState } from './run-state';

/** The part of a step's run every shape needs. */
export interface StepShapeRun {
  readonly workflowId: string;
  readonly node: StepNode;
  readonly state: RunState;
  readonly input: unknown;
  /** The dependencies' outputs, in the order of the step's `after`. */
  readonly outputs: readonly unknown[];
  /** Which dependencies were skipped, in the same order; undefined when none was. */
  readonly skipped: readonly boolean[] | undefined;
  readonly inFlight: AttemptsInFlight;
  readonly events: RunEmitter;
  readonly storage: CheckpointStorage;
  readonly record: RunRecord;
  readonly lease: () => Lease;
  /** When a worker should look for this run if it dies: the record says so once the run acts. */
  readonly recoverAt: () => number;
}
