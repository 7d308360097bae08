/**
 * The embedded worker: finds the workflows that need a run in the storage's wake index and resumes
 * them through the runner. No server: any number of workers, in any number of processes, share one
 * storage; the lease keeps each workflow to one of them at a time.
 *
 * The wake index holds, per workflow, the time its record says to look at it again: a waiting
 * workflow's earliest timer, the moment an awaited event arrived, or, while it runs, when its lease
 * would have expired (so a run that died is recovered). An entry is a hint: the worker reads the
 * record, resumes what is not finished, and drops entries that no record needs any more.
 */
import { needsFollowUp } from '../runner/children/follow-up';
import { InvalidOptionError, MigrationRefusedError, RunInterruptedError, WaymarkError, WorkflowBusyError, WorkflowCancelledError, WorkflowFailedError, WorkflowNotRegisteredError } from '../errors';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';
import type { WorkflowRunner } from '../runner/workflow-runner';
import { CronSlots, slotWorkflowId } from './cron-slots';
import { decideSlot } from './schedule-overlap';
import { defaultLeaseOwner } from '../storage/lease-owner';
import { isUnfinished, statusOf } from '../runner/workflow-info';
import type { WakeEntry, WorkflowRecord } from '../storage/records';
import { parseDuration } from '../duration';
import type { PrunableStatus, PruneResult } from '../runner/prune';

/** Options of a {@link WorkflowWorker}. */
export interface WorkflowWorkerOptions {
  /** The runner that resumes workflows: its storage is scanned, its registered classes run. */
  readonly runner: WorkflowRunner;
  /** How often the wake index is scanned, in ms; default 1,000. Events sent through this process's runner wake at once. */
  readonly pollIntervalMs?: number;
  /** Most workflows resumed at once by this worker; default 10. */
  readonly concurrency?: number;
  /**
   * Told of what the worker could not do by itself (a workflow whose class is not registered, a
   * storage error during a scan): the work is retried later. Default: a process warning. A stranded
   * run (its version is not registered here) is told once per worker, as `WorkflowNotRegisteredError`
   * naming `name@version`, and then looked at every minute without a word.
   */
  readonly onError?: (error: unknown, workflowId?: string) => void;
  /**
   * `'auto'`: a run pinned to a version this worker does not register is moved to the newest one it
   * does (`runner.migrate`, checked before it writes) and run; a refused migration is told to
   * `onError` once (`MigrationRefusedError`, naming the steps) and the run stays as it is.
   * `'never'` (default): such a run is left stranded for an operator (`waymark migrate`).
   */
  readonly migrate?: 'auto' | 'never';
  /**
   * Deletes ended workflows periodically, each status after its own age (`'30d'`, `'12h'`, or ms):
   * e.g. `{ completed: '30d', failed: '90d' }`. Statuses left out are kept forever. See
   * `runner.prune`: running, waiting and compensating workflows are never deleted.
   */
  readonly retention?: RetentionOptions;
}

/** Options of {@link WorkflowWorkerOptions.retention}. */
export interface RetentionOptions {
  /** How long completed workflows are kept after they ended (`'30d'`, `'12h'`, or ms); left out: forever. */
  readonly completed?: string | number;
  /** How long failed workflows are kept (including those whose compensation failed). */
  readonly failed?: string | number;
  /** How long cancelled workflows are kept. */
  readonly cancelled?: string | number;
  /** How long compensated workflows are kept. */
  readonly compensated?: string | number;
  /** How often to prune, in ms; default one hour (the first round right after `start()`). */
  readonly intervalMs?: number;
  /** Most workflows deleted per status and round, default 1,000: a large backlog goes over several rounds. */
  readonly batch?: number;
  /** Told after each round with what each status's prune deleted. */
  readonly onPruned?: (results: readonly PruneResult[]) => void;
}

const RETENTION_KEYS: readonly PrunableStatus[] = ['completed', 'failed', 'cancelled', 'compensated'];

