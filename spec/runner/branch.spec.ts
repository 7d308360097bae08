/**
 * Branches (`@Step({ when })`): a step runs or is skipped, decided once, committed, and never decided
 * again by a resume; on every store.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { StepFailedError, WorkflowDefinitionChangedError, WorkflowDefinitionError, WorkflowFailedError } from '../../lib/errors';
import { buildGraph } from '../../lib/graph';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { tempDir } from '../helpers/temp-dir';
import { everyStore, type OpenStore } from '../helpers/stores';
import { runTs } from '../helpers/child';
import { RefundFlow } from '../fixtures/branch-crash';

interface Order {
  readonly cents: number;
}

/** How often each predicate and step body ran, in this process. */
const calls = new Map<string, number>();
const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);
/** What the predicates answer: a spec changes it between runs to prove a resume does not ask again. */
let limit = 100_000;
/** Steps whose body fails, once each. */
const failOnce = new Set<string>();

@Workflow({ name: 'order' })
class OrderFlow {
  @Step() check(ctx: StepContext<Order>) {
    return { cents: ctx.input.cents };
  }
  @Step({
    after: ['check'],
    when: (ctx: StepContext<Order>) => {
      count('when:approve');
      return ctx.result<Order>('check').cents > limit;
    },
  })
  approve() {
    count('approve');
    if (failOnce.delete('approve')) throw new Error('the manager was away');
    return 'approved by a manager';
  }
  @Step({
    after: ['check'],
    when: (ctx: StepContext<Order>) => {
      count('when:autoApprove');
      return ctx.result<Order>('check').cents <= limit;
    },
  })
  autoApprove() {
    count('autoApprove');
    return 'approved automatically';
  }
  /** After the manager only: skipped, without asking, whenever the manager's step was. */
  @Step({ after: ['approve'] })
  thankManager() {
    count('thankManager');
    return 'thanked';
  }
  /** The join after the if/else: runs once, whichever branch was taken. */
  @Step({ after: ['approve', 'autoApprove'] })
  ship(ctx: StepContext) {
    count('ship');
    return { by: ctx.skipped('approve') ? ctx.result<string>('autoApprove') : ctx.result<string>('approve'), managerSkipped: ctx.skipped('approve'), autoSkipped: ctx.skipped('autoApprove') };
  }
}

const STORES = everyStore('branch');
type Store = OpenStore;

