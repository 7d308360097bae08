/**
 * The consumer side of `waymark/bullmq`: a BullMQ worker whose processor resumes workflows through
 * a runner. BullMQ delivers at least once; the runner's lease and checkpoints make each step commit
 * once. The queue does the delivery, waymark the durability:
 * - every delivery resumes (committed steps are skipped, a finished workflow answers at once);
 * - a delivery that finds its workflow busy is delayed, without consuming an attempt;
 * - a waiting workflow is woken by a delayed job at its wake time, or at once by an event;
 * - terminal errors fail the job for good, others are retried by the job's retry budget;
 * - a lost job lock or a closing deadline stops the run at its next step boundary; the workflow
 *   stays running and its job is delivered again.
 */
import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { decodeValue, encodeValue, type EncodedValue } from '../checkpoint-codec';
import { InvalidOptionError, LeaseLostError, RunInterruptedError, StepFailedError, WaymarkError, WorkflowBusyError, WorkflowCancelledError, WorkflowFailedError, WorkflowNotFoundError, WorkflowNotRegisteredError, WorkflowVersionMismatchError } from '../errors';
import type { RunResult } from '../runner/run-result';
import type { WorkflowRunner } from '../runner/workflow-runner';
import { slotWorkflowId } from '../worker/cron-slots';
import { jobFailure } from './job-failure';
import { parseJobData, timerDedupId, type WaymarkJobData, type WakeJobData } from './job-data';
import { resolveJobOptions, type WorkflowJobOptions } from './job-options';
import { resolveWorkerSettings, type QueueWorkerSettings, type ResolvedQueueWorkerSettings } from './queue-settings';

/** Options of a {@link QueueWorker}. */
export interface QueueWorkerOptions {
  /** How to reach Redis: BullMQ's `connection` (ioredis options or an ioredis instance). */
  readonly connection: ConnectionOptions;
  /** The BullMQ queue's name, as given to the {@link WorkflowQueue}. */
  readonly queue: string;
  /** The runner that runs the jobs' workflows: it knows their classes (runner option `workflows`). */
  readonly runner: WorkflowRunner;
  /** Jobs run at once by this worker; default 10. */
  readonly concurrency?: number;
  /** BullMQ key prefix; default BullMQ's (`bull`). */
  readonly prefix?: string;
  /** BullMQ worker settings (lock, stalled check); those that cannot work are refused here. */
  readonly settings?: QueueWorkerSettings;
  /** Options of the wake jobs this worker adds (a waiting workflow's timer); default the queue defaults. */
  readonly jobOptions?: WorkflowJobOptions;
  /**
   * How soon a wake job that found its workflow busy looks again, ms; default 1,000. (A start job
   * that finds it busy waits for the holder's lease to expire: a duplicate delivery then finds it
   * finished and completes with the stored result.)
   */
  readonly busyRecheckMs?: number;
  /** The longest one delay of a wake job, ms; default 7 days. A longer wait is delayed again when it comes back early. */
  readonly maxDelayMs?: number;
  /** Told of what the worker cannot report through a job (a Redis error, a lost lock). Default: a process warning. */
  readonly onError?: (error: unknown, workflowId?: string) => void;
  /**
   * `'auto'`: a job whose run is pinned to a version this worker does not register is moved to the
   * newest one it does (`runner.migrate`, checked before it writes) and run. `'never'` (default): the
   * job fails for good with `WorkflowNotRegisteredError` and the run is left stranded, untouched, for
   * `waymark migrate` (then `queue.wake(id)`).
   */
  readonly migrate?: 'auto' | 'never';
}

/** Options of {@link QueueWorker.close}. */
export interface QueueWorkerCloseOptions {
  /**
   * How long running jobs may take to finish, ms; default 30,000. Then their runs are interrupted
   * at the next step boundary (a step's `signal` is aborted): each workflow stays running, its lease
   * is released and its job goes back to the queue for the next worker, without using an attempt.
   */
  readonly deadlineMs?: number;
}

