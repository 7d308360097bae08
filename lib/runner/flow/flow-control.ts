/**
 * Slots and tokens of flow-control keys, for the runs of one runner: asks the store's document of a
 * key (see `flow-store.ts`), waits in the process for a short while when the answer is no, and
 * tells the runner when to wait durably instead (holding nothing: no lease, no slot, no memory).
 * A slot given up wakes the runs that came first for it.
 */
import { randomUUID } from 'node:crypto';
import type { CheckpointStorage } from '../../storage/checkpoint-storage';
import { sleep } from '../sleep';
import { leaveQueue, mayTake, nextInLine, releaseSlot, renewSlot, requestSlot, takeToken, type FlowDoc } from './flow-doc';
import { flowId, readFlow, updateFlow, type FlowKind } from './flow-store';
import { flowWaitName } from './wait-name';

/** A slot a run holds: give it back with {@link FlowControl.release}. */
export interface HeldSlot {
  readonly kind: FlowKind;
  readonly key: string;
  /** Its document's id in the store. */
  readonly id: string;
  readonly holder: string;
  readonly token: string;
  readonly limit: number;
}

/** What a slot is asked for with. */
export interface SlotAsk {
  readonly kind: 'concurrency' | 'limit';
  /** The key as shown (a workflow's concurrency key is scoped to its workflow name by `scope`). */
  readonly key: string;
  readonly scope: string;
  readonly limit: number;
  /** Who asks: a workflow id, or a workflow id with a step (see {@link slotHolder}). */
  readonly holder: string;
  /** Until when a granted slot is held before its holder renews it. */
  readonly holdUntil: () => number;
  /** How long to wait in the process before answering "wait durably". */
  readonly maxWaitMs: number;
  readonly signal: AbortSignal;
}

/** Granted, or: wait durably until `retryAt` at the latest (a release wakes the run sooner). */
export type SlotOutcome = { readonly kind: 'held'; readonly slot: HeldSlot } | { readonly kind: 'wait'; readonly retryAt: number } | { readonly kind: 'cancelled' };

/** Granted, or: wait durably until `retryAt`. */
export type TokenOutcome = { readonly kind: 'granted' } | { readonly kind: 'wait'; readonly retryAt: number } | { readonly kind: 'cancelled' };

/** The holder id of a step's slot: the workflow id and the step (and item), joined by a character no workflow id has. */
export function slotHolder(workflowId: string, step?: string, item?: number): string {
  return step === undefined ? workflowId : item === undefined ? `${workflowId}\u001f${step}` : `${workflowId}\u001f${step}\u001f${item}`;
}

/** The workflow a holder id belongs to. */
export function holderWorkflow(holder: string): string {
  const end = holder.indexOf('\u001f');
  return end < 0 ? holder : holder.slice(0, end);
}

/** How long the first pause between two asks lasts; each pause doubles, up to {@link MAX_PAUSE_MS}. */
const FIRST_PAUSE_MS = 10;
const MAX_PAUSE_MS = 250;
/** How long a waiter in a process keeps its place without writing (it reads every {@link MAX_PAUSE_MS} at most, and writes its place again at half this). */
const INLINE_PLACE_MS = 5_000;
/** When a durable waiter that is not next in line looks again if no release woke it. */
const QUEUED_RETRY_MS = 30_000;
/**
 * How long past its latest retry a durable waiter keeps its place when nobody wakes it (every worker
 * down). One whose run ended, was cancelled or cleared leaves sooner: the next asker it holds up
 * reads its record and takes it out.
 */
const DURABLE_PLACE_MS = 3_600_000;

/** The slots and tokens of one runner's runs: asks the store, waits in the process a short while, wakes who a release frees. */
export class FlowControl {
  /** Per rate-limit key, the ask under way in this process: the next one asks after it (first come, first served). */
  private readonly turns = new Map<string, Promise<void>>();
  /** Per key, the asks waiting in this process: a release here wakes them at once. */
  private readonly nudges = new Map<string, Set<() => void>>();

  constructor(
    private readonly storage: CheckpointStorage,
    /** Wakes a workflow waiting durably (an entry due now, and a notice). */
    private readonly wake: (workflowId: string) => Promise<void>,
  ) {}

