/**
 * One workflow as its page shows it: what the store says (`runner.get`), with each step's state
 * decided once here, the graph laid out, and values made plain JSON.
 */
import type { WorkflowRunner } from '../runner/workflow-runner';
import type { MailboxEvent, WorkflowInfo } from '../runner/workflow-info';
import type { StoredCompensation, StoredError, WorkflowStatus } from '../storage/records';
import { layoutGraph, type GraphLayout } from './graph-layout';
import { toJsonData, valueText, type ValueText } from './json-view';
import type { LiveRun, LiveRuns } from './live-runs';

/**
 * A step's state on the page. `committed`: its checkpoint is stored; `restored`: committed by an
 * earlier run and skipped by the latest run of this process; `running`: an attempt is under way;
 * `waiting`: for its timer or event; `failed`: failed for good (or its compensation did);
 * `compensated`: undone by its compensation; `not-run`: none of these yet.
 */
export type StepState = 'committed' | 'restored' | 'running' | 'waiting' | 'failed' | 'compensated' | 'not-run';

/** One step of the page. */
export interface StepView {
  readonly name: string;
  readonly after: readonly string[];
  readonly state: StepState;
  /** One line saying why it is in that state, when there is more to say (its error, what it waits for). */
  readonly detail?: string;
  readonly attempts: number;
  readonly committedAt?: string;
  readonly compensatedAt?: string;
  /** Its successful attempt's duration, known for the runs of the dashboard's own process. */
  readonly durationMs?: number;
  readonly output?: ValueText;
  readonly consumedEvent?: { readonly name: string; readonly eventId?: string };
}

/** The whole workflow page's data. */
export interface WorkflowView {
  readonly workflowId: string;
  readonly workflowName?: string;
  readonly status: WorkflowStatus;
  /** Unfinished, and no run holds its lease: a run died (a worker, or a resume, finishes it). */
  readonly interrupted: boolean;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly error?: StoredError;
  readonly compensation?: StoredCompensation;
  readonly wakeAt?: string;
  readonly waitingFor?: readonly string[];
  readonly lease?: { readonly owner: string; readonly expiresAt: string };
  /** The stored input as plain JSON. */
  readonly input: unknown;
  /** Dotted paths of the input the fingerprint ignores; null when the dashboard does not know the class. */
  readonly ignoredInput: readonly string[] | null;
  readonly output?: ValueText;
  readonly steps: readonly StepView[];
  readonly layout: GraphLayout;
  readonly events: readonly (Omit<MailboxEvent, 'payload'> & { readonly payload: ValueText })[];
  /** True when the dashboard's runner can resume it (its class is registered). */
  readonly canResume: boolean;
}

/** The page's data for `workflowId`, or undefined when nothing is stored under it. */
export async function readWorkflowView(runner: WorkflowRunner, live: LiveRuns, workflowId: string): Promise<WorkflowView | undefined> {
  const info = await runner.get(workflowId, { outputs: true, events: true, ignoredInput: true });
  if (info === undefined) return undefined;
  const run = live.get(workflowId);
  const interrupted = (info.status === 'running' || info.status === 'compensating') && info.lease === undefined;
  const steps = Object.entries(info.steps).map(([name, step]) => {
    const { state, detail } = stepState(info, name, run);
    const durationMs = run?.durations.get(name);
    return {
      name,
      after: step.after,
      state,
      ...(detail === undefined ? {} : { detail }),
      attempts: step.attempts,
      ...(step.committedAt === undefined ? {} : { committedAt: step.committedAt }),
      ...(step.compensatedAt === undefined ? {} : { compensatedAt: step.compensatedAt }),
      ...(durationMs === undefined ? {} : { durationMs }),
      ...(step.status === 'committed' ? { output: valueText(step.output) } : {}),
      ...(step.consumedEvent === undefined ? {} : { consumedEvent: step.consumedEvent }),
    } satisfies StepView;
  });
  return {
    workflowId,
    ...(info.workflowName === undefined ? {} : { workflowName: info.workflowName }),
    status: info.status,
    interrupted,
    ...(info.createdAt === undefined ? {} : { createdAt: info.createdAt }),
    ...(info.updatedAt === undefined ? {} : { updatedAt: info.updatedAt }),
    ...(info.error === undefined ? {} : { error: info.error }),
    ...(info.compensation === undefined ? {} : { compensation: info.compensation }),
    ...(info.wakeAt === undefined ? {} : { wakeAt: info.wakeAt }),
    ...(info.waitingFor === undefined ? {} : { waitingFor: info.waitingFor }),
    ...(info.lease === undefined ? {} : { lease: info.lease }),
    input: toJsonData(info.input),
    ignoredInput: info.ignoredInput ?? null,
    ...(info.status === 'completed' ? { output: valueText(info.output) } : {}),
    steps,
    layout: layoutGraph(steps),
    events: (info.events ?? []).map((e) => ({ ...e, payload: valueText(e.payload) })),
    canResume: info.workflowName !== undefined && info.input !== undefined && runner.isRegistered(info.workflowName),
  };
}

function stepState(info: WorkflowInfo, name: string, run: LiveRun | undefined): { state: StepState; detail?: string } {
  const step = info.steps[name]!;
  const compensationError = info.compensation?.errors?.find((e) => e.step === name);
  if (compensationError !== undefined) return { state: 'failed', detail: `compensation failed: ${compensationError.code}: ${compensationError.message}` };
  if (step.compensatedAt !== undefined) return { state: 'compensated' };
  if (step.status === 'committed') return { state: run?.restoredSteps.has(name) === true ? 'restored' : 'committed' };
  if (step.status === 'failed') return { state: 'failed', ...(info.error === undefined ? {} : { detail: `${info.error.code}: ${info.error.message}` }) };
  if (step.status === 'waiting') {
    const { wakeAt, event } = step.waitingFor ?? {};
    const parts = [...(event === undefined ? [] : [`event '${event}'`]), ...(wakeAt === undefined ? [] : [`${event === undefined ? 'until' : 'times out at'} ${wakeAt}`])];
    return { state: 'waiting', detail: `waits for ${parts.length === 0 ? 'its timer' : parts.join(', ')}` };
  }
  if (run?.running === true) return run.runningSteps.has(name) ? { state: 'running' } : { state: 'not-run' };
  // Another process's run: the store does not say which step runs, but a live lease and every
  // dependency committed mean the run has started it (or is about to).
  const ready = step.after.every((before) => info.steps[before]?.status === 'committed');
  if (info.status === 'running' && info.lease !== undefined && ready) return { state: 'running', detail: 'its dependencies are committed and a run holds the lease' };
  return { state: 'not-run' };
}
