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
import { InvalidOptionError, RunInterruptedError, WaymarkError, WorkflowBusyError, WorkflowCancelledError, WorkflowFailedError } from '../errors';
import type { WorkflowRunner } from '../runner/workflow-runner';
import { statusOf } from '../runner/workflow-info';
import type { WakeEntry } from '../storage/records';

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
   * storage error during a scan): the work is retried later. Default: a process warning.
   */
  readonly onError?: (error: unknown, workflowId?: string) => void;
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

/** Where a worker is: created → running → stopping → stopped. */
export type WorkerState = 'created' | 'running' | 'stopping' | 'stopped';

/** How long a workflow whose resume failed for a reason the worker cannot fix waits before it is tried again. */
const RETRY_LATER_MS = 60_000;
/** Added to a busy workflow's lease expiry before it is looked at again. */
const BUSY_MARGIN_MS = 250;

/** Resumes interrupted and waiting workflows of one storage, from any number of processes. */
export class WorkflowWorker {
  private readonly runner: WorkflowRunner;
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

  constructor(options: WorkflowWorkerOptions) {
    if (options === null || typeof options !== 'object' || typeof options.runner?.resume !== 'function') {
      throw new InvalidOptionError('WorkflowWorker runner', options?.runner, 'a WorkflowRunner (with the workflow classes it may resume)');
    }
    const { pollIntervalMs = 1_000, concurrency = 10, onError } = options;
    if (!Number.isInteger(pollIntervalMs) || pollIntervalMs < 1) throw new InvalidOptionError('pollIntervalMs', pollIntervalMs, 'an integer >= 1');
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidOptionError('concurrency', concurrency, 'an integer >= 1');
    if (onError !== undefined && typeof onError !== 'function') throw new InvalidOptionError('onError', onError, 'a function (error, workflowId?) => void');
    this.runner = options.runner;
    this.pollIntervalMs = pollIntervalMs;
    this.concurrency = concurrency;
    this.onError = onError ?? defaultOnError;
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
   * Starts scanning: resolves once the first scan has started the due work (interrupted runs whose
   * lease is gone, due timers, delivered events), without waiting for it to finish.
   */
  async start(): Promise<void> {
    if (this.current !== 'created') throw new InvalidOptionError('WorkflowWorker state', this.current, "'created' (a worker starts once)");
    this.current = 'running';
    this.unsubscribe = this.runner.onWake(() => void this.scan());
    await this.scan();
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
    this.unsubscribe?.();
    await this.scanning;
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
      } catch (error) {
        this.onError(error);
      } finally {
        this.scanning = undefined;
        this.schedule();
      }
    })();
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0 || this.current !== 'running') return;
    // Entries of workflows already in hand come back too: ask for enough to fill the free slots.
    const due = await this.runner.storage.dueWakes(Date.now(), free + this.inFlight.size);
    let started = 0;
    for (const entry of due) {
      if (started === free || this.current !== 'running') break;
      if (this.inFlight.has(entry.workflowId)) continue;
      started++;
      const work = this.process(entry).finally(() => {
        this.inFlight.delete(entry.workflowId);
        // A slot is free: there may be more due work than fitted.
        if (this.current === 'running') void this.scan();
      });
      this.inFlight.set(entry.workflowId, work);
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    if (this.current === 'running') this.timer = setTimeout(() => void this.scan(), this.pollIntervalMs);
  }

  /** Looks at one due entry's workflow: resumes it if it is not finished, then drops the entry unless its record still needs it. */
  private async process(entry: WakeEntry): Promise<void> {
    const { storage } = this.runner;
    const { workflowId } = entry;
    try {
      const stored = await storage.readRecord(workflowId);
      const status = stored === undefined ? undefined : statusOf(stored.record);
      if (status !== 'running' && status !== 'waiting') {
        // Cleared, or finished: nothing to wake.
        await storage.removeWake(entry);
        return;
      }
      try {
        await this.runner.resume(workflowId, { signal: this.interrupt.signal, onBusy: 'throw' });
      } catch (error) {
        if (error instanceof WorkflowBusyError) {
          // Another process runs it: look again when its lease would have expired, in case it dies.
          await this.moveWake(entry, Math.max(error.expiresAt ?? 0, Date.now() + this.pollIntervalMs) + BUSY_MARGIN_MS);
          return;
        }
        if (error instanceof WorkflowCancelledError && this.interrupt.signal.aborted) {
          // Interrupted by stop(): the next worker (in any process) takes it from here at once.
          await this.moveWake(entry, Date.now());
          return;
        }
        if (!(error instanceof WorkflowFailedError) && !(error instanceof WorkflowCancelledError)) {
          // Not the run's own outcome (that is stored): a missing class, bad stored data, storage down.
          this.onError(error, workflowId);
          await this.moveWake(entry, Date.now() + RETRY_LATER_MS);
          return;
        }
      }
      const after = (await storage.readRecord(workflowId))?.record;
      const stillNeeded = after !== undefined && (after.status === 'waiting' || after.status === 'running') && after.wakeAt !== undefined && Date.parse(after.wakeAt) === entry.wakeAt;
      if (!stillNeeded) await storage.removeWake(entry);
    } catch (error) {
      // The entry stays: the next scan tries again.
      this.onError(error, workflowId);
    }
  }

  /** Replaces `entry` by one at `wakeAt` (added first: a crash between leaves both, never neither). */
  private async moveWake(entry: WakeEntry, wakeAt: number): Promise<void> {
    await this.runner.storage.addWake({ workflowId: entry.workflowId, wakeAt });
    if (Math.floor(wakeAt) !== entry.wakeAt) await this.runner.storage.removeWake(entry);
  }
}

function defaultOnError(error: unknown, workflowId?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`waymark worker${workflowId === undefined ? '' : `, workflow '${workflowId}'`}: ${message}`, {
    code: error instanceof WaymarkError ? error.code : 'WAYMARK_WORKER_ERROR',
  });
}