  /** Asks for a slot, waiting in the process up to `ask.maxWaitMs`. */
  async acquire(ask: SlotAsk): Promise<SlotOutcome> {
    const id = flowId(ask.kind, ask.scope);
    // Each asker keeps its own place in the store's queue: taking turns in the process as well
    // would let one that waits behind another process's waiter block the resume of that waiter here.
    const deadline = Date.now() + ask.maxWaitMs;
    const held = (token: string): SlotOutcome => ({ kind: 'held', slot: { kind: ask.kind, key: ask.key, id, holder: ask.holder, token, limit: ask.limit } });
    for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(pause * 2, MAX_PAUSE_MS)) {
      if (ask.signal.aborted) return { kind: 'cancelled' };
      const token = randomUUID();
      const answer = await updateFlow(this.storage, ask.kind, ask.key, id, (doc, now) => requestSlot(doc, { id: ask.holder, token, limit: ask.limit, holdUntil: ask.holdUntil(), waitUntil: now + INLINE_PLACE_MS, requeue: ask.kind === 'concurrency' }, now));
      if (answer.granted) return held(token);
      // A free slot kept for runs that no longer wait (ended, cancelled, cleared): they leave, and it asks again at once.
      if (answer.ahead.length > 0 && (await this.dropGone(ask, id, answer.ahead))) continue;
      if (Date.now() + pause > deadline) {
        // Waits durably from here, its place kept until a while past its latest retry. A release
        // wakes it when its turn comes; its timer is for a holder that died: one next in line looks
        // when the holders' slots would expire, one further back much later (its turn cannot come
        // sooner, and a whole queue looking again at each expiry would swamp a slow store).
        const retryAt = Math.max(answer.retryAt, Date.now() + MAX_PAUSE_MS, answer.position < ask.limit ? 0 : Date.now() + QUEUED_RETRY_MS);
        const kept = await updateFlow(this.storage, ask.kind, ask.key, id, (doc, now) => requestSlot(doc, { id: ask.holder, token, limit: ask.limit, holdUntil: ask.holdUntil(), waitUntil: retryAt + DURABLE_PLACE_MS, durable: true, requeue: ask.kind === 'concurrency' }, now));
        if (kept.granted) return held(token);
        return { kind: 'wait', retryAt };
      }
      // Looks again by reading only, until a slot may be its or its place needs keeping: waiters
      // that wrote at each look would fight over the key's document (a slow store stalls on that).
      const placed = Date.now();
      for (;;) {
        await this.pause(id, Math.min(pause, Math.max(deadline - Date.now(), 1)), ask.signal);
        if (ask.signal.aborted || Date.now() + pause > deadline || Date.now() - placed > INLINE_PLACE_MS / 2) break;
        if (await this.couldTake(ask.kind, ask.scope, ask.holder, ask.limit)) break;
        pause = Math.min(pause * 2, MAX_PAUSE_MS);
      }
    }
  }

  /**
   * Removes from the key's queue the durable waiters whose run no longer waits for it; true when
   * one went.
   */
  private async dropGone(ask: SlotAsk, id: string, waiters: readonly string[]): Promise<boolean> {
    const gone = await this.gone(ask.kind, ask.key, waiters);
    if (gone.length === 0) return false;
    await updateFlow(this.storage, ask.kind, ask.key, id, (doc) => {
      const left = gone.reduce<FlowDoc>((d, waiter) => leaveQueue(d, waiter) ?? d, doc);
      return { doc: left === doc ? undefined : left, answer: undefined };
    });
    return true;
  }

  /**
   * The durable waiters among `waiters` whose run no longer waits for the key: its record is gone,
   * ended, or waits for something else. A run that is running is not: it may be asking right now.
   */
  private async gone(kind: FlowKind, key: string, waiters: readonly string[]): Promise<string[]> {
    const name = flowWaitName(kind, key);
    const out: string[] = [];
    for (const waiter of waiters) {
      const record = (await this.storage.readRecord(holderWorkflow(waiter)))?.record;
      const waits = record !== undefined && (record.status === 'running' || record.status === 'compensating' || (record.status === 'waiting' && (record.waitingFor ?? []).includes(name)));
      if (!waits) out.push(waiter);
    }
    return out;
  }

  /** Extends a held slot; false when it was lost (it expired, and may be another's now). */
  async renew(slot: HeldSlot, until: number): Promise<boolean> {
    return updateFlow(this.storage, slot.kind, slot.key, slot.id, (doc, now) => {
      const next = renewSlot(doc, slot.holder, slot.token, until, now);
      return { doc: next, answer: next !== undefined };
    });
  }

  /**
   * Gives a slot up, and wakes who came first for it (in this process, or waiting durably). A
   * durable waiter whose run no longer waits leaves the queue, and the next one is woken instead.
   * With `requeue` its run goes back to the head of the queue, and is woken to go on.
   */
  async release(slot: HeldSlot, requeue = false): Promise<void> {
    let next = await updateFlow(this.storage, slot.kind, slot.key, slot.id, (doc, now) => {
      const { doc: changed, next } = releaseSlot(doc, slot.holder, slot.token, slot.limit, now, requeue);
      return { doc: changed, answer: next };
    });
    for (const nudge of this.nudges.get(slot.id) ?? []) nudge();
    for (let round = 0; round < 5; round++) {
      const durable = next.filter((w) => w.durable === true).map((w) => w.id);
      const gone = await this.gone(slot.kind, slot.key, durable);
      if (gone.length === 0) break;
      next = await updateFlow(this.storage, slot.kind, slot.key, slot.id, (doc, now) => {
        const left = gone.reduce<FlowDoc>((d, waiter) => leaveQueue(d, waiter) ?? d, doc);
        return { doc: left === doc ? undefined : left, answer: nextInLine(left, slot.limit, now) };
      });
    }
    // A waiter of this process asks again at once (its nudge); durable ones are woken through the store.
    const woken = new Set(next.filter((w) => w.durable === true).map((w) => holderWorkflow(w.id)));
    for (const workflowId of woken) await this.wake(workflowId);
  }

  /** Leaves a key's queue (a run that waited for a slot and ended otherwise: cancelled, failed). */
  async leave(kind: FlowKind, key: string, scope: string, holder: string): Promise<void> {
    await updateFlow(this.storage, kind, key, flowId(kind, scope), (doc) => ({ doc: leaveQueue(doc, holder), answer: undefined }));
  }

  /**
   * True when a slot of the key is free for `holder` now (a read, nothing written): a run that
   * decided to wait looks once more after it gave its lease up, since a release that woke it while
   * it still held the lease found it busy.
   */
  async couldTake(kind: 'concurrency' | 'limit', scope: string, holder: string, limit: number): Promise<boolean> {
    return mayTake(await readFlow(this.storage, flowId(kind, scope)), holder, limit, Date.now());
  }

  /** Takes a token of a rate limit, waiting in the process up to `maxWaitMs`. */
  async token(key: string, limit: number, perMs: number, maxWaitMs: number, signal: AbortSignal): Promise<TokenOutcome> {
    const id = flowId('rate', key);
    return this.inTurn(id, async () => {
      const deadline = Date.now() + maxWaitMs;
      for (;;) {
        if (signal.aborted) return { kind: 'cancelled' };
        const answer = await updateFlow(this.storage, 'rate', key, id, (doc, now) => takeToken(doc, limit, perMs, now));
        if (answer.granted) return { kind: 'granted' };
        if (answer.retryAt > deadline) return { kind: 'wait', retryAt: answer.retryAt };
        await sleep(answer.retryAt - Date.now(), signal);
      }
    });
  }

  /** Runs `ask` after the asks of this process that came first for the same key. */
  private async inTurn<T>(id: string, ask: () => Promise<T>): Promise<T> {
    const before = this.turns.get(id) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const turn = before.then(() => mine);
    this.turns.set(id, turn);
    await before;
    try {
      return await ask();
    } finally {
      done();
      if (this.turns.get(id) === turn) this.turns.delete(id);
    }
  }

  /** Sleeps `ms`, or less when a slot of the key is released in this process. */
  private async pause(id: string, ms: number, signal: AbortSignal): Promise<void> {
    const wait = new AbortController();
    const nudge = () => wait.abort();
    const onAbort = () => wait.abort();
    let set = this.nudges.get(id);
    if (set === undefined) this.nudges.set(id, (set = new Set()));
    set.add(nudge);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await sleep(ms, wait.signal);
    } finally {
      signal.removeEventListener('abort', onAbort);
      set.delete(nudge);
      if (set.size === 0) this.nudges.delete(id);
    }
  }
}
