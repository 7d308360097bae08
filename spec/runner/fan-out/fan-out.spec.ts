/**
 * Per-item fan-out (`@Step({ forEach })`): a list computed once and committed before any item runs,
 * one checkpoint per item, the step's output the items' outputs in order; a resume runs only the
 * items not committed and never computes the list again. On every store.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import { FanOutFailedError, FanOutListError, WorkflowDefinitionChangedError, WorkflowFailedError } from '../../../lib/errors';
import { itemKey, listKey } from '../../../lib/item-keys';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../../lib/storage/memory-storage';
import { everyStore, type OpenStore } from '../../helpers/stores';
import { spyStorage } from '../../helpers/spy-storage';

interface Order {
  readonly lines: readonly { readonly sku: string; readonly cents: number }[];
}
type Line = Order['lines'][number];

/** Lines whose charge fails (every attempt), by sku. */
const declined = new Set<string>();
/** Lines whose charge fails once, by sku. */
const failOnce = new Set<string>();
/** How often forEach and each charge ran, in this process. */
let listed = 0;
const charged: string[] = [];
/** What the load step returns: a spec changes it between runs to prove the list is never recomputed. */
let catalogue: readonly Line[] = [];

const line = (i: number): Line => ({ sku: `sku-${i}`, cents: 100 + i });

@Workflow({ name: 'charge-lines' })
class ChargeLines {
  @Step() load(ctx: StepContext<Order>) {
    return ctx.input.lines;
  }
  @Step({
    after: ['load'],
    forEach: (ctx: StepContext<Order, readonly Line[]>) => {
      listed++;
      return ctx.previous.filter((l) => catalogue.length === 0 || catalogue.some((c) => c.sku === l.sku));
    },
    concurrency: 4,
  })
  charge(ctx: StepContext<Order, readonly Line[]>) {
    const item = ctx.item as Line;
    charged.push(item.sku);
    if (declined.has(item.sku)) throw Object.assign(new Error(`card declined for ${item.sku}`), { code: 'CARD_DECLINED' });
    if (failOnce.delete(item.sku)) throw new Error(`gateway timeout for ${item.sku}`);
    return { sku: item.sku, index: ctx.index, chargeId: `ch-${ctx.workflowId}-${ctx.index}` };
  }
  @Step({ after: ['charge'] })
  receipt(ctx: StepContext) {
    const charges = ctx.result<readonly ({ chargeId: string } | undefined)[]>('charge');
    return { charged: charges.filter((c) => c !== undefined).length, failed: ctx.failures('charge').map((f) => f.index) };
  }
}

/** The same workflow, tolerating one failed line in ten. */
@Workflow({ name: 'charge-lines-tolerant' })
class TolerantLines {
  @Step() load(ctx: StepContext<Order>) {
    return ctx.input.lines;
  }
  @Step({ after: ['load'], forEach: (ctx: StepContext<Order, readonly Line[]>) => ctx.previous, toleratedFailures: { fraction: 0.1 } })
  charge(ctx: StepContext) {
    const item = ctx.item as Line;
    charged.push(item.sku);
    if (declined.has(item.sku)) throw Object.assign(new Error(`card declined for ${item.sku}`), { code: 'CARD_DECLINED' });
    return item.cents;
  }
  @Step({ after: ['charge'] })
  receipt(ctx: StepContext) {
    return { total: ctx.result<readonly (number | undefined)[]>('charge').reduce<number>((sum, c) => sum + (c ?? 0), 0), failed: ctx.failures('charge') };
  }
}

const orderOf = (n: number): Order => ({ lines: Array.from({ length: n }, (_, i) => line(i)) });

