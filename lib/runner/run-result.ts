/** What a run resolves with. */

/** Status of one step at the end of a run. */
export type StepStatus =
  /** Ran and committed in this run. */
  | 'completed'
  /** Committed by an earlier run and skipped. */
  | 'restored'
  /** Failed for good in this run. */
  | 'failed'
  /** Did not run (a dependency failed, the run failed fast, or was cancelled). */
  | 'not-run';

/** One step's outcome. */
export interface StepResult {
  readonly status: StepStatus;
  /** Attempts made in this run (0 for restored and not-run steps). */
  readonly attempts: number;
  /**
   * The step's output: always for completed steps; for restored steps only when this run loaded it
   * (it was needed by a step that ran, or it is the final step).
   */
  readonly output?: unknown;
  /** The last attempt's error, for failed steps. */
  readonly error?: unknown;
}

/** Status of a whole run. */
export type RunStatus = 'completed' | 'failed' | 'cancelled';

/** Outcome of a run. */
export interface RunResult<O = unknown> {
  readonly workflowId: string;
  /**
   * The id of the run that did the work (the `runId` its events carried). A late duplicate of a
   * completed workflow returns the completing run's id, with every step `'restored'`.
   */
  readonly runId: string;
  readonly workflowName: string;
  readonly status: RunStatus;
  /** Every step of the graph by name. */
  readonly steps: Readonly<Record<string, StepResult>>;
  /** Output of the last declared step, when the run completed. */
  readonly output?: O;
  /** The input fingerprint stored with this run. */
  readonly fingerprint: string;
}
