/**
 * A deploy, played on every store: a worker on version 1 leaves 20 runs waiting on events and
 * timers; a worker with versions 1 and 2 resumes old runs on 1 and starts new ones on 2; a worker
 * with version 2 alone leaves the version-1 runs stranded (reported once, none failed, no step run
 * again); a migration moves them and they finish on 2; a restart from a step runs exactly that
 * step and its dependents again.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import { WorkflowNotRegisteredError } from '../../../lib/errors';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { WorkflowWorker } from '../../../lib/worker/workflow-worker';
import { within } from '../../helpers/deferred';
import { everyStore, type OpenStore } from '../../helpers/stores';

interface OrderInput {
  readonly sku: string;
}

/** Every step run, as `<workflow id> v<version>.<step>`. */
const ran: string[] = [];
const log = (ctx: StepContext, version: number, step: string) => ran.push(`${ctx.workflowId} v${version}.${step}`);

/** Waits for payment (an event), ships, then waits for delivery: an event, with a timer (its timeout). */
@Workflow({ name: 'order' })
class OrderV1 {
  @Step()
  reserve(ctx: StepContext<OrderInput>) {
    log(ctx, 1, 'reserve');
    return `reserved ${ctx.input.sku}`;
  }
  @Step({ waitFor: { event: 'paid' } })
  pay(ctx: StepContext<OrderInput>) {
    log(ctx, 1, 'pay');
    return 'paid';
  }
  @Step()
  ship(ctx: StepContext<OrderInput>) {
    log(ctx, 1, 'ship');
    return 'shipped v1';
  }
  @Step({ waitFor: { event: 'delivered', timeoutMs: 3_600_000 } })
  deliver(ctx: StepContext<OrderInput, string>) {
    log(ctx, 1, 'deliver');
    return ctx.previous;
  }
}

/** Version 2 renames `pay` to `charge` and adds `notify` at the end. */
@Workflow({ name: 'order', version: 2, migrate: { from: 1, renamed: { pay: 'charge' } } })
class OrderV2 {
  @Step()
  reserve(ctx: StepContext<OrderInput>) {
    log(ctx, 2, 'reserve');
    return `reserved ${ctx.input.sku}`;
  }
  @Step({ waitFor: { event: 'paid' } })
  charge(ctx: StepContext<OrderInput>) {
    log(ctx, 2, 'charge');
    return 'charged';
  }
  @Step()
  ship(ctx: StepContext<OrderInput>) {
    log(ctx, 2, 'ship');
    return 'shipped v2';
  }
  @Step({ waitFor: { event: 'delivered', timeoutMs: 3_600_000 } })
  deliver(ctx: StepContext<OrderInput, string>) {
    log(ctx, 2, 'deliver');
    return ctx.previous;
  }
  @Step()
  notify(ctx: StepContext<OrderInput, string>) {
    log(ctx, 2, 'notify');
    return `told: ${ctx.previous}`;
  }
}

/** Resolves once every id in `ids` completed through `runner` (its run:completed events). */
function completions(runner: WorkflowRunner, ids: readonly string[]): Promise<void> {
  const left = new Set(ids);
  return new Promise((resolve) => {
    const off = runner.on('run:completed', ({ workflowId }) => {
      left.delete(workflowId);
      if (left.size === 0) {
        off();
        resolve();
      }
    });
  });
}

const ids = (from: number, to: number, prefix = 'o') => Array.from({ length: to - from }, (_, i) => `${prefix}-${from + i}`);
const ranFor = (id: string) => ran.filter((line) => line.startsWith(`${id} `)).map((line) => line.slice(id.length + 1));

