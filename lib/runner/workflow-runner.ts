/**
 * The runner: validates, fingerprints, takes the lease, prepares checkpoints, walks the graph and
 * commits each step once, after its successful attempt.
 */
import { randomUUID } from 'node:crypto';
import { isoAt } from '../iso-now';
import { decodeValue, encodeValue, UnencodableValue, type EncodedValue } from '../checkpoint-codec';
import {
  CheckpointCorruptedError,
  CheckpointSerializationError,
  InputSerializationError,
  InvalidOptionError,
  LeaseLostError,
  RunInterruptedError,
  StepFailedError,
  StoredStepError,
  WorkflowBusyError,
  WorkflowCancelledError,
  WorkflowCancelRequestedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
} from '../errors';
import type { FingerprintStrategy } from '../fingerprint/fingerprint-strategy';
import { buildGraph, type StepGraph, type StepNode } from '../graph';
import type { Constructor } from '../metadata';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import type { WorkflowRecord } from '../storage/records';
import { LeaseKeeper } from './lease-keeper';
import { AttemptsInFlight, type Attempt } from './attempt';
import { attachLogger } from './logger';
import { attachTracing, loadTracingApi } from './tracing';
import { compensatedAlready, completedAlready, prepareCheckpoints } from './prepare-checkpoints';
import { compensate } from './compensation';
import { Mailbox, ownEvents } from './mailbox';
import { RunRecord, waitingState } from './run-record';
import { recordCompletion, recordOutcome, recordWaiting, type Warn } from './record-outcome';
import { passGate, type ConsumedEvent } from './step-gate';
import type { RunHandle, RunHandleStatus } from './run-handle';
import type { CompensationResult, RunResult, RunStatus, StepResult } from './run-result';
import { RunEvents, type WorkflowEventName, type WorkflowHooks, type WorkflowListener } from './run-events';
import { RunState } from './run-state';
import { checkRunnerOptions, DEFAULT_MAX_INLINE_WAIT_MS, defaultStorage, resolveRun, type ResolvedRun, type RunOptions, type WorkflowRunnerOptions } from './runner-options';
import { scheduleGraph, type Settle, type Settled } from './schedule-graph';
import { passBranch, skippedDependencies } from './branch';
import { awaitCall, storeNextCall, type LaterCallRun } from './later-calls';
import { retryAttempts, startAttempt, type AttemptsOutcome } from './step-attempts';
import { StepMethods } from './step-methods';
import { createStepContext } from './step-context';
import { assertWorkflowId } from '../workflow-id';
import { validateInput } from './validate-input';
import { sendEvent, type SendEventOptions, type SendEventResult } from './send-event';
import { attemptFailure, compensatedOutcome, completedResult, storedError } from './stored-outcome';
import { computeFingerprint, encodeInput, fingerprintOf } from './run-input';
import { migrateWorkflow, type MigrateOptions, type MigrationResult } from './versions/migrate';
import { restartWorkflow, type RestartOptions, type RestartResult } from './versions/restart';
import { pinnedInstance } from './versions/stranded';
import { requestResume, type ResumeRequestResult } from './resume-request';
import { countVersions, type VersionCounts } from './versions/version-counts';
import { passSpawn, type SpawnDeps, type SpawnedChildren, type SpawnRun } from './children/spawn';
import { childStarts } from './children/start-children';
import { followUp, needsFollowUp } from './children/follow-up';
import { shownEventName } from './children/child-events';
import { runFanOut } from './fan-out/fan-out';
import { FlowControl } from './flow/flow-control';
import { admitRun } from './flow/run-admission';
import { RunSlots, SLOT_MARGIN_MS } from './flow/run-slots';
import { limitedItemCall, passLimits, type LimitedStep } from './flow/step-limits';
import { committedItems } from './fan-out/item-outputs';
import { restoreCommitted } from './restore-committed';
import type { StepRun } from './step-run';
import { compensateRun } from './compensate-run';
import { CANCELLED_CODE, cancelWorkflow, recordCancel, storedCancel, type CancelOptions, type CancelRequest, type CancelResult } from './cancel';

export type { CancelOptions, CancelResult } from './cancel';

export type { SendEventOptions, SendEventResult } from './send-event';

export type { MigrateOptions, MigrationResult } from './versions/migrate';

export type { RestartOptions, RestartResult } from './versions/restart';

export type { VersionCount, VersionCounts } from './versions/version-counts';

export type { ResumeRequestResult } from './resume-request';
import { listWorkflows, readWorkflowInfo, type GetOptions, type ListOptions, type WorkflowInfo, type WorkflowPage } from './workflow-info';
import { ignoredInputPaths } from '../fingerprint/ignored-paths';
import { WorkflowRegistry } from './workflow-registry';
import { prune, type PruneOptions, type PruneResult } from './prune';
import { clearWorkflow, type ClearWorkflowOptions } from './clear';
import { defaultLeaseOwner } from '../storage/lease-owner';
import type { RunOutput, StepName, WorkflowInput } from '../workflow-types';

/** Options of {@link WorkflowRunner.resume}: the run options that make sense for a stored workflow. */
export type ResumeOptions = Pick<RunOptions, 'concurrency' | 'failFast' | 'onBusy' | 'onInputChange' | 'signal'>;

/** Margin added to a run's lease TTL before a worker looks for it, if it died. */
const RECOVERY_MARGIN_MS = 1_000;

/** Runs workflow instances against one storage. Safe to share (e.g. as a DI singleton). */
export class WorkflowRunner {
  /** The storage this runner commits to. */
  readonly storage: CheckpointStorage;
  private readonly events: RunEvents;
  private readonly registry: WorkflowRegistry;
  private readonly maxInlineWaitMs: number;
  /** What a spawn step needs to start children. */
  private readonly childStarts: SpawnDeps;
  private readonly wakeListeners = new Set<(workflowId: string) => void>();
  /** Runs of this runner holding their workflow's lease, by workflow id: a cancel stops them at once. */
  private readonly liveRuns = new Map<string, (request: CancelRequest) => void>();
  private readonly warner: Warn = (message, code, detail) => this.warn(message, code, detail);
  /** Slots and tokens of concurrency keys and step limits, shared by this runner's runs. */
  private readonly flow: FlowControl;

