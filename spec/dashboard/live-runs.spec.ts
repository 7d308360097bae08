import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import { LiveRuns } from '../../lib/dashboard/live-runs';
import { WorkflowFailedError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';

const plan = { failFirst: 0, failLast: false };

@Workflow({ name: 'trio' })
class Trio {
  @Step({ retry: { attempts: 2 } }) first() {
    if (plan.failFirst-- > 0) throw new Error('flaky');
    return 1;
  }
  @Step() second() {
    return 2;
  }
  @Step() last() {
    if (plan.failLast) throw new Error('down');
    return 3;
  }
}

describe('LiveRuns', () => {
  afterEach(() => {
    plan.failFirst = 0;
    plan.failLast = false;
  });

  it('knows which steps of a run in this process are running, from start to commit or failed attempt', async () => {
    const runner = new WorkflowRunner({ storage: new MemoryStorage(), tracer: false });
    const live = new LiveRuns(runner);
    const seen: string[] = [];
    // Listeners run in the order they subscribed: these see what LiveRuns made of each event.
    runner.on('step:started', (e) => seen.push(`started ${e.step}: ${[...live.get(e.workflowId)!.runningSteps].join(',')}${live.get(e.workflowId)!.running ? '' : ' (ended?)'}`));
    runner.on('step:attempt-failed', (e) => seen.push(`failed ${e.step}: ${[...live.get(e.workflowId)!.runningSteps].join(',') || '-'}`));
    runner.on('step:committed', (e) => seen.push(`committed ${e.step}: ${[...live.get(e.workflowId)!.runningSteps].join(',') || '-'} ${typeof live.get(e.workflowId)!.durations.get(e.step)}`));
    plan.failFirst = 1;
    await runner.run(new Trio(), { workflowId: 't' });
    expect(seen).to.deep.equal([
      'started first: first',
      'failed first: -',
      'started first: first',
      'committed first: - number',
      'started second: second',
      'committed second: - number',
      'started last: last',
      'committed last: - number',
    ]);
    expect(live.get('t')).to.include({ running: false });
    expect(live.get('nobody')).to.equal(undefined);
  });

  it('knows what a resume restored, and that a failed run has ended with nothing running', async () => {
    const runner = new WorkflowRunner({ storage: new MemoryStorage(), tracer: false });
    const live = new LiveRuns(runner);
    plan.failLast = true;
    await runner.run(new Trio(), { workflowId: 't' }).catch((e: unknown) => expect(e).to.be.instanceOf(WorkflowFailedError));
    const failed = live.get('t')!;
    expect(failed.running).to.equal(false);
    expect([...failed.runningSteps]).to.deep.equal([]);
    expect([...failed.restoredSteps]).to.deep.equal([]);
    plan.failLast = false;
    await runner.run(new Trio(), { workflowId: 't', resume: true });
    const resumed = live.get('t')!;
    expect(resumed.runId).to.not.equal(failed.runId);
    expect([...resumed.restoredSteps]).to.deep.equal(['first', 'second']);
    expect([...resumed.durations.keys()]).to.deep.equal(['last']);
  });

  it('forgets the oldest workflow past 1,000, and hears nothing once closed', async () => {
    const runner = new WorkflowRunner({ storage: new MemoryStorage(), tracer: false });
    const live = new LiveRuns(runner);
    for (let i = 0; i <= 1000; i++) await runner.run(new Trio(), { workflowId: `w${i}` });
    expect(live.get('w0')).to.equal(undefined);
    expect(live.get('w1')).to.not.equal(undefined);
    expect(live.get('w1000')).to.not.equal(undefined);
    live.close();
    await runner.run(new Trio(), { workflowId: 'after' });
    expect(live.get('after')).to.equal(undefined);
  });
});
