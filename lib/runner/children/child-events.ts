/**
 * How a child workflow's outcome reaches its parent: an event of waymark's own in the parent's
 * namespace (a name with a control character, which no step's `waitFor` and no sender can use), one
 * per ending of the child, idempotent by an id made of the child's id and the time it ended.
 */
import { createHash } from 'node:crypto';
import { shownFlowWait } from '../flow/wait-name';
import { decodeValue, encodeValue, UnencodableValue, type EncodedValue } from '../../checkpoint-codec';
import type { StoredEvent, WorkflowRecord, WorkflowStatus } from '../../storage/records';

const PREFIX = '\u001fchild\u001f';

/** The name of the events that carry the outcomes of spawn step `step`'s children. */
export function childEventName(step: string): string {
  return `${PREFIX}${step}`;
}

/** The step whose children an event name is for, or undefined for any other name. */
export function childEventStep(name: string): string | undefined {
  return name.startsWith(PREFIX) ? name.slice(PREFIX.length) : undefined;
}

/** An event name as people are shown it: a spawn step's children read `children of 'ship'`. */
export function shownEventName(name: string): string {
  const step = childEventStep(name);
  return step === undefined ? (shownFlowWait(name) ?? name) : `children of '${step}'`;
}

/** How one child ended, as its parent reads it. */
export interface ChildOutcome {
  readonly index: number;
  readonly id: string;
  readonly status: WorkflowStatus;
  /** A completed child's output. */
  readonly output?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The event id of the outcome of `childId` that ended at `endedAt` (ISO): one per ending, short enough for any store's names. */
export function outcomeEventId(childId: string, endedAt: string): string {
  return `${PREFIX}${createHash('sha256').update(childId).digest('hex').slice(0, 32)}\u001f${Date.parse(endedAt)}`;
}

/** The outcome an ended child's record says, encoded as the event's payload. */
export function outcomePayload(record: WorkflowRecord & { parent: NonNullable<WorkflowRecord['parent']> }): EncodedValue {
  const status = record.status ?? 'completed';
  let output: unknown;
  if (status === 'completed' && record.completion !== undefined) {
    try {
      output = decodeValue(record.completion.output);
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      output = undefined;
    }
  }
  const error = record.error === undefined ? undefined : { code: record.error.code, message: record.error.message };
  return encodeValue({ index: record.parent.index, id: record.workflowId, status, ...(output === undefined ? {} : { output }), ...(error === undefined ? {} : { error }) });
}

/** The outcome an event carries; undefined when it cannot be read (the parent then reads the child's record). */
export function readOutcome(event: StoredEvent): ChildOutcome | undefined {
  try {
    const value = decodeValue(event.payload, 'payload') as Partial<ChildOutcome> | undefined;
    if (value === undefined || value === null || typeof value.index !== 'number' || typeof value.id !== 'string' || typeof value.status !== 'string') return undefined;
    return value as ChildOutcome;
  } catch {
    return undefined;
  }
}
