/**
 * OpenTelemetry spans from lifecycle events: one span per run, one per step attempt, with workflow
 * id, step, attempt and outcome. `@opentelemetry/api` is an optional peer dependency, loaded only if
 * installed; without a registered SDK its tracer does nothing.
 */
import type { RunEvents } from './run-events';

/** The parts of `@opentelemetry/api` waymark uses (structural, so users without it still compile). */
export interface TracingApi {
  trace: { getTracer(name: string, version?: string): SpanTracer; setSpan(context: unknown, span: TracingSpan): unknown };
  context: { active(): unknown };
}

/** An OpenTelemetry `Tracer`. */
export interface SpanTracer {
  startSpan(name: string, options?: { attributes?: Record<string, string | number | boolean> }, context?: unknown): TracingSpan;
}

/** An OpenTelemetry `Span`. */
export interface TracingSpan {
  isRecording(): boolean;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  addEvent(name: string, attributes?: Record<string, string | number | boolean>): unknown;
  recordException(exception: Error | string): unknown;
  updateName(name: string): unknown;
  end(): void;
}

const OK = 1;
const ERROR = 2;

/** `@opentelemetry/api` if it is installed. */
export function loadTracingApi(): TracingApi | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@opentelemetry/api') as TracingApi;
  } catch {
    return undefined;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Turns `events` into spans of `tracer`; the step spans are children of their run's span. */
export function attachTracing(events: RunEvents, api: TracingApi, tracer: SpanTracer): void {
  const runs = new Map<string, TracingSpan>();
  const steps = new Map<string, TracingSpan>();
  const stepKey = (runId: string, step: string) => `${runId}\u0000${step}`;

  events.on('lease:acquired', ({ workflowId, runId, owner }) => {
    const span = tracer.startSpan('waymark.run', { attributes: { 'waymark.workflow_id': workflowId, 'waymark.run_id': runId } });
    // No SDK registered, or this run sampled out: its step spans would record nothing either, so the
    // run is not tracked and its steps cost no span at all.
    if (!span.isRecording()) {
      span.end();
      return;
    }
    span.addEvent('lease acquired', { owner });
    runs.set(runId, span);
  });
  events.on('input:changed', ({ runId, policy, storedFingerprint, currentFingerprint }) => {
    runs.get(runId)?.addEvent('input changed', { policy, 'fingerprint.stored': storedFingerprint, 'fingerprint.current': currentFingerprint });
  });
  events.on('run:started', ({ runId, workflowName, resume, fingerprint }) => {
    const span = runs.get(runId);
    span?.updateName(`waymark.run ${workflowName}`);
    span?.setAttribute('waymark.workflow_name', workflowName);
    span?.setAttribute('waymark.resume', resume);
    span?.setAttribute('waymark.fingerprint', fingerprint);
  });
  events.on('step:restored', ({ runId, step }) => runs.get(runId)?.addEvent('step restored', { 'waymark.step': step }));
  events.on('step:started', ({ workflowId, runId, step, attempt }) => {
    const parent = runs.get(runId);
    if (parent === undefined) return;
    const context = api.trace.setSpan(api.context.active(), parent);
    const span = tracer.startSpan(`waymark.step ${step}`, { attributes: { 'waymark.workflow_id': workflowId, 'waymark.run_id': runId, 'waymark.step': step, 'waymark.attempt': attempt } }, context);
    steps.set(stepKey(runId, step), span);
  });
  events.on('step:skipped', ({ runId, step, reason }) => runs.get(runId)?.addEvent('step skipped', { 'waymark.step': step, 'waymark.skip_reason': reason }));
  events.on('step:attempt-failed', ({ runId, step, error, willRetry, branch, item }) => {
    // A step's when has no span of its own: its failures are events of the run's span.
    if (branch === true) return void runs.get(runId)?.addEvent('step when failed', { 'waymark.step': step, 'waymark.will_retry': willRetry, 'waymark.error': message(error) });
    // Nor has a fan-out's item (thousands of spans would bury the run): its failures are events of the step's span.
    if (item !== undefined) return void steps.get(stepKey(runId, step))?.addEvent('item attempt failed', { 'waymark.item': item, 'waymark.will_retry': willRetry, 'waymark.error': message(error) });
    const span = steps.get(stepKey(runId, step));
    if (!span) return;
    steps.delete(stepKey(runId, step));
    span.setAttribute('waymark.outcome', 'failed');
    span.setAttribute('waymark.will_retry', willRetry);
    span.recordException(error instanceof Error ? error : message(error));
    span.setStatus({ code: ERROR, message: message(error) });
    span.end();
  });
  events.on('step:committed', ({ runId, step }) => {
    const span = steps.get(stepKey(runId, step));
    if (!span) return;
    steps.delete(stepKey(runId, step));
    span.setAttribute('waymark.outcome', 'committed');
    span.setStatus({ code: OK });
    span.end();
  });
  events.on('lease:lost', ({ runId }) => runs.get(runId)?.addEvent('lease lost'));

  const endRun = (runId: string, outcome: string, error?: unknown) => {
    for (const [key, span] of steps) {
      if (!key.startsWith(`${runId}\u0000`)) continue;
      // A step still open when its run ends did not finish: it failed its commit or was cancelled.
      span.setAttribute('waymark.outcome', outcome === 'cancelled' ? 'cancelled' : 'failed');
      span.setStatus({ code: ERROR });
      span.end();
      steps.delete(key);
    }
    const span = runs.get(runId);
    if (!span) return;
    runs.delete(runId);
    span.setAttribute('waymark.outcome', outcome);
    if (error !== undefined) span.recordException(error instanceof Error ? error : message(error));
    span.setStatus(outcome === 'completed' || outcome === 'waiting' ? { code: OK } : { code: ERROR, message: error === undefined ? outcome : message(error) });
    span.end();
  };
  events.on('run:completed', ({ runId }) => endRun(runId, 'completed'));
  events.on('run:failed', ({ runId, error }) => endRun(runId, 'failed', error));
  events.on('run:cancelled', ({ runId }) => endRun(runId, 'cancelled'));
  // A waiting run ends its span with the outcome 'waiting': the resume that goes on is a new run.
  events.on('run:waiting', ({ runId }) => endRun(runId, 'waiting'));
}
