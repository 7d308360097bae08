import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import { WorkflowBusyError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { callLog, spyStorage, STORAGE_METHODS, type SpiedStorage } from '../helpers/spy-storage';

const executed: string[] = [];

@Workflow({ name: 'invoice' })
class Invoice {
  @Step() price(ctx: StepContext<{ cents: number }>) {
    executed.push('price');
    return { cents: ctx.input.cents, at: new Date(0) };
  }
  @Step() send(ctx: StepContext<{ cents: number }, { cents: number; at: Date }>) {
    executed.push('send');
    return { sent: ctx.previous.cents, at: ctx.previous.at };
  }
}

function forgetCalls(storage: SpiedStorage): void {
  for (const name of STORAGE_METHODS) storage[name].resetHistory();
}

describe('late duplicates of a completed workflow', () => {
  beforeEach(() => {
    executed.length = 0;
  });

  it('with resume and the same input, returns the stored result in one read, without the lease, even while another worker holds it', async () => {
    const storage = spyStorage();
    const runner = new WorkflowRunner({ storage });
    const runIds: string[] = [];
    runner.on('run:started', ({ runId }) => runIds.push(runId));
    const first = await runner.run(new Invoice(), { workflowId: 'inv-1', input: { cents: 1200 }, resume: true });
    expect(first.runId).to.equal(runIds[0], 'RunResult.runId is the id the events carry');

    // Another worker holds the lease now (say, a second redelivery being processed).
    expect((await storage.acquireLease('inv-1', 'other worker', 60_000)).acquired).to.equal(true);
    forgetCalls(storage);
    executed.length = 0;
    const duplicate = await runner.run(new Invoice(), { workflowId: 'inv-1', input: { cents: 1200 }, resume: true });

    expect(callLog(storage)).to.deep.equal(['readRecord']);
    expect(executed).to.deep.equal([]);
    expect(duplicate.status).to.equal('completed');
    expect(duplicate.runId).to.equal(first.runId, 'the run that did the work');
    expect(duplicate.output).to.deep.equal(first.output);
    expect((duplicate.output as { at: Date }).at).to.be.instanceOf(Date);
    expect(duplicate.steps).to.deep.equal({ price: { status: 'restored', attempts: 0 }, send: { status: 'restored', attempts: 0 } });
    expect(runIds).to.have.length(1, 'a duplicate starts no run');
  });

  it('with a changed input it is no duplicate: it needs the lease (busy here) and would run', async () => {
    const storage = spyStorage();
    const runner = new WorkflowRunner({ storage, onInputChange: 'reset' });
    await runner.run(new Invoice(), { workflowId: 'inv-2', input: { cents: 1200 }, resume: true });
    await storage.acquireLease('inv-2', 'other worker', 60_000);
    const error = await runner.run(new Invoice(), { workflowId: 'inv-2', input: { cents: 999 }, resume: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowBusyError);
  });

  it('without resume, the workflow runs again, and a resumed duplicate then sees the new run', async () => {
    const storage = spyStorage();
    const runner = new WorkflowRunner({ storage });
    const first = await runner.run(new Invoice(), { workflowId: 'inv-3', input: { cents: 1 } });
    const again = await runner.run(new Invoice(), { workflowId: 'inv-3', input: { cents: 1 } });
    expect(executed).to.deep.equal(['price', 'send', 'price', 'send']);
    expect(again.runId).to.not.equal(first.runId);
    expect((await runner.run(new Invoice(), { workflowId: 'inv-3', input: { cents: 1 }, resume: true })).runId).to.equal(again.runId);
  });

  it('a workflow that gained a step since it completed is no duplicate: the new step runs, the others are restored', async () => {
    const storage = spyStorage();
    const runner = new WorkflowRunner({ storage });
    await runner.run(new Invoice(), { workflowId: 'inv-4', input: { cents: 5 } });
    @Workflow({ name: 'invoice' })
    class InvoiceWithReceipt extends Invoice {
      @Step() receipt() {
        executed.push('receipt');
        return 'receipt';
      }
    }
    executed.length = 0;
    const result = await runner.run(new InvoiceWithReceipt(), { workflowId: 'inv-4', input: { cents: 5 }, resume: true });
    expect(executed).to.deep.equal(['receipt']);
    expect(result.steps.price.status).to.equal('restored');
    expect(result.output).to.equal('receipt');
  });

  it('a run that failed is no duplicate: a resume finishes it', async () => {
    const storage = spyStorage();
    let fail = true;
    class Flaky {
      @Step() a() {
        executed.push('a');
      }
      @Step() b() {
        executed.push('b');
        if (fail) throw new Error('b failed');
        return 'b';
      }
    }
    const runner = new WorkflowRunner({ storage });
    await runner.run(new Flaky(), { workflowId: 'f', resume: true }).catch(() => undefined);
    fail = false;
    const result = await runner.run(new Flaky(), { workflowId: 'f', resume: true });
    expect(executed).to.deep.equal(['a', 'b', 'b']);
    expect(result.output).to.equal('b');
  });
});
