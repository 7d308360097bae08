/**
 * Whether a ready step may start now: its timers (`delayMs`, `startAt`) and its awaited event
 * (`waitFor`). Short waits are slept here; longer ones make the step wait, and the run ends
 * `'waiting'`. Reads the mailbox; writes nothing.
 */
import { decodeValue, UnencodableValue } from '../checkpoint-codec';
import { CheckpointCorruptedError, EventTimeoutError, InvalidOptionError } from '../errors';
import type { StepNode } from '../graph';
import type { Mailbox } from './mailbox';
import { sleep } from './sleep';

/** The event a step consumed: its payload decoded, or none after a timeout with `onTimeout: 'run'`. */
export interface ConsumedEvent {
  readonly name: string;
  readonly eventId?: string;
  readonly payload?: unknown;
}

/** What the gate decided. */
export type Gate =
  | { readonly kind: 'open'; readonly event?: ConsumedEvent }
  | { readonly kind: 'wait'; readonly wakeAt?: number; readonly event?: string }
  | { readonly kind: 'timeout'; readonly error: EventTimeoutError }
  | { readonly kind: 'cancelled' };

/** What the gate needs to know about one ready step. */
export interface GateInput {
  readonly workflowId: string;
  readonly node: StepNode;
  /** Epoch ms the step became ready: its dependencies' last commit, or the workflow's creation for a root. */
  readonly readyAt: number;
  /** The `startAt` time stored by an earlier run, ISO. */
  readonly storedTimer?: string;
  /** Calls the step's `startAt` (only when no time is stored). */
  readonly startAt: () => unknown;
  /** Told the time `startAt` gave, ISO, so the run can store it if the step waits. */
  readonly onTimer: (at: string) => void;
  readonly mailbox: Mailbox;
  /** Waits up to this long are slept in-process, holding the lease. */
  readonly maxInlineWaitMs: number;
  readonly signal: AbortSignal;
}

/** Epoch ms of what `startAt` returned, or `InvalidOptionError` saying what it returned instead. */
export function startTime(value: unknown, workflowId: string, step: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new InvalidOptionError(`startAt of step '${step}' in workflow '${workflowId}'`, value, 'a valid Date, an ISO date string or epoch ms');
  }
  return ms;
}

/** Decides whether `input.node` starts now (sleeping a short timer first), waits, or timed out. */
export async function passGate(input: GateInput): Promise<Gate> {
  const { node, workflowId } = input;
  const wait = node.wait!;
  let timerAt: number | undefined;
  if (wait.delayMs !== undefined) timerAt = input.readyAt + wait.delayMs;
  if (wait.startAt !== undefined) {
    let at = input.storedTimer === undefined ? undefined : Date.parse(input.storedTimer);
    if (at === undefined) {
      at = startTime(input.startAt(), workflowId, node.name);
      input.onTimer(new Date(at).toISOString());
    }
    timerAt = Math.max(timerAt ?? at, at);
  }
  // A loop: a timer may fire a millisecond before the wall clock says its time has come.
  while (timerAt !== undefined && timerAt > Date.now()) {
    if (timerAt - Date.now() > input.maxInlineWaitMs) return { kind: 'wait', wakeAt: timerAt, ...(wait.event === undefined ? {} : { event: wait.event.name }) };
    await sleep(timerAt - Date.now(), input.signal);
    if (input.signal.aborted) return { kind: 'cancelled' };
  }
  const awaited = wait.event;
  if (awaited === undefined) return { kind: 'open' };
  let event = await input.mailbox.claim(awaited.name);
  const timeoutAt = awaited.timeoutMs === undefined ? undefined : input.readyAt + awaited.timeoutMs;
  // The run read its events once, maybe long ago: an event that came since is no timeout.
  if (event === undefined && timeoutAt !== undefined && timeoutAt <= Date.now()) event = await input.mailbox.claim(awaited.name, true);
  if (event !== undefined) {
    let payload: unknown;
    try {
      payload = decodeValue(event.payload, 'payload');
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointCorruptedError(workflowId, `event '${event.eventId}'`, error.message, { cause: error });
    }
    return { kind: 'open', event: { name: awaited.name, eventId: event.eventId, payload } };
  }
  if (timeoutAt === undefined) return { kind: 'wait', event: awaited.name };
  if (timeoutAt > Date.now()) return { kind: 'wait', wakeAt: timeoutAt, event: awaited.name };
  if (awaited.onTimeout === 'run') return { kind: 'open', event: { name: awaited.name } };
  return { kind: 'timeout', error: new EventTimeoutError(workflowId, node.name, awaited.name, awaited.timeoutMs!) };
}