describe('branches (@Step({ when }))', () => {
  beforeEach(() => {
    calls.clear();
    limit = 100_000;
    failOnce.clear();
  });

  for (const [name, open] of STORES) {
    describe(`on ${name}`, () => {
      let store: Store;
      beforeEach(async () => (store = await open()));
      afterEach(() => store.close());

      it('runs the branch whose when says yes, commits the other as skipped, and runs the join once', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        const result = await runner.run(new OrderFlow(), { workflowId: 'big', input: { cents: 250_000 } });
        expect(result.status).to.equal('completed');
        expect(result.steps.approve!.status).to.equal('completed');
        expect(result.steps.autoApprove).to.deep.equal({ status: 'skipped', attempts: 1, output: undefined });
        expect(result.steps.thankManager!.status).to.equal('completed');
        expect(result.output).to.deep.equal({ by: 'approved by a manager', managerSkipped: false, autoSkipped: true });
        expect(calls.get('autoApprove'), 'a skipped step never runs').to.equal(undefined);
        expect(calls.get('ship')).to.equal(1);
        const stored = await store.storage.readCheckpoint('big', 'autoApprove');
        expect(stored.status).to.equal('skipped');

        calls.clear();
        const small = await runner.run(new OrderFlow(), { workflowId: 'small', input: { cents: 900 } });
        expect(small.steps.approve!.status).to.equal('skipped');
        expect(small.steps.thankManager, 'all its dependencies skipped: skipped without a when').to.deep.equal({ status: 'skipped', attempts: 0, output: undefined });
        expect(small.output).to.deep.equal({ by: 'approved automatically', managerSkipped: true, autoSkipped: false });
        expect(calls.get('thankManager')).to.equal(undefined);
      });

      it('never asks a when again once it answered: a no is the skipped checkpoint, a yes is stored before the step acts', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        failOnce.add('approve');
        const failed = await runner.run(new OrderFlow(), { workflowId: 'o-1', input: { cents: 250_000 } }).catch((e: unknown) => e);
        expect(failed).to.be.instanceOf(WorkflowFailedError);
        expect((await store.storage.readRecord('o-1'))!.record.branches).to.deep.equal({ approve: true });
        expect(calls.get('when:approve')).to.equal(1);
        expect(calls.get('when:autoApprove')).to.equal(1);

        // The data would now answer the other way round: the resume goes on with the answers given.
        limit = 1_000_000;
        const resumed = await runner.run(new OrderFlow(), { workflowId: 'o-1', input: { cents: 250_000 }, resume: true });
        expect(calls.get('when:approve'), 'the stored yes is read, not asked again').to.equal(1);
        expect(calls.get('when:autoApprove'), 'the skipped checkpoint is read, not asked again').to.equal(1);
        expect(resumed.steps.approve!.status).to.equal('completed');
        expect(resumed.steps.autoApprove!.status).to.equal('skipped');
        expect(resumed.output).to.deep.equal({ by: 'approved by a manager', managerSkipped: false, autoSkipped: true });

        const info = await runner.get('o-1');
        expect(info!.steps.autoApprove).to.include({ status: 'skipped', when: true });
        expect(info!.steps.approve).to.include({ status: 'committed', when: true });
        expect(info!.steps.check).not.to.have.property('when');
      });

      it('a resume of a finished branch reads which steps were skipped, asking nothing', async () => {
        const runner = new WorkflowRunner({ storage: store.storage });
        await runner.run(new OrderFlow(), { workflowId: 'o-2', input: { cents: 10 } });
        calls.clear();
        const again = await runner.run(new OrderFlow(), { workflowId: 'o-2', input: { cents: 10 }, resume: true, fingerprint: 'another input', onInputChange: 'reuse' });
        expect([...calls.keys()]).to.deep.equal([]);
        expect(again.steps.approve!.status).to.equal('skipped');
        expect(again.steps.thankManager!.status).to.equal('skipped');
        expect(again.steps.autoApprove!.status).to.equal('restored');
      });
    });
  }

  it('a process killed inside the chosen step: the resume reads the stored yes and runs the step, asking nothing', async () => {
    const dir = await tempDir('waymark-branch-crash-');
    try {
      const log = join(dir.path, 'asked.log');
      const crashed = await runTs('spec/fixtures/branch-crash.ts', { STORE: join(dir.path, 'store'), WORKFLOW_ID: 'parcel-9', CRASH: '1', BRANCH_LOG: log });
      expect(crashed.signal, crashed.stderr).to.equal('SIGKILL');
      expect(readFileSync(log, 'utf8')).to.equal('asked refund\n');
      const storage = new FileStorage({ directory: join(dir.path, 'store') });
      expect((await storage.readRecord('parcel-9'))!.record.branches).to.deep.equal({ refund: true });
      process.env.BRANCH_LOG = log;
      // The dead run's lease is taken over at once: FileStorage sees its owner is gone.
      const result = await new WorkflowRunner({ storage, workflows: [RefundFlow] }).resume('parcel-9');
      expect(result.steps.refund).to.include({ status: 'completed' });
      expect(result.output).to.equal('refunded');
      expect(readFileSync(log, 'utf8'), 'the resume did not ask again').to.equal('asked refund\n');
    } finally {
      delete process.env.BRANCH_LOG;
      await dir.remove();
    }
  });

  describe('a when that fails', () => {
    it('is a failed attempt: the step\'s retry policy applies, attempts count, and no step:started is emitted for it', async () => {
      let asked = 0;
      class Flaky {
        @Step() first() {
          return 1;
        }
        @Step({
          retry: { attempts: 3, delayMs: 0 },
          when: () => {
            if (++asked < 3) throw new Error(`flaky ${asked}`);
            return false;
          },
        })
        second() {
          return 2;
        }
      }
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      const failures: unknown[] = [];
      const started: string[] = [];
      runner.on('step:attempt-failed', (e) => failures.push({ step: e.step, attempt: e.attempt, branch: e.branch, willRetry: e.willRetry }));
      runner.on('step:started', (e) => started.push(e.step));
      const skipped: unknown[] = [];
      runner.on('step:skipped', (e) => skipped.push({ step: e.step, reason: e.reason }));
      const result = await runner.run(new Flaky(), { workflowId: 'flaky' });
      expect(result.steps.second).to.deep.equal({ status: 'skipped', attempts: 3, output: undefined });
      expect(failures).to.deep.equal([
        { step: 'second', attempt: 1, branch: true, willRetry: true },
        { step: 'second', attempt: 2, branch: true, willRetry: true },
      ]);
      expect(started).to.deep.equal(['first']);
      expect(skipped).to.deep.equal([{ step: 'second', reason: 'when' }]);
    });

    it('fails the step for good when its attempts run out, or when it answers something else than a boolean', async () => {
      class Throws {
        @Step({
          when: () => {
            throw new Error('no answer');
          },
        })
        only() {
          return 1;
        }
      }
      class Vague {
        @Step({ when: (() => 'yes') as never })
        only() {
          return 1;
        }
      }
      const runner = new WorkflowRunner({ storage: new MemoryStorage() });
      const thrown = (await runner.run(new Throws(), { workflowId: 't' }).catch((e: unknown) => e)) as WorkflowFailedError;
      expect(thrown.cause).to.be.instanceOf(StepFailedError);
      expect((thrown.cause as StepFailedError).cause).to.have.property('message', 'no answer');
      const vague = (await runner.run(new Vague(), { workflowId: 'v' }).catch((e: unknown) => e)) as WorkflowFailedError;
      expect((vague.cause as StepFailedError).cause).to.be.instanceOf(WorkflowDefinitionError);
      expect(((vague.cause as StepFailedError).cause as Error).message).to.include('when returned string; it must return true or false');
    });
  });

  describe('definitions', () => {
    it('refuses a when that is not a function, before anything runs', () => {
      class Bad {
        @Step({ when: true as never })
        only() {
          return 1;
        }
      }
      expect(() => buildGraph(Bad)).to.throw(WorkflowDefinitionError, "when must be a function (ctx) => boolean, got boolean");
    });

    it('treats a when added to (or taken from) a committed step as a definition change', async () => {
      const storage = new MemoryStorage();
      @Workflow({ name: 'evolving' })
      class V1 {
        @Step() a() {
          return 1;
        }
        @Step() b() {
          return 2;
        }
      }
      @Workflow({ name: 'evolving' })
      class V2 {
        @Step({ when: () => true }) a() {
          return 1;
        }
        @Step() b() {
          return 2;
        }
      }
      const runner = new WorkflowRunner({ storage });
      await runner.run(new V1(), { workflowId: 'e' });
      const error = await runner.run(new V2(), { workflowId: 'e', resume: true }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowDefinitionChangedError);
      expect((error as Error).message).to.include("committed step 'a' now has a when (a branch)");
      // A workflow stored before any step had a when keeps its stored graph unchanged.
      expect((await storage.readRecord('e'))!.record.steps).to.deep.equal([
        { name: 'a', after: [] },
        { name: 'b', after: ['a'] },
      ]);
    });
  });

  it('never compensates a skipped step: it did nothing', async () => {
    const undone: string[] = [];
    class Saga {
      @Step({ compensate: 'refund' }) charge() {
        return 'charged';
      }
      @Step({ when: () => false, compensate: 'unreserve' }) reserve() {
        return 'reserved';
      }
      @Step({ after: ['charge', 'reserve'] }) fail() {
        throw new Error('out of stock');
      }
      refund() {
        undone.push('charge');
      }
      unreserve() {
        undone.push('reserve');
      }
    }
    const runner = new WorkflowRunner({ storage: new MemoryStorage() });
    const error = (await runner.run(new Saga(), { workflowId: 's' }).catch((e: unknown) => e)) as WorkflowFailedError;
    expect(error.result.status).to.equal('compensated');
    expect(undone).to.deep.equal(['charge']);
    expect(error.result.steps.reserve!.status).to.equal('skipped');
  });
});
