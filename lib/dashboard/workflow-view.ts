/**
 * One workflow as its page shows it: what the store says (`runner.get`), with each step's state
 * decided once here, the graph laid out, and values made plain JSON.
 */
import { buildGraph, type StepNode } from '../graph';
import type { Constructor } from '../metadata';
import { forEachText, whenText } from '../step-text';
import type { MigrationResult, WorkflowRunner } from '../runner/workflow-runner';
import { MigrationRefusedError } from '../errors';
import type { MailboxEvent, WorkflowInfo } from '../runner/workflow-info';
import { layoutGraph, type GraphLayout } from './graph-layout';
import { valueText, type ValueText } from './json-view';
import type { AttemptFailure } from '../storage/records';
import { shownLines, type ShownLine } from '../shown-value';
import type { LiveRun, LiveRuns } from './live-runs';

/**
 * A step's state on the page. `committed`: its checkpoint is stored; `restored`: committed by an
 * earlier run and skipped by the latest run of this process; `skipped`: its branch (`when`) said no,
 * or every step it runs after was skipped; `running`: an attempt is under way;
 * `waiting`: for its timer or event; `failed`: failed for good (or its compensation did);
 * `compensated`: undone by its compensation; `not-run`: none of these yet.
 */
export type StepState = 'committed' | 'restored' | 'skipped' | 'running' | 'waiting' | 'failed' | 'compensated' | 'not-run';

/** One step of the page. */
export interface StepView {
  readonly name: string;
  readonly after: readonly string[];
  /** True when the step has a branch (`@Step({ when })`): it may be skipped. */
  readonly when?: true;
  /** True when the step is a per-item fan-out (`@Step({ forEach })`). */
  readonly forEach?: true;
  /** Its branch's condition in words (`when`'s expression), when the dashboard's runner knows the class. */
  readonly condition?: string;
  /** What its fan-out runs for, in words, when the dashboard's runner knows the class. */
  readonly forEachText?: string;
  /** A fan-out's progress once its list is committed (see `StoredStepInfo.items`). */
  readonly items?: { readonly total: number; readonly committed: number; readonly failed: number; readonly remaining: number };
  readonly state: StepState;
  /** One line saying why it is in that state, when there is more to say (its error, what it waits for). */
  readonly detail?: string;
  readonly attempts: number;
  /** For a step retried before it committed: what the attempt before the successful one threw. */
  readonly lastFailure?: AttemptFailure;
  /** When its successful attempt started (stored with the commit, so known for any process's runs). */
  readonly startedAt?: string;
  readonly committedAt?: string;
  /** For a waiting step: when its timer (or its event's timeout) is due. */
  readonly waitsUntil?: string;
  readonly compensatedAt?: string;
  /** Its successful attempt's duration, known for the runs of the dashboard's own process. */
  readonly durationMs?: number;
  readonly output?: ValueText;
  readonly consumedEvent?: { readonly name: string; readonly eventId?: string };
}

/** The whole workflow page's data: what `runner.get` says of the workflow, made plain JSON, and more. */
export interface WorkflowView extends Pick<WorkflowInfo, 'workflowId' | 'workflowName' | 'version' | 'stranded' | 'history' | 'status' | 'createdAt' | 'updatedAt' | 'error' | 'compensation' | 'wakeAt' | 'waitingFor' | 'lease' | 'parent' | 'children'> {
  /** Unfinished, and no run holds its lease: a run died (a worker, or a resume, finishes it). */
  readonly interrupted: boolean;
  /** The stored input as lines of text in its own types, each leaf with its path; null when none is stored. */
  readonly input: readonly ShownLine[] | null;
  /** Dotted paths of the input the fingerprint ignores; null when the dashboard does not know the class. */
  readonly ignoredInput: readonly string[] | null;
  readonly output?: ValueText;
  readonly steps: readonly StepView[];
  readonly layout: GraphLayout;
  readonly events: readonly (Omit<MailboxEvent, 'payload'> & { readonly payload: ValueText })[];
  /** True when the dashboard's runner can resume it (its class is registered in its version). */
  readonly canResume: boolean;
  /**
   * Where the dashboard's runner registers a newer version of the workflow: what moving it there
   * does (a dry run of `runner.migrate`), or why it cannot move. Absent otherwise.
   */
  readonly migration?: { readonly to: number; readonly plan?: Pick<MigrationResult, 'kept' | 'renamed' | 'dropped' | 'toRun' | 'converted'>; readonly refused?: readonly string[] };
}