  constructor(private readonly options: WorkflowRunnerOptions = {}) {
    checkRunnerOptions(options);
    this.storage = defaultStorage(options);
    this.registry = new WorkflowRegistry(options.workflows);
    this.maxInlineWaitMs = options.maxInlineWaitMs ?? DEFAULT_MAX_INLINE_WAIT_MS;
    this.childStarts = childStarts(this.storage, options, this.registry, (id) => this.announce(id));
    this.flow = new FlowControl(this.storage, (id) => this.wake(id));
    this.events = new RunEvents((event, error) => this.reportListenerError(event, error));
    for (const [event, listener] of Object.entries(options.hooks ?? {}) as [WorkflowEventName, WorkflowHooks[WorkflowEventName]][]) {
      if (listener !== undefined) this.events.on(event, listener as WorkflowListener<typeof event>);
    }
    if (options.logger) attachLogger(this.events, options.logger);
    if (options.tracer !== false) {
      const api = loadTracingApi();
      if (api) attachTracing(this.events, api, options.tracer ?? api.trace.getTracer('waymark'));
    }
  }

  /** Subscribes to a lifecycle event; returns a function that unsubscribes. */
  on<E extends WorkflowEventName>(event: E, listener: WorkflowListener<E>): () => void {
    return this.events.on(event, listener);
  }

  /**
   * Runs `workflow` to the end. Resolves with the {@link RunResult}; rejects with
   * `WorkflowFailedError` (result + first `StepFailedError` as cause) when a step fails for good.
   * `options.input` is checked against what the steps declare (`StepContext<I>`); name the last step
   * (`run<Order, 'save'>`) to type `result.output` by what it returns.
   */
  async run<W extends object, F extends StepName<W> = never>(workflow: W, options: RunOptions<WorkflowInput<W>>): Promise<RunResult<RunOutput<W, F>>> {
    return this.start<W, F>(workflow, options).result();
  }

  /**
   * Resumes the stored workflow `workflowId` from any process: its stored input, run by an instance
   * of its registered class (runner option `workflows`), skipping committed steps. Resolves and
   * rejects like {@link run}. Throws `WorkflowNotFoundError` when nothing (or no input) is stored
   * under the id, `WorkflowNotRegisteredError` when its class is not registered.
   */
  async resume<O = unknown>(workflowId: string, options: ResumeOptions = {}): Promise<RunResult<O>> {
    assertWorkflowId(workflowId);
    const stored = await this.storage.readRecord(workflowId);
    if (stored === undefined) throw new WorkflowNotFoundError(workflowId);
    const { record } = stored;
    if (record.input === undefined) throw new WorkflowNotFoundError(workflowId, 'no input stored');
    // Pinned: the run's own version, never another. A process without it leaves the run as it is, marked stranded.
    const workflow = await pinnedInstance(this.registry, this.storage, this.options.owner ?? defaultLeaseOwner(), record);
    let input: unknown;
    try {
      input = decodeValue(record.input, 'input');
    } catch (error) {
      if (!(error instanceof UnencodableValue)) throw error;
      throw new CheckpointCorruptedError(workflowId, 'the input in its record', error.message, { cause: error });
    }
    // The workflow must still be there when this run takes its lease: one cleared or pruned
    // meanwhile is not started again from its first step.
    return this.startRun<O, unknown>(workflow, { ...options, workflowId, input, resume: true }, true).result();
  }

  /**
   * Cancels workflow `workflowId` from any process, for good: a waiting (or failed, or interrupted)
   * workflow is `'cancelled'` at once; one a run holds is stopped by that run within one lease
   * renewal (its steps' `ctx.signal` aborts; nothing commits after); one that declares compensations
   * is `'compensating'` instead, and a worker undoes its committed steps. Cancelling a workflow that
   * ended is a no-op that says so. A resume of a cancelled workflow runs nothing (`WorkflowCancelledError`);
   * `resume: false` starts it afresh. See {@link CancelResult}; `WorkflowNotFoundError` when nothing is stored.
   */
  async cancel(workflowId: string, options: CancelOptions = {}): Promise<CancelResult> {
    return cancelWorkflow(
      {
        storage: this.storage,
        owner: this.options.owner ?? `cancel (${defaultLeaseOwner()})`,
        compensates: (record) => {
          const target = this.registry.classOf(record.workflowName, record.version ?? 1);
          return record.compensates === true || (target !== undefined && buildGraph(target).compensates);
        },
        stopLocal: (id, request) => {
          const stop = this.liveRuns.get(id);
          stop?.(request);
          return stop !== undefined;
        },
        wake: (id) => this.wake(id),
        followUp: (record) => this.afterEnd(record),
      },
      workflowId,
      options,
    );
  }

  /**
   * Deletes whole workflows that ended (by default completed or compensated) longer ago than
   * `olderThan`, each under its lease: running, waiting and compensating workflows are never
   * deleted, whatever their age, and one a run holds or resumed since is kept. Finds them through
   * the storage's index of ended workflows, so its cost follows what it deletes. See {@link PruneOptions}.
   */
  async prune(options: PruneOptions): Promise<PruneResult> {
    return prune(this.storage, options);
  }

  /**
   * Sends an event to workflow `workflowId`: stored durably in its namespace, for the step that
   * waits for `event` (`@Step({ waitFor: { event } })`) now or later. Idempotent by `eventId`
   * (default a random one): a second send with the same id stores nothing and resolves
   * `{ duplicate: true }`, and wakes the workflow again if it still waits for the event (so a sender
   * that died after storing is retried safely). A waiting workflow is woken: at once by a
   * {@link WorkflowWorker} of this runner, at its next scan by any other; should the sender die
   * between storing and waking, a worker looks at the workflow seconds later all the same. An event
   * for a workflow that ended says so in `ended` (see {@link SendEventResult}). Throws `WorkflowNotFoundError` when nothing is stored
   * under the id (start the workflow first), `EventSerializationError` for a payload that cannot be
   * stored (nothing is stored).
   */
  async sendEvent(workflowId: string, event: string, payload?: unknown, options: SendEventOptions = {}): Promise<SendEventResult> {
    return sendEvent({ storage: this.storage, wake: (id) => this.wake(id) }, workflowId, event, payload, options);
  }

  /** Puts the workflow in the wake index now, and tells this process's workers (and other processes', where the store can). */
  private async wake(workflowId: string): Promise<void> {
    await this.storage.addWake({ workflowId, wakeAt: Date.now() });
    await this.announce(workflowId);
  }