/** What a waymark job completes with (BullMQ's `returnvalue`). */
export interface QueueJobResult {
  readonly workflowId: string;
  /** `'completed'`; `'waiting'` (a timer or an event will wake it); `'not-found'` (a wake job of a cleared workflow); `'cancelled'` (cancelled by id: nothing ran). */
  readonly status: 'completed' | 'waiting' | 'not-found' | 'cancelled';
  /**
   * The workflow's output as waymark stores it: plain JSON as it is, other values (Date, BigInt, Map,
   * Set, undefined...) tagged. `runner.get(workflowId)` gives it decoded, with its types.
   */
  readonly output?: EncodedValue;
  readonly wakeAt?: string;
  readonly waitingFor?: readonly string[];
}

/** Where a worker is: running → closing → closed. */
export type QueueWorkerState = 'running' | 'closing' | 'closed';

/** Added to a busy workflow's lease expiry before its start job looks again. */
const BUSY_MARGIN_MS = 250;
/**
 * Wake jobs due within this many ms are also promoted by a timer of the process that added them:
 * Redis times out a worker's blocking wait for a delayed job only at its `hz` resolution (100 ms
 * by default), while a promoted job is handed to a waiting worker at once. BullMQ's own promotion
 * stays the fallback (the process may die before its timer fires).
 */
const LOCAL_PROMOTE_MS = 60_000;
/** Times a run that ended waiting is run again at once because an event arrived while it decided to wait. */
const MAX_WAKE_ROUNDS = 10;

/** Runs the waymark jobs of one BullMQ queue through a runner. */
export class QueueWorker {
  /** The BullMQ worker underneath (for its events and metrics). */
  readonly worker: Worker<WaymarkJobData, QueueJobResult>;
  /** The resolved BullMQ settings this worker runs with. */
  readonly settings: ResolvedQueueWorkerSettings;
  private readonly runner: WorkflowRunner;
  private readonly autoMigrate: boolean;
  private readonly queue: Queue;
  private readonly busyRecheckMs: number;
  private readonly maxDelayMs: number;
  private readonly onError: (error: unknown, workflowId?: string) => void;
  private readonly jobOptions;
  /** Running jobs: their runs' abort controllers, by job id. */
  private readonly runs = new Map<string, { readonly controller: AbortController; lockLost: boolean }>();
  /** Timers that promote this worker's wake jobs when they come due. */
  private readonly promotions = new Set<NodeJS.Timeout>();
  private current: QueueWorkerState = 'running';
  /** Workflows this worker runs now, by id (with how many of its jobs run each). */
  private readonly running = new Map<string, number>();
  /** The wake job this worker queued last for a workflow, until it starts: another wake meanwhile queues nothing. */
  private readonly queuedWakes = new Map<string, Job>();
  private readonly stopWakes: () => void;
  /** Wake jobs being queued: a job settles only once those its run caused are in the queue. */
  private readonly wakesInFlight = new Set<Promise<void>>();
  /** Workflows woken while this worker ran them. */
  private readonly wokenWhileRunning = new Set<string>();
  private closed?: Promise<void>;
  /** Set when close()'s deadline passed: a run that starts after it is interrupted at once. */
  private interruption?: RunInterruptedError;

