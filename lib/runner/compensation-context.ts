/**
 * What a compensation method receives (`@Step({ compensate: 'method' })`).
 */
import type { StepFailedError } from '../errors';

/**
 * The argument of a compensation method. `I` is the input type, `O` the type of the compensated
 * step's output.
 */
export interface CompensationContext<I = unknown, O = unknown> {
  /** The run's input, as the compensated step saw it. */
  readonly input: I;
  /** The compensated step's committed output (what to undo: a charge id, a hold id...). */
  readonly output: O;
  /**
   * The failure that started the compensation. In the run where the step failed it is that very
   * error; in a later run (a resume after a crash) it is rebuilt from the record: its `cause` is a
   * `StoredStepError` with the stored code and message.
   */
  readonly error: StepFailedError;
  readonly workflowId: string;
  /** The name of the step being compensated. */
  readonly step: string;
  /** 1-based attempt number of the compensation. */
  readonly attempt: number;
  /** For a fan-out (`@Step({ forEach })`), undone item by item: the item, from the committed list (`output` is its output). */
  readonly item?: unknown;
  /** For a fan-out: the item's index in the list; -1 for any other step. */
  readonly index: number;
  /** Aborted when the attempt times out, the run is cancelled or its lease is lost. */
  readonly signal: AbortSignal;
}

/** What the runner knows when it builds a compensation's context. */
export interface CompensationContextInit {
  readonly input: unknown;
  readonly output: unknown;
  readonly error: StepFailedError;
  readonly workflowId: string;
  readonly step: string;
  readonly attempt: number;
  /** The attempt, whose signal is created when first read. */
  readonly signal: { readonly signal: AbortSignal };
  /** For a fan-out's item: the item and its index. */
  readonly item?: { readonly value: unknown; readonly index: number };
}

/** Builds a {@link CompensationContext}. */
export function createCompensationContext(init: CompensationContextInit): CompensationContext {
  const { input, output, error, workflowId, step, attempt } = init;
  return {
    input,
    output,
    error,
    workflowId,
    step,
    attempt,
    item: init.item?.value,
    index: init.item?.index ?? -1,
    get signal() {
      return init.signal.signal;
    },
  };
}