  /** Tells this process's workers, and other processes' where the store can, that `workflowId` is due (its entry is stored). */
  private async announce(workflowId: string): Promise<void> {
    for (const listener of this.wakeListeners) listener(workflowId);
    if (this.storage.notifyWake !== undefined) {
      // The entry is stored: a lost notice only waits for the next scan, so a failure is reported, not thrown.
      await this.storage.notifyWake(workflowId).catch((error: unknown) =>
        this.warn(`workflow '${workflowId}': woken, but other processes could not be told (their workers find it at their next scan): ${errorText(error)}`, 'WAYMARK_WAKE_NOTICE_FAILED', { workflowId, error }),
      );
    }
  }

  /**
   * Calls `listener` when this runner wakes a workflow: an event sent through it to a waiting
   * workflow, or an event that arrived while one of its runs decided to wait. Workers (the embedded
   * {@link WorkflowWorker}, `waymark/bullmq`'s `QueueWorker`) use it to resume such a workflow at
   * once. Returns the unsubscribe.
   */
  onWake(listener: (workflowId: string) => void): () => void {
    this.wakeListeners.add(listener);
    return () => this.wakeListeners.delete(listener);
  }

  /**
   * For workers: does what follows the end of workflow `workflowId` if it is still to do, should the
   * run that ended it have died first: a child's outcome is delivered to its parent, a cancelled
   * parent's children are cancelled. Idempotent; does nothing for any other workflow.
   */
  async followUp(workflowId: string): Promise<void> {
    const record = (await this.storage.readRecord(workflowId))?.record;
    if (record !== undefined) await this.afterEnd(record);
  }

  /** {@link followUp} for a record in hand. */
  private afterEnd(record: WorkflowRecord): Promise<void> {
    return followUp({ storage: this.storage, wake: (id) => this.wake(id), cancel: async (id, reason) => void (await this.cancel(id, { reason })) }, record);
  }

  /**
   * An instance of the registered workflow named `workflowName` (runner option `workflows`), built
   * as the registration says, in `version` (default the newest), or `WorkflowNotRegisteredError`.
   * For workers that start workflows by name (schedules, queue jobs); `workflowId` is named in the error.
   */
  workflowInstance(workflowName: string, workflowId = '(schedule)', version?: number): object {
    return this.registry.instance(workflowId, workflowName, version);
  }

  /**
   * The stored workflow `workflowId` (status, input, timestamps, last error, steps, lease), or
   * undefined when nothing is stored; with {@link GetOptions} also its outputs, its mailbox and what
   * its fingerprint ignores. Reads only: it never takes the lease.
   */
  async get<I = unknown, O = unknown>(workflowId: string, options: GetOptions = {}): Promise<WorkflowInfo<I, O> | undefined> {
    assertWorkflowId(workflowId);
    const info = await readWorkflowInfo(this.storage, workflowId, options);
    if (info === undefined || options.ignoredInput !== true || info.workflowName === undefined || info.input === undefined) return info as WorkflowInfo<I, O> | undefined;
    const target = this.registry.classOf(info.workflowName, info.version);
    if (target === undefined) return info as WorkflowInfo<I, O>;
    const { fingerprint } = resolveRun(target, this.options, { workflowId });
    const ignored = typeof fingerprint === 'string' ? undefined : await ignoredInputPaths(fingerprint, info.input);
    return (ignored === undefined ? info : { ...info, ignoredInput: ignored }) as WorkflowInfo<I, O>;
  }

  /** True when this runner can run workflows named `workflowName` (in `version`, when given): what `resume` needs. */
  isRegistered(workflowName: string, version?: number): boolean {
    return this.registry.has(workflowName, version);
  }

  /** The versions of `workflowName` this runner registers, ascending (empty for a DI factory, which is asked per run). */
  registeredVersions(workflowName: string): number[] {
    return this.registry.versions(workflowName);
  }

  /**
   * Asks for a run of workflow `workflowId` without running it here, so a process that does not know
   * its class can do it (`waymark resume`, `waymark ui`): stored durably, and the next worker that
   * has the class resumes it at once, as {@link resume} would (a failed one retries its failed step).
   * `dryRun` says what it would do. See {@link ResumeRequestResult}.
   */
  async requestResume(workflowId: string, options: { readonly dryRun?: boolean } = {}): Promise<ResumeRequestResult & { readonly dryRun: boolean }> {
    return requestResume({ storage: this.storage, owner: this.options.owner ?? defaultLeaseOwner(), wake: (id) => this.wake(id) }, workflowId, options);
  }

  /**
   * How many runs each version of each workflow has, by status, and how many are stranded (their
   * version is registered nowhere that tried to run them, or not here while another version is).
   * Reads one record per workflow, at most `maxReads` (default 100,000). See {@link VersionCounts}.
   */
  async countVersions(options: { readonly workflowName?: string; readonly maxReads?: number } = {}): Promise<VersionCounts> {
    return countVersions((list) => this.list(list), options);
  }

  /**
   * Moves workflow `workflowId` to another version of its workflow (default the newest registered),
   * as that version's `@Workflow({ migrate })` declares: checked before anything is written (a
   * refusal is `MigrationRefusedError`, naming each step that stops it), then done under the lease
   * in one write of its record, and the workflow is woken. `dryRun` says what would change. See {@link MigrationResult}.
   */
  async migrate(workflowId: string, options: MigrateOptions = {}): Promise<MigrationResult> {
    return migrateWorkflow(
      {
        storage: this.storage,
        owner: this.options.owner ?? defaultLeaseOwner(),
        classOf: (name, version) => this.registry.classOf(name, version),
        versions: (name) => this.registry.versions(name),
        fingerprint: (target, id, input) => fingerprintOf(target, this.options, id, input),
        wake: (id) => this.wake(id),
      },
      workflowId,
      options,
    );
  }

  /**
   * Runs step `options.from` of workflow `workflowId` again, and every step that depends on it,
   * keeping the other commits (a failed or completed run, or one that waits): under the lease, in
   * one write of its record; the workflow is then `'running'` and woken, so a worker runs those steps
   * with the stored input (or call `resume` to run them here). Needs no class. See {@link RestartResult}
   * and README "Versions and deploys" for what happens to compensations and consumed events.
   */
  async restart(workflowId: string, options: RestartOptions): Promise<RestartResult> {
    return restartWorkflow({ storage: this.storage, owner: this.options.owner ?? defaultLeaseOwner(), wake: (id) => this.wake(id) }, workflowId, options);
  }

