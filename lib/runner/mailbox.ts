/**
 * One run's view of a workflow's events: which are stored, which committed steps consumed already
 * (their checkpoints say), and which steps of this run claimed. Each event goes to one step, in send
 * order.
 */
import type { StoredEvent } from '../storage/records';

/**
 * The name and id of a stored cancel request (`runner.cancel`): a control character, so no step's
 * `waitFor` or sender's `eventId` can be it.
 */
export const CANCEL_EVENT = '\u001fcancel';

/** The code of the error a workflow cancelled by id keeps in its record. */
export const CANCELLED_CODE = 'WAYMARK_CANCELLED';

/**
 * The events of `events` sent to the workflow created at `createdAt`: an event a sender stored while
 * an earlier workflow under the same id was being cleared belongs to that one, and is never inherited.
 */
export function ownEvents(events: readonly StoredEvent[], createdAt: string | undefined): StoredEvent[] {
  return events.filter((e) => e.sentTo === undefined || createdAt === undefined || e.sentTo === createdAt);
}

/** The events of one workflow, as one run hands them to waiting steps. */
export class Mailbox {
  private loading?: Promise<StoredEvent[]>;
  private readonly consumed: Set<string>;

  /** `load` lists the stored events (those of this workflow only: see {@link ownEvents}); `consumed` are the ids committed steps consumed. */
  constructor(
    private readonly load: () => Promise<StoredEvent[]>,
    consumed: Iterable<string>,
  ) {
    this.consumed = new Set(consumed);
  }

  /**
   * The first event named `name` that no step consumed or claimed, now claimed; undefined when there
   * is none. `fresh` lists the stored events again first: what a step that is about to time out
   * asks, since the list this run read may be older than its deadline.
   */
  async claim(name: string, fresh = false): Promise<StoredEvent | undefined> {
    if (fresh) this.loading = this.load();
    const events = await (this.loading ??= this.load());
    const event = events.find((e) => e.name === name && !this.consumed.has(e.eventId));
    if (event !== undefined) this.consumed.add(event.eventId);
    return event;
  }

  /**
   * Every event named `name` that no step consumed or claimed, in send order, now claimed (a step
   * that reads them all, like one waiting for its child workflows' outcomes). Lists the events again
   * when `fresh`.
   */
  async takeAll(name: string, fresh = false): Promise<StoredEvent[]> {
    if (fresh) this.loading = this.load();
    const events = (await (this.loading ??= this.load())).filter((e) => e.name === name && !this.consumed.has(e.eventId));
    for (const event of events) this.consumed.add(event.eventId);
    return events;
  }

  /** Gives a claimed event back (its step did not commit), for another step of this run. */
  release(eventId: string): void {
    this.consumed.delete(eventId);
  }

  /** Lists the stored events again: true when one named in `names` is there unclaimed (it arrived after this run looked). */
  async arrived(names: ReadonlySet<string>): Promise<boolean> {
    this.loading = this.load();
    return (await this.loading).some((e) => names.has(e.name) && !this.consumed.has(e.eventId));
  }
}