describe('fan-out (@Step({ forEach }))', () => {
  beforeEach(() => {
    declined.clear();
    failOnce.clear();
    listed = 0;
    charged.length = 0;
    catalogue = [];
  });

  for (const [name, open] of everyStore('fan-out')) {
    describe(`on ${name}`, () => {
      let store: OpenStore;
      beforeEach(async () => (store = await open()));
      afterEach(() => store.close());

      it('runs the method once per item with ctx.item and ctx.index, commits each, and outputs their results in order', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        const result = await runner.run(new ChargeLines(), { workflowId: 'o-1', input: orderOf(25) });
        expect(result.status).to.equal('completed');
        const charges = result.steps.charge!.output as { sku: string; index: number }[];
        expect(charges.map((c) => c.index)).to.deep.equal([...Array(25).keys()]);
        expect(charges.map((c) => c.sku)).to.deep.equal(orderOf(25).lines.map((l) => l.sku));
        expect(result.output).to.deep.equal({ charged: 25, failed: [] });
        expect(listed).to.equal(1);
        expect([...charged].sort()).to.deep.equal(orderOf(25).lines.map((l) => l.sku).sort());
        // The list and every item have checkpoints of their own, beside the step's.
        expect((await store.storage.readCheckpoint('o-1', itemKey('charge', 7))).output).to.deep.equal({ sku: 'sku-7', index: 7, chargeId: 'ch-o-1-7' });
        expect((await store.storage.readCheckpoint('o-1', listKey('charge'))).output).to.have.lengthOf(25);
        expect((await store.storage.readCheckpoint('o-1', 'charge')).items).to.deep.equal({ count: 25 });
        const info = await runner.get('o-1');
        expect(Object.keys(info!.steps), 'items are no steps of their own').to.deep.equal(['load', 'charge', 'receipt']);
        expect(info!.steps.charge).to.deep.include({ status: 'committed', forEach: true, items: { total: 25, committed: 25, failed: 0, remaining: 0 } });
      });

      it('a resume runs only the items not committed, with the list committed first (never computed again)', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        declined.add('sku-11');
        const failed = await runner.run(new ChargeLines(), { workflowId: 'o-2', input: orderOf(30) }).catch((e: unknown) => e);
        expect(failed).to.be.instanceOf(WorkflowFailedError);
        const cause = (failed as WorkflowFailedError).cause as { cause: unknown };
        expect(cause.cause).to.be.instanceOf(FanOutFailedError);
        expect((cause.cause as FanOutFailedError).failures).to.deep.equal([{ index: 11, code: 'CARD_DECLINED', message: 'card declined for sku-11', attempts: 1 }]);
        const firstRun = new Set(charged);
        expect(firstRun.size, 'items running when one failed settle; no new one starts').to.be.below(30);
        const info = await runner.get('o-2');
        expect(info!.steps.charge!.status).to.equal('failed');
        expect(info!.steps.charge!.items).to.deep.equal({ total: 30, committed: firstRun.size - 1, failed: 1, remaining: 30 - firstRun.size });
        expect(info!.error).to.deep.include({ code: 'WAYMARK_FAN_OUT_FAILED', step: 'charge', items: { failed: 1, first: [{ index: 11, code: 'CARD_DECLINED', message: 'card declined for sku-11', attempts: 1 }] } });

        // The data would now give another list: the resume reads the committed one.
        declined.clear();
        catalogue = [line(0)];
        charged.length = 0;
        const resumed = await runner.run(new ChargeLines(), { workflowId: 'o-2', input: orderOf(30), resume: true });
        expect(listed, 'forEach was asked once, by the first run').to.equal(1);
        expect(new Set(charged).size, 'no committed item ran again').to.equal(charged.length);
        for (const sku of charged) expect(firstRun.has(sku) && sku !== 'sku-11', `${sku} ran again`).to.equal(false);
        expect(charged.length + firstRun.size - 1).to.equal(30);
        expect((resumed.output as { charged: number }).charged).to.equal(30);
        expect((resumed.steps.charge!.output as unknown[]).length).to.equal(30);
      });

      it('tolerates failures up to toleratedFailures: the step completes, failed outputs are undefined, dependents read ctx.failures()', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        declined.add('sku-3');
        declined.add('sku-17');
        const result = await runner.run(new TolerantLines(), { workflowId: 'o-3', input: orderOf(20) });
        const outputs = result.steps.charge!.output as (number | undefined)[];
        expect(outputs[3]).to.equal(undefined);
        expect(outputs[17]).to.equal(undefined);
        expect(outputs[4]).to.equal(104);
        const failedItems = [
          { index: 3, code: 'CARD_DECLINED', message: 'card declined for sku-3', attempts: 1 },
          { index: 17, code: 'CARD_DECLINED', message: 'card declined for sku-17', attempts: 1 },
        ];
        expect(result.output).to.deep.equal({ total: orderOf(20).lines.reduce((s, l) => s + l.cents, 0) - 103 - 117, failed: failedItems });
        expect((await store.storage.readCheckpoint('o-3', 'charge')).items).to.deep.equal({ count: 20, failed: failedItems });
        expect((await runner.get('o-3'))!.steps.charge!.items).to.deep.equal({ total: 20, committed: 18, failed: 2, remaining: 0 });

        // A third failure is one more than a tenth of 20.
        declined.add('sku-9');
        const failed = await runner.run(new TolerantLines(), { workflowId: 'o-4', input: orderOf(20) }).catch((e: unknown) => e);
        expect(((failed as WorkflowFailedError).cause as { cause: unknown }).cause).to.be.instanceOf(FanOutFailedError);
      });

      it('a dependent restored by a later run still reads the tolerated failures', async () => {
        @Workflow({ name: 'restored-failures' })
        class Restored {
          @Step({ forEach: () => ['a', 'b', 'c'], toleratedFailures: 1 })
          items(ctx: StepContext) {
            if (ctx.item === 'b') throw new Error('b is out of stock');
            return ctx.item;
          }
          @Step({ after: ['items'] })
          summary(ctx: StepContext) {
            return ctx.failures('items').map((f) => f.message);
          }
          @Step({ after: ['summary'] })
          last(ctx: StepContext) {
            if (declined.has('last')) throw new Error('not yet');
            return ctx.previous;
          }
        }
        const runner = new WorkflowRunner({ storage: store.storage });
        declined.add('last');
        await runner.run(new Restored(), { workflowId: 'o-5' }).catch(() => undefined);
        declined.clear();
        const result = await runner.run(new Restored(), { workflowId: 'o-5', resume: true });
        expect(result.steps.items!.status).to.equal('restored');
        expect(result.output).to.deep.equal(['b is out of stock']);
      });

      it('an empty list completes the step with [] and runs its dependents', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        const result = await runner.run(new ChargeLines(), { workflowId: 'o-6', input: { lines: [] } });
        expect(result.steps.charge!.output).to.deep.equal([]);
        expect(result.output).to.deep.equal({ charged: 0, failed: [] });
      });
    });
  }

  describe('the list', () => {
    it('anything but an array fails the step with FanOutListError naming what came back; nothing is committed, and a resume asks again', async () => {
      let answer: unknown = { not: 'an array' };
      class Bad {
        @Step({ forEach: () => answer as unknown[] })
        each(ctx: StepContext) {
          return ctx.item;
        }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      const failed = await runner.run(new Bad(), { workflowId: 'bad' }).catch((e: unknown) => e);
      const error = ((failed as WorkflowFailedError).cause as { cause: unknown }).cause as FanOutListError;
      expect(error).to.be.instanceOf(FanOutListError);
      expect(error.code).to.equal('WAYMARK_FAN_OUT_LIST');
      expect(error.message).to.equal("workflow 'bad', step 'each': forEach returned object; it must return an array of the items to run the step for (or a promise of one)");
      expect((await storage.load('bad'))!.committedSteps).to.deep.equal([]);
      answer = [1, 2];
      const result = await runner.run(new Bad(), { workflowId: 'bad', resume: true });
      expect(result.output).to.deep.equal([1, 2]);
    });

    it('a forEach that throws fails the step with its error', async () => {
      class Throws {
        @Step({ forEach: () => { throw new Error('catalogue unreachable'); } })
        each() {
          return 1;
        }
      }
      const failed = await new WorkflowRunner({ storage: new MemoryStorage() }).run(new Throws(), { workflowId: 't' }).catch((e: unknown) => e);
      expect(((failed as WorkflowFailedError).cause as Error).message).to.equal("workflow 't', step 'each' failed after 1 attempt: catalogue unreachable");
    });
  });

  describe('items', () => {
    it('retry on their own, with the step\'s retry policy; a failed attempt\'s event names the item', async () => {
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      const events: unknown[] = [];
      runner.on('step:attempt-failed', (e) => events.push({ step: e.step, item: e.item, attempt: e.attempt, willRetry: e.willRetry }));
      let tries = 0;
      class Retried {
        @Step({ forEach: () => ['x', 'y'], retry: { attempts: 3, delayMs: 0 } })
        each(ctx: StepContext) {
          if (ctx.item === 'y' && ++tries < 3) throw new Error('flaky');
          return `${String(ctx.item)}@${ctx.attempt}`;
        }
      }
      const result = await runner.run(new Retried(), { workflowId: 'r' });
      expect(result.output).to.deep.equal(['x@1', 'y@3']);
      expect(result.steps.each!.attempts, 'the most attempts an item took').to.equal(3);
      expect(events).to.deep.equal([
        { step: 'each', item: 1, attempt: 1, willRetry: true },
        { step: 'each', item: 1, attempt: 2, willRetry: true },
      ]);
    });

    it('run at most the step\'s concurrency at once, and never more than the run\'s', async () => {
      let running = 0;
      let most = 0;
      const body = async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
      };
      class Limited {
        @Step({ forEach: () => Array.from({ length: 40 }, (_, i) => i), concurrency: 3 })
        async three() {
          await body();
        }
        @Step({ after: [], forEach: () => Array.from({ length: 40 }, (_, i) => i), concurrency: 100 })
        async capped() {
          await body();
        }
      }
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      await runner.run(new Limited(), { workflowId: 'l-1', concurrency: 1 });
      expect(most, 'run concurrency 1 caps both').to.equal(1);
      most = 0;
      class Three {
        @Step({ forEach: () => Array.from({ length: 40 }, (_, i) => i), concurrency: 3 })
        async three() {
          await body();
        }
      }
      await runner.run(new Three(), { workflowId: 'l-2', concurrency: 10 });
      expect(most).to.equal(3);
      most = 0;
      class Ten {
        @Step({ forEach: () => Array.from({ length: 40 }, (_, i) => i), concurrency: 50 })
        async ten() {
          await body();
        }
      }
      await runner.run(new Ten(), { workflowId: 'l-3', concurrency: 10 });
      expect(most).to.equal(10);
    });
  });

  describe('at scale', () => {
    class Many {
      @Step() count(ctx: StepContext<{ n: number }>) {
        return ctx.input.n;
      }
      @Step({ forEach: (ctx: StepContext<unknown, number>) => Array.from({ length: ctx.previous }, (_, i) => i), concurrency: 50 })
      each(ctx: StepContext) {
        if (declined.has(`item-${String(ctx.item)}`)) throw new Error('stop here');
        return (ctx.item as number) * 2;
      }
    }

    it('a resume reads the run\'s state once and each committed item\'s checkpoint once, whatever the count', async () => {
      const storage = spyStorage();
      const runner = new WorkflowRunner({ storage });
      declined.add('item-300');
      await runner.run(new Many(), { workflowId: 'half', input: { n: 600 }, concurrency: 1 }).catch(() => undefined);
      const committed = (await storage.load('half'))!.committedSteps.filter((n) => n.startsWith('each\u001f') && !n.endsWith('list')).length;
      expect(committed).to.equal(300);
      declined.clear();
      storage.load.resetHistory();
      storage.readCheckpoint.resetHistory();
      storage.commit.resetHistory();
      const result = await runner.run(new Many(), { workflowId: 'half', input: { n: 600 }, resume: true });
      expect((result.output as number[]).slice(298, 302)).to.deep.equal([596, 598, 600, 602]);
      expect(storage.load.callCount, 'one listing of what is committed').to.equal(1);
      const read = storage.readCheckpoint.getCalls().map((c) => c.args[1] as string);
      expect(read.filter((n) => n.startsWith('each\u001f') && !n.endsWith('list')).length, 'each committed item read once').to.equal(300);
      expect(new Set(read).size, 'nothing read twice').to.equal(read.length);
      expect(storage.commit.callCount, 'the 300 items left, then the step').to.equal(301);
    });

    it('one workflow holds 100,000 items: each committed on its own, the output in list order', async function () {
      this.timeout(120_000);
      const storage = new MemoryStorage();
      const result = await new WorkflowRunner({ storage, concurrency: 50 }).run(new Many(), { workflowId: 'many', input: { n: 100_000 } });
      const output = result.output as number[];
      expect(output).to.have.lengthOf(100_000);
      expect(output.every((v, i) => v === i * 2)).to.equal(true);
      expect((await storage.load('many'))!.committedSteps).to.have.lengthOf(100_000 + 3);
      expect((await new WorkflowRunner({ storage }).get('many'))!.steps.each!.items).to.deep.equal({ total: 100_000, committed: 100_000, failed: 0, remaining: 0 });
    });
  });

  describe('compensation', () => {
    /** Refunds, by item index, in this process. */
    const refunded: string[] = [];
    @Workflow({ name: 'refund-lines' })
    class RefundLines {
      @Step({ forEach: (ctx: StepContext<Order>) => ctx.input.lines, compensate: 'refund', concurrency: 2 })
      charge(ctx: StepContext) {
        const item = ctx.item as Line;
        if (declined.has(item.sku)) throw new Error(`card declined for ${item.sku}`);
        return `ch-${item.sku}`;
      }
      @Step({ after: ['charge'] })
      ship() {
        if (declined.has('ship')) throw new Error('no courier');
        return 'shipped';
      }
      refund(ctx: { output: string; item: Line; index: number }) {
        refunded.push(`${ctx.index}:${ctx.item.sku}:${ctx.output}`);
      }
    }
    beforeEach(() => (refunded.length = 0));

    it('undoes each committed item, with its item, index and output, when a later step fails for good', async () => {
      declined.add('ship');
      const failed = (await new WorkflowRunner({ storage: new MemoryStorage() }).run(new RefundLines(), { workflowId: 'c-1', input: orderOf(5) }).catch((e: unknown) => e)) as WorkflowFailedError;
      expect(failed.result.status).to.equal('compensated');
      expect(failed.result.steps.charge!.compensation).to.deep.equal({ status: 'compensated', attempts: 1 });
      expect([...refunded].sort()).to.deep.equal([0, 1, 2, 3, 4].map((i) => `${i}:sku-${i}:ch-sku-${i}`));
    });

    it('undoes the items a failed fan-out committed, and no other', async () => {
      declined.add('sku-2');
      const storage = new MemoryStorage();
      const failed = (await new WorkflowRunner({ storage }).run(new RefundLines(), { workflowId: 'c-2', input: orderOf(6) }).catch((e: unknown) => e)) as WorkflowFailedError;
      expect(failed.result.status).to.equal('compensated');
      const committed = (await storage.load('c-2'))!.committedSteps.filter((n) => n.startsWith('charge\u001f') && !n.endsWith('list')).map((n) => Number(n.split('\u001f')[1])).sort();
      expect(committed.length, 'items before the failure committed').to.be.greaterThan(0);
      expect(refunded.map((r) => Number(r.split(':')[0])).sort()).to.deep.equal(committed);
      expect(refunded.some((r) => r.startsWith('2:')), 'the failed item did nothing to undo').to.equal(false);
    });

    it('a fan-out that committed nothing is owed no compensation', async () => {
      declined.add('sku-0');
      const failed = (await new WorkflowRunner({ storage: new MemoryStorage() }).run(new RefundLines(), { workflowId: 'c-3', input: orderOf(1) }).catch((e: unknown) => e)) as WorkflowFailedError;
      expect(refunded).to.deep.equal([]);
      expect(failed.result.steps.charge, 'like a plain step that failed: nothing to report').not.to.have.property('compensation');
    });
  });

  describe('definitions', () => {
    it('adding a forEach to a committed step, or taking it from a step whose items are committed, is a definition change', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      @Workflow({ name: 'shape' })
      class Plain {
        @Step() each() {
          return [1, 2];
        }
        @Step() after() {
          throw new Error('stop here');
        }
      }
      await runner.run(new Plain(), { workflowId: 's-1' }).catch(() => undefined);
      @Workflow({ name: 'shape' })
      class FannedOut {
        @Step({ forEach: () => [1, 2] }) each(ctx: StepContext) {
          return ctx.item;
        }
        @Step() after() {
          return 'done';
        }
      }
      const changed = await runner.run(new FannedOut(), { workflowId: 's-1', resume: true }).catch((e: unknown) => e);
      expect(changed).to.be.instanceOf(WorkflowDefinitionChangedError);
      expect((changed as WorkflowDefinitionChangedError).differences).to.deep.equal(["committed step 'each' now has a forEach (a fan-out); it had none"]);

      @Workflow({ name: 'shape' })
      class HalfDone {
        @Step({ forEach: () => [1, 2] }) each(ctx: StepContext) {
          if (ctx.item === 2) throw new Error('stop');
          return ctx.item;
        }
        @Step() after() {
          return 'done';
        }
      }
      await runner.run(new HalfDone(), { workflowId: 's-2' }).catch(() => undefined);
      const removed = await runner.run(new Plain(), { workflowId: 's-2', resume: true }).catch((e: unknown) => e);
      expect((removed as WorkflowDefinitionChangedError).differences).to.deep.equal(["fan-out step 'each' no longer has its forEach (a fan-out), and items of it are committed"]);
    });
  });
});