  /**
   * Deletes workflow `workflowId` whole (record, checkpoints, events, wake entry) under its
   * lease, so a workflow a run holds is never deleted under its feet: throws `WorkflowBusyError`
   * then. Resolves with how many checkpoints it held (a fan-out's list and items count too), or
   * undefined when nothing was stored.
   * `options.onProgress` hears how many of the workflow's stored objects are deleted so far.
   */
  async clear(workflowId: string, options: ClearWorkflowOptions = {}): Promise<{ readonly checkpoints: number } | undefined> {
    return clearWorkflow(this.storage, this.options.owner ?? `clear (${defaultLeaseOwner()})`, workflowId, options);
  }

  /**
   * A page of stored workflows in id order, filtered by status and workflow name; pass the page's
   * `cursor` back for the next. Reads one record per workflow examined.
   */
  async list(options: ListOptions = {}): Promise<WorkflowPage> {
    return listWorkflows(this.storage, options, (name) => this.registry.versions(name));
  }

  /**
   * Starts `workflow` in the background and returns at once. Definition and option errors throw here;
   * everything later is reported by `handle.result()`.
   */
  start<W extends object, F extends StepName<W> = never>(workflow: W, options: RunOptions<WorkflowInput<W>>): RunHandle<RunOutput<W, F>> {
    return this.startRun(workflow, options, false);
  }

  private startRun<O, I>(workflow: object, options: RunOptions<I>, mustExist: boolean): RunHandle<O> {
    if (workflow === null || typeof workflow !== 'object') throw new InvalidOptionError('workflow', workflow, 'an instance of a workflow class');
    const target = workflow.constructor as Constructor;
    const graph = buildGraph(target);
    const run = resolveRun(target, this.options, options as RunOptions);
    const cancel = new AbortController();
    const external = options.signal;
    const onExternalAbort = () => cancel.abort(external!.reason);
    if (external?.aborted) cancel.abort(external.reason);
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, an AbortSignal fires 'abort' once; `once` only says so
    else external?.addEventListener('abort', onExternalAbort, { once: true });
    let status: RunHandleStatus = 'running';
    const promise = this.execute(workflow, graph, run, cancel.signal, mustExist)
      .then(
        (result) => {
          status = result.status === 'waiting' ? 'waiting' : 'completed';
          return result as RunResult<O>;
        },
        (error: unknown) => {
          status = error instanceof WorkflowCancelledError ? 'cancelled' : error instanceof WorkflowFailedError && error.result.status === 'compensated' ? 'compensated' : 'failed';
          throw error;
        },
      )
      // A signal shared by many runs must not keep a listener per finished run.
      .finally(() => external?.removeEventListener('abort', onExternalAbort));
    promise.catch(() => undefined); // a background run nobody awaits must not crash the process
    return {
      workflowId: run.workflowId,
      result: () => promise,
      status: () => status,
      cancel: (reason?: unknown) => cancel.abort(reason ?? new Error('cancelled')),
    };
  }

