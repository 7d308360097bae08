/**
 * Sending an event to a workflow: stored in its namespace, idempotent by event id, and made one
 * durable fact with the wake that brings a worker to it (see {@link sendEvent}).
 */
import { randomUUID } from 'node:crypto';
import { encodeValue, UnencodableValue, type EncodedValue } from '../checkpoint-codec';
import { EventSerializationError, InvalidOptionError, WorkflowNotFoundError } from '../errors';
import { isoUnique } from '../iso-now';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { StoredEvent } from '../storage/records';
import { assertWorkflowId, MAX_WORKFLOW_ID_LENGTH } from '../workflow-id';
import { statusOf } from './workflow-info';

/** Options of `runner.sendEvent`. */
export interface SendEventOptions {
  /** The event's id, unique per workflow (e.g. the webhook's delivery id); default a random UUID. */
  readonly eventId?: string;
  /**
   * `false`: store the event only, without an entry in the wake index, for a caller that wakes the
   * workflow itself (`waymark/bullmq` queues a job). Default true.
   */
  readonly wake?: boolean;
}

/** What `runner.sendEvent` resolves with. */
export interface SendEventResult {
  /** True when an event with this id was stored already: nothing was stored now. */
  readonly duplicate: boolean;
  readonly eventId: string;
  /**
   * True when a step of the workflow waits for an event of this name now (a duplicate too, while it
   * is not consumed): the workflow was woken, or, with `wake: false`, the caller must wake it.
   */
  readonly wakes: boolean;
  /**
   * Set when the workflow had ended when the event came. `'completed'` or `'compensated'`: nothing
   * was stored, no step will ever consume it. `'failed'` or `'cancelled'`: stored, for a step of a
   * later resume; nothing consumes it until then.
   */
  readonly ended?: 'completed' | 'compensated' | 'failed' | 'cancelled';
}

/**
 * How long after an event's send a worker looks at its workflow, should the sender die between
 * storing the event and waking the workflow: longer than a store takes to write one event.
 */
const SEND_RESCUE_MS = 5_000;

/** Checks an event name or id: 1 to `max` characters, no control characters. */
function assertName(what: string, value: unknown, max = 100): asserts value is string {
  // eslint-disable-next-line no-control-regex
  if (typeof value !== 'string' || value.length === 0 || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new InvalidOptionError(what, value, `a string of 1-${max} characters without control characters`);
  }
}

/** What sending needs from the runner: its storage, and how it wakes a workflow. */
export interface EventDelivery {
  readonly storage: CheckpointStorage;
  wake(workflowId: string): Promise<void>;
}

/**
 * Sends `event` to workflow `workflowId`; see `WorkflowRunner.sendEvent`. A wake entry a few
 * seconds ahead is written before the event and removed after the wake: a sender that dies in
 * between still brings a worker to the workflow.
 */
export async function sendEvent(to: EventDelivery, workflowId: string, event: string, payload?: unknown, options: SendEventOptions = {}): Promise<SendEventResult> {
  assertWorkflowId(workflowId);
  assertName('event', event);
  const eventId = options?.eventId ?? randomUUID();
  if (options?.wake !== undefined && typeof options.wake !== 'boolean') throw new InvalidOptionError('wake', options.wake, 'true or false');
  assertName('eventId', eventId, MAX_WORKFLOW_ID_LENGTH);
  let encoded: EncodedValue;
  try {
    encoded = encodeValue(payload, 'payload');
  } catch (error) {
    if (!(error instanceof UnencodableValue)) throw error;
    throw new EventSerializationError(workflowId, event, error.path, error.reason);
  }
  return deliverEvent(to, workflowId, event, eventId, encoded, options?.wake !== false);
}

/**
 * Stores an event already checked and encoded (a name of waymark's own included: a child workflow's
 * outcome) and wakes the workflow when it waits for it; see {@link sendEvent}. `createdAt`, when
 * given, is the workflow the event is for: one cleared and started again under the id meanwhile gets
 * nothing (resolves `undefined`).
 */
export async function deliverEvent(to: EventDelivery, workflowId: string, event: string, eventId: string, encoded: EncodedValue, wakeIt: boolean, createdAt?: string): Promise<SendEventResult> {
  const before = (await to.storage.readRecord(workflowId))?.record;
  if (before === undefined) throw new WorkflowNotFoundError(workflowId);
  if (createdAt !== undefined && before.createdAt !== createdAt) return { duplicate: false, eventId, wakes: false };
  const status = statusOf(before);
  if (status === 'completed' || status === 'compensated') {
    // Nothing will ever consume it: stored, it would only wait for the workflow's deletion.
    const duplicate = (await to.storage.listEvents(workflowId)).some((e) => e.eventId === eventId);
    return { duplicate, eventId, wakes: false, ended: status };
  }
  const wake = wakeIt;
  // Stored first, removed last: if this process dies in between, a worker still looks at the
  // workflow (a moment later), so the event and its wake are one durable fact.
  const rescue = { workflowId, wakeAt: Date.now() + SEND_RESCUE_MS };
  if (wake) await to.storage.addWake(rescue);
  // `sentTo`: a workflow cleared meanwhile and started again under the id never takes this event.
  const message: StoredEvent = { formatVersion: 1, eventId, name: event, payload: encoded, sentAt: isoUnique(), ...(before.createdAt === undefined ? {} : { sentTo: before.createdAt }) };
  const stored = await to.storage.putEvent(workflowId, message);
  // Read after storing: a run that decides to wait after this read looks at the events again
  // once it has stored 'waiting', so between the two of them the event is never missed. A
  // duplicate wakes too (a sender that died before waking is retried with the same id); the
  // run it starts finds the event consumed or not, and decides.
  const after = (await to.storage.readRecord(workflowId))?.record;
  const wakes = after?.status === 'waiting' && (after.waitingFor === undefined || after.waitingFor.includes(event));
  if (wakes && wake) await to.wake(workflowId);
  if (wake) await to.storage.removeWake(rescue);
  const ended = after === undefined ? undefined : statusOf(after);
  return { duplicate: !stored, eventId, wakes, ...(ended === 'failed' || ended === 'cancelled' ? { ended } : {}) };
}
