/**
 * The producer side of `waymark/bullmq`: adds workflow jobs to a BullMQ queue (idempotently per
 * workflow and input), wakes waiting workflows when events arrive, and schedules cron workflows
 * with BullMQ job schedulers. A {@link QueueWorker} runs the jobs.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { encodeValue, UnencodableValue } from '../checkpoint-codec';
import { InputSerializationError, InvalidOptionError } from '../errors';
import { buildGraph } from '../graph';
import type { Constructor } from '../metadata';
import type { CancelOptions, CancelResult, MigrateOptions, MigrationResult, RestartOptions, RestartResult, SendEventOptions, SendEventResult, WorkflowRunner } from '../runner/workflow-runner';
import { CronSlots } from '../worker/cron-slots';
import { assertWorkflowId } from '../workflow-id';
import { eventDedupId, startDedupId, type SlotJobData, type StartJobData, type WakeJobData } from './job-data';
import { resolveJobOptions, type WorkflowJobOptions } from './job-options';

/** Options of a {@link WorkflowQueue}. */
export interface WorkflowQueueOptions {
  /** How to reach Redis: BullMQ's `connection` (ioredis options or an ioredis instance). */
  readonly connection: ConnectionOptions;
  /** The BullMQ queue's name (no `:`); the {@link QueueWorker} takes the same. */
  readonly name: string;
  /** BullMQ key prefix; default BullMQ's (`bull`). */
  readonly prefix?: string;
  /** The runner whose storage holds the workflows: needed by {@link WorkflowQueue.sendEvent}. */
  readonly runner?: WorkflowRunner;
  /** Options of every job this queue adds (retry budget, retention in Redis). */
  readonly jobOptions?: WorkflowJobOptions;
}

/** Options of {@link WorkflowQueue.enqueue}. */
export interface EnqueueOptions<I = unknown> {
  /** The workflow's id: its namespace in the storage, and what makes the job idempotent. */
  readonly workflowId: string;
  /** The workflow's input (checked by the class's input class, fingerprinted, stored). */
  readonly input?: I;
  /** Start no sooner than this many ms from now. */
  readonly delayMs?: number;
  /** BullMQ priority (1 is the highest; none by default). */
  readonly priority?: number;
  /**
   * Your own BullMQ job id (no `:`), instead of waymark's deduplication: each distinct id is a
   * delivery of its own (the lease still runs the workflow once at a time, and its steps once).
   */
  readonly jobId?: string;
  /** This job's options over the queue's `jobOptions`. */
  readonly jobOptions?: WorkflowJobOptions;
}

/** What {@link WorkflowQueue.enqueue} resolves with. */
export interface EnqueueResult {
  /** The BullMQ job that will run the workflow: the one just added, or the one already queued. */
  readonly jobId: string;
  /** True when a job for this workflow and input was queued or running already: nothing was added. */
  readonly duplicate: boolean;
}

/** Options of {@link WorkflowQueue.schedule}. */
export interface QueueScheduleOptions<I = unknown> {
  /** A cron pattern (5 fields, or 6 with seconds first). */
  readonly cron: string;
  /** The IANA time zone the pattern is read in; default the workers' process time zone. */
  readonly timezone?: string;
  /** The input of every slot's run (each slot runs as workflow `<workflowName>@<slot ISO time>`). */
  readonly input?: I;
  /** The BullMQ job scheduler's id; default the workflow's name. Scheduling again under one id replaces it. */
  readonly id?: string;
}

/** Adds waymark workflow jobs to one BullMQ queue. */
export class WorkflowQueue {
  /** The BullMQ queue underneath (for metrics, pausing, cleaning). */
  readonly queue: Queue;
  private readonly runner?: WorkflowRunner;
  private readonly jobOptions: JobsOptions;

