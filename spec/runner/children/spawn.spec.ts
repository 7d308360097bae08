/**
 * Child workflows (`@Step({ spawn })`): listed once and committed, started exactly once with
 * deterministic ids, waited for without a lease, the parent woken as each ends (whichever runner ran
 * it), the step's method given their outputs in order. Failures, retries, cancel cascades and spawn
 * errors. On every store.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import { ChildIdTakenError, ChildSpawnError, ChildWorkflowFailedError, WorkflowFailedError } from '../../../lib/errors';
import { childrenKey } from '../../../lib/item-keys';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import type { CheckpointStorage } from '../../../lib/storage/checkpoint-storage';
import type { Lease, WorkflowRecord } from '../../../lib/storage/records';
import { WorkflowWorker } from '../../../lib/worker/workflow-worker';
import { everyStore, type OpenStore } from '../../helpers/stores';

interface ShipmentInput {
  readonly warehouse: string;
  readonly order: string;
}

/** Child step runs, by child workflow id. */
const packed = new Map<string, number>();
/** Warehouses whose shipment fails. */
const noStock = new Set<string>();
/** Calls of the order's spawn. */
let spawnCalls = 0;

@Workflow({ name: 'shipment' })
class Shipment {
  @Step()
  pack(ctx: StepContext<ShipmentInput>) {
    packed.set(ctx.workflowId, (packed.get(ctx.workflowId) ?? 0) + 1);
    if (noStock.has(ctx.input.warehouse)) throw Object.assign(new Error(`no stock in ${ctx.input.warehouse}`), { code: 'NO_STOCK' });
    return `${ctx.input.order}@${ctx.input.warehouse}`;
  }
}

/** A shipment that waits to be picked (an event) before it packs. */
@Workflow({ name: 'held-shipment' })
class HeldShipment {
  @Step({ waitFor: { event: 'picked' } })
  pack(ctx: StepContext<ShipmentInput>) {
    packed.set(ctx.workflowId, (packed.get(ctx.workflowId) ?? 0) + 1);
    return `${ctx.input.order}@${ctx.input.warehouse}`;
  }
}

@Workflow({ name: 'ship-order' })
class ShipOrder {
  @Step()
  plan(ctx: StepContext<{ warehouses: string[] }>) {
    return ctx.input.warehouses;
  }
  @Step({
    forEach: (ctx: StepContext<unknown, string[]>) => ctx.previous,
    spawn: (ctx: StepContext) => {
      spawnCalls++;
      return { workflow: Shipment, input: { warehouse: ctx.item as string, order: ctx.workflowId } };
    },
  })
  ship(ctx: StepContext) {
    return ctx.children;
  }
  @Step()
  done(ctx: StepContext<unknown, string[]>) {
    return { shipped: ctx.previous };
  }
}

@Workflow({ name: 'ship-order-tolerant' })
class TolerantOrder {
  @Step({
    spawn: (ctx: StepContext<{ warehouses: string[] }>) => ctx.input.warehouses.map((warehouse, i) => ({ workflow: Shipment, input: { warehouse, order: ctx.workflowId }, id: `${ctx.workflowId}-shipment-${i}` })),
    childFailure: 'tolerate',
  })
  ship(ctx: StepContext) {
    return { shipped: ctx.children, failed: ctx.childFailures().map((f) => [f.index, f.code]) };
  }
}

@Workflow({ name: 'held-order' })
class HeldOrder {
  @Step({ spawn: (ctx: StepContext<{ warehouses: string[] }>) => ctx.input.warehouses.map((warehouse) => ({ workflow: HeldShipment, input: { warehouse, order: ctx.workflowId } })) })
  ship(ctx: StepContext) {
    return ctx.children;
  }
}

@Workflow({ name: 'not-registered' })
class Unregistered {
  @Step() run() {
    return 1;
  }
}

@Workflow({ name: 'bad-spawn' })
class BadSpawn {
  @Step({ spawn: () => ({ workflow: Unregistered }) })
  ship() {
    return 1;
  }
}

