import * as api from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { RunEvents, type RunEmitter } from '../../lib/runner/run-events';
import type { RunResult } from '../../lib/runner/run-result';
import { attachTracing, loadTracingApi } from '../../lib/runner/tracing';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { Step } from '../../decorators';

const result = {} as RunResult;

describe('tracing', () => {
  let exporter: InMemorySpanExporter;
  let events: RunEvents;
  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    events = new RunEvents((event, error) => {
      throw new Error(`a tracing listener of ${event} threw: ${String(error)}`);
    });
    attachTracing(events, api, provider.getTracer('spec'));
  });
  const finished = () => exporter.getFinishedSpans();
  const named = (name: string): ReadableSpan => {
    const span = finished().find((s) => s.name === name);
    return span ?? expect.fail(`no finished span '${name}' among ${finished().map((s) => s.name).join(', ')}`);
  };
  const begin = (runId: string, workflowId = 'wf'): RunEmitter => {
    const run = events.forRun({ workflowId, runId });
    run.emit('lease:acquired', { owner: 'pid 1 on h', expiresAt: 0 });
    return run;
  };

  it('loads @opentelemetry/api when it is installed', () => {
    expect(loadTracingApi()).to.equal(api);
  });

  it('a completed run: its span named after the workflow, with ids, input, resume, fingerprint and events; each step a child span', () => {
    const run = begin('r1');
    run.emit('input:changed', { storedFingerprint: 'old', currentFingerprint: 'new', policy: 'reset' });
    run.emit('run:started', { workflowName: 'Etl', resume: true, fingerprint: 'new' });
    run.emit('step:restored', { step: 'extract' });
    run.emit('step:started', { step: 'load', attempt: 3 });
    run.emit('step:committed', { step: 'load', attempts: 3, durationMs: 5 });
    run.emit('run:completed', { result });
    const span = named('waymark.run Etl');
    expect(span.attributes).to.deep.equal({ 'waymark.workflow_id': 'wf', 'waymark.run_id': 'r1', 'waymark.workflow_name': 'Etl', 'waymark.resume': true, 'waymark.fingerprint': 'new', 'waymark.outcome': 'completed' });
    expect(span.status).to.deep.equal({ code: api.SpanStatusCode.OK });
    expect(span.events.map((e) => [e.name, e.attributes])).to.deep.equal([
      ['lease acquired', { owner: 'pid 1 on h' }],
      ['input changed', { policy: 'reset', 'fingerprint.stored': 'old', 'fingerprint.current': 'new' }],
      ['step restored', { 'waymark.step': 'extract' }],
    ]);
    const step = named('waymark.step load');
    expect(step.attributes).to.deep.equal({ 'waymark.workflow_id': 'wf', 'waymark.run_id': 'r1', 'waymark.step': 'load', 'waymark.attempt': 3, 'waymark.outcome': 'committed' });
    expect(step.status).to.deep.equal({ code: api.SpanStatusCode.OK });
    expect(step.parentSpanContext?.spanId).to.equal(span.spanContext().spanId);
  });

  it('a failed attempt: outcome, whether it will retry, the exception and an error status', () => {
    const run = begin('r2');
    run.emit('step:started', { step: 's', attempt: 1 });
    run.emit('step:attempt-failed', { step: 's', attempt: 1, error: new Error('flaky'), willRetry: true, delayMs: 10 });
    run.emit('step:started', { step: 's', attempt: 2 });
    run.emit('step:attempt-failed', { step: 's', attempt: 2, error: 'a string', willRetry: false });
    const [first, second] = finished().filter((s) => s.name === 'waymark.step s');
    expect(first.attributes).to.include({ 'waymark.outcome': 'failed', 'waymark.will_retry': true, 'waymark.attempt': 1 });
    expect(first.status).to.deep.equal({ code: api.SpanStatusCode.ERROR, message: 'flaky' });
    expect(first.events.map((e) => [e.name, e.attributes?.['exception.message']])).to.deep.equal([['exception', 'flaky']]);
    expect(second.attributes).to.include({ 'waymark.will_retry': false });
    expect(second.status).to.deep.equal({ code: api.SpanStatusCode.ERROR, message: 'a string' });
    expect(second.events.map((e) => [e.name, e.attributes?.['exception.message']])).to.deep.equal([['exception', 'a string']]);
  });

  it('a branch: a skipped step and a failed when are events of the run span, with no step span of their own', () => {
    const run = begin('r5');
    run.emit('run:started', { workflowName: 'B', resume: false, fingerprint: 'f' });
    run.emit('step:attempt-failed', { step: 'approve', attempt: 1, error: new Error('no answer'), willRetry: true, delayMs: 0, branch: true });
    run.emit('step:skipped', { step: 'approve', reason: 'when' });
    run.emit('step:skipped', { step: 'thank', reason: 'dependencies' });
    run.emit('run:completed', { result });
    expect(named('waymark.run B').events.map((e) => [e.name, e.attributes])).to.deep.equal([
      ['lease acquired', { owner: 'pid 1 on h' }],
      ['step when failed', { 'waymark.step': 'approve', 'waymark.will_retry': true, 'waymark.error': 'no answer' }],
      ['step skipped', { 'waymark.step': 'approve', 'waymark.skip_reason': 'when' }],
      ['step skipped', { 'waymark.step': 'thank', 'waymark.skip_reason': 'dependencies' }],
    ]);
    expect(finished().map((s) => s.name)).to.deep.equal(['waymark.run B']);
  });

  it('a failed run: its open steps end failed, the run records the error', () => {
    const run = begin('r3');
    run.emit('run:started', { workflowName: 'W', resume: false, fingerprint: 'f' });
    run.emit('step:started', { step: 'stuck', attempt: 1 });
    run.emit('run:failed', { result, error: new Error('commit failed') });
    const stuck = named('waymark.step stuck');
    expect(stuck.attributes['waymark.outcome']).to.equal('failed');
    expect(stuck.status).to.deep.equal({ code: api.SpanStatusCode.ERROR });
    const span = named('waymark.run W');
    expect(span.attributes['waymark.outcome']).to.equal('failed');
    expect(span.status).to.deep.equal({ code: api.SpanStatusCode.ERROR, message: 'commit failed' });
    expect(span.events.map((e) => e.name)).to.deep.equal(['lease acquired', 'exception']);
  });

  it('a cancelled run after its lease was lost: open steps end cancelled, no exception, the status says cancelled', () => {
    const run = begin('r4');
    run.emit('run:started', { workflowName: 'C', resume: false, fingerprint: 'f' });
    run.emit('step:started', { step: 'long', attempt: 1 });
    run.emit('lease:lost', {});
    run.emit('run:cancelled', { result });
    expect(named('waymark.step long').attributes['waymark.outcome']).to.equal('cancelled');
    const span = named('waymark.run C');
    expect(span.attributes['waymark.outcome']).to.equal('cancelled');
    expect(span.status).to.deep.equal({ code: api.SpanStatusCode.ERROR, message: 'cancelled' });
    expect(span.events.map((e) => e.name)).to.deep.equal(['lease acquired', 'lease lost']);
  });

  it('a run refused before it started (a changed definition, say) keeps the name waymark.run', () => {
    const run = begin('r9');
    run.emit('run:failed', { result: { ...result, status: 'failed' }, error: new Error('definition changed') });
    expect(named('waymark.run').attributes).to.include({ 'waymark.run_id': 'r9', 'waymark.outcome': 'failed' });
  });

  it('a waiting run ends its span, its outcome waiting, with no error', () => {
    const run = begin('r8');
    run.emit('run:started', { workflowName: 'Etl', resume: false, fingerprint: 'f' });
    run.emit('run:waiting', { result: { ...result, status: 'waiting' } });
    const span = named('waymark.run Etl');
    expect(span.attributes['waymark.outcome']).to.equal('waiting');
    expect(span.status.code).to.equal(1);
  });

  it("ends only its own run's open steps, even for a run id another begins with", () => {
    const a = begin('r5');
    const b = begin('r5x');
    a.emit('step:started', { step: 's', attempt: 1 });
    b.emit('step:started', { step: 's', attempt: 1 });
    a.emit('run:completed', { result });
    expect(finished().filter((s) => s.name === 'waymark.step s').map((s) => s.attributes['waymark.run_id'])).to.deep.equal(['r5']);
    b.emit('step:committed', { step: 's', attempts: 1, durationMs: 1 });
    expect(finished().filter((s) => s.name === 'waymark.step s').map((s) => s.attributes['waymark.run_id'])).to.deep.equal(['r5', 'r5x']);
  });

  it("a runner without a tracer option traces with the global provider's tracer named waymark", async () => {
    const global = new InMemorySpanExporter();
    api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(global)] }));
    try {
      class Once {
        only() {
          return 1;
        }
      }
      Step()(Once.prototype, 'only', Object.getOwnPropertyDescriptor(Once.prototype, 'only')!);
      await new WorkflowRunner().run(new Once(), { workflowId: 'traced' });
      const run = global.getFinishedSpans().find((span) => span.name === 'waymark.run Once');
      expect(run?.instrumentationScope.name).to.equal('waymark');
    } finally {
      api.trace.disable();
    }
  });

  it('ignores events of runs it does not trace', () => {
    const run = events.forRun({ workflowId: 'wf', runId: 'untraced' });
    run.emit('step:started', { step: 's', attempt: 1 });
    run.emit('step:committed', { step: 's', attempts: 1, durationMs: 1 });
    run.emit('step:attempt-failed', { step: 's', attempt: 1, error: new Error('x'), willRetry: false });
    run.emit('run:completed', { result });
    expect(finished()).to.deep.equal([]);
  });
});
