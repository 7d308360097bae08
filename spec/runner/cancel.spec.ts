/**
 * Cancel by id (`runner.cancel`), from any process, on every store: a waiting workflow is cancelled
 * at once and for good; a running one is stopped by the run holding it within one lease renewal; one
 * that compensates is undone by a worker; an ended one is left as it is.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import { WorkflowCancelledError, WorkflowCancelRequestedError, WorkflowFailedError, WorkflowNotFoundError } from '../../lib/errors';
import type { CompensationContext } from '../../lib/runner/compensation-context';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { deferred, within } from '../helpers/deferred';
import { freshSchema, PG_URL } from '../helpers/postgres';
import { tempDir } from '../helpers/temp-dir';
import { startWorker } from '../helpers/worker';
import { everyStore, type OpenStore } from '../helpers/stores';

/** What ran, in this process. */
const ran: string[] = [];

@Workflow({ name: 'subscription' })
class Subscription {
  @Step() signUp() {
    ran.push('signUp');
    return 'signed up';
  }
  /** Three days later: the workflow waits, holding nothing. */
  @Step({ delayMs: 3 * 86_400_000 })
  charge() {
    ran.push('charge');
    return 'charged';
  }
}

/** A step that runs until its signal aborts: the workflow is running, held by its run. */
const inStep = { started: deferred<void>(), seen: deferred<unknown>() };

@Workflow({ name: 'long-export' })
class LongExport {
  @Step() async export(ctx: StepContext) {
    ran.push('export');
    inStep.started.resolve();
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    inStep.seen.resolve(ctx.signal.reason);
    return 'exported';
  }
  @Step() notify() {
    ran.push('notify');
    return 'notified';
  }
}

/** A hold that is released when the order is cancelled. */
@Workflow({ name: 'held-order' })
class HeldOrder {
  @Step({ compensate: 'release' }) hold() {
    ran.push('hold');
    return 'hold-1';
  }
  @Step({ waitFor: { event: 'paid' } })
  ship() {
    ran.push('ship');
    return 'shipped';
  }
  release(ctx: CompensationContext<unknown, string>) {
    ran.push(`release ${ctx.output} (${(ctx.error.cause as { code: string }).code})`);
  }
}

