/** A run started in the background with `runner.start()`. */
import type { RunResult } from './run-result';

/** Where a background run is; `'compensated'`: a step failed for good and every compensation succeeded. */
export type RunHandleStatus = 'running' | 'completed' | 'waiting' | 'failed' | 'cancelled' | 'compensated';

/** Control of a background run. */
export interface RunHandle<O = unknown> {
  readonly workflowId: string;
  /** Resolves like `runner.run()`: with the result, or rejects with the run's error. */
  result(): Promise<RunResult<O>>;
  /** Current status. */
  status(): RunHandleStatus;
  /** Aborts running steps' signals and starts no more; `result()` then rejects with `WorkflowCancelledError`. */
  cancel(reason?: unknown): void;
}
