/**
 * A deploy through BullMQ: deliveries of runs that started on version 1 stay on version 1 on a
 * worker with both versions, a worker with version 2 alone fails their jobs for good and leaves the
 * runs stranded (nothing run, nothing failed), `queue.migrate` moves one and queues its job, and a
 * worker with `migrate: 'auto'` moves them itself.
 */
import { expect } from 'chai';
import { QueueEvents } from 'bullmq';
import { QueueWorker, WorkflowQueue } from '../../lib/bullmq';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { OrderV1, OrderV2 } from '../fixtures/order-versions';
import { within } from '../helpers/deferred';
import { dropQueue, queueName, redisTarget, type RedisTarget } from '../helpers/redis';

/** Resolves once `runner` completed `workflowId`. */
function completed(runner: WorkflowRunner, workflowId: string): Promise<unknown> {
  return new Promise((resolve) => {
    const off = runner.on('run:completed', (e) => {
      if (e.workflowId !== workflowId) return;
      off();
      resolve(e.result.output);
    });
  });
}

describe('waymark/bullmq: a deploy of a new version', function () {
  this.timeout(60_000);
  let redis: RedisTarget;
  let name: string;
  const closing: { close(): Promise<void> }[] = [];

  before(async () => (redis = await redisTarget()));
  beforeEach(() => (name = queueName('versions')));
  afterEach(async () => {
    for (const c of closing.splice(0).reverse()) await c.close();
    await dropQueue(redis, name);
  });

  const worker = (runner: WorkflowRunner, migrate?: 'auto') => {
    const w = new QueueWorker({ connection: redis, queue: name, runner, concurrency: 4, ...(migrate === undefined ? {} : { migrate }) });
    closing.push({ close: () => w.close({ deadlineMs: 0 }) });
    return w;
  };
  const queueOf = (runner: WorkflowRunner) => {
    const q = new WorkflowQueue({ connection: redis, name, runner });
    closing.push(q);
    return q;
  };

  it('keeps deliveries on their run’s version, strands what no worker has, and moves it by hand or automatically', async () => {
    const storage = new MemoryStorage();
    const events = new QueueEvents(name, { connection: redis });
    closing.push(events);
    await events.waitUntilReady();
    // Version 1: three orders wait to be paid.
    const v1 = new WorkflowRunner({ storage, workflows: [OrderV1], tracer: false });
    const w1 = worker(v1);
    const q1 = queueOf(v1);
    for (const id of ['o-1', 'o-2', 'o-3']) {
      const { jobId } = await q1.enqueue(OrderV1, { workflowId: id, input: { sku: id } });
      expect(await (await q1.queue.getJob(jobId))!.waitUntilFinished(events, 20_000)).to.deep.include({ status: 'waiting' });
    }
    await w1.close();

    // Versions 1 and 2: an old run's delivery stays on 1 (even a start job naming the class of 2); a new one starts on 2.
    const both = new WorkflowRunner({ storage, workflows: [OrderV1, OrderV2], tracer: false });
    const w2 = worker(both);
    const q2 = queueOf(both);
    const o1 = completed(both, 'o-1');
    await q2.sendEvent('o-1', 'paid');
    expect(await within(o1, 20_000, 'o-1 completes on version 1')).to.equal('shipped');
    const again = await q2.enqueue(OrderV2, { workflowId: 'o-2', input: { sku: 'o-2' }, jobId: 'o-2-again' });
    expect(await (await q2.queue.getJob(again.jobId))!.waitUntilFinished(events, 20_000)).to.deep.include({ status: 'waiting' });
    expect((await both.get('o-2'))!.version, 'pinned').to.equal(1);
    const fresh = await q2.enqueue(OrderV2, { workflowId: 'n-1', input: { sku: 'n-1' } });
    expect(await (await q2.queue.getJob(fresh.jobId))!.waitUntilFinished(events, 20_000)).to.deep.include({ status: 'waiting' });
    const n1 = completed(both, 'n-1');
    await q2.sendEvent('n-1', 'paid');
    expect(await within(n1, 20_000, 'n-1 completes on version 2')).to.equal('told: shipped');
    expect((await both.get('n-1'))!.version).to.equal(2);
    await w2.close();

    // Version 2 alone: o-2's wake job fails for good; the run is untouched, marked stranded.
    const v2 = new WorkflowRunner({ storage, workflows: [OrderV2], tracer: false });
    const w3 = worker(v2);
    const q3 = queueOf(v2);
    const failed = new Promise<string>((resolve) => events.on('failed', ({ failedReason }) => resolve(failedReason)));
    await q3.sendEvent('o-2', 'paid');
    expect(await within(failed, 20_000, 'the job fails')).to.match(/^WAYMARK_WORKFLOW_NOT_REGISTERED: workflow 'o-2': its run is pinned to order@1 and this runner has order@2 only/);
    const stranded = await v2.get('o-2');
    expect(stranded).to.deep.include({ status: 'waiting', version: 1 });
    expect(stranded!.stranded).to.deep.include({ missing: 'order@1' });
    expect(stranded!.steps.pay!.status).to.equal('waiting');

    // Moved by hand: the queue queues its job, and it finishes on version 2 (the event sent before is consumed).
    const o2 = completed(v2, 'o-2');
    expect(await q3.migrate('o-2')).to.deep.include({ from: 1, to: 2, renamed: {}, toRun: ['charge', 'ship', 'notify'] });
    expect(await within(o2, 20_000, 'o-2 completes on version 2')).to.equal('told: shipped');

    await w3.close();

    // A worker told to migrate moves the run itself when its job comes.
    const auto = new WorkflowRunner({ storage, workflows: [OrderV2], tracer: false });
    worker(auto, 'auto');
    const o3 = completed(auto, 'o-3');
    await queueOf(auto).sendEvent('o-3', 'paid');
    expect(await within(o3, 20_000, 'o-3 moves and completes on version 2')).to.equal('told: shipped');
    expect((await auto.get('o-3'))!.history!.map((h) => `${h.kind} ${h.from}→${h.to}`)).to.deep.equal(['migrated 1→2']);
  });
});
