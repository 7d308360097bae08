/**
 * What one step of a run needs from the run: built by the runner when the run takes its lease,
 * completed once its record is prepared.
 */
import type { RunSlots } from './flow/run-slots';
import type { StepFailedError } from '../errors';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { AttemptsInFlight } from './attempt';
import type { LeaseKeeper } from './lease-keeper';
import type { Mailbox } from './mailbox';
import type { RunEmitter } from './run-events';
import type { RunRecord } from './run-record';
import type { RunState } from './run-state';
import type { StepMethods } from './step-methods';

/** What one step of a run needs from the run. */
export interface StepRun {
  readonly workflowId: string;
  /** The workflow class's name, for errors about its definition. */
  readonly className: string;
  readonly input: unknown;
  readonly state: RunState;
  readonly inFlight: AttemptsInFlight;
  readonly keeper: LeaseKeeper;
  readonly events: RunEmitter;
  /** The first step that failed for good, once one has. */
  readonly failures: { first?: StepFailedError };
  /** The record this run wrote (or kept) before its first step, once it has. */
  readonly stored: { record?: RunRecord };
  readonly leaseTtlMs: number;
  /** `startAt` times computed in this run, by step: stored if the run ends waiting. */
  readonly timers: Record<string, string>;
  /** The workflow instance's step methods. */
  readonly methods: StepMethods;
  /** The workflow's events, once the walk began. */
  mailbox?: Mailbox;
  /** The storage as this run reads and commits checkpoints (by step name, under the record's `stepKeys`). */
  storage: CheckpointStorage;
  /** Epoch ms the workflow was first stored: when its root steps became ready. */
  createdAt?: number;
  /** Checkpoint names committed when the walk began (fan-outs' lists and items among them). */
  committed?: ReadonlySet<string>;
  /** The run's concurrency: a fan-out's items never run more at once. */
  readonly concurrency: number;
  /** The step the workflow's last run failed at, if it failed: a spawn step then resumes its failed children. */
  failedAt?: string;
  /** The slots it holds and waits for, when its workflow has a concurrency key or limited steps. */
  readonly slots?: RunSlots;
}
