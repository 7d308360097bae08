/**
 * The dashboard's bulk actions over real HTTP (`POST /api/workflows/bulk`): what is selected, the
 * count typed back, and each workflow acted on as the single actions do. The page's side of it is
 * in spec/dashboard/browser.spec.ts.
 */
import { expect } from 'chai';
import { serveDashboard, type ServedDashboard } from '../../lib/dashboard';
import { BULK_MAX } from '../../lib/dashboard/bulk-actions';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { call } from '../helpers/http-call';
import { Delivery, Payout, type DeliveryInput } from '../fixtures/dashboard-flows';

const input = (orderId: string): DeliveryInput => ({ orderId, items: ['lamp'], meta: { requestId: `req-${orderId}` } });

describe('dashboard bulk actions (HTTP)', () => {
  let storage: MemoryStorage;
  let runner: WorkflowRunner;
  let served: ServedDashboard;
  const bulk = (body: unknown) => call(served.port, 'POST', '/api/workflows/bulk', { token: served.token, body });

  beforeEach(async () => {
    storage = new MemoryStorage();
    runner = new WorkflowRunner({ storage, workflows: [Delivery, Payout], tracer: false });
    // Three failed payouts and two waiting deliveries.
    for (const id of ['p-1', 'p-2', 'p-3']) await runner.run(new Payout(), { workflowId: id }).catch(() => undefined);
    for (const id of ['d-1', 'd-2']) await runner.run(new Delivery(), { workflowId: id, input: input(id) });
    // A dashboard without the classes, as `waymark ui` is.
    served = await serveDashboard({ runner: new WorkflowRunner({ storage, tracer: false }), port: 0 });
  });
  afterEach(async () => {
    await served.close();
  });

  it('counts what a filter matches in a dry run, and acts only once that count is typed back', async () => {
    const preview = await bulk({ action: 'resume', filter: { status: 'failed', name: 'payout' }, dryRun: true });
    expect(preview.json).to.deep.equal({ action: 'resume', count: 3, ids: ['p-1', 'p-2', 'p-3'] });
    const wrong = await bulk({ action: 'resume', filter: { status: 'failed', name: 'payout' }, confirm: 2 });
    expect(wrong.status).to.equal(400);
    expect(wrong.json.error).to.deep.equal({ code: 'WAYMARK_CONFIRMATION_MISMATCH', message: 'type the number of workflows, 3, to confirm (the selection has changed if that is not the number you saw)' });
    expect((await storage.dueWakes(Date.now(), 10)).map((e) => e.workflowId), 'nothing asked for yet').not.to.include('p-1');

    const done = await bulk({ action: 'resume', filter: { status: 'failed', name: 'payout' }, confirm: 3 });
    expect(done.json).to.deep.equal({ action: 'resume', count: 3, done: 3, failed: 0, failures: [] });
    for (const id of ['p-1', 'p-2', 'p-3']) expect((await runner.get(id))!.status, id).to.equal('failed');
    // A worker that has the class runs every requested one: each fails again at its failed step, and nothing else re-runs.
    const retried = new Set<string>();
    const off = runner.on('step:started', (e) => void retried.add(`${e.workflowId}:${e.step}`));
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 20, onError: () => undefined });
    await worker.start();
    try {
      while (retried.size < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      await worker.stop();
      off();
    }
    expect([...retried].sort()).to.deep.equal(['p-1:transfer', 'p-2:transfer', 'p-3:transfer']);
  });

  it('cancels the ids selected, and names each it could not act on while the others go on', async () => {
    const preview = await bulk({ action: 'cancel', ids: ['d-1', 'd-2', 'nobody', 'd-1'], dryRun: true });
    expect(preview.json).to.deep.equal({ action: 'cancel', count: 3, ids: ['d-1', 'd-2', 'nobody'] });
    const done = await bulk({ action: 'cancel', ids: ['d-1', 'd-2', 'nobody'], reason: 'recalled', confirm: 3 });
    expect(done.json).to.deep.include({ action: 'cancel', count: 3, done: 2, failed: 1 });
    expect(done.json.failures).to.deep.equal([{ workflowId: 'nobody', code: 'WAYMARK_WORKFLOW_NOT_FOUND', error: "workflow 'nobody': nothing is stored under this id (it never ran with this storage, or was cleared or pruned): start it with runner.run(instance, { workflowId, input })" }]);
    for (const id of ['d-1', 'd-2']) expect((await runner.get(id))!.error!.message, id).to.equal('cancelled: recalled');
    // A resume of what was cancelled is named, not done.
    const again = await bulk({ action: 'resume', ids: ['d-1'], confirm: 1 });
    expect(again.json.failures).to.deep.equal([{ workflowId: 'd-1', code: 'WAYMARK_WORKFLOW_ENDED', error: 'it has cancelled already: nothing to resume' }]);
  });

  it('restarts from a step: the step and what follows run again when a worker comes', async () => {
    const done = await bulk({ action: 'restart', filter: { status: 'failed' }, from: 'approve', confirm: 3 });
    expect(done.json).to.deep.include({ count: 3, done: 3, failed: 0 });
    for (const id of ['p-1', 'p-2', 'p-3']) expect((await runner.get(id))!.steps.approve!.status, id).to.equal('pending');
  });

  it('refuses what it cannot do, naming what was wrong, and acts on nothing', async () => {
    const refusals: [unknown, string][] = [
      [{ action: 'delete', ids: ['d-1'] }, '"action" must be "resume", "cancel" or "restart"'],
      [{ action: 'cancel' }, 'give "ids" (the workflows selected) or "filter" (every one that matches), not both'],
      [{ action: 'cancel', ids: ['d-1'], filter: { status: 'waiting' } }, 'give "ids" (the workflows selected) or "filter" (every one that matches), not both'],
      [{ action: 'cancel', ids: [] }, '"ids" must be a non-empty array of workflow ids'],
      [{ action: 'cancel', ids: Array.from({ length: BULK_MAX + 1 }, (_, i) => `w-${i}`) }, `at most ${BULK_MAX} workflows at once; use the waymark CLI for more`],
      [{ action: 'cancel', filter: {} }, 'a filter acting on every workflow is refused: filter by status, name or id first'],
      [{ action: 'cancel', filter: { status: 'paused' } }, "status 'paused' is not one of running, waiting, completed, failed, cancelled, compensating, compensated, corrupted"],
      [{ action: 'restart', ids: ['p-1'] }, 'a restart needs "from": the step to run again'],
      [{ action: 'cancel', ids: ['d-1'], reason: 7 }, '"reason" must be a string'],
    ];
    for (const [body, message] of refusals) {
      const answer = await bulk({ ...(body as object), confirm: 1 });
      expect(answer.status, message).to.equal(400);
      expect(answer.json.error, message).to.deep.equal({ code: 'WAYMARK_INVALID_OPTION', message });
    }
    expect((await runner.get('d-1'))!.status).to.equal('waiting');
    expect((await call(served.port, 'POST', '/api/workflows/bulk', { token: 'wrong', body: { action: 'cancel', ids: ['d-1'], confirm: 1 } })).status).to.equal(403);
    expect((await runner.get('d-1'))!.status).to.equal('waiting');
  });
});
