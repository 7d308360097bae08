/**
 * A run asked for by a process that does not know the class (`runner.requestResume`, `waymark
 * resume`, `waymark ui`): stored durably, and the next worker that has the class runs it at once.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import { WorkflowNotFoundError } from '../../lib/errors';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { within } from '../helpers/deferred';

let carrierDown = true;
const ran: string[] = [];

@Workflow({ name: 'parcel' })
class Parcel {
  @Step() pack(ctx: StepContext) {
    ran.push(`${ctx.workflowId} pack`);
    return 'packed';
  }
  @Step() ship(ctx: StepContext) {
    ran.push(`${ctx.workflowId} ship`);
    if (carrierDown) throw new Error('carrier down');
    return 'shipped';
  }
}

@Workflow({ name: 'note' })
class Note {
  @Step({ waitFor: { event: 'go' } }) write() {
    return 'written';
  }
}

describe('resume requests', () => {
  let worker: WorkflowWorker | undefined;
  beforeEach(() => {
    carrierDown = true;
    ran.length = 0;
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it('ask a worker with the class to run a failed workflow: its failed step is tried again, committed ones are not', async () => {
    const storage = new MemoryStorage();
    const app = new WorkflowRunner({ storage, workflows: [Parcel] });
    await app.run(new Parcel(), { workflowId: 'p-1' }).catch(() => undefined);
    expect((await app.get('p-1'))!.status).to.equal('failed');
    carrierDown = false;
    const classless = new WorkflowRunner({ storage });
    const before = await storage.readRecord('p-1');
    expect(await classless.requestResume('p-1', { dryRun: true })).to.deep.equal({ workflowId: 'p-1', outcome: 'requested', status: 'failed', dryRun: true });
    expect(await storage.readRecord('p-1'), 'a dry run writes nothing').to.deep.equal(before);
    expect(await classless.requestResume('p-1')).to.deep.equal({ workflowId: 'p-1', outcome: 'requested', status: 'failed', dryRun: false });
    expect((await storage.readRecord('p-1'))!.record.resumeRequested).to.have.property('at');
    const done = new Promise<void>((resolve) => app.on('run:completed', ({ workflowId }) => workflowId === 'p-1' && resolve()));
    worker = new WorkflowWorker({ runner: app, pollIntervalMs: 60_000 });
    await worker.start();
    await within(done, 10_000, 'the worker resumes the failed workflow at its first scan');
    expect(ran).to.deep.equal(['p-1 pack', 'p-1 ship', 'p-1 ship']);
    expect((await storage.readRecord('p-1'))!.record.resumeRequested, 'the run removed the request').to.equal(undefined);
  });

  it('wake a waiting workflow now, say when a run holds one or it ended, and refuse an unknown id', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Note, Parcel] });
    await runner.run(new Note(), { workflowId: 'n-1' });
    const classless = new WorkflowRunner({ storage });
    expect((await classless.requestResume('n-1')).outcome).to.equal('requested');
    expect((await storage.dueWakes(Date.now(), 10)).map((e) => e.workflowId)).to.include('n-1');
    const held = await storage.acquireLease('n-1', 'a worker', 60_000);
    expect(await classless.requestResume('n-1')).to.deep.include({ outcome: 'running', status: 'waiting' });
    if (held.acquired) await storage.releaseLease(held.lease);
    carrierDown = false;
    await runner.run(new Parcel(), { workflowId: 'p-2' });
    const before = await storage.readRecord('p-2');
    expect(await classless.requestResume('p-2')).to.deep.include({ outcome: 'ended', status: 'completed' });
    expect(await storage.readRecord('p-2')).to.deep.equal(before);
    expect(await classless.requestResume('nobody').catch((e: unknown) => e)).to.be.instanceOf(WorkflowNotFoundError);
  });
});