/** Checks retention options; returns the age of each status kept for a limited time. */
function checkRetention(retention: RetentionOptions): { ages: [PrunableStatus, number][]; intervalMs: number; batch: number } {
  if (retention === null || typeof retention !== 'object') throw new InvalidOptionError('retention', retention, "{ completed?, failed?, cancelled?, compensated?: '30d' | ms, intervalMs?, batch?, onPruned? }");
  for (const key of Object.keys(retention)) {
    if (!([...RETENTION_KEYS, 'intervalMs', 'batch', 'onPruned'] as string[]).includes(key)) {
      throw new InvalidOptionError(`retention.${key}`, (retention as Record<string, unknown>)[key], `no such option (statuses: ${RETENTION_KEYS.join(', ')}; running, waiting and compensating workflows are never pruned)`);
    }
  }
  const ages = RETENTION_KEYS.flatMap((status): [PrunableStatus, number][] => (retention[status] === undefined ? [] : [[status, parseDuration(`retention.${status}`, retention[status])]]));
  const { intervalMs = 3_600_000, batch = 1000, onPruned } = retention;
  if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new InvalidOptionError('retention.intervalMs', intervalMs, 'an integer >= 1');
  if (!Number.isInteger(batch) || batch < 1) throw new InvalidOptionError('retention.batch', batch, 'an integer >= 1');
  if (onPruned !== undefined && typeof onPruned !== 'function') throw new InvalidOptionError('retention.onPruned', onPruned, 'a function (results) => void');
  return { ages, intervalMs, batch };
}

/** Options of {@link WorkflowWorker.stop}. */
export interface WorkerStopOptions {
  /**
   * How long running workflows may take to reach their next step boundary, in ms; default 30,000.
   * Then their steps' signals are aborted; they store no outcome and stay `'running'`, for the next
   * worker. A step that ignores its signal still holds the lease until it returns.
   */
  readonly deadlineMs?: number;
}

/** Options of {@link WorkflowWorker.schedule}. */
export interface ScheduleOptions<I = unknown> {
  /** A cron pattern (5 fields, or 6 with seconds first), parsed by croner. */
  readonly cron: string;
  /** The IANA time zone the pattern is read in (e.g. `'Europe/Paris'`); default the process's. */
  readonly timezone?: string;
  /** The input of each slot's run, from the slot's time; default none. */
  readonly input?: (slot: Date) => I;
  /**
   * `'skip'` (default): no slot starts while an earlier run of the schedule is unfinished, across
   * every worker on the store; a skipped slot's record says `'cancelled'` with code
   * `WAYMARK_SLOT_SKIPPED`. `'allow'`: each slot runs whatever else runs.
   */
  readonly overlap?: 'skip' | 'allow';
  /**
   * Slots that passed while no worker was up: `'latest'` (default) runs the most recent one when the
   * worker starts, `'none'` runs none of them.
   */
  readonly catchUp?: 'latest' | 'none';
}

interface Schedule {
  readonly target: Constructor;
  readonly workflowName: string;
  readonly slots: CronSlots;
  readonly options: ScheduleOptions;
  /** Slots up to this time (epoch ms) have been looked at by this worker. */
  cursor?: number;
}

/** Where a worker is: created → running → stopping → stopped. */
export type WorkerState = 'created' | 'running' | 'stopping' | 'stopped';

/** How long a workflow whose resume failed for a reason the worker cannot fix waits before it is tried again. */
const RETRY_LATER_MS = 60_000;
/** How often a worker asks a store that can tell (FileStorage) for runs whose owner died. */
const DEAD_SWEEP_MS = 1_000;
/** The most wake entries one scan reads to find due workflows past those it skips. */
const MAX_SCAN_WINDOW = 10_000;
/** After a scan that failed, the next comes this soon, doubling with each failure in a row up to {@link MAX_FAILED_SCAN_RETRY_MS} (never later than the poll interval). */
const FAILED_SCAN_RETRY_MS = 100;
const MAX_FAILED_SCAN_RETRY_MS = 5_000;
/** Added to a busy workflow's lease expiry before it is looked at again. */
const BUSY_MARGIN_MS = 250;