describe('a deploy of a new version, with runs in flight', () => {
  beforeEach(() => (ran.length = 0));

  for (const [name, open] of everyStore('deploy')) {
    describe(`on ${name}`, () => {
      let store: OpenStore;
      const workers: WorkflowWorker[] = [];
      beforeEach(async () => (store = await open()));
      afterEach(async () => {
        for (const worker of workers.splice(0)) await worker.stop();
        await store.close();
      });

      it('keeps old runs on their version, starts new ones on the newest, strands none silently, and moves them with a checked migration', async function () {
        this.timeout(90_000);
        const { storage } = store;
        const unpaid = ids(0, 10);
        const shipped = ids(10, 20);
        // 1. Version 1 alone: 10 runs wait to be paid; 10 were paid, shipped, and wait for delivery (an event, with a timer).
        const v1 = new WorkflowRunner({ storage, workflows: [OrderV1] });
        for (const id of [...unpaid, ...shipped]) await v1.run(new OrderV1(), { workflowId: id, input: { sku: id } });
        for (const id of shipped) await v1.sendEvent(id, 'paid');
        for (const id of shipped) expect((await v1.resume(id)).waitingFor).to.deep.equal(['delivered']);
        expect((await v1.list({ workflowName: 'order', version: 1, status: 'waiting' })).items).to.have.length(20);
        expect((await v1.get('o-10'))!.wakeAt, 'a timer too').to.be.a('string');

        // 2. Versions 1 and 2: old runs go on on version 1; a new run starts on version 2.
        const both = new WorkflowRunner({ storage, workflows: [OrderV1, OrderV2] });
        workers.push(new WorkflowWorker({ runner: both, pollIntervalMs: 50 }));
        await workers[0]!.start();
        const oldDone = completions(both, ['o-0', 'o-1', 'o-10', 'o-11', 'o-12']);
        for (const id of ['o-0', 'o-1']) await both.sendEvent(id, 'paid');
        for (const id of ['o-0', 'o-1', 'o-10', 'o-11', 'o-12']) await both.sendEvent(id, 'delivered');
        const fresh = await both.run(new OrderV2(), { workflowId: 'n-0', input: { sku: 'n-0' } });
        expect(fresh.status).to.equal('waiting');
        expect((await both.get('n-0'))!.version).to.equal(2);
        const newDone = completions(both, ['n-0']);
        await both.sendEvent('n-0', 'paid');
        await both.sendEvent('n-0', 'delivered');
        await within(Promise.all([oldDone, newDone]), 30_000, 'old runs complete on version 1, the new one on version 2');
        expect(ranFor('o-0')).to.deep.equal(['v1.reserve', 'v1.pay', 'v1.ship', 'v1.deliver']);
        expect(ranFor('o-10')).to.deep.equal(['v1.reserve', 'v1.pay', 'v1.ship', 'v1.deliver']);
        expect(ranFor('n-0')).to.deep.equal(['v2.reserve', 'v2.charge', 'v2.ship', 'v2.deliver', 'v2.notify']);
        await workers.pop()!.stop();
        ran.length = 0;

        // 3. Version 2 alone: version-1 runs that come due are stranded, each told once, none run or failed.
        const v2 = new WorkflowRunner({ storage, workflows: [OrderV2] });
        const left = [...ids(2, 10), ...ids(13, 20)];
        const due = ['o-2', 'o-3', 'o-4', 'o-5', 'o-15', 'o-16', 'o-17'];
        const told: string[] = [];
        let allTold!: () => void;
        const toldAll = new Promise<void>((resolve) => (allTold = resolve));
        workers.push(
          new WorkflowWorker({
            runner: v2,
            pollIntervalMs: 50,
            onError: (error, id) => {
              expect(error, String(error)).to.be.instanceOf(WorkflowNotRegisteredError);
              expect((error as Error).message).to.contain('pinned to order@1 and this runner has order@2 only');
              told.push(id!);
              if (due.every((d) => told.includes(d))) allTold();
            },
          }),
        );
        for (const id of ['o-2', 'o-3', 'o-4', 'o-5']) await v2.sendEvent(id, 'paid');
        for (const id of ['o-15', 'o-16', 'o-17']) await v2.sendEvent(id, 'delivered');
        await workers[0]!.start();
        await within(toldAll, 20_000, 'every version-1 run that came due is reported stranded');
        expect(told.length, 'each told once').to.equal(new Set(told).size);
        expect(ran, 'no step of a stranded run ran').to.deep.equal([]);
        const stranded = (await v2.list({ stranded: true })).items;
        expect(stranded.map((i) => i.workflowId).sort()).to.deep.equal([...left].sort());
        for (const item of stranded) expect(item).to.deep.include({ version: 1, status: 'waiting' });
        const marked = await v2.get('o-2');
        expect(marked!.stranded).to.deep.include({ missing: 'order@1' });
        expect(marked!.status, 'never failed').to.equal('waiting');
        expect((await v2.list({ workflowName: 'order', version: 1 })).items.filter((i) => i.status === 'waiting')).to.have.length(left.length);

        // A dry run says what a migration does, and writes nothing.
        const before = await storage.readRecord('o-15');
        const dry = await v2.migrate('o-15', { dryRun: true });
        expect(dry).to.deep.include({ from: 1, to: 2, dryRun: true, kept: ['reserve', 'ship'], renamed: { pay: 'charge' }, dropped: [], toRun: ['deliver', 'notify'] });
        expect(await storage.readRecord('o-15')).to.deep.equal(before);

        // 4. Migrated, they finish on version 2; no committed step runs again (pay is charge now).
        const movedDone = completions(v2, left);
        for (const id of left) expect(await v2.migrate(id)).to.deep.include({ from: 1, to: 2, dryRun: false });
        for (const id of ['o-6', 'o-7', 'o-8', 'o-9']) await v2.sendEvent(id, 'paid');
        for (const id of [...ids(2, 10), 'o-13', 'o-14', 'o-18', 'o-19']) await v2.sendEvent(id, 'delivered');
        await within(movedDone, 30_000, 'every migrated run completes on version 2');
        for (const id of left) {
          const info = await v2.get(id, { outputs: true });
          expect(info, id).to.deep.include({ status: 'completed', version: 2 });
          expect(info!.output).to.equal(id >= 'o-13' && id.length === 4 ? 'told: shipped v1' : 'told: shipped v2');
          expect(info!.stranded).to.equal(undefined);
          expect(info!.history!.map((h) => h.kind)).to.deep.equal(['migrated']);
          expect(info!.steps.charge).to.deep.include({ status: 'committed' });
          const wasShipped = shipped.includes(id);
          expect(ranFor(id), id).to.deep.equal(wasShipped ? ['v2.deliver', 'v2.notify'] : ['v2.charge', 'v2.ship', 'v2.deliver', 'v2.notify']);
        }

        // 5. A restart from a step runs it and its dependents again, and nothing else; the event it consumed is consumed again.
        ran.length = 0;
        const again = completions(v2, ['o-15']);
        const restarted = await v2.restart('o-15', { from: 'ship' });
        expect(restarted).to.deep.include({ from: 'ship', rerun: ['ship', 'deliver', 'notify'], discarded: ['ship', 'deliver', 'notify'], status: 'completed' });
        await within(again, 20_000, 'the restarted run completes');
        expect(ranFor('o-15')).to.deep.equal(['v2.ship', 'v2.deliver', 'v2.notify']);
        const after = await v2.get('o-15', { outputs: true });
        expect(after).to.deep.include({ status: 'completed', output: 'told: shipped v2' });
        expect(after!.history!.map((h) => h.kind)).to.deep.equal(['migrated', 'restarted']);
      });
    });
  }
});
