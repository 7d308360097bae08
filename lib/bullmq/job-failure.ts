/**
 * How a run's error becomes a BullMQ job failure: terminal errors stop the job's retries
 * (`UnrecoverableError`), every other error is a failed attempt that BullMQ retries by the job's
 * `attempts` and `backoff`. The failure's message starts with the error's own code, so the code
 * survives the queue (BullMQ keeps only a failed job's message and stack).
 */
import { counted } from '../counted';
import { UnrecoverableError } from 'bullmq';
import {
  CheckpointCorruptedError,
  CheckpointSerializationError,
  InputChangedError,
  InputSerializationError,
  InvalidOptionError,
  NonRetryableError,
  StepFailedError,
  WorkflowDefinitionChangedError,
  WorkflowDefinitionError,
  WorkflowFailedError,
  WorkflowInputError,
  WorkflowNotRegisteredError,
} from '../errors';

/**
 * Errors that another delivery cannot fix: the same job would fail the same way. A changed input
 * under `'raise'`, an input the class rejects, a definition that changed under stored checkpoints, a
 * class this worker does not know, a step's `NonRetryableError`, and data that cannot be stored or
 * read back.
 */
const TERMINAL = [
  InputChangedError,
  WorkflowInputError,
  WorkflowDefinitionChangedError,
  WorkflowDefinitionError,
  WorkflowNotRegisteredError,
  NonRetryableError,
  InputSerializationError,
  CheckpointSerializationError,
  CheckpointCorruptedError,
  InvalidOptionError,
] as const;

/** The error behind a run's failure: a failed step's own error, or the error itself. */
export function rootCause(error: unknown): unknown {
  if (error instanceof WorkflowFailedError && error.cause instanceof StepFailedError) return error.cause.cause;
  return error;
}

/**
 * True when no later delivery of the job can succeed, or none has anything left to do: a workflow
 * that compensated is finished. A compensation that failed is not, whatever error started the
 * compensation (a step's `NonRetryableError` too): the next delivery retries the compensation.
 */
export function isTerminal(error: unknown): boolean {
  if (error instanceof WorkflowFailedError && error.result.status === 'compensated') return true;
  if (error instanceof WorkflowFailedError && error.compensationErrors.length > 0) return false;
  const root = rootCause(error);
  return TERMINAL.some((type) => root instanceof type || error instanceof type);
}

/** `<code>: <message>` of the error behind the failure, with the failed step named when there is one. */
export function failureMessage(error: unknown): string {
  const root = rootCause(error);
  const code = codeOf(root) ?? codeOf(error) ?? 'WAYMARK_RUN_FAILED';
  const message = root instanceof Error ? root.message : String(root);
  const step = error instanceof WorkflowFailedError && error.cause instanceof StepFailedError ? ` (step '${error.cause.step}'${error.cause.attempts === 0 ? '' : `, after ${counted(error.cause.attempts, 'attempt')}`})` : '';
  const compensation = error instanceof WorkflowFailedError ? compensationText(error) : '';
  return `${code}: ${message}${step}${compensation}`;
}

/** What became of the compensations, when the workflow compensates. */
function compensationText(error: WorkflowFailedError): string {
  if (error.result.status === 'compensated') return '; compensated';
  if (error.compensationErrors.length === 0) return '';
  return `; compensation failed for ${error.compensationErrors.map((e) => `'${e.step}'`).join(', ')} (the next delivery tries again)`;
}

/** The error a processor throws for `error`: BullMQ retries it, or fails the job for good. */
export function jobFailure(error: unknown): Error {
  const failure = isTerminal(error) ? new UnrecoverableError(failureMessage(error)) : new Error(failureMessage(error));
  // The original stays reachable for `worker.on('failed')` listeners in this process.
  Object.defineProperty(failure, 'cause', { value: error, enumerable: false });
  return failure;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? code : undefined;
}