  private async execute(workflow: object, graph: StepGraph, run: ResolvedRun, cancelSignal: AbortSignal, mustExist: boolean): Promise<RunResult> {
    const { workflowId } = run;
    const runId = randomUUID();
    const events = this.events.forRun({ workflowId, runId });
    const input = graph.inputClass ? await validateInput(workflowId, graph.inputClass, run.input) : run.input;
    const fingerprint = typeof run.fingerprint === 'string' ? run.fingerprint : await computeFingerprint(run.fingerprint, run.input, workflowId);
    const storedInput = encodeInput(workflowId, run.input);
    if (run.resume) {
      // A late duplicate of a completed workflow (a queue re-delivering a finished job) is answered
      // from the record in one read: no lease, nothing run, even while another worker holds it.
      const stored = await this.storage.readRecord(workflowId);
      if (completedAlready(stored?.record, graph, fingerprint)) {
        // A child whose parent may not have heard (a queue delivers its job again after a crash) tells it again.
        if (needsFollowUp(stored.record)) await this.afterEnd(stored.record);
        return completedResult(graph, workflowId, stored.record);
      }
      // Compensated already: its outcome stands, nothing runs again.
      if (compensatedAlready(stored?.record, graph, fingerprint)) throw await compensatedOutcome(this.storage, graph, workflowId, stored.record);
      // Cancelled by id: for good. Only a fresh start (resume: false) runs it again.
      if (stored?.record.status === 'cancelled' && stored.record.cancelled !== undefined) {
        throw new WorkflowCancelledError({ workflowId, runId, workflowName: graph.workflowName, status: 'cancelled', steps: Object.fromEntries(graph.steps.map((n) => [n.name, { status: 'not-run', attempts: 0 }])), fingerprint });
      }
    }

    // Cancellation and lease loss both stop the walk; which one happened decides the error.
    const stop = new AbortController();
    const onCancel = () => stop.abort(cancelSignal.reason);
    if (cancelSignal.aborted) onCancel();
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, an AbortSignal fires 'abort' once
    cancelSignal.addEventListener('abort', onCancel, { once: true });
    let leaseLost = false;
    /** A commit was fenced out: like a lost lease, the run stopped before it ended. */
    let fenced = false;
    // A cancel by id (runner.cancel, from this process or any other): the run stops, and stores it.
    let cancelled: CancelRequest | undefined;
    const requestCancel = (request: CancelRequest) => {
      // Undoing is what a cancel asks: a run that compensates goes on.
      if (prepared.record?.current.status === 'compensating') return;
      cancelled ??= request;
      stop.abort(new WorkflowCancelRequestedError(workflowId, request.reason));
    };
    // Looked for at each renewal, once the record says when this workflow was created.
    const prepared: { record?: RunRecord } = {};
    const lookForCancel = () => {
      const createdAt = prepared.record?.current.createdAt;
      if (createdAt !== undefined && cancelled === undefined) void storedCancel(this.storage, workflowId, createdAt).then((request) => request !== undefined && requestCancel(request));
    };
    const onLost = () => {
      leaseLost = true;
      events.emit('lease:lost', {});
      stop.abort(new LeaseLostError(workflowId));
    };
    // Slots are held a margin past the lease, and renewed with it: see RunSlots.
    const slots = graph.limited ? new RunSlots(this.flow, () => keeper.lease.expiresAt + SLOT_MARGIN_MS, onLost) : undefined;
    const onRenewed = slots === undefined ? lookForCancel : () => (slots.renew(), lookForCancel());
    const keeper = await LeaseKeeper.acquire(this.storage, workflowId, { owner: run.owner, ttlMs: run.leaseTtlMs, onBusy: run.onBusy, busyTimeoutMs: run.busyTimeoutMs, signal: cancelSignal, onRenewed }, onLost);
    events.emit('lease:acquired', { owner: keeper.lease.owner, expiresAt: keeper.lease.expiresAt });
    const state = new RunState(graph.stepNames, graph.byName);
    const resultOf = (status: RunStatus, compensations?: ReadonlyMap<string, CompensationResult>): RunResult => ({
      workflowId,
      runId,
      workflowName: graph.workflowName,
      status,
      steps: compensations === undefined ? state.results() : withCompensations(state.results(), compensations),
      ...(status === 'completed' ? { output: state.output(graph.finalStep) } : {}),
      fingerprint,
    });
    const inFlight = new AttemptsInFlight(stop.signal);
    const stepRun: StepRun = { workflowId, className: graph.className, input, state, inFlight, keeper, events, failures: {}, stored: prepared, leaseTtlMs: run.leaseTtlMs, timers: {}, methods: new StepMethods(workflow), concurrency: run.concurrency, storage: this.storage, slots };
    this.liveRuns.set(workflowId, requestCancel);
    let wakeAfter = false;
    /** The events a run that ended waiting waits for: looked at once more after its lease is given up. */
    let waitingOn: ReadonlySet<string> | undefined;
    /** Stores a cancel by id: 'cancelled', or 'compensating' when there is something to undo (a worker is woken once the lease is given up). */
    const endCancelled = async (request: CancelRequest): Promise<never> => {
      const undo = graph.compensates && (stepRun.committed!.size > 0 || graph.steps.some((n) => state.isDone(n.index) && !state.isSkipped(n.index)));
      wakeAfter = (await recordCancel(prepared.record!, request, undo).catch((error: unknown) => this.recordFailure(workflowId, 'cancelled', error))) === 'compensating';
      const result = resultOf('cancelled');
      events.emit('run:cancelled', { result });
      throw new WorkflowCancelledError(result);
    };
    try {
      const firstFailure = await this.walk(workflow, graph, run, stepRun, fingerprint, storedInput, mustExist);
      const record = stepRun.stored.record;
      if (firstFailure !== undefined && !leaseLost && graph.compensates && !(firstFailure.cause instanceof LeaseLostError)) {
        // From here on the workflow is undone, not retried: every later run goes on compensating.
        const outcome = await compensateRun({ recoverAt: () => this.recoverAt(run.leaseTtlMs), warn: this.warner }, workflow, graph, run.concurrency, stepRun, firstFailure);
        if (outcome.leaseLost || leaseLost) throw new WorkflowFailedError(resultOf('failed', outcome.results), new LeaseLostError(workflowId));
        if (outcome.interrupted) {
          // Stopped mid-way: the record says 'compensating', with the entry that brings a worker back to finish.
          const result = resultOf('cancelled', outcome.results);
          events.emit('run:cancelled', { result });
          throw new WorkflowCancelledError(result);
        }
        throw new WorkflowFailedError(resultOf(outcome.errors.length === 0 ? 'compensated' : 'failed', outcome.results), firstFailure, outcome.errors);
      }
      if (firstFailure === undefined && !leaseLost && state.allDone()) {
        const result = resultOf('completed');
        await recordCompletion(this.warner, workflowId, record!, runId, result.output);
        events.emit('run:completed', { result });
        return result;
      }
      const waiting = state.waiting();
      // A cancel stored while this run ran, and not seen at a renewal yet, is seen before it waits.
      if (firstFailure === undefined && !leaseLost && !cancelSignal.aborted && waiting.length > 0) cancelled ??= await storedCancel(this.storage, workflowId, record!.current.createdAt);
      if (firstFailure === undefined && !leaseLost && cancelled !== undefined) await endCancelled(cancelled);
      if (firstFailure === undefined && !leaseLost && !cancelSignal.aborted && waiting.length > 0) {
        const waits = waitingState(waiting, stepRun.timers);
        const result: RunResult = { ...resultOf('waiting'), ...(waits.wakeAt === undefined ? {} : { wakeAt: new Date(waits.wakeAt).toISOString() }), waitingFor: waits.waitingFor.map(shownEventName) };
        if ((await recordWaiting(this.warner, workflowId, record!, waits)) && waits.waitingFor.length > 0) waitingOn = new Set(waits.waitingFor);
        events.emit('run:waiting', { result });
        return result;
      }
      if (firstFailure === undefined && !leaseLost) {
        const result = resultOf('cancelled');
        // Interrupted (a worker stopping) is not cancelled: the workflow stays 'running' for the next worker.
        if (!(cancelSignal.reason instanceof RunInterruptedError)) await recordOutcome(this.warner, workflowId, record, { status: 'cancelled' });
        events.emit('run:cancelled', { result });
        throw new WorkflowCancelledError(result);
      }
      throw new WorkflowFailedError(resultOf('failed'), firstFailure ?? new LeaseLostError(workflowId));
    } catch (error) {
      // A run that lost its lease (noticed by the keeper, or by a fenced commit) writes nothing: the
      // workflow stays 'running', for whoever holds it now.
      const fencedOut = error instanceof WorkflowFailedError && (error.cause instanceof LeaseLostError || (error.cause instanceof StepFailedError && error.cause.cause instanceof LeaseLostError));
      const compensated = error instanceof WorkflowFailedError && stepRun.stored.record?.current.compensation !== undefined;
      fenced = fencedOut;
      if (!leaseLost && !fencedOut && !compensated && !(error instanceof WorkflowCancelledError)) {
        // Failed while a cancel was asked for: the cancel stands, not the failure.
        const request = stepRun.stored.record === undefined ? undefined : (cancelled ?? (await storedCancel(this.storage, workflowId, stepRun.stored.record.current.createdAt)));
        if (request !== undefined) await endCancelled(request);
        await recordOutcome(this.warner, workflowId, stepRun.stored.record, { status: 'failed', error: storedError(error instanceof WorkflowFailedError ? error.cause : error) });
      }
      // Every run that took the lease ends with one of run:completed, run:waiting, run:cancelled or run:failed.
      if (error instanceof WorkflowFailedError) events.emit('run:failed', { result: error.result, error: error.cause });
      else if (!(error instanceof WorkflowCancelledError)) events.emit('run:failed', { result: resultOf('failed'), error });
      throw error;
    } finally {
      // Stryker disable next-line StringLiteral,BlockStatement: equivalent, this run's own signal dies with the run; removing only frees the closure sooner
      cancelSignal.removeEventListener('abort', onCancel);
      // One owner at a time: a step that ignored its cancelled or timed-out signal is still this run's
      // work, so the lease is kept (and renewed) until it settles, and only then given up.
      await inFlight.settled();
      await slots?.releaseAll(leaseLost || fenced || cancelSignal.reason instanceof RunInterruptedError);
      if (this.liveRuns.get(workflowId) === requestCancel) this.liveRuns.delete(workflowId);
      // The run's outcome stands either way: a lease that cannot be released now expires on its own.
      await keeper.release().catch((error: unknown) => this.reportReleaseFailure(workflowId, error));
      // A slot that freed as this run decided to wait for one found it busy: it is seen here, and woken.
      if (slots?.any === true && (await slots.afterLease(prepared.record?.current.status).catch(() => false))) await this.wake(workflowId).catch((error: unknown) => this.recordFailure(workflowId, 'woken for a free slot', error));
      // An event (or a child's outcome) that came as this run decided to wait woke nobody ('running'), or a worker
      // that found it busy (back at the lease's expiry): it is seen here, the lease free, and woken.
      if (waitingOn !== undefined && (await stepRun.mailbox!.arrived(waitingOn).catch(() => false))) await this.wake(workflowId).catch((error: unknown) => this.recordFailure(workflowId, 'woken again', error));
      // A cancel asked of this run after it had decided to wait came too late for it: a worker carries it out.
      if (cancelled !== undefined && prepared.record?.current.status === 'waiting') await this.wake(workflowId).catch((error: unknown) => this.recordFailure(workflowId, 'woken to cancel', error));
      // Cancelled with steps to undo: a worker compensates, now that the lease is free.
      if (wakeAfter) await this.wake(workflowId).catch((error: unknown) => this.recordFailure(workflowId, 'woken to compensate', error));
      // A child that ended tells its parent; a cancelled parent cancels its children (a worker does it, should this fail).
      const final = prepared.record?.current;
      if (final !== undefined && needsFollowUp(final)) await this.afterEnd(final).catch((error: unknown) => this.warn(`workflow '${workflowId}': ended, but ${final.parent === undefined ? 'could not cancel its children' : 'could not tell its parent'} yet (a worker does it in seconds): ${errorText(error)}`, 'WAYMARK_FOLLOW_UP_FAILED', { workflowId, error }));
    }
  }

