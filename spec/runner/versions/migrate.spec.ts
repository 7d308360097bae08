/**
 * Migrations and versions at their edges: what a migration refuses (naming the step) and leaves
 * untouched, dropped and renamed steps, input conversion, chains of versions, the worker's
 * `migrate: 'auto'`, pinned runs given another version's instance, and declarations checked at build.
 */
import { expect } from 'chai';
import { IsInt, Min } from 'class-validator';
import { Step, Workflow } from '../../../decorators';
import { InvalidOptionError, MigrationRefusedError, WorkflowBusyError, WorkflowDefinitionError, WorkflowNotRegisteredError, WorkflowVersionMismatchError } from '../../../lib/errors';
import { buildGraph } from '../../../lib/graph';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../../lib/storage/memory-storage';
import { WorkflowWorker } from '../../../lib/worker/workflow-worker';
import { within } from '../../helpers/deferred';

const ran: string[] = [];

@Workflow({ name: 'invoice' })
class InvoiceV1 {
  @Step()
  draft(ctx: StepContext<{ amount: number }>) {
    ran.push('v1.draft');
    return ctx.input.amount;
  }
  @Step({ waitFor: { event: 'approved' } })
  approve() {
    ran.push('v1.approve');
    return true;
  }
  @Step()
  send() {
    ran.push('v1.send');
    return 'sent';
  }
}

/** Inserts `check` before `approve`, which runs after it now: a run with approve committed cannot move. */
@Workflow({ name: 'invoice', version: 2, migrate: { from: 1 } })
class InvoiceV2 {
  @Step()
  draft(ctx: StepContext<{ amount: number }>) {
    ran.push('v2.draft');
    return ctx.input.amount;
  }
  @Step()
  check() {
    ran.push('v2.check');
    return 'ok';
  }
  @Step({ waitFor: { event: 'approved' } })
  approve() {
    ran.push('v2.approve');
    return true;
  }
  @Step()
  send() {
    ran.push('v2.send');
    return 'sent v2';
  }
}

class CentsInput {
  @IsInt()
  @Min(0)
  cents!: number;
}

const toCents = (amount: unknown) => Math.round((amount as number) * 100);

/** Version 3 drops `check`, renames `send` to `deliver`, and counts in cents: its input, and draft's output. */
@Workflow({ name: 'invoice', version: 3, input: CentsInput, migrate: { from: 2, dropped: ['check'], renamed: { send: 'deliver' }, input: (old) => ({ cents: toCents((old as { amount: number }).amount) }), outputs: { draft: toCents } } })
class InvoiceV3 {
  @Step()
  draft(ctx: StepContext<CentsInput>) {
    ran.push('v3.draft');
    return ctx.input.cents;
  }
  @Step({ waitFor: { event: 'approved' } })
  approve() {
    ran.push('v3.approve');
    return true;
  }
  @Step({ after: ['draft', 'approve'] })
  deliver(ctx: StepContext<CentsInput>) {
    ran.push('v3.deliver');
    return `delivered ${ctx.input.cents} (draft ${ctx.result<number>('draft')})`;
  }
}

/** Version 4 makes `approve` a fan-out: its commits would mean something else. */
@Workflow({ name: 'invoice', version: 4, input: CentsInput, migrate: { from: 3 } })
class InvoiceV4 {
  @Step()
  draft(ctx: StepContext<CentsInput>) {
    return ctx.input.cents;
  }
  @Step({ forEach: () => [1, 2] })
  approve() {
    return true;
  }
  @Step()
  deliver() {
    return 'x';
  }
}

