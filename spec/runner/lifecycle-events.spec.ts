import { trace } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import sinon from 'sinon';
import { OnInputChange, Step } from '../../decorators';
import { InputChangedError, InvalidOptionError, WorkflowFailedError } from '../../lib/errors';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { WorkflowEventName, WorkflowEvents } from '../../lib/runner/run-events';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';

let flaky = 0;
let failLast = false;

@OnInputChange('raise')
class Observed {
  @Step() first() {
    return 'one';
  }
  @Step({ retry: { attempts: 2 } }) second() {
    if (++flaky === 1) throw new Error('first attempt fails');
    return 'two';
  }
  @Step() third() {
    if (failLast) throw new Error('third fails');
    return 'three';
  }
}

const ALL: WorkflowEventName[] = ['lease:acquired', 'input:changed', 'run:started', 'step:restored', 'step:started', 'step:attempt-failed', 'step:committed', 'run:completed', 'run:failed', 'run:cancelled', 'lease:lost'];

function record(runner: WorkflowRunner): { event: WorkflowEventName; payload: WorkflowEvents[WorkflowEventName] }[] {
  const seen: { event: WorkflowEventName; payload: WorkflowEvents[WorkflowEventName] }[] = [];
  for (const event of ALL) runner.on(event, (payload) => seen.push({ event, payload }));
  return seen;
}