  constructor(options: QueueWorkerOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('QueueWorker options', options, '{ connection, queue, runner, concurrency?, settings? }');
    const { runner, concurrency = 10, busyRecheckMs = 1_000, maxDelayMs = 7 * 86_400_000, onError } = options;
    if (typeof runner?.resume !== 'function' || typeof runner?.workflowInstance !== 'function') throw new InvalidOptionError('runner', runner, 'a WorkflowRunner that knows the workflow classes (runner option workflows)');
    if (typeof options.queue !== 'string' || options.queue.length === 0 || options.queue.includes(':')) throw new InvalidOptionError('queue', options.queue, "the BullMQ queue's name: a non-empty string without ':'");
    if (options.connection === undefined || options.connection === null) throw new InvalidOptionError('connection', options.connection, "BullMQ's connection: ioredis options ({ host, port }) or an ioredis instance");
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidOptionError('concurrency', concurrency, 'an integer >= 1');
    if (!Number.isInteger(busyRecheckMs) || busyRecheckMs < 1) throw new InvalidOptionError('busyRecheckMs', busyRecheckMs, 'an integer >= 1 (ms)');
    if (!Number.isInteger(maxDelayMs) || maxDelayMs < 1) throw new InvalidOptionError('maxDelayMs', maxDelayMs, 'an integer >= 1 (ms)');
    if (onError !== undefined && typeof onError !== 'function') throw new InvalidOptionError('onError', onError, 'a function (error, workflowId?) => void');
    if (options.migrate !== undefined && options.migrate !== 'auto' && options.migrate !== 'never') throw new InvalidOptionError('migrate', options.migrate, "'auto' or 'never'");
    this.autoMigrate = options.migrate === 'auto';
    this.settings = resolveWorkerSettings(options.settings);
    this.jobOptions = resolveJobOptions(options.jobOptions, 'jobOptions');
    this.runner = runner;
    this.busyRecheckMs = busyRecheckMs;
    this.maxDelayMs = maxDelayMs;
    this.onError = onError ?? defaultOnError;
    const prefix = options.prefix === undefined ? {} : { prefix: options.prefix };
    this.queue = new Queue(options.queue, { connection: options.connection, ...prefix });
    this.queue.on('error', (error) => this.onError(error));
    // The processor takes (job, token) only: waymark aborts its runs' signals itself (BullMQ aborts
    // only on an explicit cancel, not when a lock is lost).
    this.worker = new Worker<WaymarkJobData, QueueJobResult>(options.queue, (job, token) => this.process(job, token), {
      connection: options.connection,
      ...prefix,
      concurrency,
      ...this.settings,
    });
    this.worker.on('error', (error) => this.onError(error));
    // A workflow this process's runner wakes (a child workflow a step started, a parent whose child
    // ended here) is resumed through the queue, by whichever worker takes the job.
    this.stopWakes = runner.onWake((id) => {
      const queued = this.queueWake(id).catch((error: unknown) => this.onError(error, id));
      this.wakesInFlight.add(queued);
      void queued.finally(() => this.wakesInFlight.delete(queued));
    });
    this.worker.on('lockRenewalFailed', (jobIds: string[]) => {
      for (const jobId of jobIds) {
        const run = this.runs.get(jobId);
        if (run === undefined) continue;
        run.lockLost = true;
        run.controller.abort(new RunInterruptedError(`the queue lost the lock of job '${jobId}'`));
      }
    });
  }

  /** Where the worker is. */
  state(): QueueWorkerState {
    return this.current;
  }

