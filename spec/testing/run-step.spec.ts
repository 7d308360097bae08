import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import { CheckpointSerializationError, FanOutListError, InvalidOptionError, StepDependencyError } from '../../lib/errors';
import type { StepContext } from '../../lib/runner/step-context';
import { runForEach, runSpawn, runStep, runWhen } from '../../lib/testing';
import { PurchaseFlow } from '../fixtures/branch-flow';
import { InvoiceLines } from '../fixtures/fan-out-flow';

class Pricing {
  constructor(private readonly rate: number) {}
  @Step() load(ctx: StepContext<{ ids: number[] }>) {
    return ctx.input.ids;
  }
  @Step() price(ctx: StepContext<{ ids: number[] }, number[]>) {
    return ctx.previous.map((id) => id * this.rate);
  }
  @Step({ after: ['load', 'price'] }) report(ctx: StepContext) {
    return { count: ctx.result<number[]>('load').length, total: ctx.result<number[]>('price').reduce((a, b) => a + b, 0), attempt: ctx.attempt };
  }
  @Step({ after: [] }) leaky() {
    return { fn: () => 1 };
  }
}

describe('runStep', () => {
  it('runs one step with a real context: previous, results, input and attempt', async () => {
    expect(await runStep(new Pricing(2), 'price', { previous: [1, 2] })).to.deep.equal([2, 4]);
    expect(await runStep(new Pricing(2), 'load', { input: { ids: [7] } })).to.deep.equal([7]);
    expect(await runStep(new Pricing(2), 'report', { results: { load: [1, 2], price: [2, 4] }, attempt: 3 })).to.deep.equal({ count: 2, total: 6, attempt: 3 });
  });

  it('rejects results for a step that is not a dependency, and unknown steps', async () => {
    const notDep = await runStep(new Pricing(2), 'price', { results: { report: 1 } }).catch((e: unknown) => e);
    expect(notDep).to.be.instanceOf(StepDependencyError);
    const unknown = await runStep(new Pricing(2), 'nope').catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(InvalidOptionError);
    expect((unknown as Error).message).to.contain('load, price, report, leaky');
  });

  it('fails like the runner would for an output that cannot be checkpointed', async () => {
    const error = await runStep(new Pricing(1), 'leaky').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointSerializationError).and.include({ step: 'leaky', path: 'output.fn' });
  });
});

describe('runWhen and skipped dependencies', () => {
  it("asks a step's when with a real context, answers like the runner for skipped dependencies, and gives a step ctx.skipped()", async () => {
    const flow = new PurchaseFlow();
    expect(await runWhen(flow, 'managerApproval', { results: { check: 250_000 } })).to.equal(true);
    expect(await runWhen(flow, 'managerApproval', { results: { check: 900 } })).to.equal(false);
    expect(await runWhen(flow, 'check'), 'no when: it runs').to.equal(true);
    expect(await runWhen(flow, 'ship', { skipped: ['managerApproval', 'autoApproval'] }), 'every dependency skipped').to.equal(false);
    expect(await runStep(flow, 'ship', { skipped: ['managerApproval'], results: { autoApproval: 'auto', managerApproval: 'ignored' } })).to.equal('auto');
    expect(await runStep(flow, 'ship', { results: { autoApproval: 'auto', managerApproval: 'manager' } })).to.equal('manager');
    await runWhen(flow, 'ship', { skipped: ['check'] }).then(
      () => expect.fail('accepted'),
      (error: unknown) => expect(error).to.be.instanceOf(StepDependencyError).with.property('message').that.includes("skipped names 'check'"),
    );
  });
});

describe('runForEach and one item of a fan-out', () => {
  it("lists a fan-out's items as the runner would, runs one item with ctx.item and ctx.index, and gives a dependent ctx.failures()", async () => {
    const flow = new InvoiceLines();
    expect(await runForEach(flow, 'bill', { previous: ['desk', 'chair'] })).to.deep.equal(['desk', 'chair']);
    expect(await runStep(flow, 'bill', { item: 'desk', index: 0 })).to.equal('billed desk');
    await expectRejects(runStep(flow, 'bill', { item: 'broken lamp', index: 1 }), 'no price for broken lamp');
    const failures = [{ index: 1, code: 'NO_PRICE', message: 'no price for broken lamp', attempts: 1 }];
    expect(await runStep(flow, 'total', { previous: ['billed desk', undefined], failures: { bill: failures } })).to.equal(1);
    const failed = await runForEach(flow, 'bill', { previous: 'not a list' }).catch((e: unknown) => e);
    expect(failed).to.be.instanceOf(FanOutListError);
    expect((failed as Error).message).to.equal("workflow 'test', step 'bill': forEach returned string; it must return an array of the items to run the step for (or a promise of one)");
    expect(await runForEach(flow, 'load').catch((e: unknown) => (e as Error).message)).to.match(/a step with forEach/);
    expect(await runStep(flow, 'total', { failures: { load: [] } }).catch((e: unknown) => e)).to.be.instanceOf(StepDependencyError);
  });
});

async function expectRejects(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect((error as Error | undefined)?.message).to.equal(message);
}

describe('runSpawn and a spawn step given its children', () => {
  @Workflow({ name: 'parcel' })
  class Parcel {
    @Step() pack(ctx: StepContext<{ to: string }>) {
      return ctx.input.to;
    }
  }
  class Dispatch {
    @Step() plan(ctx: StepContext<{ cities: string[] }>) {
      return ctx.input.cities;
    }
    @Step({ forEach: (ctx: StepContext<unknown, string[]>) => ctx.previous, spawn: (ctx: StepContext) => ({ workflow: Parcel, input: { to: ctx.item as string } }), childFailure: 'tolerate' })
    ship(ctx: StepContext) {
      return { sent: ctx.children, lost: ctx.childFailures().map((f) => f.childId) };
    }
  }

  it('lists the children a run would start, with their default ids, without a runner or storage', async () => {
    const children = await runSpawn(new Dispatch(), 'ship', { workflowId: 'd-1', previous: ['Lyon', 'Nantes'] });
    expect(children).to.deep.equal([
      { id: 'd-1/ship/0', workflow: Parcel, input: { to: 'Lyon' } },
      { id: 'd-1/ship/1', workflow: Parcel, input: { to: 'Nantes' } },
    ]);
    expect(await runSpawn(new Dispatch(), 'plan').catch((e: unknown) => (e as Error).message)).to.contain('a step with spawn');
  });

  it('runs the method with ctx.children and ctx.childFailures()', async () => {
    const output = await runStep(new Dispatch(), 'ship', { children: ['Lyon', undefined], childFailures: [{ index: 1, childId: 'd-1/ship/1', status: 'failed', code: 'X', message: 'lost' }] });
    expect(output).to.deep.equal({ sent: ['Lyon', undefined], lost: ['d-1/ship/1'] });
  });
});