describe('cancel by id (runner.cancel)', () => {
  beforeEach(() => {
    ran.length = 0;
    inStep.started = deferred<void>();
    inStep.seen = deferred<unknown>();
  });

  for (const [name, open] of everyStore('cancel')) {
    describe(`on ${name}`, () => {
      let store: OpenStore;
      beforeEach(async () => (store = await open()));
      afterEach(() => store.close());

      it('cancels a waiting workflow at once and for good: its record says why, its timer is gone, a resume runs nothing', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: [Subscription] });
        const waiting = await runner.run(new Subscription(), { workflowId: 'sub-1' });
        expect(waiting.status).to.equal('waiting');
        expect(await runner.cancel('sub-1', { reason: 'the customer left' })).to.deep.equal({ outcome: 'cancelled', status: 'cancelled' });
        const { record } = (await store.storage.readRecord('sub-1'))!;
        expect(record.status).to.equal('cancelled');
        expect(record.error).to.deep.equal({ code: 'WAYMARK_CANCELLED', message: 'cancelled: the customer left' });
        expect(record.cancelled?.reason).to.equal('the customer left');
        expect(record.wakeAt).to.equal(undefined);
        expect((await store.storage.dueWakes(Date.now() + 10 * 86_400_000, 100)).filter((e) => e.workflowId === 'sub-1'), 'no timer brings a worker back').to.deep.equal([]);
        expect(await store.storage.readLease('sub-1'), 'the cancel gave its lease back').to.equal(undefined);

        // Nothing runs it again: not a resume, not a queue re-delivering its job.
        const resumed = await runner.resume('sub-1').catch((e: unknown) => e);
        expect(resumed).to.be.instanceOf(WorkflowCancelledError);
        const again = await runner.run(new Subscription(), { workflowId: 'sub-1', resume: true }).catch((e: unknown) => e);
        expect(again).to.be.instanceOf(WorkflowCancelledError);
        expect(ran).to.deep.equal(['signUp']);
        expect(await runner.cancel('sub-1'), 'cancelling it again says it ended').to.deep.equal({ outcome: 'ended', status: 'cancelled' });
        const info = await runner.get('sub-1', { events: true });
        expect(info!.error).to.deep.equal({ code: 'WAYMARK_CANCELLED', message: 'cancelled: the customer left' });
        expect(info!.events, 'the stored request is no event of the mailbox').to.deep.equal([]);

        // A fresh start (resume: false) is a new workflow under the same id.
        expect((await runner.run(new Subscription(), { workflowId: 'sub-1' })).status).to.equal('waiting');
      });

      it('stops a running workflow held by another process\'s run within one lease renewal: its step sees the reason, nothing after it runs', async () => {
        const holder = new WorkflowRunner({ storage: store.storage, leaseTtlMs: 600 });
        const run = holder.start(new LongExport(), { workflowId: 'export-1' });
        await inStep.started.promise;
        // Another runner: what another process sees.
        const other = new WorkflowRunner({ storage: store.storage, owner: 'operator' });
        const asked = await other.cancel('export-1', { reason: 'wrong month' });
        expect(asked.outcome).to.equal('requested');
        expect(asked.holder).to.be.a('string');
        const reason = await inStep.seen.promise;
        expect(reason).to.be.instanceOf(WorkflowCancelRequestedError);
        expect((reason as Error).message).to.equal("workflow 'export-1': cancelled by id: wrong month");
        const error = await run.result().catch((e: unknown) => e);
        expect(error).to.be.instanceOf(WorkflowCancelledError);
        expect(run.status()).to.equal('cancelled');
        expect(ran).to.deep.equal(['export']);
        const { record } = (await store.storage.readRecord('export-1'))!;
        expect(record.status).to.equal('cancelled');
        expect(record.cancelled?.reason).to.equal('wrong month');
        expect((await store.storage.load('export-1'))!.committedSteps, 'nothing committed after the cancel was seen').to.deep.equal([]);
        expect(await store.storage.readLease('export-1')).to.equal(undefined);
      });

      it('undoes the committed steps of a workflow that compensates: compensating at once, compensated by a worker', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: [HeldOrder] });
        expect((await runner.run(new HeldOrder(), { workflowId: 'order-1' })).status).to.equal('waiting');
        // An operator's process that does not know the class: the record says it compensates.
        const operator = new WorkflowRunner({ storage: store.storage });
        expect(await operator.cancel('order-1', { reason: 'out of stock' })).to.deep.equal({ outcome: 'compensating', status: 'compensating' });
        expect((await store.storage.readRecord('order-1'))!.record.status).to.equal('compensating');
        const compensated = deferred<void>();
        runner.on('run:failed', ({ result }) => result.status === 'compensated' && compensated.resolve());
        const worker = new WorkflowWorker({ runner, pollIntervalMs: 20 });
        await worker.start();
        try {
          await compensated.promise;
        } finally {
          await worker.stop();
        }
        expect(ran).to.deep.equal(['hold', 'release hold-1 (WAYMARK_CANCELLED)']);
        expect((await runner.get('order-1'))!.status).to.equal('compensated');
        const resumed = await runner.resume('order-1').catch((e: unknown) => e);
        expect(resumed, 'a compensated workflow keeps its outcome').to.be.instanceOf(WorkflowFailedError);
        expect(ran).to.have.lengthOf(2);
      });
    });
  }

  for (const store of ['FileStorage', 'PostgresStorage'] as const) {
    it(`${store}: a run in another process stops within a lease renewal of a cancel from this one, and commits nothing after`, async () => {
      const dir = await tempDir('waymark-cancel-');
      const pg = store === 'PostgresStorage' ? await freshSchema() : undefined;
      try {
        const spec = pg === undefined ? `file:${join(dir.path, 'store')}` : `postgres:${PG_URL}|${pg.schema}`;
        const storage = pg?.storage ?? new FileStorage({ directory: join(dir.path, 'store') });
        const events = join(dir.path, 'events.log');
        const worker = startWorker({ STORE: spec, EVENTS: events, WORKFLOW_ID: 'remote-1', STEPS: '3', STEP_MS: '1500', LEASE_TTL_MS: '600' });
        // Inside its first step: the run holds the lease in the other process.
        while (!readFileSync(events, { encoding: 'utf8', flag: 'a+' }).includes('start step0')) await new Promise((resolve) => setTimeout(resolve, 5));
        const asked = await new WorkflowRunner({ storage, owner: 'operator' }).cancel('remote-1', { reason: 'stop it' });
        expect(asked.outcome).to.equal('requested');
        const exit = await worker.exit;
        expect(JSON.parse(exit.stdout)).to.deep.include({ error: 'WAYMARK_WORKFLOW_CANCELLED' });
        expect(readFileSync(events, 'utf8')).to.not.contain('start step1');
        const { record } = (await storage.readRecord('remote-1'))!;
        expect(record.status).to.equal('cancelled');
        expect(record.cancelled?.reason).to.equal('stop it');
        expect((await storage.load('remote-1'))!.committedSteps, 'the step interrupted by the cancel was not committed').to.deep.equal([]);
      } finally {
        await pg?.drop();
        await dir.remove();
      }
    });
  }

  it('stops a run of its own process at once, without waiting for a renewal', async () => {
    const runner = new WorkflowRunner({ leaseTtlMs: 60_000 });
    const run = runner.start(new LongExport(), { workflowId: 'export-2' });
    await inStep.started.promise;
    expect((await runner.cancel('export-2')).outcome).to.equal('requested');
    expect(await inStep.seen.promise).to.be.instanceOf(WorkflowCancelRequestedError);
    expect(await run.result().catch((e: unknown) => e)).to.be.instanceOf(WorkflowCancelledError);
    expect((await runner.storage.readRecord('export-2'))!.record.cancelled?.reason).to.equal('cancelled');
  });

  it('a cancel that reaches a run of its own process just after it stored "waiting" is carried out by a worker, not left until some other wake', async () => {
    const inner = new MemoryStorage();
    let runner!: WorkflowRunner;
    let asked: Promise<unknown> | undefined;
    // The cancel arrives between the run storing 'waiting' and it letting the workflow go: too late for the run itself.
    const storage = new Proxy(inner, {
      get(target, property) {
        const value = Reflect.get(target, property) as unknown;
        if (property !== 'writeRecord') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        return async (...args: Parameters<MemoryStorage['writeRecord']>) => {
          const version = await target.writeRecord(...args);
          if (args[1].status === 'waiting' && asked === undefined) asked = runner.cancel(args[0], { reason: 'too late for the run' });
          return version;
        };
      },
    });
    runner = new WorkflowRunner({ storage, workflows: [HeldOrder] });
    const cancelled = new Promise<void>((resolve) => runner.on('run:cancelled', () => resolve()));
    expect((await runner.run(new HeldOrder(), { workflowId: 'order-late' })).status).to.equal('waiting');
    expect(await asked).to.deep.include({ outcome: 'requested' });
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 60_000 });
    await worker.start();
    try {
      await within(cancelled, 5_000, 'the cancel was left until some other wake');
    } finally {
      await worker.stop();
    }
    // It declares a compensation and committed 'hold': the cancel undoes it.
    expect(['compensating', 'compensated']).to.include((await runner.get('order-late'))!.status);
  });

  it('a cancel that finds the lease held by a run that then dies is carried out by a worker once that lease expired', async () => {
    class Remind {
      @Step({ delayMs: 86_400_000 }) later() {
        return 1;
      }
    }
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Remind] });
    await runner.run(new Remind(), { workflowId: 'remind-1' });
    // A run that holds the lease and dies before it gives it up (as a killed process's would).
    const held = await storage.acquireLease('remind-1', 'a process about to die', 300);
    expect(held.acquired).to.equal(true);
    const asked = await runner.cancel('remind-1', { reason: 'no longer needed' });
    expect(asked).to.deep.include({ outcome: 'requested', holder: 'a process about to die' });
    const due = await storage.dueWakes(Date.now() + 2_000, 10);
    expect(due.map((e) => e.workflowId), 'an entry brings a worker back after the lease').to.deep.equal(['remind-1']);
    const cancelled = new Promise((resolve) => runner.on('run:cancelled', (e) => e.workflowId === 'remind-1' && resolve(e)));
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
    worker.start();
    try {
      await cancelled;
    } finally {
      await worker.stop();
    }
    expect((await runner.get('remind-1'))!.error!.message).to.equal('cancelled: no longer needed');
  });

  it('leaves an ended workflow as it is and says so; a workflow never stored is WorkflowNotFoundError', async () => {
    const runner = new WorkflowRunner();
    class Quick {
      @Step() only() {
        return 1;
      }
    }
    await runner.run(new Quick(), { workflowId: 'done' });
    expect(await runner.cancel('done')).to.deep.equal({ outcome: 'ended', status: 'completed' });
    expect((await runner.get('done'))!.status).to.equal('completed');
    expect(await runner.cancel('nobody').catch((e: unknown) => e)).to.be.instanceOf(WorkflowNotFoundError);
    expect(await runner.cancel('done', { reason: 42 as unknown as string }).catch((e: unknown) => (e as Error).message)).to.match(/reason/);
  });
});