  /** Prepares checkpoints, restores committed steps and runs the rest; returns the first step failure, if any. */
  private async walk(workflow: object, graph: StepGraph, run: ResolvedRun, stepRun: StepRun, fingerprint: string, input: EncodedValue, mustExist: boolean): Promise<StepFailedError | undefined> {
    const { workflowId, keeper, events, state } = stepRun;
    const prepared = await prepareCheckpoints({
      storage: this.storage,
      graph,
      workflowId,
      resume: run.resume,
      mustExist,
      policy: run.policy,
      policyChosen: run.policyChosen,
      fingerprint,
      input,
      recoverAt: this.recoverAt(run.leaseTtlMs),
      lease: () => keeper.lease,
      events,
      onImplicitReuse: (storedFingerprint) =>
        this.warn(
          `workflow '${workflowId}': its input changed since its checkpoints were committed (stored fingerprint ${storedFingerprint}, ` +
            `current ${fingerprint}) and they were reused, because no input-change policy was chosen and the default is 'reuse'. ` +
            `Choose one with @OnInputChange(...), the run option onInputChange or the runner option onInputChange ('reset' re-runs every step); an explicit 'reuse' is silent.`,
          'WAYMARK_IMPLICIT_REUSE',
          { workflowId, storedFingerprint, currentFingerprint: fingerprint },
        ),
    });
    const record = new RunRecord(this.storage, workflowId, prepared.record, prepared.recordVersion, () => keeper.lease);
    stepRun.stored.record = record;
    stepRun.storage = prepared.storage;
    const { committed } = prepared;
    stepRun.committed = committed;
    events.emit('run:started', { workflowName: graph.workflowName, resume: run.resume, fingerprint });
    const consumed = await restoreCommitted(prepared.storage, graph, workflowId, committed, state, run.concurrency, events);
    stepRun.mailbox = new Mailbox(async () => ownEvents(await this.storage.listEvents(workflowId), prepared.record.createdAt), consumed);
    stepRun.createdAt = Date.parse(prepared.record.createdAt ?? prepared.record.updatedAt);
    stepRun.failedAt = prepared.failedAt;
    if (stepRun.slots !== undefined && (await admitRun({ graph, workflowId, input: stepRun.input, record, state, slots: stepRun.slots, maxWaitMs: this.maxInlineWaitMs, signal: stepRun.inFlight.signal })) !== 'admitted') return undefined;
    const { compensation } = prepared.record;
    if (compensation !== undefined) {
      // A step failed for good in an earlier run: the workflow goes on compensating, its steps never run again.
      const { cause } = compensation;
      // A cancel by id names no step: the compensations see its code, WAYMARK_CANCELLED.
      const step = cause.step ?? (cause.code === CANCELLED_CODE ? '(cancelled by id)' : '(unknown step)');
      const failure = new StepFailedError(workflowId, step, cause.attempts ?? 0, new StoredStepError(cause.code, cause.message));
      if (graph.byName.has(step) && !committed.has(step)) state.fail(step, failure.cause, 0);
      return failure;
    }
    await scheduleGraph({
      graph,
      done: committed,
      concurrency: run.concurrency,
      failFast: run.failFast,
      signal: stepRun.inFlight.signal,
      runStep: (node, settle) => this.runStep(workflow, node, stepRun, settle),
    });
    return stepRun.failures.first;
  }

  /** When a worker should look for a run that started now, if it died: after its lease would have expired. */
  private recoverAt(leaseTtlMs: number): number {
    return Date.now() + leaseTtlMs + RECOVERY_MARGIN_MS;
  }

