/**
 * The state of one flow-control key (a concurrency key, a step limit, a rate limit), as one small
 * document every process reads and replaces conditionally. Pure functions: each takes the document
 * and the time, and returns the document to write (or none, when nothing changes) with its answer.
 * The runner's callers do the I/O (see `flow-store.ts`); nothing here reads a clock.
 */

/** A holder of a slot: a run, or one attempt of a step, until `until` (epoch ms) unless renewed. */
export interface SlotHolder {
  /** Who holds it: a workflow id, or a workflow id and a step (see `flow-ids.ts`). */
  readonly id: string;
  /** Unique per acquisition: a renewal or release by an earlier acquisition of the same id is refused. */
  readonly token: string;
  /** Epoch ms after which anyone may drop it (its process died, or stalled for longer than its lease). */
  readonly until: number;
  /**
   * A run's slot (a concurrency key's): once expired it goes back to the head of the queue, as a
   * durable waiter, instead of going. The run was admitted in its turn; resumed after its process
   * died, it takes the slot back before anyone who came after it.
   */
  readonly requeue?: true;
}

/** A waiter for a slot, in arrival order; its place is kept until `until` unless it looks again. */
export interface SlotWaiter {
  readonly id: string;
  /** Epoch ms it first asked. */
  readonly since: number;
  readonly until: number;
  /** A run waiting durably (no process asks for it until it is woken): its record says whether it still waits. */
  readonly durable?: true;
}

/** One key's document. */
export interface FlowDoc {
  /** Slots held now (a concurrency key or step limit). */
  readonly holders: readonly SlotHolder[];
  /** Waiting for a slot, first come first served. */
  readonly queue: readonly SlotWaiter[];
  /** A rate limit's admissions (epoch ms) within its last window, oldest first. */
  readonly recent: readonly number[];
}

/** The document of a key nothing has used yet. */
export const EMPTY_FLOW: FlowDoc = { holders: [], queue: [], recent: [] };

/** What asking for a slot answers. */
export type SlotAnswer =
  | { readonly granted: true; readonly token: string }
  | {
      readonly granted: false;
      /** Its place in the queue (0 is next). */
      readonly position: number;
      /** When a slot may free at the latest, if nobody releases one: the earliest holder's `until`. */
      readonly retryAt: number;
      /** Who holds the slots now. */
      readonly holders: readonly string[];
      /** The durable waiters ahead of it that a free slot is kept for: a run ended or cancelled since would hold the key up. */
      readonly ahead: readonly string[];
    };

/** A request for a slot of a key with `limit` slots. */
export interface SlotRequest {
  readonly id: string;
  readonly token: string;
  readonly limit: number;
  /** Until when the slot is held if granted (its holder renews it). */
  readonly holdUntil: number;
  /** Until when its place in the queue is kept if not granted (it looks again before). */
  readonly waitUntil: number;
  /** It waits durably if not granted. */
  readonly durable?: boolean;
  /** A run's slot: see {@link SlotHolder.requeue}. */
  readonly requeue?: boolean;
}

/** How long a requeued holder (see {@link SlotHolder.requeue}) keeps its place at the head. */
const REQUEUED_PLACE_MS = 3_600_000;

/**
 * Holders and waiters whose time is past are gone: a dead process's slot frees by expiry. A run's
 * expired slot puts it back at the head of the queue (a waiter whose run ended leaves it when an
 * asker it holds up reads its record).
 */
function live(doc: FlowDoc, now: number): { holders: SlotHolder[]; queue: SlotWaiter[] } {
  const expired = doc.holders.filter((h) => h.until <= now && h.requeue === true && !doc.queue.some((w) => w.id === h.id));
  const back: SlotWaiter[] = expired.map((h) => ({ id: h.id, since: h.until, until: h.until + REQUEUED_PLACE_MS, durable: true }));
  return { holders: doc.holders.filter((h) => h.until > now), queue: [...back, ...doc.queue.filter((w) => w.until > now)] };
}

/**
 * Grants a slot when fewer than `limit` are held and nobody who came earlier waits for the free ones;
 * else queues the request (once: it keeps its first place). A holder asking again under its own id
 * (a run resumed after its process died) takes its slot back at once.
 */