describe('lifecycle events', () => {
  beforeEach(() => {
    flaky = 0;
    failLast = false;
  });

  it('are emitted in order, each carrying the workflow id and one run id per run', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage });
    const seen = record(runner);
    failLast = true;
    await runner.run(new Observed(), { workflowId: 'obs' }).catch((e) => expect(e).to.be.instanceOf(WorkflowFailedError));
    failLast = false;
    await runner.run(new Observed(), { workflowId: 'obs', resume: true });
    const describe = (e: (typeof seen)[number]) => {
      const p = e.payload as unknown as Record<string, unknown>;
      return [e.event, p.step, p.attempt, p.willRetry].filter((x) => x !== undefined).join(' ');
    };
    expect(seen.map(describe)).to.deep.equal([
      'lease:acquired',
      'run:started',
      'step:started first 1',
      'step:committed first',
      'step:started second 1',
      'step:attempt-failed second 1 true',
      'step:started second 2',
      'step:committed second',
      'step:started third 1',
      'step:attempt-failed third 1 false',
      'run:failed',
      'lease:acquired',
      'run:started',
      'step:restored first',
      'step:restored second',
      'step:started third 1',
      'step:committed third',
      'run:completed',
    ]);
    expect(new Set(seen.map((e) => e.payload.workflowId))).to.deep.equal(new Set(['obs']));
    const runIds = [...new Set(seen.map((e) => e.payload.runId))];
    expect(runIds).to.have.length(2);
    expect(seen.slice(0, 11).every((e) => e.payload.runId === runIds[0])).to.equal(true);
  });

  it('a run refused after taking the lease (raise) still ends with run:failed, and input:changed names the policy', async () => {
    const runner = new WorkflowRunner();
    await runner.run(new Observed(), { workflowId: 'r', input: { v: 1 } });
    const seen = record(runner);
    const error = await runner.run(new Observed(), { workflowId: 'r', input: { v: 2 }, resume: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InputChangedError);
    expect(seen.map((e) => e.event)).to.deep.equal(['lease:acquired', 'input:changed', 'run:failed']);
    expect(seen[1].payload).to.include({ policy: 'raise' });
    expect((seen[2].payload as WorkflowEvents['run:failed']).error).to.equal(error);
  });

  it('a throwing listener never breaks a run: it is reported to the logger', async () => {
    const logger = { info: sinon.fake(), warn: sinon.fake(), error: sinon.fake(), debug: sinon.fake() };
    const runner = new WorkflowRunner({ logger, hooks: { 'step:committed': () => { throw new Error('listener bug'); } } });
    const result = await runner.run(new Observed(), { workflowId: 'l' });
    expect(result.status).to.equal('completed');
    expect(logger.error.getCalls().some((c) => String(c.args[0]).includes("'step:committed' listener threw: listener bug"))).to.equal(true);
  });

  it('without a logger, a throwing listener becomes a process warning', async () => {
    // Other warnings (the AWS SDK's Node-version notice) may come first: wait for this listener's.
    const warning = new Promise<Error>((resolve) => {
      const onWarning = (w: Error) => {
        if (!w.message.includes('late bug')) return;
        process.off('warning', onWarning);
        resolve(w);
      };
      process.on('warning', onWarning);
    });
    const runner = new WorkflowRunner({ hooks: { 'run:completed': () => { throw new Error('late bug'); } } });
    await runner.run(new Observed(), { workflowId: 'w' });
    expect((await warning).message).to.contain('late bug');
  });

  describe('logger', () => {
    it('logs each event as a structured record at its level', async () => {
      const logger = { info: sinon.fake(), warn: sinon.fake(), error: sinon.fake(), debug: sinon.fake() };
      await new WorkflowRunner({ logger }).run(new Observed(), { workflowId: 'log' });
      const info = logger.info.getCalls().map((c) => c.args);
      expect(info.map(([message]) => message)).to.deep.equal(['waymark run:started', 'waymark step:committed', 'waymark step:committed', 'waymark step:committed', 'waymark run:completed']);
      expect(info[1][1]).to.deep.include({ event: 'step:committed', workflowId: 'log', step: 'first', attempts: 1 });
      expect(info[4][1]).to.deep.include({ status: 'completed', steps: { first: 'completed', second: 'completed', third: 'completed' } });
      const warned = logger.warn.getCalls().map((c) => c.args[1] as Record<string, unknown>);
      expect(warned).to.have.length(1);
      expect(warned[0]).to.deep.include({ event: 'step:attempt-failed', step: 'second', willRetry: true, error: { name: 'Error', message: 'first attempt fails', code: undefined } });
      expect(logger.debug.getCalls().map((c) => c.args[0])).to.include('waymark step:started');
    });

    it("accepts Nest's Logger shape (log instead of info, no debug needed)", async () => {
      const nestLike = { log: sinon.fake(), warn: sinon.fake(), error: sinon.fake() };
      await new WorkflowRunner({ logger: nestLike }).run(new Observed(), { workflowId: 'nest' });
      expect(nestLike.log.callCount).to.equal(5);
    });

    it('rejects an object that is not a logger', () => {
      expect(() => new WorkflowRunner({ logger: { info: () => undefined } as never })).to.throw(InvalidOptionError, 'logger');
    });
  });

  describe('OpenTelemetry', () => {
    let exporter: InMemorySpanExporter;
    let provider: BasicTracerProvider;
    beforeEach(() => {
      exporter = new InMemorySpanExporter();
      provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    });

    it('makes each run and each step attempt a span with workflow id, step, attempt and outcome', async () => {
      const runner = new WorkflowRunner({ tracer: provider.getTracer('spec') });
      await runner.run(new Observed(), { workflowId: 'traced' });
      const spans = exporter.getFinishedSpans();
      const run = spans.find((s) => s.name === 'waymark.run Observed')!;
      expect(run.attributes).to.include({ 'waymark.workflow_id': 'traced', 'waymark.outcome': 'completed', 'waymark.resume': false });
      const steps = spans.filter((s) => s.name.startsWith('waymark.step'));
      expect(steps.map((s) => [s.name, s.attributes['waymark.attempt'], s.attributes['waymark.outcome']])).to.deep.equal([
        ['waymark.step first', 1, 'committed'],
        ['waymark.step second', 1, 'failed'],
        ['waymark.step second', 2, 'committed'],
        ['waymark.step third', 1, 'committed'],
      ]);
      for (const step of steps) {
        expect(step.parentSpanContext?.spanId).to.equal(run.spanContext().spanId, 'step spans are children of the run span');
        expect(step.attributes['waymark.workflow_id']).to.equal('traced');
      }
      expect(steps[1].status.code).to.equal(2);
      expect(steps[1].events.map((e) => e.name)).to.include('exception');
    });

    it("uses @opentelemetry/api's global tracer when none is given", async () => {
      trace.setGlobalTracerProvider(provider);
      try {
        await new WorkflowRunner().run(new Observed(), { workflowId: 'global' });
        expect(exporter.getFinishedSpans().map((s) => s.name)).to.include('waymark.run Observed');
        exporter.reset();
        await new WorkflowRunner({ tracer: false }).run(new Observed(), { workflowId: 'off' });
        expect(exporter.getFinishedSpans()).to.deep.equal([]);
      } finally {
        trace.disable();
      }
    });

    it('starts no step spans for a run that is not recorded (sampled out, or no SDK)', async () => {
      const tracer = new BasicTracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('off');
      const startSpan = sinon.spy(tracer, 'startSpan');
      await new WorkflowRunner({ tracer }).run(new Observed(), { workflowId: 'sampled-out' });
      expect(startSpan.callCount).to.equal(1, 'only the run span, found not recording');
      expect(exporter.getFinishedSpans()).to.deep.equal([]);
    });

    it('ends the run span as failed when the run is refused', async () => {
      const runner = new WorkflowRunner({ tracer: provider.getTracer('spec') });
      await runner.run(new Observed(), { workflowId: 'refused', input: { v: 1 } });
      exporter.reset();
      await runner.run(new Observed(), { workflowId: 'refused', input: { v: 2 }, resume: true }).catch(() => undefined);
      const [run] = exporter.getFinishedSpans();
      expect(run.attributes['waymark.outcome']).to.equal('failed');
      expect(run.events.map((e) => e.name)).to.deep.equal(['lease acquired', 'input changed', 'exception']);
    });
  });
});