  /** One step: its timers and event, attempts, then encode and commit. A failure for good is recorded in `run.failures`. */
  private async runStep(workflow: object, node: StepNode, run: StepRun, settle: Settle): Promise<Settled> {
    // Never rejects: user code can still throw outside an attempt (a retryIf, a getter read while
    // encoding the output), and that fails the step, like any step error, rather than escaping the walk.
    try {
      const { workflowId, input, state, inFlight, keeper, events } = run;
      const { after, afterIndexes } = node;
      // A chain's step has one dependency: a literal array (`new Array(n)` of a varying n is a runtime call).
      const outputs = after.length === 1 ? [state.output(afterIndexes[0]!)] : afterIndexes.map((dep) => state.output(dep));
      const method = run.methods.get(node.method) as (ctx: unknown) => unknown;
      // Which dependencies were skipped, for ctx.skipped(): only built when one was.
      const skipped = skippedDependencies(node, state);
      // Fan-outs' tolerated failures, for ctx.failures(): only looked up once some step had any.
      const failures = state.anyItemFailures ? afterIndexes.map((dep) => state.failuresOf(dep)) : undefined;
      if (node.mayBeSkipped || skipped !== undefined) {
        const record = run.stored.record!;
        const branch = await passBranch({ workflowId, className: run.className, node, state, input, outputs, skipped, inFlight, events, storage: run.storage, record, lease: () => keeper.lease, recoverAt: () => this.recoverAt(run.leaseTtlMs) });
        if (branch === 'cancelled') return settle(node, 'cancelled');
        if (branch === 'skipped') return settle(node, 'done');
        if (branch !== 'run') return settle(node, this.failStep(run, node, branch.error, branch.attempts));
      }
      let consumed: ConsumedEvent | undefined;
      if (node.wait !== undefined) {
        const depTimes = afterIndexes.map((dep) => state.committedAt(dep) ?? Date.now());
        const gate = await passGate({
          workflowId,
          node,
          readyAt: depTimes.length === 0 ? run.createdAt! : Math.max(...depTimes),
          storedTimer: run.stored.record!.current.timers?.[node.name],
          startAt: () => node.wait!.startAt!(createStepContext({ workflowId, step: node.name, attempt: 0, signal: inFlight.signal, input, after, outputs, event: undefined })),
          onTimer: (at) => (run.timers[node.name] = at),
          mailbox: run.mailbox!,
          maxInlineWaitMs: this.maxInlineWaitMs,
          signal: inFlight.signal,
        });
        if (gate.kind === 'cancelled') return settle(node, 'cancelled');
        if (gate.kind === 'timeout') return settle(node, this.failStep(run, node, gate.error, 0));
        if (gate.kind === 'wait') {
          const wakeAt = gate.wakeAt === undefined ? undefined : new Date(gate.wakeAt).toISOString();
          state.wait(node.index, wakeAt, gate.event);
          events.emit('step:waiting', { step: node.name, ...(wakeAt === undefined ? {} : { wakeAt }), ...(gate.event === undefined ? {} : { event: gate.event }) });
          return settle(node, 'waiting');
        }
        consumed = gate.event;
      }
      let spawned: SpawnedChildren | undefined;
      if (node.spawn !== undefined) {
        const gate = await passSpawn(this.spawnRun(run, node, outputs, skipped));
        if (gate.kind !== 'open') giveBack(run, consumed);
        if (gate.kind !== 'open') return settle(node, gate.kind === 'failed' ? this.failStep(run, node, gate.error, 0) : gate.kind);
        spawned = gate;
      }
      if (node.fanOut !== undefined) {
        const fanOut = await runFanOut({ workflowId, node, input, outputs, skipped, failures, state, inFlight, events, storage: run.storage, record: run.stored.record!, lease: () => keeper.lease, recoverAt: () => this.recoverAt(run.leaseTtlMs), committed: run.committed!, concurrency: run.concurrency, call: node.limits === undefined ? (ctx) => method.call(workflow, ctx) : limitedItemCall(run.slots!, node.limits, workflowId, node.name, inFlight.signal, (ctx) => method.call(workflow, ctx)) });
        return settle(node, fanOut === 'done' || fanOut === 'cancelled' ? fanOut : this.failStep(run, node, fanOut.error, fanOut.attempts));
      }
      const record = run.stored.record!;
      // A step called again later (it answered "not yet", or its retry waits durably): not before its stored time.
      let poll = record.current.polls?.[node.name];
      if (poll !== undefined) {
        const due = await awaitCall(this.laterCalls(run), node, poll);
        if (due !== 'due') {
          giveBack(run, consumed);
          return settle(node, due);
        }
      }
      // A resumed waiting workflow runs again from here: its record says so, with a recovery entry.
      if (!record.isRunning) await record.markRunning(this.recoverAt(run.leaseTtlMs));
      // Its slot and token last: the call starts right after them.
      const limiter = node.limits === undefined ? undefined : await passLimits(this.limitedStep(run, node, poll, createStepContext({ workflowId, step: node.name, attempt: 0, signal: inFlight.signal, input, after, outputs, event: consumed?.payload, skipped, failures })));
      if (limiter === 'waiting' || limiter === 'cancelled') {
        giveBack(run, consumed);
        return settle(node, limiter);
      }
      const startedAt = Date.now();
      /** When the attempt that succeeds started: stored with the commit, so any reader can time the step. */
      let attemptStart = startedAt;
      /** What the attempt before the successful one threw, when it was a retry (a durable retry's is stored with its call). */
      let lastFailure = poll?.lastFailure;
      let output: unknown;
      let attempts: number;
      for (;;) {
        const calls = poll === undefined ? undefined : { count: poll.count, last: poll.last === true };
        const call = (attempt: Attempt) =>
          // Object literals without spreads keep one shape, on the fast paths of V8 (and of JSON.stringify).
          method.call(workflow, createStepContext({ workflowId, step: node.name, attempt: attempt.number, signal: attempt, input, after, outputs, event: consumed?.payload, skipped, failures, poll: calls, children: spawned }));
        const invoke = limiter === undefined ? call : (attempt: Attempt) => limiter.around(attempt.number, () => call(attempt));
        // runAttempts, with its first attempt done here: most steps succeed at once, and awaiting the
        // attempt in this frame instead of in another async function took the engine from ×1.50 to
        // ×1.39 of its floor (README "Performance"). A first attempt that succeeds allocates no outcome.
        // A retry that waited durably goes on counting its attempts.
        const firstNumber = (poll?.attempts ?? 0) + 1;
        attempts = firstNumber;
        const first = startAttempt(workflowId, node, inFlight, events, firstNumber);
        let outcome: AttemptsOutcome | undefined = first === undefined ? { kind: 'cancelled', attempts: firstNumber - 1 } : undefined;
        if (first !== undefined) {
          let failed = false;
          let failure: unknown;
          try {
            output = await inFlight.run(first, invoke);
          } catch (error) {
            failed = true;
            failure = error;
          }
          inFlight.end(first);
          if (failed) outcome = await retryAttempts(workflowId, node, inFlight, events, invoke, failure, firstNumber, this.maxInlineWaitMs);
        }
        if (outcome === undefined) break;
        if (outcome.kind === 'cancelled') {
          giveBack(run, consumed);
          state.abandon(node.index, outcome.attempts);
          return settle(node, 'cancelled');
        }
        if (outcome.kind === 'failed') {
          giveBack(run, consumed);
          return settle(node, this.failStep(run, node, outcome.error, outcome.attempts));
        }
        if (outcome.kind === 'later') {
          const next = await storeNextCall(this.laterCalls(run), node, poll, outcome, startedAt);
          if (next instanceof Error) {
            giveBack(run, consumed);
            return settle(node, this.failStep(run, node, next, outcome.attempts));
          }
          poll = next;
          lastFailure = poll.lastFailure;
          const due = await awaitCall(this.laterCalls(run), node, poll);
          if (due !== 'due') {
            giveBack(run, consumed);
            return settle(node, due);
          }
          attemptStart = Date.now();
          continue;
        }
        ({ output, attempts } = outcome);
        if (outcome.startedAt !== undefined) attemptStart = outcome.startedAt;
        if (outcome.lastError !== undefined) lastFailure = attemptFailure(outcome.lastError);
        break;
      }

      let encoded;
      try {
        encoded = encodeValue(output);
      } catch (error) {
        giveBack(run, consumed);
        // Reading the output runs user code too (getters): any error fails the step, nothing is written.
        const reason = error instanceof UnencodableValue ? new CheckpointSerializationError(workflowId, node.name, error.path, error.reason) : error;
        return settle(node, this.failStep(run, node, reason, attempts));
      }
      const committedMs = Date.now();
      const committedAt = isoAt(committedMs);
      try {
        await run.storage.commit(
          workflowId,
          {
            formatVersion: 1,
            step: node.name,
            status: 'completed',
            attempts: attempts,
            committedAt,
            startedAt: isoAt(attemptStart),
            lastFailure,
            output: encoded,
            // Undefined members are left out of the stored JSON.
            event: consumed === undefined ? undefined : { name: consumed.name, eventId: consumed.eventId },
          },
          keeper.lease,
        );
      } catch (error) {
        giveBack(run, consumed);
        return settle(node, this.failStep(run, node, error, attempts));
      }
      state.complete(node.index, output, attempts, committedMs);
      if (events.listens('step:committed')) events.emit('step:committed', { step: node.name, attempts: attempts, durationMs: Date.now() - startedAt });
      return settle(node, 'done');
    } catch (error) {
      return settle(node, this.failStep(run, node, error, run.state.attempts(node.index)));
    }
  }

