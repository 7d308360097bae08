/**
 * Parsing stored records and checkpoints, for providers that keep them as JSON text: anything that
 * does not parse or has the wrong shape is a {@link CheckpointCorruptedError} naming its location,
 * never "not done" and never a raw SyntaxError.
 */
import { CheckpointCorruptedError } from '../errors';
import type { Checkpoint, StoredEvent, WakeEntry, WorkflowRecord, WorkflowStatus } from './records';

/** A record with the revision that conditional replaces compare. */
export interface RecordFile {
  readonly revision: number;
  readonly record: WorkflowRecord;
}

function parseJson(workflowId: string, location: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointCorruptedError(workflowId, location, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Parses and checks a stored checkpoint of `step`. */
export function parseCheckpoint(workflowId: string, step: string, location: string, text: string): Checkpoint {
  const value = parseJson(workflowId, location, text);
  if (!isObject(value) || value.formatVersion !== 1 || (value.status !== 'completed' && value.status !== 'skipped') || !('output' in value) || typeof value.attempts !== 'number') {
    throw new CheckpointCorruptedError(workflowId, location, 'not a checkpoint (missing formatVersion, status, attempts or output)');
  }
  if (value.step !== step) throw new CheckpointCorruptedError(workflowId, location, `holds step '${String(value.step)}', expected '${step}'`);
  // A fan-out's item count and failures decide what its dependents read.
  const items = value.items;
  if (items !== undefined && (!isObject(items) || !count(items.count) || (items.failed !== undefined && !(Array.isArray(items.failed) && items.failed.every(isItemFailure))))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its items are not { count, failed?: [{ index, code, message, attempts }] }');
  }
  return value as unknown as Checkpoint;
}

/** Parses and checks a workflow record. */
export function parseRecord(workflowId: string, location: string, value: unknown): WorkflowRecord {
  if (!isObject(value) || value.formatVersion !== 1 || typeof value.fingerprint !== 'string' || !Array.isArray(value.steps)) {
    throw new CheckpointCorruptedError(workflowId, location, 'not a workflow record (missing formatVersion, fingerprint or steps)');
  }
  const completion = value.completion;
  if (completion !== undefined && (!isObject(completion) || typeof completion.runId !== 'string' || typeof completion.completedAt !== 'string' || !('output' in completion))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its completion is not { runId, completedAt, output }');
  }
  const compensation = value.compensation;
  if (compensation !== undefined && (!isObject(compensation) || typeof compensation.startedAt !== 'string' || !isObject(compensation.cause) || !isObject(compensation.done))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its compensation is not { startedAt, cause, done }');
  }
  // Both decide what a resume does (whether a step runs, when it is called again, which attempt is next).
  const branches = value.branches;
  if (branches !== undefined && (!isObject(branches) || Object.values(branches).some((taken) => taken !== true))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its branches are not { <step>: true }');
  }
  const polls = value.polls;
  if (polls !== undefined && (!isObject(polls) || !Object.values(polls).every(isStoredPoll))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its polls are not { <step>: { next, count, since, attempts?, last? } } with ISO times and counts');
  }
  const fanOuts = value.fanOuts;
  if (fanOuts !== undefined && (!isObject(fanOuts) || !Object.values(fanOuts).every(count))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its fanOuts are not { <step>: <item count> }');
  }
  // Both decide what a resume runs: the class it is pinned to, and which checkpoints are its steps'.
  if (value.version !== undefined && !(Number.isInteger(value.version) && (value.version as number) >= 1)) {
    throw new CheckpointCorruptedError(workflowId, location, `its version ${JSON.stringify(value.version)} is not an integer >= 1`);
  }
  const stepKeys = value.stepKeys;
  if (stepKeys !== undefined && (!isObject(stepKeys) || !Object.values(stepKeys).every((k) => typeof k === 'string' && k.length > 0))) {
    throw new CheckpointCorruptedError(workflowId, location, 'its stepKeys are not { <step>: <stored name> }');
  }
  if (value.status !== undefined && !STATUSES.includes(value.status as string)) {
    throw new CheckpointCorruptedError(workflowId, location, `its status ${JSON.stringify(value.status)} is not one of ${STATUSES.join(', ')}`);
  }
  return value as unknown as WorkflowRecord;
}

function count(n: unknown): boolean {
  return Number.isInteger(n) && (n as number) >= 0;
}

function isItemFailure(failure: unknown): boolean {
  return isObject(failure) && count(failure.index) && count(failure.attempts) && typeof failure.code === 'string' && typeof failure.message === 'string';
}

function isStoredPoll(poll: unknown): boolean {
  const time = (t: unknown) => typeof t === 'string' && !Number.isNaN(Date.parse(t));
  return isObject(poll) && time(poll.next) && time(poll.since) && count(poll.count) && (poll.attempts === undefined || count(poll.attempts)) && (poll.last === undefined || poll.last === true) && (poll.lastFailure === undefined || (isObject(poll.lastFailure) && typeof poll.lastFailure.code === 'string' && typeof poll.lastFailure.message === 'string'));
}

const STATUSES: readonly unknown[] = ['running', 'waiting', 'completed', 'failed', 'cancelled', 'compensating', 'compensated'] satisfies WorkflowStatus[];

/** Parses a `{ revision, record }` file. */
export function parseRecordFile(workflowId: string, location: string, text: string): RecordFile {
  const value = parseJson(workflowId, location, text);
  if (!isObject(value) || typeof value.revision !== 'number') throw new CheckpointCorruptedError(workflowId, location, 'not a record file (missing revision)');
  return { revision: value.revision, record: parseRecord(workflowId, location, value.record) };
}

/** Parses a bare record (providers that version records outside the body, e.g. by ETag). */
export function parseRecordText(workflowId: string, location: string, text: string): WorkflowRecord {
  return parseRecord(workflowId, location, parseJson(workflowId, location, text));
}

/** Parses and checks a stored event. */
export function parseEvent(workflowId: string, location: string, text: string): StoredEvent {
  const value = parseJson(workflowId, location, text);
  if (!isObject(value) || value.formatVersion !== 1 || typeof value.eventId !== 'string' || typeof value.name !== 'string' || typeof value.sentAt !== 'string' || !('payload' in value)) {
    throw new CheckpointCorruptedError(workflowId, location, 'not an event (missing formatVersion, eventId, name, sentAt or payload)');
  }
  return value as unknown as StoredEvent;
}

/** Events in send order: by `sentAt`, then by `eventId`. */
export function sendOrder(a: StoredEvent, b: StoredEvent): number {
  return a.sentAt < b.sentAt ? -1 : a.sentAt > b.sentAt ? 1 : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

/** Digits of a wake time in index names: epoch ms up to the end of a Date's range, zero-padded so names sort by time. */
const WAKE_DIGITS = 16;

/** A wake entry as one name that sorts by time: `<epoch ms, 16 digits>~<encoded workflow id>`. */
export function wakeName(entry: WakeEntry, encodedId: string): string {
  return `${String(Math.max(0, Math.floor(entry.wakeAt))).padStart(WAKE_DIGITS, '0')}~${encodedId}`;
}

/** The time and encoded id of a name made by {@link wakeName}, or undefined for any other name. */
export function parseWakeName(name: string): { wakeAt: number; encodedId: string } | undefined {
  const match = /^(\d{16})~(.+)$/.exec(name);
  return match === null ? undefined : { wakeAt: Number(match[1]), encodedId: match[2]! };
}

/** The wake-index name of `now`'s entries and earlier ones all sort at or before this. */
export function wakeNameBound(now: number): string {
  return `${String(Math.max(0, Math.floor(now))).padStart(WAKE_DIGITS, '0')}~\uffff`;
}