/** The page's data for `workflowId`, or undefined when nothing is stored under it. */
export async function readWorkflowView(runner: WorkflowRunner, live: LiveRuns, workflowId: string): Promise<WorkflowView | undefined> {
  const info = await runner.get(workflowId, { outputs: true, events: true, ignoredInput: true });
  if (info === undefined) return undefined;
  const run = live.get(workflowId);
  const registered = info.workflowName !== undefined && runner.isRegistered(info.workflowName, info.version);
  // The class, where the runner knows it, says in words what the stored graph only marks.
  const graph = registered ? buildGraph(runner.workflowInstance(info.workflowName!, workflowId, info.version).constructor as Constructor) : undefined;
  const interrupted = (info.status === 'running' || info.status === 'compensating') && info.lease === undefined;
  // Sent as JSON, where an undefined field is simply absent.
  const steps = Object.entries(info.steps).map(([name, step]): StepView => ({
    name,
    after: step.after,
    ...(step.when === true ? { when: true as const } : {}),
    ...(step.forEach === true ? { forEach: true as const } : {}),
    ...texts(graph?.byName.get(name)),
    ...(step.items === undefined ? {} : { items: step.items }),
    ...stepState(info, name, run),
    attempts: step.attempts,
    lastFailure: step.lastFailure,
    startedAt: step.startedAt,
    committedAt: step.committedAt,
    waitsUntil: step.waitingFor?.wakeAt,
    compensatedAt: step.compensatedAt,
    // This process's runs time their steps; any other's are timed by what the checkpoint stores.
    durationMs: run?.durations.get(name) ?? storedDuration(step.startedAt, step.committedAt),
    output: step.status === 'committed' ? valueText(step.output) : undefined,
    consumedEvent: step.consumedEvent,
  }));
  const { workflowName, version, stranded, history, status, createdAt, updatedAt, error, compensation, wakeAt, waitingFor, lease, parent, children } = info;
  const migration = await migrationOffer(runner, info);
  return {
    workflowId,
    workflowName,
    version,
    stranded,
    history,
    ...(migration === undefined ? {} : { migration }),
    status,
    interrupted,
    createdAt,
    updatedAt,
    error,
    compensation,
    wakeAt,
    waitingFor,
    lease,
    parent,
    children,
    input: info.input === undefined ? null : shownLines(info.input),
    ignoredInput: info.ignoredInput ?? null,
    output: status === 'completed' ? valueText(info.output) : undefined,
    steps,
    layout: layoutGraph(steps),
    events: (info.events ?? []).map((e) => ({ ...e, payload: valueText(e.payload) })),
    canResume: registered && info.input !== undefined,
  };
}

/** What moving the workflow to the newest version the runner registers would do, when that is newer than its own. */
async function migrationOffer(runner: WorkflowRunner, info: WorkflowInfo): Promise<WorkflowView['migration']> {
  if (info.workflowName === undefined) return undefined;
  const newest = Math.max(0, ...runner.registeredVersions(info.workflowName));
  if (newest <= (info.version ?? 1) || !['running', 'waiting', 'failed'].includes(info.status)) return undefined;
  try {
    const { kept, renamed, dropped, toRun, converted } = await runner.migrate(info.workflowId, { to: newest, dryRun: true });
    return { to: newest, plan: { kept, renamed, dropped, toRun, converted } };
  } catch (error) {
    if (error instanceof MigrationRefusedError) return { to: newest, refused: error.reasons };
    throw error;
  }
}

/** Commit time minus the successful attempt's start, when the checkpoint stores both. */
function storedDuration(startedAt: string | undefined, committedAt: string | undefined): number | undefined {
  return startedAt === undefined || committedAt === undefined ? undefined : Math.max(0, Date.parse(committedAt) - Date.parse(startedAt));
}

/** A step's condition and fan-out in words, from its class's graph. */
function texts(node: StepNode | undefined): { condition?: string; forEachText?: string } {
  if (node === undefined) return {};
  const condition = whenText(node);
  const items = forEachText(node);
  return { ...(condition === undefined ? {} : { condition }), ...(items === undefined ? {} : { forEachText: items }) };
}

function stepState(info: WorkflowInfo, name: string, run: LiveRun | undefined): { state: StepState; detail?: string } {
  const step = info.steps[name]!;
  const compensationError = info.compensation?.errors?.find((e) => e.step === name);
  if (compensationError !== undefined) return { state: 'failed', detail: `compensation failed: ${compensationError.code}: ${compensationError.message}` };
  if (step.compensatedAt !== undefined) return { state: 'compensated' };
  if (step.status === 'committed') return { state: run?.restoredSteps.has(name) === true ? 'restored' : 'committed' };
  if (step.status === 'skipped') return { state: 'skipped', detail: step.when === true ? 'its when said no, or every step it runs after was skipped' : 'every step it runs after was skipped' };
  // The record names the failed step only with its error.
  if (step.status === 'failed') return { state: 'failed', detail: `${info.error!.code}: ${info.error!.message}` };
  if (step.status === 'waiting') return { state: 'waiting', detail: waitText(step.waitingFor ?? {}) + callsText(step.calls) };
  if (run?.running === true) return run.runningSteps.has(name) ? { state: 'running' } : { state: 'not-run' };
  // Another process's run: the store does not say which step runs, but a live lease and every
  // dependency committed mean the run has started it (or is about to).
  const ready = step.after.every((before) => info.steps[before]?.status === 'committed' || info.steps[before]?.status === 'skipped');
  if (info.status === 'running' && info.lease !== undefined && ready) return { state: 'running', detail: 'its dependencies are committed and a run holds the lease' };
  return { state: 'not-run' };
}

function waitText({ wakeAt, event }: { readonly wakeAt?: string; readonly event?: string }): string {
  if (event === undefined) return `waits until ${wakeAt ?? 'its timer is due'}`;
  return `waits for event '${event}'${wakeAt === undefined ? '' : ` (times out at ${wakeAt})`}`;
}

/** What a step called again later did so far, after its wait. */
function callsText(calls: { readonly polls: number; readonly failedAttempts?: number } | undefined): string {
  if (calls === undefined) return '';
  const parts = [...(calls.polls > 0 ? [`${calls.polls} "not yet" ${calls.polls === 1 ? 'answer' : 'answers'}`] : []), ...(calls.failedAttempts === undefined ? [] : [`${calls.failedAttempts} failed ${calls.failedAttempts === 1 ? 'attempt' : 'attempts'}`])];
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}