  /** What a spawn step needs of its run (made only for such a step). */
  private spawnRun(run: StepRun, node: StepNode, outputs: readonly unknown[], skipped: readonly boolean[] | undefined): SpawnRun {
    const { workflowId, input, inFlight, keeper } = run;
    const record = run.stored.record!;
    const context = (item?: { value: unknown; index: number }) => createStepContext({ workflowId, step: node.name, attempt: 0, signal: inFlight.signal, input, after: node.after, outputs, skipped, item });
    return { workflowId, node, state: run.state, input, outputs, skipped, inFlight, events: run.events, storage: run.storage, record, lease: () => keeper.lease, recoverAt: () => this.recoverAt(run.leaseTtlMs), deps: this.childStarts, mailbox: run.mailbox!, committed: run.committed!, createdAt: record.current.createdAt!, retrying: run.failedAt === node.name, context, onTimer: (at) => (run.timers[node.name] = at) };
  }

  /** What a limited step's first attempt needs of its run (made only for such a step). */
  private limitedStep(run: StepRun, node: StepNode, poll: { attempts?: number } | undefined, ctx: unknown): LimitedStep {
    const wait = (wakeAt: string, waitingFor: string) => {
      run.state.wait(node.index, wakeAt, waitingFor);
      run.events.emit('step:waiting', { step: node.name, wakeAt, event: waitingFor });
    };
    return { slots: run.slots!, limits: node.limits!, workflowId: run.workflowId, step: node.name, ctx, attempt: (poll?.attempts ?? 0) + 1, maxWaitMs: this.maxInlineWaitMs, signal: run.inFlight.signal, wait };
  }

  /** What a step called again later needs of its run (made only for such a step). */
  private laterCalls(run: StepRun): LaterCallRun {
    return { workflowId: run.workflowId, state: run.state, events: run.events, record: run.stored.record!, signal: run.inFlight.signal, maxInlineWaitMs: this.maxInlineWaitMs };
  }

  private failStep(run: StepRun, node: StepNode, error: unknown, attempts: number): 'failed' {
    run.state.fail(node.index, error, attempts);
    run.failures.first ??= new StepFailedError(run.workflowId, node.name, attempts, error);
    return 'failed';
  }

  /** A run's outcome it could not store: reported, and the record reads as interrupted (a worker resumes it). */
  private recordFailure(workflowId: string, what: string, error: unknown): undefined {
    this.warn(`workflow '${workflowId}': ${what}, but could not store that in its record (it reads as interrupted): ${errorText(error)}`, 'WAYMARK_OUTCOME_NOT_RECORDED', { workflowId, error });
    return undefined;
  }

  private reportReleaseFailure(workflowId: string, error: unknown): void {
    this.warn(`workflow '${workflowId}': could not release its lease (it expires after leaseTtlMs): ${errorText(error)}`, 'WAYMARK_LEASE_RELEASE_FAILED', { workflowId, error });
  }

  /** A warning through the logger, or as a process warning when there is none. */
  private warn(message: string, code: string, detail: Record<string, unknown>): void {
    if (this.options.logger) this.options.logger.warn(`waymark: ${message}`, { code, ...detail });
    else process.emitWarning(message, { code });
  }

  private reportListenerError(event: WorkflowEventName, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.options.logger) this.options.logger.error(`waymark: a '${event}' listener threw: ${message}`, { event, error });
    else process.emitWarning(`a '${event}' listener threw: ${message}`, { code: 'WAYMARK_LISTENER_ERROR' });
  }
}

/** Step results with each compensation's outcome added. */
function withCompensations(steps: Record<string, StepResult>, compensations: ReadonlyMap<string, CompensationResult>): Record<string, StepResult> {
  for (const [step, compensation] of compensations) steps[step] = { ...steps[step]!, compensation };
  return steps;
}

/** Puts back the event a step consumed but did not commit, for its next attempt or run. */
function giveBack(run: StepRun, consumed: ConsumedEvent | undefined): void {
  if (consumed?.eventId !== undefined) run.mailbox!.release(consumed.eventId);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
