/**
 * One run's view of a workflow's events: which are stored, which committed steps consumed already
 * (their checkpoints say), and which steps of this run claimed. Each event goes to one step, in send
 * order.
 */
import type { StoredEvent } from '../storage/records';

/** The events of one workflow, as one run hands them to waiting steps. */
export class Mailbox {
  private loading?: Promise<StoredEvent[]>;
  private readonly consumed: Set<string>;

  /** `load` lists the stored events; `consumed` are the ids committed steps consumed. */
  constructor(
    private readonly load: () => Promise<StoredEvent[]>,
    consumed: Iterable<string>,
  ) {
    this.consumed = new Set(consumed);
  }

  /** The first event named `name` that no step consumed or claimed, now claimed; undefined when there is none. */
  async claim(name: string): Promise<StoredEvent | undefined> {
    const events = await (this.loading ??= this.load());
    const event = events.find((e) => e.name === name && !this.consumed.has(e.eventId));
    if (event !== undefined) this.consumed.add(event.eventId);
    return event;
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