export function requestSlot(doc: FlowDoc, request: SlotRequest, now: number): { doc: FlowDoc; answer: SlotAnswer } {
  const { holders, queue } = live(doc, now);
  const own = holders.findIndex((h) => h.id === request.id);
  if (own >= 0) holders.splice(own, 1);
  const place = queue.findIndex((w) => w.id === request.id);
  const free = request.limit - holders.length;
  // Ahead of it: those who came earlier. A newcomer is behind the whole queue.
  const ahead = place >= 0 ? place : queue.length;
  if (own >= 0 || ahead < free) {
    if (place >= 0) queue.splice(place, 1);
    holders.push({ id: request.id, token: request.token, until: request.holdUntil, ...(request.requeue === true ? { requeue: true as const } : {}) });
    return { doc: { ...doc, holders, queue }, answer: { granted: true, token: request.token } };
  }
  const mark = request.durable === true ? { durable: true as const } : {};
  if (place >= 0) queue[place] = { ...queue[place]!, until: Math.max(queue[place]!.until, request.waitUntil), ...mark };
  else queue.push({ id: request.id, since: now, until: request.waitUntil, ...mark });
  const retryAt = holders.length === 0 ? now : Math.min(...holders.map((h) => h.until));
  const blocking = free > 0 ? queue.slice(0, Math.min(free, ahead)).filter((w) => w.durable === true).map((w) => w.id) : [];
  return { doc: { ...doc, holders, queue }, answer: { granted: false, position: ahead, retryAt, holders: holders.map((h) => h.id), ahead: blocking } };
}

/** Extends a held slot; undefined (nothing to write) when the slot is no longer this acquisition's. */
export function renewSlot(doc: FlowDoc, id: string, token: string, until: number, now: number): FlowDoc | undefined {
  const held = doc.holders.find((h) => h.id === id && h.token === token && h.until > now);
  if (held === undefined) return undefined;
  return { ...doc, holders: doc.holders.map((h) => (h === held ? { ...h, until: Math.max(h.until, until) } : h)) };
}

/**
 * Gives a slot up (a slot taken over already is left alone), and names the waiters who may now
 * take the free slots, first come first: the caller wakes them. With `requeue`, its holder goes
 * back to the head of the queue (it did not finish what it held the slot for).
 */
export function releaseSlot(doc: FlowDoc, id: string, token: string, limit: number, now: number, requeue = false): { doc: FlowDoc | undefined; next: SlotWaiter[] } {
  const { holders, queue } = live(doc, now);
  const index = holders.findIndex((h) => h.id === id && h.token === token);
  if (index >= 0) holders.splice(index, 1);
  // A run stopped before it ended (its lease lost, its worker stopping) keeps its turn: first in line.
  if (index >= 0 && requeue && !queue.some((w) => w.id === id)) queue.unshift({ id, since: now, until: now + REQUEUED_PLACE_MS, durable: true });
  const changed = index >= 0 || holders.length !== doc.holders.length || queue.length !== doc.queue.length;
  const next = { ...doc, holders, queue };
  return { doc: changed ? next : undefined, next: nextInLine(next, limit, now) };
}

/** True when a slot is free and kept for `id` (or for nobody ahead of it): its ask would be granted. */
export function mayTake(doc: FlowDoc, id: string, limit: number, now: number): boolean {
  const { holders, queue } = live(doc, now);
  if (holders.some((h) => h.id === id)) return true;
  const place = queue.findIndex((w) => w.id === id);
  return (place >= 0 ? place : queue.length) < limit - holders.length;
}

/** The waiters the free slots are kept for, first come first. */
export function nextInLine(doc: FlowDoc, limit: number, now: number): SlotWaiter[] {
  const { holders, queue } = live(doc, now);
  return queue.slice(0, Math.max(limit - holders.length, 0));
}

/** Leaves the queue (a waiter whose run ended or was cancelled). */
export function leaveQueue(doc: FlowDoc, id: string): FlowDoc | undefined {
  return doc.queue.some((w) => w.id === id) ? { ...doc, queue: doc.queue.filter((w) => w.id !== id) } : undefined;
}

/** What asking a rate limit answers: admitted, or when the oldest admission of the window leaves it. */
export type TokenAnswer = { readonly granted: true } | { readonly granted: false; readonly retryAt: number };

/**
 * Admits a call when fewer than `limit` were admitted in the `perMs` before `now` (a sliding window,
 * by the admitting processes' clocks).
 */
export function takeToken(doc: FlowDoc, limit: number, perMs: number, now: number): { doc: FlowDoc | undefined; answer: TokenAnswer } {
  const recent = doc.recent.filter((at) => at > now - perMs);
  if (recent.length >= limit) return { doc: undefined, answer: { granted: false, retryAt: recent[recent.length - limit]! + perMs } };
  // Kept in time order whatever order processes with differing clocks wrote in.
  return { doc: { ...doc, recent: [...recent, now].sort((a, b) => a - b) }, answer: { granted: true } };
}