@Workflow({ name: 'taken-id' })
class TakenId {
  @Step({ spawn: () => ({ workflow: Shipment, input: { warehouse: 'w', order: 'x' }, id: 'someone-else' }) })
  ship() {
    return 1;
  }
}

const WORKFLOWS = [ShipOrder, Shipment, HeldShipment, TolerantOrder, HeldOrder, BadSpawn, TakenId];

/** Resolves with the status a workflow's run ends with next (completed, failed...), heard from the runner's events. */
function ended(runner: WorkflowRunner, workflowId: string): Promise<string> {
  return new Promise((resolve) => {
    const offs = [
      runner.on('run:completed', (e) => e.workflowId === workflowId && done('completed')),
      runner.on('run:failed', (e) => e.workflowId === workflowId && done(e.result.status)),
      runner.on('run:cancelled', (e) => e.workflowId === workflowId && done('cancelled')),
    ];
    const done = (status: string) => {
      for (const off of offs) off();
      resolve(status);
    };
  });
}

/** `storage` whose `writeRecord` of `failId` throws once (a crash between starting two children). */
function failingOnce(storage: CheckpointStorage, failId: string): CheckpointStorage {
  let failed = false;
  return new Proxy(storage, {
    get(target, key, receiver) {
      if (key === 'writeRecord') {
        return async (workflowId: string, record: WorkflowRecord, expected: string | null, lease?: never) => {
          if (workflowId === failId && !failed) {
            failed = true;
            throw new Error('the process died here');
          }
          return target.writeRecord(workflowId, record, expected, lease);
        };
      }
      const value = Reflect.get(target, key, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('child workflows (@Step({ spawn }))', () => {
  beforeEach(() => {
    packed.clear();
    noStock.clear();
    spawnCalls = 0;
  });

  for (const [name, open] of everyStore('children')) {
    describe(`on ${name}`, () => {
      let store: OpenStore;
      let worker: WorkflowWorker | undefined;
      beforeEach(async () => (store = await open()));
      afterEach(async () => {
        await worker?.stop();
        worker = undefined;
        await store.close();
      });

      it('starts one child per item, waits without a lease, and completes with their outputs in order once a worker ran them', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        const first = await runner.run(new ShipOrder(), { workflowId: 'o-1', input: { warehouses: ['north', 'south', 'east'] } });
        expect(first.status).to.equal('waiting');
        expect(first.waitingFor).to.deep.equal(["children of 'ship'"]);
        const waiting = await runner.get('o-1');
        expect(waiting).to.deep.include({ status: 'waiting', waitingFor: ["children of 'ship'"] });
        expect(waiting!.lease, 'a waiting parent holds no lease').to.equal(undefined);
        expect(waiting!.children).to.deep.equal([0, 1, 2].map((index) => ({ step: 'ship', index, workflowId: `o-1/ship/${index}`, workflowName: 'shipment', status: 'waiting' })));
        expect(waiting!.steps.ship!.status).to.equal('waiting');
        const child = await runner.get('o-1/ship/1');
        expect(child).to.deep.include({ status: 'waiting', parent: { workflowId: 'o-1', step: 'ship', index: 1 }, input: { warehouse: 'south', order: 'o-1' } });
        expect(packed.size, 'no child ran in the parent’s run').to.equal(0);

        const completed = ended(runner, 'o-1');
        worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        worker.start();
        expect(await completed).to.equal('completed');
        const info = await runner.get('o-1', { outputs: true });
        expect(info!.output).to.deep.equal({ shipped: ['o-1@north', 'o-1@south', 'o-1@east'] });
        expect(info!.children!.map((c) => c.status)).to.deep.equal(['completed', 'completed', 'completed']);
        expect([...packed.values()], 'each child ran once').to.deep.equal([1, 1, 1]);
        expect(spawnCalls, 'spawn was asked once per item, by the first run').to.equal(3);
        expect(info!.events, 'outcome events are not shown as the mailbox').to.equal(undefined);
        expect((await runner.get('o-1', { events: true }))!.events).to.deep.equal([]);
      });

      it('a crash between starting two children starts none twice: the resume reads the committed list and starts those missing', async () => {
        const crashing = new WorkflowRunner({ storage: failingOnce(store.storage, 'o-2/ship/1'), workflows: WORKFLOWS });
        const failed = await crashing.run(new ShipOrder(), { workflowId: 'o-2', input: { warehouses: ['a', 'b', 'c'] } }).catch((e: unknown) => e);
        expect(failed).to.be.instanceOf(WorkflowFailedError);
        expect((await store.storage.load('o-2'))!.committedSteps).to.include(childrenKey('ship'));
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        // Started again twice (a resume, a duplicate delivery): each child exists once.
        await runner.resume('o-2');
        await runner.resume('o-2');
        expect(spawnCalls, 'the list was computed once').to.equal(3);
        const completed = ended(runner, 'o-2');
        worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        worker.start();
        expect(await completed).to.equal('completed');
        expect(Object.fromEntries(packed)).to.deep.equal({ 'o-2/ship/0': 1, 'o-2/ship/1': 1, 'o-2/ship/2': 1 });
      });

      it("a child that fails fails the step once every child ended; the parent's resume resumes that child only", async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        noStock.add('b');
        await runner.run(new ShipOrder(), { workflowId: 'o-3', input: { warehouses: ['a', 'b', 'c'] } });
        const failed = ended(runner, 'o-3');
        worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        worker.start();
        expect(await failed).to.equal('failed');
        const info = await runner.get('o-3');
        expect(info!.error).to.deep.include({ code: 'WAYMARK_CHILD_FAILED', step: 'ship' });
        expect(info!.error!.message).to.contain("child 'o-3/ship/1' failed (NO_STOCK: no stock in b)");
        expect(info!.children!.map((c) => c.status)).to.deep.equal(['completed', 'failed', 'completed']);

        noStock.clear();
        const completed = ended(runner, 'o-3');
        const resumed = await runner.resume('o-3');
        expect(resumed.status, 'the parent waits for its retried child').to.equal('waiting');
        expect(await completed).to.equal('completed');
        expect(Object.fromEntries(packed), 'only the failed child ran again').to.deep.equal({ 'o-3/ship/0': 1, 'o-3/ship/1': 2, 'o-3/ship/2': 1 });
        expect((await runner.get('o-3'))!.output).to.deep.equal({ shipped: ['o-3@a', 'o-3@b', 'o-3@c'] });
      });

      it('a failed child its parent retries runs at once, even when a worker found it busy during the retry (its entry moved to the lease expiry)', async () => {
        noStock.add('b');
        const setup = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        await setup.run(new ShipOrder(), { workflowId: 'o-6', input: { warehouses: ['a', 'b'] } });
        const failed = ended(setup, 'o-6');
        worker = new WorkflowWorker({ runner: setup, pollIntervalMs: 50 });
        worker.start();
        expect(await failed).to.equal('failed');
        await worker.stop();
        noStock.clear();
        // The parent's resume retries child 'o-6/ship/1' under its lease; a worker looks at the child
        // before that lease is given back, finds it busy, and moves its entry to the lease's expiry.
        let movedAway!: () => void;
        const busySeen = new Promise<void>((resolve) => (movedAway = resolve));
        const child = 'o-6/ship/1';
        let retried = false;
        const watched = new Proxy(store.storage, {
          get(target, key) {
            const value = Reflect.get(target, key) as unknown;
            if (typeof value !== 'function') return value;
            if (key === 'addWake')
              return async (entry: { workflowId: string; wakeAt: number }) => {
                await target.addWake(entry);
                if (entry.workflowId === child && entry.wakeAt > Date.now() + 10_000) movedAway();
              };
            if (key === 'releaseLease')
              return async (lease: Lease) => {
                // The first release of the child's lease is the parent's retry: it waits for the worker to find it busy.
                if (lease.workflowId === child && !retried) {
                  retried = true;
                  await busySeen;
                }
                return target.releaseLease(lease);
              };
            return (value as (...args: unknown[]) => unknown).bind(target);
          },
        });
        const runner = new WorkflowRunner({ storage: watched, workflows: WORKFLOWS });
        const completed = ended(runner, 'o-6');
        worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        worker.start();
        expect((await runner.resume('o-6')).status).to.equal('waiting');
        expect(await completed).to.equal('completed');
        expect(Object.fromEntries(packed)).to.deep.equal({ 'o-6/ship/0': 1, 'o-6/ship/1': 2 });
      });

      it("childFailure: 'tolerate' goes on with undefined outputs and ctx.childFailures(); ids given by spawn are used", async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        noStock.add('y');
        await runner.run(new TolerantOrder(), { workflowId: 'o-4', input: { warehouses: ['x', 'y'] } });
        const completed = ended(runner, 'o-4');
        worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        worker.start();
        expect(await completed).to.equal('completed');
        expect((await runner.get('o-4'))!.output).to.deep.equal({ shipped: ['o-4@x', undefined], failed: [[1, 'NO_STOCK']] });
        expect((await runner.get('o-4-shipment-1'))!.status).to.equal('failed');
      });

      it('cancelling a waiting parent cancels its unfinished children at once; their outcomes change nothing', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        await runner.run(new HeldOrder(), { workflowId: 'o-5', input: { warehouses: ['a', 'b'] } });
        // One child runs to its wait; the other never ran.
        expect((await runner.resume('o-5/ship/0')).status).to.equal('waiting');
        const result = await runner.cancel('o-5', { reason: 'customer cancelled' });
        expect(result).to.deep.equal({ outcome: 'cancelled', status: 'cancelled' });
        for (const id of ['o-5/ship/0', 'o-5/ship/1']) {
          const child = await runner.get(id);
          expect(child!.status, id).to.equal('cancelled');
          expect(child!.error!.message).to.equal("cancelled: its parent 'o-5' was cancelled");
        }
        expect((await runner.get('o-5'))!.children!.map((c) => c.status)).to.deep.equal(['cancelled', 'cancelled']);
        expect(packed.size).to.equal(0);
        expect((await runner.get('o-5'))!.status).to.equal('cancelled');
      });

      it('a parent cancelled while it starts its children cancels those it started', async () => {
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let reached!: () => void;
        const blocked = new Promise<void>((resolve) => (reached = resolve));
        // The second child's record write waits: the parent is cancelled between two starts.
        const slow = new Proxy(store.storage, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return async (...args: unknown[]) => {
              if (key === 'writeRecord' && args[0] === 'o-10/ship/1') {
                reached();
                await gate;
              }
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
        const runner = new WorkflowRunner({ storage: slow, workflows: WORKFLOWS, concurrency: 1 });
        const run = runner.run(new HeldOrder(), { workflowId: 'o-10', input: { warehouses: ['a', 'b', 'c'] } }).catch((e: unknown) => e);
        await blocked;
        expect((await runner.cancel('o-10', { reason: 'too slow' })).outcome).to.equal('requested');
        release();
        expect((await run as Error).name).to.equal('WorkflowCancelledError');
        const info = await runner.get('o-10');
        expect(info!.status).to.equal('cancelled');
        const started = info!.children!.filter((c) => c.status !== undefined);
        expect(started.length, 'children stored before the run stopped').to.be.at.least(1);
        for (const child of started) expect(child.status, child.workflowId).to.equal('cancelled');
      });

      it('a cancelled child fails its parent’s step (cancelled children are final)', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        await runner.run(new HeldOrder(), { workflowId: 'o-6', input: { warehouses: ['a'] } });
        const failed = ended(runner, 'o-6');
        worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
        worker.start();
        await runner.cancel('o-6/ship/0', { reason: 'warehouse closed' });
        expect(await failed).to.equal('failed');
        expect((await runner.get('o-6'))!.error!.message).to.contain("child 'o-6/ship/0' cancelled (WAYMARK_CANCELLED: cancelled: warehouse closed)");
      });

      it('refuses a spawn it cannot start, starting and committing nothing', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        const error = await runner.run(new BadSpawn(), { workflowId: 'o-7' }).catch((e: unknown) => e);
        const cause = ((error as WorkflowFailedError).cause as { cause: unknown }).cause;
        expect(cause).to.be.instanceOf(ChildSpawnError);
        expect((cause as ChildSpawnError).message).to.equal("workflow 'o-7', step 'ship': spawn cannot start its child workflows: children[0]: workflow 'not-registered' is not registered with the runner: add Unregistered to its workflows, in every process that runs either workflow");
        expect((await store.storage.load('o-7'))!.committedSteps).to.deep.equal([]);
      });

      it('never starts a child over an unfinished workflow that holds its id', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: WORKFLOWS });
        await runner.run(new HeldShipment(), { workflowId: 'someone-else', input: { warehouse: 'w', order: 'x' } });
        const error = await runner.run(new TakenId(), { workflowId: 'o-8' }).catch((e: unknown) => e);
        const cause = ((error as WorkflowFailedError).cause as { cause: unknown }).cause;
        expect(cause).to.be.instanceOf(ChildIdTakenError);
        expect((cause as Error).message).to.contain("child workflow id 'someone-else' is taken by workflow 'held-shipment' (status waiting)");
        expect((await runner.get('someone-else'))!.parent).to.equal(undefined);
      });
    });
  }

  it('an ended child whose parent was not told (its process died) is followed up by a worker from its wake entry', async () => {
    const { MemoryStorage } = await import('../../../lib/storage/memory-storage');
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: WORKFLOWS });
    await runner.run(new ShipOrder(), { workflowId: 'o-9', input: { warehouses: ['a'] } });
    // The child runs in a process that dies before it tells its parent: its put of the event fails.
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (message: string) => warnings.push(message), error: () => undefined };
    const deaf = new WorkflowRunner({ storage: new Proxy(storage, { get: (t, k, r) => (k === 'putEvent' ? () => Promise.reject(new Error('killed')) : (Reflect.get(t, k, r) as unknown)) }), workflows: WORKFLOWS, logger });
    expect((await deaf.resume('o-9/ship/0')).status).to.equal('completed');
    expect(warnings).to.deep.equal(["waymark: workflow 'o-9/ship/0': ended, but could not tell its parent yet (a worker does it in seconds): killed"]);
    const child = (await storage.readRecord('o-9/ship/0'))!.record;
    expect(child.status).to.equal('completed');
    expect(child.wakeAt, 'the ended child keeps an entry until its parent heard').to.be.a('string');
    expect(Date.parse(child.wakeAt!) - Date.now()).to.be.within(3_000, 5_000);
    expect((await storage.readRecord('o-9'))!.record.status, 'the parent did not hear').to.equal('waiting');
    // A worker takes the entry once due (here: moved to now) and tells the parent.
    await storage.addWake({ workflowId: 'o-9/ship/0', wakeAt: Date.now() });
    const completed = ended(runner, 'o-9');
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 50 });
    worker.start();
    try {
      expect(await completed).to.equal('completed');
    } finally {
      await worker.stop();
    }
    expect((await storage.dueWakes(Date.now() + 10_000, 10)).filter((e) => e.workflowId === 'o-9/ship/0'), "the child's entries are gone").to.deep.equal([]);
  });

  it('ChildWorkflowFailedError names the children that did not complete', () => {
    const error = new ChildWorkflowFailedError('o', 'ship', 5, [{ index: 1, childId: 'o/ship/1', status: 'failed', code: 'X', message: 'y' }]);
    expect(error.code).to.equal('WAYMARK_CHILD_FAILED');
    expect(error.message).to.equal("workflow 'o', step 'ship': 1 of 5 child workflows did not complete: child 'o/ship/1' failed (X: y). A resume of this workflow resumes its failed children and waits for them again");
  });
});
