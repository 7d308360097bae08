/** What a run resolves with. */

/** Status of one step at the end of a run. */
export type StepStatus =
  /** Ran and committed in this run. */
  | 'completed'
  /** Committed by an earlier run and skipped. */
  | 'restored'
  /** Failed for good in this run. */
  | 'failed'
  /** Its `when` answered false, or every dependency was skipped: committed without running (in this run or an earlier one); its output is `undefined`. */
  | 'skipped'
  /** Ready, but waiting for its timer or its event; the run resolved `'waiting'`. */
  | 'waiting'
  /** Did not run (a dependency failed or waits, the run failed fast, or was cancelled). */
  | 'not-run';

/** One step's outcome. */
export interface StepResult {
  readonly status: StepStatus;
  /** Attempts made in this run (0 for restored and not-run steps; for a skipped step, the attempts its `when` took). */
  readonly attempts: number;
  /**
   * The step's output: always for completed steps; for restored steps only when this run loaded it
   * (it was needed by a step that ran, or it is the final step).
   */
  readonly output?: unknown;
  /** The last attempt's error, for failed steps. */
  readonly error?: unknown;
  /** For a waiting step: when its timer (or its event's timeout) is due, ISO. */
  readonly wakeAt?: string;
  /** For a step waiting for an event: the event's name. */
  readonly waitingFor?: string;
  /** When the workflow compensated: how this step's compensation went (present for each committed step that declares one). */
  readonly compensation?: CompensationResult;
}

/** How one step's compensation went. */
export interface CompensationResult {
  /** `'compensated'` in this run, `'restored'` (committed by an earlier run), `'failed'` for good, or `'not-run'` (a compensation it waits for failed, or the run stopped). */
  readonly status: 'compensated' | 'restored' | 'failed' | 'not-run';
  /** Attempts made in this run. */
  readonly attempts: number;
  /** The last attempt's error, when it failed. */
  readonly error?: unknown;
}

/**
 * Status of a whole run. `'waiting'`: steps wait for timers or events; resume it (or let a worker)
 * later. `'compensated'`: a step failed for good and every committed step's compensation succeeded
 * (the run rejects with `WorkflowFailedError` carrying this result).
 */
export type RunStatus = 'completed' | 'waiting' | 'failed' | 'cancelled' | 'compensated';

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
  /** When waiting: the earliest time a waiting step's timer (or event timeout) is due, ISO; absent when only events without a timeout are awaited. */
  readonly wakeAt?: string;
  /** When waiting: the events waiting steps wait for. */
  readonly waitingFor?: readonly string[];
  /** The input fingerprint stored with this run. */
  readonly fingerprint: string;
}