describe('versions and migrations', () => {
  let worker: WorkflowWorker | undefined;
  beforeEach(() => (ran.length = 0));
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
  });

  it('starts new runs on the newest version registered, and pins each run to its own', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [InvoiceV2, InvoiceV1] });
    expect(runner.registeredVersions('invoice')).to.deep.equal([1, 2]);
    expect(buildGraph(runner.workflowInstance('invoice').constructor as never).version).to.equal(2);
    await runner.run(new InvoiceV1(), { workflowId: 'a', input: { amount: 1 } });
    await runner.sendEvent('a', 'approved');
    await runner.resume('a');
    expect(ran).to.deep.equal(['v1.draft', 'v1.approve', 'v1.send']);
    expect((await runner.get('a'))!.version).to.equal(1);
  });

  it('refuses to run a stored run with another version’s instance, writing nothing; resume: false starts it over on that version', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [InvoiceV1, InvoiceV2] });
    await runner.run(new InvoiceV1(), { workflowId: 'b', input: { amount: 1 } });
    const before = await storage.readRecord('b');
    const error = await runner.run(new InvoiceV2(), { workflowId: 'b', input: { amount: 1 }, resume: true }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowVersionMismatchError).and.include({ code: 'WAYMARK_VERSION_MISMATCH', storedVersion: 1, version: 2 });
    expect((error as Error).message).to.contain('pinned to invoice@1').and.contain('runner.migrate');
    expect(await storage.readRecord('b')).to.deep.equal(before);
    await runner.run(new InvoiceV2(), { workflowId: 'b', input: { amount: 1 }, resume: false });
    expect((await runner.get('b'))!.version).to.equal(2);
  });

  it('refuses a migration that would put a new step before a committed one, naming both, and changes nothing', async () => {
    const storage = new MemoryStorage();
    const v1 = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await v1.run(new InvoiceV1(), { workflowId: 'c', input: { amount: 2 } });
    await v1.sendEvent('c', 'approved');
    await v1.resume('c').catch(() => undefined);
    const v2 = new WorkflowRunner({ storage, workflows: [InvoiceV2] });
    const waiting = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await waiting.run(new InvoiceV1(), { workflowId: 'd', input: { amount: 2 } });
    expect(await v2.migrate('d', { dryRun: true })).to.deep.include({ kept: ['draft'], toRun: ['check', 'approve', 'send'] });
    const committedApprove = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await committedApprove.run(new InvoiceV1(), { workflowId: 'e', input: { amount: 2 } });
    await committedApprove.sendEvent('e', 'approved');
    const record = (await storage.readRecord('c'))!.record;
    expect(record.status).to.equal('completed');
    const before = await storage.load('c');
    const error = await v2.migrate('c').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(MigrationRefusedError).and.include({ code: 'WAYMARK_MIGRATION_REFUSED', from: 1, to: 2 });
    expect((error as MigrationRefusedError).reasons[0]).to.contain('it completed');
    expect(await storage.load('c')).to.deep.equal(before);
    await committedApprove.resume('e');
    await committedApprove.restart('e', { from: 'send' });
    const refused = await v2.migrate('e').catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(MigrationRefusedError);
    expect((refused as MigrationRefusedError).reasons).to.deep.equal(["committed step 'approve' needs 'check' in version 2, which has not run: its commit would lose a dependency it needs"]);
    expect((refused as Error).message).to.contain('Nothing was changed');
  });

  it('drops and renames steps and converts the input along a chain of versions, each hop checked', async () => {
    const storage = new MemoryStorage();
    const v1 = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await v1.run(new InvoiceV1(), { workflowId: 'f', input: { amount: 2.5 } });
    const v3 = new WorkflowRunner({ storage, workflows: [InvoiceV1, InvoiceV2, InvoiceV3] });
    const moved = await v3.migrate('f');
    expect(moved).to.deep.include({ from: 1, to: 3, kept: ['draft'], renamed: {}, dropped: [], toRun: ['approve', 'deliver'], converted: ['draft'] });
    const info = await v3.get('f');
    expect(info).to.deep.include({ version: 3, input: { cents: 250 } });
    await v3.sendEvent('f', 'approved');
    const result = await v3.resume('f');
    expect(result.output, 'the input and the committed output of draft, both in cents').to.equal('delivered 250 (draft 250)');
    expect(ran).to.deep.equal(['v1.draft', 'v3.approve', 'v3.deliver']);

    // A run of version 2 with check committed: check is dropped (forgotten), send is deliver now.
    ran.length = 0;
    const v2 = new WorkflowRunner({ storage, workflows: [InvoiceV2] });
    await v2.run(new InvoiceV2(), { workflowId: 'g', input: { amount: 1 } });
    await v2.sendEvent('g', 'approved');
    const storedBefore = await storage.load('g');
    expect(storedBefore!.committedSteps).to.include('check');
    await v3.restart('g', { from: 'send' }).catch(() => undefined);
    const dry = await v3.migrate('g', { dryRun: true });
    expect(dry).to.deep.include({ kept: ['draft'], dropped: ['check'], toRun: ['approve', 'deliver'] });
    await v3.migrate('g');
    expect((await v3.resume('g')).output).to.equal('delivered 100 (draft 100)');
    expect(ran).to.deep.equal(['v2.draft', 'v2.check', 'v3.approve', 'v3.deliver']);
    const shown = await v3.get('g');
    expect(Object.keys(shown!.steps), 'the dropped step is not the run’s any more').to.deep.equal(['draft', 'approve', 'deliver']);
  });

  it('refuses a step whose kind changed, a version without a path, an older version, and an input the new class refuses', async () => {
    const storage = new MemoryStorage();
    const v3 = new WorkflowRunner({ storage, workflows: [InvoiceV3] });
    await v3.run(new InvoiceV3(), { workflowId: 'h', input: { cents: 5 } });
    await v3.sendEvent('h', 'approved');
    const waitsAfterApprove = await v3.resume('h');
    expect(waitsAfterApprove.status).to.equal('completed');
    await v3.restart('h', { from: 'deliver' });
    const v4 = new WorkflowRunner({ storage, workflows: [InvoiceV3, InvoiceV4] });
    const kind = await v4.migrate('h').catch((e: unknown) => e);
    expect((kind as MigrationRefusedError).reasons).to.deep.equal(["step 'approve' was not a fan-out (forEach) in version 3 and is in version 4: its commits would mean something else"]);

    const v1Only = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await v1Only.run(new InvoiceV1(), { workflowId: 'i', input: { amount: 1 } });
    const noPath = await new WorkflowRunner({ storage, workflows: [InvoiceV3] }).migrate('i').catch((e: unknown) => e);
    expect((noPath as MigrationRefusedError).reasons[0]).to.contain('no migration leads there');
    const back = await new WorkflowRunner({ storage, workflows: [InvoiceV1] }).migrate('h').catch((e: unknown) => e);
    expect((back as MigrationRefusedError).reasons[0]).to.contain('runs only move forward');
    const missing = await new WorkflowRunner({ storage, workflows: [InvoiceV1] }).migrate('i', { to: 7 }).catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(WorkflowNotRegisteredError);

    await v1Only.run(new InvoiceV1(), { workflowId: 'j', input: { amount: -1 } });
    const badInput = await new WorkflowRunner({ storage, workflows: [InvoiceV2, InvoiceV3] }).migrate('j').catch((e: unknown) => e);
    expect((badInput as MigrationRefusedError).reasons[0]).to.contain("does not satisfy version 3's input class");
    expect((await storage.readRecord('j'))!.record.version).to.equal(1);
  });

  it('refuses an output conversion that throws or gives what cannot be stored, and the run stays as it was', async () => {
    @Workflow({ name: 'receipt' })
    class ReceiptV1 {
      @Step() total() {
        return 12;
      }
      @Step({ waitFor: { event: 'go' } }) print(ctx: StepContext) {
        return `total ${ctx.result<number>('total')}`;
      }
    }
    const declare = (convert: (old: unknown) => unknown) => {
      @Workflow({ name: 'receipt', version: 2, migrate: { from: 1, outputs: { total: convert } } })
      class ReceiptV2 {
        @Step() total() {
          return { cents: 1200 };
        }
        @Step({ waitFor: { event: 'go' } }) print(ctx: StepContext) {
          return `total ${ctx.result<{ cents: number }>('total').cents}`;
        }
      }
      return ReceiptV2;
    };
    const storage = new MemoryStorage();
    await new WorkflowRunner({ storage, workflows: [ReceiptV1] }).run(new ReceiptV1(), { workflowId: 'r' });
    const before = await storage.readRecord('r');
    for (const [convert, why] of [
      [() => { throw new Error('no rate'); }, "the output of step 'total' could not be converted: no rate"],
      [() => () => 1, "the output of step 'total' was converted to a value that cannot be stored"],
    ] as const) {
      const error = await new WorkflowRunner({ storage, workflows: [declare(convert)] }).migrate('r').catch((e: unknown) => e);
      expect((error as MigrationRefusedError).reasons[0]).to.contain(why);
      expect(await storage.readRecord('r')).to.deep.equal(before);
    }
    const runner = new WorkflowRunner({ storage, workflows: [declare((old) => ({ cents: (old as number) * 100 }))] });
    expect(await runner.migrate('r')).to.deep.include({ converted: ['total'], kept: ['total'] });
    await runner.sendEvent('r', 'go');
    expect((await runner.resume('r')).output).to.equal('total 1200');
  });

  it('never moves a run a process holds', async () => {
    const storage = new MemoryStorage();
    const v1 = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await v1.run(new InvoiceV1(), { workflowId: 'k', input: { amount: 1 } });
    const held = await storage.acquireLease('k', 'someone', 60_000);
    const error = await new WorkflowRunner({ storage, workflows: [InvoiceV1, InvoiceV2] }).migrate('k').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowBusyError);
    if (held.acquired) await storage.releaseLease(held.lease);
    expect((await storage.readRecord('k'))!.record.version).to.equal(1);
  });

  it("a worker with migrate: 'auto' moves a stranded run to its newest version and runs it; a refused one is told once and left as it is", async () => {
    const storage = new MemoryStorage();
    const v1 = new WorkflowRunner({ storage, workflows: [InvoiceV1] });
    await v1.run(new InvoiceV1(), { workflowId: 'm', input: { amount: 1 } });
    await v1.run(new InvoiceV1(), { workflowId: 'n', input: { amount: 1 } });
    await v1.sendEvent('n', 'approved');
    await v1.resume('n');
    await v1.restart('n', { from: 'send' });
    const runner = new WorkflowRunner({ storage, workflows: [InvoiceV2] });
    const errors: unknown[] = [];
    let toldOnce!: () => void;
    const told = new Promise<void>((resolve) => (toldOnce = resolve));
    worker = new WorkflowWorker({ runner, migrate: 'auto', pollIntervalMs: 20, onError: (error) => (errors.push(error), toldOnce()) });
    // A run waiting for an event alone is looked at when the event comes.
    await runner.sendEvent('m', 'approved');
    const completed = new Promise<void>((resolve) => runner.on('run:completed', ({ workflowId }) => workflowId === 'm' && resolve()));
    await worker.start();
    await within(Promise.all([completed, told]), 10_000, 'm moved and run to the end, n refused');
    expect(ran).to.deep.equal(['v1.draft', 'v1.draft', 'v1.approve', 'v1.send', 'v2.check', 'v2.approve', 'v2.send']);
    expect((await runner.get('m'))!.version).to.equal(2);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(MigrationRefusedError);
    expect((await runner.get('n'))!.version).to.equal(1);
    expect(() => new WorkflowWorker({ runner, migrate: 'always' as never })).to.throw(InvalidOptionError, "option 'migrate' is 'always'; expected 'auto' or 'never'");
  });

  it('checks versions and migrate declarations when the graph is built', () => {
    const declare = (options: object) => {
      @Workflow({ name: 'bad', ...options })
      class Bad {
        @Step()
        a() {}
        @Step()
        b() {}
      }
      return () => buildGraph(Bad);
    };
    expect(declare({ version: 0 })).to.throw(WorkflowDefinitionError, '@Workflow version must be an integer >= 1, got 0');
    expect(declare({ version: 2, migrate: { from: 2 } })).to.throw(WorkflowDefinitionError, 'migrate from must be a version below 2');
    expect(declare({ version: 3, migrate: [{ from: 1 }, { from: 1 }] })).to.throw(WorkflowDefinitionError, 'declares version 1 twice');
    expect(declare({ version: 2, migrate: { from: 1, renamed: { x: 'nope' } } })).to.throw(WorkflowDefinitionError, "renames 'x' to \"nope\", which is not a step of version 2");
    expect(declare({ version: 2, migrate: { from: 1, renamed: { x: 'a', y: 'a' } } })).to.throw(WorkflowDefinitionError, "renames two steps to 'a'");
    expect(declare({ version: 2, migrate: { from: 1, dropped: ['a'] } })).to.throw(WorkflowDefinitionError, "drops 'a', which is a step of version 2");
    expect(declare({ version: 2, migrate: { from: 1, renamed: { x: 'a' }, dropped: ['x'] } })).to.throw(WorkflowDefinitionError, "both renames and drops 'x'");
    expect(declare({ version: 2, migrate: { from: 1, rename: {} } })).to.throw(WorkflowDefinitionError, "has no option 'rename'");
    expect(declare({ version: 2, migrate: { from: 1, input: 5 } })).to.throw(WorkflowDefinitionError, 'migrate input must be a function');
    expect(declare({ version: 2, migrate: { from: 1, outputs: { zz: () => 1 } } })).to.throw(WorkflowDefinitionError, "converts the output of 'zz', which is not a step of version 2");
    expect(declare({ version: 2, migrate: { from: 1, outputs: { a: 1 } } })).to.throw(WorkflowDefinitionError, "outputs of 'a' must be a function");
    expect(() => new WorkflowRunner({ workflows: [InvoiceV1, InvoiceV2, InvoiceV3] })).to.not.throw();
  });
});