  /** Resolves once the worker is connected and taking jobs. */
  async ready(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /**
   * Closes gracefully (call it on SIGTERM): takes no new jobs, lets running ones finish for up to
   * `deadlineMs`, then interrupts them at their next step boundary; resolves when no run of this
   * worker is running and every lease it held is released.
   */
  close(options: QueueWorkerCloseOptions = {}): Promise<void> {
    const { deadlineMs = 30_000 } = options ?? {};
    if (!(Number.isInteger(deadlineMs) && deadlineMs >= 0)) throw new InvalidOptionError('deadlineMs', deadlineMs, 'an integer >= 0 (ms)');
    return (this.closed ??= (async () => {
      this.current = 'closing';
      this.stopWakes();
      for (const timer of this.promotions) clearTimeout(timer);
      this.promotions.clear();
      const deadline = setTimeout(() => {
        this.interruption = new RunInterruptedError('the queue worker closed');
        for (const run of this.runs.values()) run.controller.abort(this.interruption);
      }, deadlineMs);
      try {
        await this.worker.close();
      } finally {
        clearTimeout(deadline);
        await this.queue.close().catch((error: unknown) => this.onError(error));
        this.current = 'closed';
      }
    })());
  }

  private async process(job: Job<WaymarkJobData, QueueJobResult>, token: string | undefined): Promise<QueueJobResult> {
    const jobId = job.id!;
    const run = { controller: new AbortController(), lockLost: false };
    if (this.interruption !== undefined) run.controller.abort(this.interruption);
    this.runs.set(jobId, run);
    try {
      let data: WaymarkJobData;
      try {
        data = parseJobData(jobId, job.data);
      } catch (error) {
        throw jobFailure(error);
      }
      const id = data.kind === 'slot' ? slotWorkflowId(data.workflowName, job.opts.prevMillis ?? job.timestamp) : data.workflowId;
      if (this.queuedWakes.get(id)?.id === jobId) this.queuedWakes.delete(id);
      this.running.set(id, (this.running.get(id) ?? 0) + 1);
      try {
        return await this.deliver(job, token, data, id, run);
      } finally {
        const left = this.running.get(id)! - 1;
        if (left > 0) this.running.set(id, left);
        else {
          this.running.delete(id);
          // Woken while it ran: the run may have looked before the wake, so a job looks again.
          if (this.wokenWhileRunning.delete(id)) await this.queueWake(id).catch((error: unknown) => this.onError(error, id));
        }
      }
    } finally {
      this.runs.delete(jobId);
    }
  }

  /** One delivery of a job for workflow `workflowId`: runs it and settles the job. */
  private async deliver(job: Job<WaymarkJobData, QueueJobResult>, token: string | undefined, data: WaymarkJobData, id: string, run: { controller: AbortController; lockLost: boolean }): Promise<QueueJobResult> {
    let result: RunResult;
    try {
      result = await this.runUntilSettled(data, id, run.controller.signal);
    } catch (error) {
      await Promise.all(this.wakesInFlight);
      return await this.failed(job, token, data, id, error, run);
    }
    // The workflows this run woke (children it started, a parent it ended for) are queued before the
    // job settles: should this process die first, the job is delivered again and wakes them again.
    await Promise.all(this.wakesInFlight);
    // Encoded as waymark stores it: plain JSON unchanged, Dates, BigInts, Maps... tagged (BullMQ's JSON would fail on some, mangle others).
    if (result.status === 'completed') return { workflowId: id, status: 'completed', output: encodeValue(result.output) };
    return await this.waiting(job, token, id, result);
  }

  /**
   * Queues a job that resumes `workflowId` now, unless a job this worker queued for it has not
   * started yet (that job's run starts after this wake, so it sees what the wake stands for). One
   * this worker runs now gets its job once the run ends.
   */
  private async queueWake(workflowId: string): Promise<void> {
    if (this.current !== 'running') return;
    if (this.running.has(workflowId)) {
      this.wokenWhileRunning.add(workflowId);
      return;
    }
    const queued = this.queuedWakes.get(workflowId);
    if (queued !== undefined && ['waiting', 'delayed', 'prioritized', 'waiting-children'].includes(await queued.getState())) return;
    const data: WakeJobData = { waymark: 1, kind: 'wake', workflowId };
    this.queuedWakes.set(workflowId, await this.queue.add('wake', data, this.jobOptions));
  }

  /** Runs the workflow; runs it again at once while an event arrived as it decided to wait. */
  private async runUntilSettled(data: WaymarkJobData, workflowId: string, signal: AbortSignal): Promise<RunResult> {
    for (let round = 1; ; round++) {
      let woken = false;
      const unsubscribe = this.runner.onWake((id) => (woken ||= id === workflowId));
      let result: RunResult;
      try {
        result = await this.runOnce(data, workflowId, signal);
      } finally {
        unsubscribe();
      }
      if (result.status !== 'waiting' || !woken || round === MAX_WAKE_ROUNDS || signal.aborted) return result;
    }
  }

  private async runOnce(data: WaymarkJobData, workflowId: string, signal: AbortSignal): Promise<RunResult> {
    try {
      return await this.runPinned(data, workflowId, signal);
    } catch (error) {
      // A run pinned to a version this worker lacks: moved to the newest it has, when told to.
      if (!this.autoMigrate || !(error instanceof WorkflowNotRegisteredError) || !this.runner.isRegistered(error.workflowName)) throw error;
      await this.runner.migrate(workflowId);
      return this.runPinned(data, workflowId, signal);
    }
  }

  /** Runs the job's workflow: a start job with the newest version, or with the version its stored run is pinned to. */
  private async runPinned(data: WaymarkJobData, workflowId: string, signal: AbortSignal): Promise<RunResult> {
    if (data.kind === 'wake') return this.runner.resume(workflowId, { onBusy: 'throw', signal });
    const input = decodeValue(data.input, 'input');
    try {
      return await this.runner.run(this.runner.workflowInstance(data.workflowName, workflowId), { workflowId, input, resume: true, onBusy: 'throw', signal });
    } catch (error) {
      // A delivery of a run that started on another version goes on on that version (pinned).
      if (!(error instanceof WorkflowVersionMismatchError)) throw error;
      return this.runner.run(this.runner.workflowInstance(data.workflowName, workflowId, error.storedVersion), { workflowId, input, resume: true, onBusy: 'throw', signal });
    }
  }

  /** A run ended waiting: a delayed job wakes it at its wake time (one per workflow and time). */
  private async waiting(job: Job, token: string | undefined, workflowId: string, result: RunResult): Promise<QueueJobResult> {
    const outcome: QueueJobResult = { workflowId, status: 'waiting', ...(result.wakeAt === undefined ? {} : { wakeAt: result.wakeAt }), waitingFor: result.waitingFor ?? [] };
    // Waiting for events only: the event's sender queues the job that wakes it.
    if (result.wakeAt === undefined) return outcome;
    const wakeAt = Date.parse(result.wakeAt);
    const dedupId = timerDedupId(workflowId, wakeAt);
    const until = Math.min(wakeAt, Date.now() + this.maxDelayMs);
    if (job.deduplicationId === dedupId) {
      // This job is that wake job, back before its time (a wait longer than maxDelayMs): delayed again.
      await job.moveToDelayed(until, token);
      throw new DelayedError();
    }
    const data: WakeJobData = { waymark: 1, kind: 'wake', workflowId };
    const delay = Math.max(0, until - Date.now());
    const wake = await this.queue.add('wake', data, { ...this.jobOptions, delay, deduplication: { id: dedupId } });
    if (delay > 0 && delay <= LOCAL_PROMOTE_MS && this.current === 'running') {
      const timer = setTimeout(() => {
        this.promotions.delete(timer);
        // Already promoted, taken or removed (by another worker, or BullMQ itself): nothing to do.
        wake.promote().catch(() => undefined);
      }, delay);
      timer.unref();
      this.promotions.add(timer);
    }
    return outcome;
  }

  /** The run did not settle: delay the job (busy, interrupted), or fail it (for good when terminal). */
  private async failed(job: Job, token: string | undefined, data: WaymarkJobData, workflowId: string, error: unknown, run: { controller: AbortController; lockLost: boolean }): Promise<QueueJobResult> {
    if (error instanceof WorkflowBusyError) {
      const now = Date.now();
      const expiry = error.expiresAt !== undefined && Number.isFinite(error.expiresAt) ? error.expiresAt : now + this.busyRecheckMs;
      await job.moveToDelayed(data.kind === 'wake' ? Math.min(expiry, now + this.busyRecheckMs) : Math.max(expiry, now) + BUSY_MARGIN_MS, token);
      throw new DelayedError();
    }
    const interrupted = error instanceof WorkflowCancelledError && run.controller.signal.aborted;
    if (error instanceof WorkflowCancelledError && !interrupted) {
      // Cancelled by id (runner.cancel): nothing runs again, but what it committed may be undone first.
      if ((await this.runner.storage.readRecord(workflowId))?.record.status === 'compensating') {
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      return { workflowId, status: 'cancelled' };
    }
    if (interrupted || leaseLost(error)) {
      // The job's lock is gone: BullMQ's stalled check delivers it again. Otherwise it goes back now.
      if (run.lockLost) throw new Error(`${(run.controller.signal.reason as Error).message}; the workflow stays running and the job is delivered again`);
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    if (error instanceof WorkflowNotFoundError && data.kind === 'wake') return { workflowId, status: 'not-found' };
    throw jobFailure(error);
  }
}

/** True when the run stopped because its lease was lost: not the workflow's failure, and not an attempt. */
function leaseLost(error: unknown): boolean {
  if (error instanceof LeaseLostError) return true;
  if (!(error instanceof WorkflowFailedError)) return false;
  return error.cause instanceof LeaseLostError || (error.cause instanceof StepFailedError && error.cause.cause instanceof LeaseLostError);
}

function defaultOnError(error: unknown, workflowId?: string): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`waymark queue worker${workflowId === undefined ? '' : `, workflow '${workflowId}'`}: ${message}`, {
    code: error instanceof WaymarkError ? error.code : 'WAYMARK_QUEUE_WORKER_ERROR',
  });
}
