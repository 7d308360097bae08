/**
 * The slots one run holds (its workflow's concurrency slot, its steps' limit slots) and the keys it
 * waits for durably. A slot is held like the run's lease, and a little longer: each renewal of the
 * lease renews the slots up to the lease's new expiry and a margin, so a run that stalls past its
 * lease loses its lease (and its commits are fenced out) before anyone can take its slots. A slot
 * lost all the same stops the run, as a lost lease does.
 */
import type { WorkflowStatus } from '../../storage/records';
import type { FlowControl, HeldSlot } from './flow-control';

/** How long a slot outlives the lease it is renewed with. */
export const SLOT_MARGIN_MS = 1_000;

/** A durable wait for a slot: looked at once more after the run gave its lease up. */
interface SlotWait {
  readonly kind: 'concurrency' | 'limit';
  readonly key: string;
  readonly scope: string;
  readonly holder: string;
  readonly limit: number;
}

/** What one run holds and waits for: renewed with its lease, given back when its attempts have settled. */
export class RunSlots {
  private readonly held = new Set<HeldSlot>();
  private readonly waits: SlotWait[] = [];

  constructor(
    readonly flow: FlowControl,
    /** When a slot taken or renewed now is held until: the run's lease expiry and a margin. */
    readonly holdUntil: () => number,
    private readonly onLost: () => void,
  ) {}

  /** True when the run holds a slot or waits for one (anything to renew, release or look at again). */
  get any(): boolean {
    return this.held.size > 0 || this.waits.length > 0;
  }

  hold(slot: HeldSlot): void {
    this.held.add(slot);
  }

  /** Gives a slot up (a failure to is reported by the slot's expiry: it frees on its own). */
  async release(slot: HeldSlot, requeue = false): Promise<void> {
    this.held.delete(slot);
    await this.flow.release(slot, requeue).catch(() => undefined);
  }

  /** Remembers a durable wait of this run. */
  waiting(wait: SlotWait): void {
    this.waits.push(wait);
  }

  /** Renews every held slot (after each renewal of the lease); a slot found lost stops the run. */
  renew(): void {
    const until = this.holdUntil();
    for (const slot of this.held) {
      this.flow.renew(slot, until).then(
        (kept) => kept || !this.held.has(slot) || this.onLost(),
        // A transient store error: the next renewal tries again, well before the slot expires.
        () => undefined,
      );
    }
  }

  /**
   * Gives every slot up, once nothing of the run runs any more. A run `stopped` before it ended (its
   * lease lost, its worker stopping) keeps its concurrency turn: first in line, woken to go on.
   */
  async releaseAll(stopped: boolean): Promise<void> {
    for (const slot of [...this.held]) await this.release(slot, stopped && slot.kind === 'concurrency');
  }

  /**
   * After the lease is given up: true when a slot the run waits for is free for it now, so that it
   * must be woken (a release that woke it while it held its lease found it busy). A run that ended
   * for good (completed, failed, cancelled) leaves the queues it was in; one whose record still says
   * running (its waiting could not be stored) keeps its place for the worker that resumes it.
   */
  async afterLease(status: WorkflowStatus | undefined): Promise<boolean> {
    if (status !== 'waiting') {
      if (status === 'running' || status === 'compensating') return false;
      for (const wait of this.waits) await this.flow.leave(wait.kind, wait.key, wait.scope, wait.holder).catch(() => undefined);
      return false;
    }
    for (const wait of this.waits) if (await this.flow.couldTake(wait.kind, wait.scope, wait.holder, wait.limit)) return true;
    return false;
  }
}
