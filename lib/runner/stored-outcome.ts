/**
 * What the record says of how a run ended, and the result a late duplicate is answered with from it.
 */
import { randomUUID } from 'node:crypto';
import { decodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointCorruptedError, FanOutFailedError, StepFailedError, StoredStepError, WorkflowFailedError } from '../errors';
import type { CheckpointStorage } from '../storage/checkpoint-storage';

/** Failed items a record keeps in full: it is rewritten on every change, so it stays small. */
const FAILURES_KEPT = 20;
import type { StepGraph } from '../graph';
import type { AttemptFailure, StoredError, WorkflowCompletion, WorkflowRecord } from '../storage/records';
import type { RunResult, StepResult } from './run-result';
import { StepKeys } from './versions/step-keys';

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure as the record keeps it: the error's own code where it has one, its message, and the step. */
export function storedError(error: unknown): StoredError {
  const codeOf = (e: unknown): string | undefined => {
    const code = (e as { code?: unknown } | null)?.code;
    return typeof code === 'string' && code.length > 0 ? code : undefined;
  };
  if (error instanceof StepFailedError) {
    const stack = stackText(error.cause);
    const stored: StoredError = { code: codeOf(error.cause) ?? 'WAYMARK_STEP_FAILED', message: errorText(error.cause), step: error.step, attempts: error.attempts, ...(stack === undefined ? {} : { stack }) };
    // A fan-out's failed items, the first of them in full: what `waymark status` lists.
    if (error.cause instanceof FanOutFailedError) return { ...stored, items: { failed: error.cause.failures.length, first: error.cause.failures.slice(0, FAILURES_KEPT) } };
    return stored;
  }
  const stack = stackText(error);
  return { code: codeOf(error) ?? 'WAYMARK_RUN_FAILED', message: errorText(error), ...(stack === undefined ? {} : { stack }) };
}

/** The most of a failed attempt's message a checkpoint keeps. */
const MAX_ATTEMPT_MESSAGE_CHARS = 500;

/** A failed attempt as a checkpoint (or a stored retry) remembers it: code and message, bounded; undefined for none. */
export function attemptFailure(error: unknown): AttemptFailure | undefined {
  if (error === undefined) return undefined;
  const { code, message } = storedError(error);
  return { code, message: message.length <= MAX_ATTEMPT_MESSAGE_CHARS ? message : `${message.slice(0, MAX_ATTEMPT_MESSAGE_CHARS)}…` };
}

/** The most of a failure's stack a record keeps: what a stack shows, with its causes, never more. */
export const MAX_STACK_CHARS = 8_000;

/**
 * The stack of `error` and of its causes (`Caused by: ...`), as the runtime wrote them, cut at
 * {@link MAX_STACK_CHARS}; undefined for a thrown value without a stack.
 */
export function stackText(error: unknown): string | undefined {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = error; e instanceof Error && !seen.has(e) && parts.length < 10; e = e.cause) {
    seen.add(e);
    if (typeof e.stack !== 'string' || e.stack === '') break;
    parts.push(parts.length === 0 ? e.stack : `Caused by: ${e.stack}`);
  }
  if (parts.length === 0) return undefined;
  const text = parts.join('\n');
  return text.length <= MAX_STACK_CHARS ? text : `${text.slice(0, MAX_STACK_CHARS)}\n... (${text.length - MAX_STACK_CHARS} more characters)`;
}

/** The result a late duplicate gets: the completing run's id and output, every step restored. */
export function completedResult(graph: StepGraph, workflowId: string, record: WorkflowRecord & { completion: WorkflowCompletion }): RunResult {
  let output: unknown;
  try {
    output = decodeValue(record.completion.output);
  } catch (error) {
    if (!(error instanceof UnencodableValue)) throw error;
    throw new CheckpointCorruptedError(workflowId, 'the completion in its record', error.message, { cause: error });
  }
  const steps: Record<string, StepResult> = {};
  for (const node of graph.steps) steps[node.name] = { status: 'restored', attempts: 0 };
  return { workflowId, runId: record.completion.runId, workflowName: graph.workflowName, status: 'completed', steps, output, fingerprint: record.fingerprint };
}

/** The rejection a resume of a compensated workflow gets: its stored outcome, nothing run. */
export async function compensatedOutcome(storage: CheckpointStorage, graph: StepGraph, workflowId: string, record: WorkflowRecord & { compensation: NonNullable<WorkflowRecord['compensation']> }): Promise<WorkflowFailedError> {
  const committed = new Set(StepKeys.of(record).live((await storage.load(workflowId))?.committedSteps ?? []));
  const { cause, done } = record.compensation;
  const failure = new StepFailedError(workflowId, cause.step ?? '(unknown step)', cause.attempts ?? 0, new StoredStepError(cause.code, cause.message));
  const steps: Record<string, StepResult> = {};
  for (const node of graph.steps) {
    const status = committed.has(node.name) ? 'restored' : node.name === cause.step ? 'failed' : 'not-run';
    steps[node.name] = {
      status,
      attempts: 0,
      ...(status === 'failed' ? { error: failure.cause } : {}),
      ...(Object.hasOwn(done, node.name) ? { compensation: { status: 'restored', attempts: 0 } } : {}),
    };
  }
  return new WorkflowFailedError({ workflowId, runId: randomUUID(), workflowName: graph.workflowName, status: 'compensated', steps, fingerprint: record.fingerprint }, failure);
}