/** Resumes interrupted and waiting workflows of one storage, from any number of processes. */
export class WorkflowWorker {
  private readonly runner: WorkflowRunner;
  private readonly autoMigrate: boolean;
  /** Stranded runs already told to `onError` (each once, until it runs). */
  private readonly toldStranded = new Set<string>();
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly onError: (error: unknown, workflowId?: string) => void;
  private current: WorkerState = 'created';
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly interrupt = new AbortController();
  private timer?: NodeJS.Timeout;
  private scanning?: Promise<void>;
  private rescan = false;
  private unsubscribe?: () => void;
  /** Stops listening for other processes' wake notices, where the store sends them. */
  private stopListening?: () => Promise<void>;
  private readonly schedules: Schedule[] = [];
  /** When the store was last asked for runs whose owner died (epoch ms). */
  private lastDeadSweep = 0;
  /** Runs of dead owners this worker could not resume (a class it does not know...): not before these times. */
  private readonly retryLater = new Map<string, number>();
  /** Scans in a row that failed (the store did not answer): the next is tried after a short, growing delay. */
  private failedScans = 0;
  /** The earliest entry not yet due that the last scan saw: the next scan is timed for it. */
  private nextWakeAt?: number;
  private readonly retention?: RetentionOptions & ReturnType<typeof checkRetention>;
  private retentionTimer?: NodeJS.Timeout;
  /** The prune round under way, if any: stop() waits for it. */
  private pruning?: Promise<void>;
  /** Aborted by stop(): a prune round ends after the workflow it is deleting. */
  private readonly stopPruning = new AbortController();

