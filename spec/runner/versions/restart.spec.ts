/**
 * Restart from a step (`runner.restart`): the step and its dependents run again with the stored
 * input, the other commits stay; fan-outs run their items again; a restart can be repeated; what
 * it refuses, and that it needs no class.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../../decorators';
import { InvalidOptionError, RestartRefusedError, WorkflowBusyError, WorkflowFailedError } from '../../../lib/errors';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../../lib/storage/memory-storage';
import { everyStore, type OpenStore } from '../../helpers/stores';

const ran: string[] = [];
/** Items whose charge fails. */
const declined = new Set<number>();

@Workflow({ name: 'batch' })
class Batch {
  @Step()
  load(ctx: StepContext<{ items: number[] }>) {
    ran.push('load');
    return ctx.input.items;
  }
  @Step({ forEach: (ctx: StepContext<unknown, number[]>) => ctx.previous })
  charge(ctx: StepContext) {
    ran.push(`charge ${String(ctx.item)}`);
    if (declined.has(ctx.item as number)) throw new Error(`declined ${String(ctx.item)}`);
    return (ctx.item as number) * 10;
  }
  @Step({ after: ['load'] })
  audit() {
    ran.push('audit');
    return 'audited';
  }
  @Step({ after: ['charge', 'audit'] })
  report(ctx: StepContext) {
    ran.push('report');
    return ctx.result<number[]>('charge').reduce((a, b) => a + b, 0);
  }
}

@Workflow({ name: 'undone' })
class Undone {
  @Step({ compensate: 'undo' })
  book() {
    return 1;
  }
  undo() {}
  @Step()
  fail() {
    throw new Error('no');
  }
}

describe('restart from a step', () => {
  beforeEach(() => {
    ran.length = 0;
    declined.clear();
  });

  for (const [name, open] of everyStore('restart')) {
    describe(`on ${name}`, () => {
      let store: OpenStore;
      beforeEach(async () => (store = await open()));
      afterEach(() => store.close());

      it('runs the failed fan-out and its dependents again, every item of it, and keeps the other commits; twice in a row', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: [Batch] });
        declined.add(2);
        const failed = await runner.run(new Batch(), { workflowId: 'b-1', input: { items: [1, 2, 3] } }).catch((e: unknown) => e);
        expect(failed).to.be.instanceOf(WorkflowFailedError);
        expect(ran.filter((r) => r === 'load' || r === 'audit')).to.deep.equal(['load', 'audit']);
        declined.clear();
        ran.length = 0;
        const restarted = await runner.restart('b-1', { from: 'charge' });
        expect(restarted).to.deep.equal({ workflowId: 'b-1', from: 'charge', rerun: ['charge', 'report'], discarded: ['charge'], status: 'failed', dryRun: false });
        expect((await runner.get('b-1'))!.status).to.equal('running');
        const result = await runner.resume<number>('b-1');
        expect(result.output).to.equal(60);
        expect(ran.sort()).to.deep.equal(['charge 1', 'charge 2', 'charge 3', 'report'].sort(), 'every item again (item 1 and 3 had committed), load and audit not');

        ran.length = 0;
        expect(await runner.restart('b-1', { from: 'audit', dryRun: true })).to.deep.include({ rerun: ['audit', 'report'], discarded: ['audit', 'report'], status: 'completed', dryRun: true });
        await runner.restart('b-1', { from: 'audit' });
        expect((await runner.resume<number>('b-1')).output).to.equal(60);
        expect(ran).to.deep.equal(['audit', 'report']);
        const info = await runner.get('b-1', { outputs: true });
        expect(info!.history!.map((h) => `${h.kind} ${(h.discarded ?? []).join(',')}`)).to.deep.equal(['restarted charge', 'restarted audit,report']);
        expect(info!.steps.charge).to.deep.include({ status: 'committed', items: { total: 3, committed: 3, failed: 0, remaining: 0 } });
      });
    });
  }

  it('refuses an unknown step, an undone run, a busy one, and bad options, changing nothing; needs no class', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Batch, Undone] });
    await runner.run(new Batch(), { workflowId: 'b-2', input: { items: [1] } });
    const classless = new WorkflowRunner({ storage });
    const unknown = await classless.restart('b-2', { from: 'nope' }).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(RestartRefusedError).and.include({ code: 'WAYMARK_RESTART_REFUSED', step: 'nope' });
    expect((unknown as Error).message).to.equal("workflow 'b-2': cannot restart from step 'nope': no such step in its graph (batch@1: load, charge, audit, report). Nothing was changed");
    await runner.run(new Undone(), { workflowId: 'u-1' }).catch(() => undefined);
    const undone = await classless.restart('u-1', { from: 'fail' }).catch((e: unknown) => e);
    expect((undone as Error).message).to.contain('it is compensated');
    const held = await storage.acquireLease('b-2', 'someone', 60_000);
    expect(await classless.restart('b-2', { from: 'report' }).catch((e: unknown) => e)).to.be.instanceOf(WorkflowBusyError);
    if (held.acquired) await storage.releaseLease(held.lease);
    expect(await classless.restart('b-2', {} as never).catch((e: unknown) => e)).to.be.instanceOf(InvalidOptionError);
    expect((await storage.readRecord('b-2'))!.record.status).to.equal('completed');
    // A class-less process restarts it; a process with the class runs it.
    await classless.restart('b-2', { from: 'report' });
    ran.length = 0;
    expect((await runner.resume<number>('b-2')).output).to.equal(10);
    expect(ran).to.deep.equal(['report']);
  });
});
