/**
 * The workflow record as one run keeps it after preparing: the writes that say the workflow is
 * running again, waiting, or how it ended, each with its entry in the wake index. The index entry
 * is added before the record that names it and the old one removed after, so a crash between the
 * two leaves an extra entry (a worker drops it), never a record whose entry is missing.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import { FOLLOW_UP_MS, needsFollowUp } from './children/follow-up';
import type { Lease, StoredCompensation, StoredError, StoredPoll, WorkflowRecord } from '../storage/records';
import { isUnfinished, statusOf } from './workflow-info';

/** What a waiting run stores. */
export interface WaitingState {
  /** The earliest wake time of a waiting step (epoch ms); none when only events without a timeout are awaited. */
  readonly wakeAt?: number;
  readonly waiting: Readonly<Record<string, { readonly wakeAt?: string; readonly event?: string }>>;
  /** The events waiting steps wait for, sorted. */
  readonly waitingFor: readonly string[];
  /** `startAt` times computed by this run, by step. */
  readonly timers: Readonly<Record<string, string>>;
}

/** The waiting state of a run from its waiting steps (as `RunState.waiting()` lists them) and the timers it computed. */
export function waitingState(steps: readonly { step: string; wakeAt?: string; waitingFor?: string }[], timers: Readonly<Record<string, string>>): WaitingState {
  const wakeTimes = steps.flatMap((w) => (w.wakeAt === undefined ? [] : [Date.parse(w.wakeAt)]));
  return {
    ...(wakeTimes.length === 0 ? {} : { wakeAt: Math.min(...wakeTimes) }),
    waiting: Object.fromEntries(steps.map((w) => [w.step, { ...(w.wakeAt === undefined ? {} : { wakeAt: w.wakeAt }), ...(w.waitingFor === undefined ? {} : { event: w.waitingFor }) }])),
    waitingFor: [...new Set(steps.flatMap((w) => (w.waitingFor === undefined ? [] : [w.waitingFor])))].sort(),
    timers,
  };
}