  constructor(options: WorkflowWorkerOptions) {
    if (typeof options?.runner?.resume !== 'function') {
      throw new InvalidOptionError('WorkflowWorker runner', options?.runner, 'a WorkflowRunner (with the workflow classes it may resume)');
    }
    const { pollIntervalMs = 1_000, concurrency = 10, onError } = options;
    if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 1) throw new InvalidOptionError('pollIntervalMs', pollIntervalMs, 'an integer >= 1');
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidOptionError('concurrency', concurrency, 'an integer >= 1');
    if (onError !== undefined && typeof onError !== 'function') throw new InvalidOptionError('onError', onError, 'a function (error, workflowId?) => void');
    if (options.migrate !== undefined && options.migrate !== 'auto' && options.migrate !== 'never') throw new InvalidOptionError('migrate', options.migrate, "'auto' or 'never'");
    this.autoMigrate = options.migrate === 'auto';
    this.runner = options.runner;
    this.pollIntervalMs = pollIntervalMs;
    this.concurrency = concurrency;
    this.onError = onError ?? defaultOnError;
    if (options.retention !== undefined) this.retention = { ...options.retention, ...checkRetention(options.retention) };
  }

  /** Where the worker is. */
  state(): WorkerState {
    return this.current;
  }

  /** Workflows this worker is resuming now. */
  running(): string[] {
    return [...this.inFlight.keys()];
  }

  /**
   * Runs `target` on a cron schedule: each slot as workflow `<workflowName>@<slot ISO time>`, so any
   * number of workers on one storage run each slot once (its record is created by one run only; the
   * others find it). The class must be registered with the runner (its `workflows` option), which
   * builds the instances. Call before {@link start}.
   */
  schedule<I = unknown>(target: Constructor, options: ScheduleOptions<I>): void {
    if (this.current !== 'created') throw new InvalidOptionError('WorkflowWorker state', this.current, "'created' (schedules are added before start())");
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('schedule options', options, '{ cron, timezone?, input?, overlap?, catchUp? }');
    const { workflowName } = buildGraph(target);
    this.runner.workflowInstance(workflowName);
    const slots = new CronSlots(options.cron, options.timezone);
    if (options.input !== undefined && typeof options.input !== 'function') throw new InvalidOptionError('schedule input', options.input, 'a function (slot: Date) => input');
    for (const [key, allowed] of [['overlap', ['skip', 'allow']], ['catchUp', ['latest', 'none']]] as const) {
      const value = options[key];
      if (value !== undefined && !(allowed as readonly string[]).includes(value)) throw new InvalidOptionError(`schedule ${key}`, value, allowed.map((a) => `'${a}'`).join(' or '));
    }
    this.schedules.push({ target, workflowName, slots, options: options as ScheduleOptions });
  }

  /**
   * Starts scanning: resolves once the first scan has started the due work (interrupted runs whose
   * lease is gone, due timers, delivered events, a missed schedule slot), without waiting for it to finish.
   */
  async start(): Promise<void> {
    if (this.current !== 'created') throw new InvalidOptionError('WorkflowWorker state', this.current, "'created' (a worker starts once)");
    this.current = 'running';
    const now = Date.now();
    for (const schedule of this.schedules) {
      const latest = schedule.options.catchUp === 'none' ? undefined : schedule.slots.latest(now);
      schedule.cursor = latest === undefined ? now : latest - 1;
    }
    this.unsubscribe = this.runner.onWake(() => void this.scan());
    // Stores that reach other processes wake this worker too when another process sends an event.
    const listen = this.runner.storage.listenWakes?.bind(this.runner.storage);
    if (listen !== undefined) {
      try {
        this.stopListening = await listen(() => {
          if (this.current === 'running') void this.scan();
        });
      } catch (error) {
        // Without notices the worker still finds every wake at its scans.
        this.onError(error);
      }
    }
    if (this.retention !== undefined && this.retention.ages.length > 0) this.pruneRound();
    await this.scan();
  }

  /** One round of retention (in the background), then the next one after the interval. */
  private pruneRound(): void {
    const retention = this.retention!;
    this.pruning = (async () => {
      const results: PruneResult[] = [];
      for (const [status, olderThan] of retention.ages) {
        if (this.current !== 'running') return;
        try {
          const result = await this.runner.prune({ olderThan, status, limit: retention.batch, signal: this.stopPruning.signal });
          for (const failure of result.failures) this.onError(failure.error, failure.workflowId);
          results.push(result);
        } catch (error) {
          // Storage down, say: the next round tries again.
          this.onError(error);
        }
      }
      try {
        retention.onPruned?.(results);
      } catch (error) {
        this.onError(error);
      }
    })().finally(() => {
      this.pruning = undefined;
      if (this.current !== 'running') return;
      this.retentionTimer = setTimeout(() => this.pruneRound(), retention.intervalMs);
      this.retentionTimer.unref();
    });
  }

  /**
   * Stops gracefully: takes no new work, lets running workflows go on for up to `deadlineMs`, then
   * interrupts them (they store no outcome and stay `'running'`); resolves when none of its runs is
   * running and their leases are released.
   */
  async stop(options: WorkerStopOptions = {}): Promise<void> {
    const { deadlineMs = 30_000 } = options;
    if (!(Number.isInteger(deadlineMs) && deadlineMs >= 0)) throw new InvalidOptionError('deadlineMs', deadlineMs, 'an integer >= 0');
    if (this.current === 'stopped' || this.current === 'stopping') return this.drained();
    this.current = 'stopping';
    clearTimeout(this.timer);
    clearTimeout(this.retentionTimer);
    this.stopPruning.abort();
    this.unsubscribe?.();
    await this.stopListening?.().catch((error: unknown) => this.onError(error));
    await this.scanning;
    await this.pruning;
    let deadline: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => (deadline = setTimeout(resolve, deadlineMs)));
    await Promise.race([this.drained(), timedOut]);
    clearTimeout(deadline);
    this.interrupt.abort(new RunInterruptedError('the worker stopped'));
    await this.drained();
    this.current = 'stopped';
  }

  private async drained(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  /** One scan of the wake index, starting due work up to the concurrency bound; scans again if asked meanwhile. */
  private scan(): Promise<void> {
    if (this.scanning !== undefined) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.rescan = false;
          await this.scanOnce();
        } while (this.rescan && this.current === 'running');
        this.failedScans = 0;
      } catch (error) {
        // The store did not answer: the next scan comes soon, not a whole (perhaps long) poll interval later.
        this.failedScans++;
        this.onError(error);
      } finally {
        this.scanning = undefined;
        this.scheduleScan();
      }
    })();
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    if (this.current !== 'running') return;
    this.fireSchedules();
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return;
    const now = Date.now();
    const { due, nextWakeAt } = await this.dueWork(free, now);
    this.nextWakeAt = nextWakeAt;
    await this.findDeadRuns(due, free, now);
    let started = 0;
    for (const [workflowId, entries] of due) {
      if (started === free || this.current !== 'running') break;
      started++;
      const work = this.process(workflowId, entries).finally(() => {
        this.inFlight.delete(workflowId);
        // A slot is free: there may be more due work than fitted.
        if (this.current === 'running') void this.scan();
      });
      this.inFlight.set(workflowId, work);
    }
  }

  /**
   * The due entries of up to `free` workflows not in hand, grouped by workflow (earliest first), and
   * the first entry not yet due, which times the next scan. A workflow with many due entries (many
   * events) or one this worker runs does not hide the others: the window grows past them.
   */
  private async dueWork(free: number, now: number): Promise<{ due: Map<string, WakeEntry[]>; nextWakeAt?: number }> {
    for (let limit = free + this.inFlight.size + 1; ; limit *= 4) {
      const entries = await this.runner.storage.dueWakes(Number.MAX_SAFE_INTEGER, limit);
      const due = new Map<string, WakeEntry[]>();
      for (const entry of entries) {
        if (entry.wakeAt > now || this.inFlight.has(entry.workflowId)) continue;
        const list = due.get(entry.workflowId);
        if (list === undefined) due.set(entry.workflowId, [entry]);
        else list.push(entry);
      }
      const nextWakeAt = entries.find((e) => e.wakeAt > now)?.wakeAt;
      // Enough workflows, the whole index read, or past what is due: this page says it all.
      if (due.size >= free || entries.length < limit || nextWakeAt !== undefined || limit >= MAX_SCAN_WINDOW) return { due, nextWakeAt };
    }
  }

  /**
   * Where the store can tell that a lease's owner died (FileStorage on this host), adds the runs it
   * held to `due`, at most once per {@link DEAD_SWEEP_MS}: a killed run is resumed in about a
   * second, not when its lease expires. Their recovery entries stay for the stores that cannot.
   */
  private async findDeadRuns(due: Map<string, WakeEntry[]>, free: number, now: number): Promise<void> {
    const { storage } = this.runner;
    if (storage.deadLeases === undefined || now - this.lastDeadSweep < DEAD_SWEEP_MS || due.size >= free) return;
    this.lastDeadSweep = now;
    for (const [workflowId, at] of this.retryLater) if (at <= now) this.retryLater.delete(workflowId);
    for (const workflowId of await storage.deadLeases(free + this.inFlight.size + this.retryLater.size)) {
      if (this.retryLater.has(workflowId)) continue;
      if (!due.has(workflowId) && !this.inFlight.has(workflowId)) due.set(workflowId, []);
    }
  }

  /** Scans again after the poll interval, or at the next schedule slot, due entry or retry of a failed scan if that comes first. */
  private scheduleScan(): void {
    clearTimeout(this.timer);
    if (this.current !== 'running') return;
    const now = Date.now();
    const slots = this.schedules.flatMap((s) => s.slots.next(Math.max(now, s.cursor ?? now)) ?? []);
    const times = this.nextWakeAt === undefined ? slots : [...slots, this.nextWakeAt];
    // A store that can tell a dead owner is looked at every DEAD_SWEEP_MS, whatever the poll interval.
    const sweep = this.runner.storage.deadLeases === undefined ? Infinity : this.lastDeadSweep + DEAD_SWEEP_MS - now;
    const retry = this.failedScans === 0 ? Infinity : Math.min(FAILED_SCAN_RETRY_MS * 2 ** (this.failedScans - 1), MAX_FAILED_SCAN_RETRY_MS);
    const wait = Math.min(this.pollIntervalMs, sweep, retry, ...times.map((at) => at - now + 1));
    this.timer = setTimeout(() => void this.scan(), Math.max(0, wait));
  }

  /** Starts a run for every slot of every schedule that came due since the last look. */
  private fireSchedules(): void {
    const now = Date.now();
    for (const schedule of this.schedules) {
      for (const slot of schedule.slots.between(schedule.cursor!, now)) this.fire(schedule, slot);
      schedule.cursor = now;
    }
  }

  private fire(schedule: Schedule, slot: number): void {
    const workflowId = slotWorkflowId(schedule.workflowName, slot);
    if (this.inFlight.has(workflowId)) return;
    const work = this.runSlot(schedule, slot, workflowId).finally(() => this.inFlight.delete(workflowId));
    this.inFlight.set(workflowId, work);
  }

  private async runSlot(schedule: Schedule, slot: number, workflowId: string): Promise<void> {
    const { storage } = this.runner;
    try {
      // Fired already, by this worker or another: its record exists.
      if ((await storage.readRecord(workflowId)) !== undefined) return;
      if (schedule.options.overlap !== 'allow') {
        // Decided once, under the slot's lease, by one worker: run, or skipped for the unfinished run.
        const previous = schedule.slots.latest(slot - 1);
        const previousId = previous === undefined ? undefined : slotWorkflowId(schedule.workflowName, previous);
        if ((await decideSlot(storage, workflowId, previousId, schedule.workflowName, `schedule (${defaultLeaseOwner()})`)) !== 'run') return;
      }
      const input = schedule.options.input?.(new Date(slot));
      await this.runner.run(this.runner.workflowInstance(schedule.workflowName), { workflowId, input, resume: true, onBusy: 'throw', signal: this.interrupt.signal });
    } catch (error) {
      // Another worker runs this slot, or the run's own outcome (stored in its record).
      if (error instanceof WorkflowBusyError || error instanceof WorkflowFailedError || error instanceof WorkflowCancelledError) return;
      this.onError(error, workflowId);
    }
  }

  /**
   * Looks at one workflow whose `entries` are due: resumes it if it is not finished, then drops the
   * entries unless its record still needs one. One run answers them all: each was due before it
   * started, so what it stood for (a timer, a stored event) is there for the run to see.
   */
  private async process(workflowId: string, entries: readonly WakeEntry[]): Promise<void> {
    const { storage } = this.runner;
    const [first] = entries;
    /** Removes the entries, but for `keep`: the one entry that still brings a worker back. */
    const drop = async (keep?: (entry: WakeEntry) => boolean) => {
      for (const entry of entries) if (keep?.(entry) !== true) await storage.removeWake(entry);
    };
    try {
      const stored = await storage.readRecord(workflowId);
      if (!wantsRun(stored?.record)) {
        // Ended: a child whose parent may not have heard, or a cancelled parent whose children may
        // not all be cancelled, has that done now (the run that ended it died first).
        if (stored !== undefined && needsFollowUp(stored.record)) await this.runner.followUp(workflowId);
        // Cleared, or finished: nothing to wake, unless the record changed since it was read (its
        // entry, put back, brings the next scan).
        await this.dropEnded(workflowId, entries);
        return;
      }
      try {
        await this.resumeOrMigrate(workflowId);
        this.toldStranded.delete(workflowId);
      } catch (error) {
        if (error instanceof WorkflowBusyError) {
          // Another process runs it: look again when its lease would have expired, in case it dies.
          if (first !== undefined) await this.moveWake(first, Math.max(error.expiresAt ?? 0, Date.now() + this.pollIntervalMs) + BUSY_MARGIN_MS);
          await drop((entry) => entry === first);
          return;
        }
        if (error instanceof WorkflowCancelledError && this.interrupt.signal.aborted) {
          // Interrupted by stop(): the next worker (in any process) takes it from here at once.
          await this.moveWake(first ?? { workflowId, wakeAt: Date.now() }, Date.now());
          await drop((entry) => entry === first);
          return;
        }
        if (!(error instanceof WorkflowFailedError) && !(error instanceof WorkflowCancelledError)) {
          // Not the run's own outcome (that is stored): a missing class, bad stored data, storage down.
          // A stranded run is told once: it stays stranded until a deploy or a migration moves it.
          const stranded = error instanceof WorkflowNotRegisteredError || error instanceof MigrationRefusedError;
          if (!stranded || !this.toldStranded.has(workflowId)) this.onError(error, workflowId);
          if (stranded) this.toldStranded.add(workflowId);
          // A dead owner's run (no entry) is left by this worker's sweeps for as long; its record's
          // recovery entry still brings any worker back.
          if (first === undefined) this.retryLater.set(workflowId, Date.now() + RETRY_LATER_MS);
          else await this.moveWake(first, Date.now() + RETRY_LATER_MS);
          await drop((entry) => entry === first);
          return;
        }
      }
      const after = (await storage.readRecord(workflowId))?.record;
      const needed = after !== undefined && isUnfinished(after.status) && after.wakeAt !== undefined ? Date.parse(after.wakeAt) : undefined;
      await drop((entry) => entry.wakeAt === needed);
    } catch (error) {
      // The entries stay: the next scan tries again.
      this.onError(error, workflowId);
    }
  }

  /**
   * Resumes `workflowId`; with `migrate: 'auto'`, a run whose version this worker lacks, but whose
   * name it has, is moved to the newest version first (a refusal throws `MigrationRefusedError`).
   */
  private async resumeOrMigrate(workflowId: string): Promise<void> {
    const options = { signal: this.interrupt.signal, onBusy: 'throw' as const };
    try {
      await this.runner.resume(workflowId, options);
    } catch (error) {
      if (!this.autoMigrate || !(error instanceof WorkflowNotRegisteredError) || !this.runner.isRegistered(error.workflowName)) throw error;
      await this.runner.migrate(workflowId);
      await this.runner.resume(workflowId, options);
    }
  }

  /**
   * Drops the entries of a workflow read as ended or cleared. When the record read again after is
   * no longer ended (a failed child its parent retries, a run started over it), the entry it needs
   * is put back, and the next scan runs it. A writer that makes an ended record wait again adds the
   * entry, writes the record and adds the entry again (see RunRecord): whichever of the two this
   * removal follows, the entry is there after both, without taking the lease (which would make a
   * user's `resume` of a just-failed run busy). A dead owner's lock left behind on a workflow that
   * has no entries goes too, or the store would name it again at every sweep.
   */
  private async dropEnded(workflowId: string, entries: readonly WakeEntry[]): Promise<void> {
    const { storage } = this.runner;
    for (const entry of entries) await storage.removeWake(entry);
    const again = (await storage.readRecord(workflowId))?.record;
    if (wantsRun(again)) {
      await storage.addWake({ workflowId, wakeAt: again?.wakeAt === undefined ? Date.now() : Date.parse(again.wakeAt) });
      return;
    }
    if (entries.length === 0) {
      const attempt = await storage.acquireLease(workflowId, `worker (${defaultLeaseOwner()})`, BUSY_MARGIN_MS * 40);
      if (attempt.acquired) await storage.releaseLease(attempt.lease);
    }
  }

  /** Replaces `entry` by one at `wakeAt` (added first: a crash between leaves both, never neither). */
  private async moveWake(entry: WakeEntry, wakeAt: number): Promise<void> {
    await this.runner.storage.addWake({ workflowId: entry.workflowId, wakeAt });
    if (Math.floor(wakeAt) !== entry.wakeAt) await this.runner.storage.removeWake(entry);
  }
}

/**
 * True when a worker runs the workflow `record` names: it is unfinished, or it failed and a run was
 * asked for (`waymark resume`, `runner.requestResume`), which resumes it like an unfinished one.
 */
function wantsRun(record: WorkflowRecord | undefined): boolean {
  if (record === undefined) return false;
  const status = statusOf(record);
  return isUnfinished(status) || (status === 'failed' && record.resumeRequested !== undefined);
}

function defaultOnError(error: unknown, workflowId?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`waymark worker${workflowId === undefined ? '' : `, workflow '${workflowId}'`}: ${message}`, {
    code: error instanceof WaymarkError ? error.code : 'WAYMARK_WORKER_ERROR',
  });
}