  constructor(options: WorkflowQueueOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('WorkflowQueue options', options, '{ connection, name, runner?, prefix?, jobOptions? }');
    assertQueueName(options.name);
    if (options.connection === undefined || options.connection === null) throw new InvalidOptionError('connection', options.connection, "BullMQ's connection: ioredis options ({ host, port }) or an ioredis instance");
    if (options.runner !== undefined && typeof options.runner?.sendEvent !== 'function') throw new InvalidOptionError('runner', options.runner, 'a WorkflowRunner');
    this.jobOptions = resolveJobOptions(options.jobOptions, 'jobOptions');
    this.runner = options.runner;
    this.queue = new Queue(options.name, { connection: options.connection, ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
  }

  /**
   * Queues a run of `target` as workflow `workflowId`. Idempotent while queued or running: a second
   * enqueue of the same workflow with the same input adds nothing and resolves `duplicate: true`. A
   * different input is queued (the workflow's `@OnInputChange` policy decides about it when it runs);
   * so is an enqueue after the workflow finished, whose job completes at once with the stored output.
   */
  async enqueue<I = unknown>(target: Constructor, options: EnqueueOptions<I>): Promise<EnqueueResult> {
    if (typeof target !== 'function') throw new InvalidOptionError('workflow class', target, 'a class with @Step() methods');
    const { workflowName } = buildGraph(target);
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('enqueue options', options, '{ workflowId, input?, delayMs?, priority?, jobId?, jobOptions? }');
    const { workflowId, delayMs, priority, jobId } = options;
    assertWorkflowId(workflowId);
    if (delayMs !== undefined && !(Number.isInteger(delayMs) && delayMs >= 0)) throw new InvalidOptionError('delayMs', delayMs, 'an integer >= 0 (ms)');
    if (priority !== undefined && !(Number.isInteger(priority) && priority >= 1 && priority <= 2_097_152)) throw new InvalidOptionError('priority', priority, 'an integer from 1 (highest) to 2097152');
    if (jobId !== undefined && (typeof jobId !== 'string' || jobId.length === 0 || jobId.includes(':') || /^\d+$/.test(jobId))) {
      throw new InvalidOptionError('jobId', jobId, "a string without ':' that is not an integer (BullMQ's rule for custom job ids)");
    }
    let input;
    try {
      input = encodeValue(options.input, 'input');
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new InputSerializationError(workflowId, error.path, error.reason);
    }
    const data: StartJobData = { waymark: 1, kind: 'start', workflowId, workflowName, input };
    const opts: JobsOptions = {
      ...this.jobOptions,
      ...(options.jobOptions === undefined ? {} : resolveJobOptions({ ...this.jobOptions, ...options.jobOptions } as WorkflowJobOptions, 'jobOptions')),
      ...(delayMs === undefined ? {} : { delay: delayMs }),
      ...(priority === undefined ? {} : { priority }),
      ...(jobId === undefined ? { deduplication: { id: startDedupId(workflowId, input) } } : { jobId }),
    };
    return this.add('start', data, opts);
  }

  /**
   * Sends an event to workflow `workflowId` through the runner (stored durably, idempotent by
   * `eventId`), then, when the workflow waits for it, queues a job that resumes it now: it goes on at
   * once, on any worker. A send again with the same `eventId` queues a job only while the event is
   * still awaited (`wakes`), so a sender retried after a crash wakes it and a late duplicate does not. Throws `WorkflowNotFoundError` when the workflow has not started yet (its
   * first run stores it), and `InvalidOptionError` when the queue was built without `runner`.
   */
  async sendEvent(workflowId: string, event: string, payload?: unknown, options: Omit<SendEventOptions, 'wake'> = {}): Promise<SendEventResult> {
    if (this.runner === undefined) throw new InvalidOptionError('runner', undefined, 'a WorkflowRunner on the WorkflowQueue (new WorkflowQueue({ connection, name, runner })): events are stored in its storage');
    // The job wakes it: no wake-index entry, which nothing would remove without an embedded worker.
    const sent = await this.runner.sendEvent(workflowId, event, payload, { ...options, wake: false });
    // Queued while the workflow waits for the event, a duplicate's too (the first sender may have
    // died between storing and queueing); never for an event delivered already, nor a workflow that
    // runs now (its run looks at its events again before it waits) or ended.
    if (sent.wakes) {
      const data: WakeJobData = { waymark: 1, kind: 'wake', workflowId };
      await this.add('wake', data, { ...this.jobOptions, deduplication: { id: eventDedupId(workflowId, sent.eventId) } });
    }
    return sent;
  }

  /**
   * Cancels workflow `workflowId` for good (`runner.cancel`): waiting, it is cancelled at once; a
   * worker's run holding it stops within one lease renewal. Its queued jobs may still be delivered:
   * each completes with status `'cancelled'`, running nothing. A workflow that compensates gets a job
   * that undoes its committed steps. Throws `InvalidOptionError` when the queue was built without
   * `runner`, `WorkflowNotFoundError` when nothing is stored under the id.
   */
  async cancel(workflowId: string, options: CancelOptions = {}): Promise<CancelResult> {
    if (this.runner === undefined) throw new InvalidOptionError('runner', undefined, 'a WorkflowRunner on the WorkflowQueue (new WorkflowQueue({ connection, name, runner })): the cancel is stored in its storage');
    const result = await this.runner.cancel(workflowId, options);
    // No embedded worker scans the wake index here: a job brings a worker to undo what was committed.
    if (result.outcome === 'compensating') {
      const data: WakeJobData = { waymark: 1, kind: 'wake', workflowId };
      await this.add('wake', data, { ...this.jobOptions, deduplication: { id: eventDedupId(workflowId, 'waymark.cancel') } });
    }
    return result;
  }

  /**
   * Queues a job that resumes workflow `workflowId` now: what a BullMQ deployment does after an
   * operator moved or restarted a run from elsewhere (`waymark migrate`, `waymark restart`, the
   * dashboard), as no embedded worker scans the wake index here. Idempotent while such a job waits.
   */
  async wake(workflowId: string): Promise<void> {
    assertWorkflowId(workflowId);
    const data: WakeJobData = { waymark: 1, kind: 'wake', workflowId };
    await this.add('wake', data, { ...this.jobOptions, deduplication: { id: eventDedupId(workflowId, 'waymark.wake') } });
  }

  /**
   * Moves workflow `workflowId` to another version (`runner.migrate`, checked before it writes)
   * and queues the job that runs it there. Throws `InvalidOptionError` when the queue was built without `runner`.
   */
  async migrate(workflowId: string, options: MigrateOptions = {}): Promise<MigrationResult> {
    if (this.runner === undefined) throw new InvalidOptionError('runner', undefined, 'a WorkflowRunner on the WorkflowQueue (new WorkflowQueue({ connection, name, runner })), with the versions to move between');
    const result = await this.runner.migrate(workflowId, options);
    if (!result.dryRun && result.unchanged === undefined) await this.wake(workflowId);
    return result;
  }

  /**
   * Runs a step of workflow `workflowId` again, and its dependents (`runner.restart`), and queues
   * the job that runs them. Throws `InvalidOptionError` when the queue was built without `runner`.
   */
  async restart(workflowId: string, options: RestartOptions): Promise<RestartResult> {
    if (this.runner === undefined) throw new InvalidOptionError('runner', undefined, 'a WorkflowRunner on the WorkflowQueue (new WorkflowQueue({ connection, name, runner })): the restart is stored in its storage');
    const result = await this.runner.restart(workflowId, options);
    if (!result.dryRun) await this.wake(workflowId);
    return result;
  }

  /**
   * Runs `target` on a cron schedule with a BullMQ job scheduler: one job per slot, however many
   * producers and workers there are, each slot run as workflow `<workflowName>@<slot ISO time>`
   * (so a slot delivered twice still runs once). Scheduling again under the same id replaces it.
   */
  async schedule<I = unknown>(target: Constructor, options: QueueScheduleOptions<I>): Promise<void> {
    if (typeof target !== 'function') throw new InvalidOptionError('workflow class', target, 'a class with @Step() methods');
    const { workflowName } = buildGraph(target);
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('schedule options', options, '{ cron, timezone?, input?, id? }');
    new CronSlots(options.cron, options.timezone); // refuses a pattern or time zone that cannot fire
    const id = options.id ?? workflowName;
    if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('schedule id', id, 'a non-empty string');
    let input;
    try {
      input = encodeValue(options.input, 'input');
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new InputSerializationError(`${workflowName}@(schedule)`, error.path, error.reason);
    }
    const data: SlotJobData = { waymark: 1, kind: 'slot', workflowName, input };
    await this.queue.upsertJobScheduler(id, { pattern: options.cron, ...(options.timezone === undefined ? {} : { tz: options.timezone }) }, { name: 'slot', data, opts: this.jobOptions });
  }

  /** Removes the schedule with this id (default id: the workflow's name); resolves false when there was none. */
  async unschedule(idOrTarget: string | Constructor): Promise<boolean> {
    const id = typeof idOrTarget === 'function' ? buildGraph(idOrTarget).workflowName : idOrTarget;
    return this.queue.removeJobScheduler(id);
  }

  /** Closes the queue's Redis connection (jobs stay queued). */
  async close(): Promise<void> {
    await this.queue.close();
  }

  private async add(name: string, data: StartJobData | WakeJobData, opts: JobsOptions): Promise<EnqueueResult> {
    const dedupId = opts.deduplication?.id;
    // A deduplicated add resolves with the job already holding the id. Asked first, so that job is
    // told apart from a new one (two producers racing both hear `duplicate: false`; one job is added).
    const before = dedupId !== undefined ? await this.queue.getDeduplicationJobId(dedupId) : opts.jobId !== undefined && (await this.queue.getJob(opts.jobId)) ? opts.jobId : null;
    const job = await this.queue.add(name, data, opts);
    return { jobId: job.id!, duplicate: before !== null && before !== undefined && before === job.id };
  }
}

function assertQueueName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0 || name.includes(':')) throw new InvalidOptionError('name', name, "a BullMQ queue name: a non-empty string without ':'");
}