/** The record one run writes, with its version; writes are fenced by the run's lease. */
export class RunRecord {
  private running?: Promise<void>;
  /** The last write: writes go one after the other (each needs the version the one before returned). */
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: CheckpointStorage,
    private readonly workflowId: string,
    private record: WorkflowRecord,
    private version: string,
    private readonly lease: () => Lease,
  ) {}

  /** The record as last written or read. */
  get current(): WorkflowRecord {
    return this.record;
  }

  /**
   * Says the workflow is running again (a resumed `'waiting'` workflow whose step starts now), with
   * an entry that lets a worker recover it at `recoverAt` if this run dies. Once per run.
   */
  /** True when the record says running already: {@link markRunning} would write nothing. */
  get isRunning(): boolean {
    return this.record.status === 'running';
  }

  markRunning(recoverAt: number): Promise<void> {
    if (this.isRunning) return Promise.resolve();
    return (this.running ??= this.write({ ...this.record, status: 'running', wakeAt: new Date(recoverAt).toISOString(), waitingFor: undefined, waiting: undefined, error: undefined, endedAt: undefined }));
  }

  /** Stores the run's concurrency key, computed once, before the run asks for a slot under it. */
  setConcurrencyKey(key: string): Promise<void> {
    return this.write(() => ({ ...this.record, concurrencyKey: key }));
  }

  /** Stores that `step`'s `when` answered true, before the step acts (a resume then never asks again). */
  takeBranch(step: string): Promise<void> {
    return this.write(() => ({ ...this.record, branches: { ...this.record.branches, [step]: true } }));
  }

  /** Stores how many items fan-out `step` runs, once its list is committed (what progress is read from). */
  countItems(step: string, count: number): Promise<void> {
    return this.write(() => ({ ...this.record, fanOuts: { ...this.record.fanOuts, [step]: count } }));
  }

  /** Stores how many child workflows spawn `step` starts, once its list is committed, and (`started`) once every one is stored. */
  countChildren(step: string, count: number, started: boolean): Promise<void> {
    return this.write(() => ({ ...this.record, children: { ...this.record.children, [step]: { count, ...(started ? { started: true as const } : {}) } } }));
  }

  /** Stores when `step` is called again (a poll's "not yet", or a long retry), before the step waits for it. */
  storePoll(step: string, poll: StoredPoll): Promise<void> {
    return this.write(() => ({ ...this.record, polls: { ...this.record.polls, [step]: poll } }));
  }

  /** Stores the waiting state, unless it is what the record says already (an early resume writes nothing). */
  async wait(state: WaitingState): Promise<void> {
    const next: WorkflowRecord = {
      ...this.record,
      status: 'waiting',
      wakeAt: state.wakeAt === undefined ? undefined : new Date(state.wakeAt).toISOString(),
      waitingFor: state.waitingFor,
      waiting: state.waiting,
      timers: { ...this.record.timers, ...state.timers },
      error: undefined,
      endedAt: undefined,
    };
    if (this.record.status === 'waiting' && JSON.stringify(pick(this.record)) === JSON.stringify(pick(next))) return;
    await this.write(next);
  }

  /** Stores how the workflow ended; it leaves the wake index, and enters the index of ended workflows. */
  async end(outcome: Pick<WorkflowRecord, 'status' | 'error' | 'completion' | 'cancelled'>): Promise<void> {
    // A completed workflow calls no step again; any other end keeps its polls for a resume.
    const polls = outcome.status === 'completed' ? undefined : this.record.polls;
    await this.write(withFollowUp({ ...this.record, ...outcome, wakeAt: undefined, waitingFor: undefined, waiting: undefined, timers: undefined, polls, endedAt: new Date().toISOString() }));
  }

  /**
   * Says the workflow compensates: `'compensating'`, with an entry that lets a worker recover it at
   * `recoverAt` if this run dies. A workflow that compensates already keeps what it has committed.
   */
  beginCompensation(cause: StoredError, recoverAt: number): Promise<void> {
    const compensation: StoredCompensation = this.record.compensation ?? { startedAt: new Date().toISOString(), cause, done: {} };
    return this.write({ ...this.record, status: 'compensating', compensation: { ...compensation, errors: undefined }, error: compensation.cause, wakeAt: new Date(recoverAt).toISOString(), waitingFor: undefined, waiting: undefined, completion: undefined, endedAt: undefined });
  }

  /** Commits one compensation: the step it undid, with its attempts. */
  commitCompensation(step: string, attempts: number, committedAt: string): Promise<void> {
    return this.write(() => {
      const compensation = this.record.compensation!;
      return { ...this.record, compensation: { ...compensation, done: { ...compensation.done, [step]: { attempts, committedAt } } } };
    });
  }

  /** Stores how the compensation ended: `'compensated'`, or `'failed'` with the compensations that failed. It leaves the wake index. */
  endCompensation(errors: readonly StoredError[]): Promise<void> {
    return this.write(() => {
      const compensation = this.record.compensation!;
      const now = new Date().toISOString();
      const ended = errors.length === 0 ? { ...compensation, errors: undefined, compensatedAt: compensation.compensatedAt ?? now } : { ...compensation, errors };
      return withFollowUp({ ...this.record, status: errors.length === 0 ? 'compensated' : 'failed', compensation: ended, wakeAt: undefined, timers: undefined, endedAt: now });
    });
  }

  /** Writes `next` (or what it computes from the record as it is then) after the writes before it. */
  private write(next: WorkflowRecord | (() => WorkflowRecord)): Promise<void> {
    const write = this.writes.then(() => this.writeNow(typeof next === 'function' ? next() : next));
    // A failed write fails its caller; the next one still runs (and finds the version unchanged).
    this.writes = write.catch(() => undefined);
    return write;
  }

  private async writeNow(next: WorkflowRecord): Promise<void> {
    const previous = this.record.wakeAt;
    const updated = { ...next, updatedAt: new Date().toISOString() };
    // Like a wake entry, the ended entry goes first: a crash between leaves an entry prune drops, never an ended record it cannot find.
    if (updated.endedAt !== undefined && updated.endedAt !== this.record.endedAt) await this.storage.addEnded({ workflowId: this.workflowId, status: updated.status!, endedAt: Date.parse(updated.endedAt) });
    const wake = updated.wakeAt !== undefined && updated.wakeAt !== previous ? { workflowId: this.workflowId, wakeAt: Date.parse(updated.wakeAt) } : undefined;
    if (wake !== undefined) await this.storage.addWake(wake);
    this.version = await this.storage.writeRecord(this.workflowId, updated, this.version, this.lease());
    // An ended record made to wait again with an entry due now (a failed child its parent retries):
    // a worker that read it ended may remove the entry just added, so it is added once more. A worker
    // that removes it after this reads the record again, sees it waiting and puts it back itself.
    if (wake !== undefined && wake.wakeAt <= Date.now() && !isUnfinished(statusOf(this.record))) await this.storage.addWake(wake);
    this.record = updated;
    if (previous !== undefined && previous !== updated.wakeAt) await this.storage.removeWake({ workflowId: this.workflowId, wakeAt: Date.parse(previous) });
  }
}

/**
 * An ended record with a follow-up (a parent to tell, children to cancel) keeps an entry in the wake
 * index a few seconds ahead: should the process die before the follow-up is done, a worker does it.
 */
function withFollowUp(record: WorkflowRecord): WorkflowRecord {
  return needsFollowUp(record) ? { ...record, wakeAt: new Date(Date.now() + FOLLOW_UP_MS).toISOString() } : record;
}

function pick(record: WorkflowRecord): unknown {
  return { wakeAt: record.wakeAt, waitingFor: record.waitingFor, waiting: record.waiting, timers: record.timers };
}
