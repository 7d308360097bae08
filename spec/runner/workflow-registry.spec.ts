import { expect } from 'chai';
import { IsInt, Min } from 'class-validator';
import { Step, Workflow } from '../../decorators';
import {
  CheckpointCorruptedError,
  InputSerializationError,
  InvalidOptionError,
  WorkflowDefinitionChangedError,
  WorkflowDefinitionError,
  WorkflowFailedError,
  WorkflowInputError,
  WorkflowNotFoundError,
  WorkflowNotRegisteredError,
} from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { MemoryStorage } from '../../lib/storage/memory-storage';

class Quantity {
  @IsInt() @Min(1) count!: number;
}

const ran: string[] = [];
let failPack = false;

@Workflow({ name: 'shipment', input: Quantity })
class Shipment {
  @Step() pick(ctx: StepContext<Quantity>) {
    ran.push('pick');
    return { items: ctx.input.count, validated: ctx.input instanceof Quantity };
  }
  @Step() pack(ctx: StepContext<Quantity, { items: number }>) {
    ran.push('pack');
    if (failPack) throw new Error('no boxes');
    return ctx.previous.items * 2;
  }
}

@Workflow({ name: 'shipment' })
class ImpostorShipment {
  @Step() other() {
    return 1;
  }
}

@Workflow({ name: 'audit' })
class Audit {
  constructor(private readonly prefix = 'audit') {}
  @Step() write(ctx: StepContext<string>) {
    return `${this.prefix}:${ctx.input}`;
  }
}

async function failedShipment(storage: MemoryStorage, workflowId: string, count = 3): Promise<void> {
  failPack = true;
  await new WorkflowRunner({ storage })
    .run(new Shipment(), { workflowId, input: { count } })
    .then(() => expect.fail('pack fails'), (e: unknown) => expect(e).to.be.instanceOf(WorkflowFailedError));
  failPack = false;
}

describe('resuming a stored workflow by its id', () => {
  beforeEach(() => {
    ran.length = 0;
    failPack = false;
  });

  it('runs the stored input with the registered class, skipping committed steps, and validates the input again', async () => {
    const storage = new MemoryStorage();
    await failedShipment(storage, 'ship-1', 4);
    ran.length = 0;
    // Another runner (say, another process) that never saw the input.
    const result = await new WorkflowRunner({ storage, workflows: [Shipment, Audit] }).resume<number>('ship-1');
    expect(result.output).to.equal(8);
    expect(result.steps.pick!.status).to.equal('restored');
    expect(ran).to.deep.equal(['pack']);
    expect((await new WorkflowRunner({ storage }).get('ship-1'))!.status).to.equal('completed');
  });

  it('hands steps the input as the input class made it, as run() does', async () => {
    const storage = new MemoryStorage();
    await storage.writeRecord('ship-2', { formatVersion: 1, workflowId: 'ship-2', workflowName: 'shipment', fingerprint: 'x', steps: [], updatedAt: 'now', input: { count: 2 }, status: 'running' }, null);
    const runner = new WorkflowRunner({ storage, workflows: [Shipment], onInputChange: 'reset' });
    const result = await runner.resume('ship-2');
    expect(result.steps.pick!.output).to.deep.equal({ items: 2, validated: true });
  });

  it('refuses a stored input the input class no longer accepts, as run() would, writing nothing', async () => {
    const storage = new MemoryStorage();
    await storage.writeRecord('ship-3', { formatVersion: 1, workflowId: 'ship-3', workflowName: 'shipment', fingerprint: 'x', steps: [], updatedAt: 'then', input: { count: 0 }, status: 'failed' }, null);
    const error = await new WorkflowRunner({ storage, workflows: [Shipment] }).resume('ship-3').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowInputError);
    expect((await storage.readRecord('ship-3'))!.record.updatedAt).to.equal('then');
  });

  it('answers a completed workflow from its record, running nothing', async () => {
    const storage = new MemoryStorage();
    await new WorkflowRunner({ storage }).run(new Shipment(), { workflowId: 'ship-4', input: { count: 1 } });
    ran.length = 0;
    const result = await new WorkflowRunner({ storage, workflows: [Shipment] }).resume('ship-4');
    expect(result.output).to.equal(2);
    expect(ran).to.deep.equal([]);
  });

  it('takes run options that fit a stored workflow (a signal that cancels it)', async () => {
    const storage = new MemoryStorage();
    await failedShipment(storage, 'ship-5');
    const signal = AbortSignal.abort(new Error('shutting down'));
    const error = await new WorkflowRunner({ storage, workflows: [Shipment] }).resume('ship-5', { signal }).catch((e: unknown) => e);
    expect(error).to.have.property('code', 'WAYMARK_WORKFLOW_CANCELLED');
    expect(ran).to.deep.equal(['pick', 'pack']);
  });

  it('names the workflow whose class is not registered, and writes nothing', async () => {
    const storage = new MemoryStorage();
    await failedShipment(storage, 'ship-6');
    const before = await storage.readRecord('ship-6');
    for (const runner of [new WorkflowRunner({ storage }), new WorkflowRunner({ storage, workflows: [Audit] }), new WorkflowRunner({ storage, workflows: () => undefined })]) {
      const error = await runner.resume('ship-6').catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowNotRegisteredError);
      expect(error).to.include({ code: 'WAYMARK_WORKFLOW_NOT_REGISTERED', workflowId: 'ship-6', workflowName: 'shipment' });
      expect((error as Error).message).to.match(/^workflow 'ship-6': its workflow 'shipment' \(version 1\) is not registered with this runner: pass its class in new WorkflowRunner\(\{ workflows/);
    }
    expect(await storage.readRecord('ship-6')).to.deep.equal(before);
  });

  it('says when nothing is stored, or the record holds no input (written before inputs were stored)', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Shipment] });
    const missing = await runner.resume('nothing-here').catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(WorkflowNotFoundError);
    expect(missing).to.include({ code: 'WAYMARK_WORKFLOW_NOT_FOUND', reason: 'nothing stored' });
    expect((missing as Error).message).to.contain('runner.run(instance, { workflowId, input })');
    await storage.writeRecord('legacy', { formatVersion: 1, workflowId: 'legacy', workflowName: 'shipment', fingerprint: 'x', steps: [], updatedAt: 'then' }, null);
    const legacy = await runner.resume('legacy').catch((e: unknown) => e);
    expect(legacy).to.include({ reason: 'no input stored' });
    expect((legacy as Error).message).to.contain('resume: true');
    await storage.writeRecord('garbled', { formatVersion: 1, workflowId: 'garbled', workflowName: 'shipment', fingerprint: 'x', steps: [], updatedAt: 'then', input: { $wm: 'nope' } }, null);
    const garbled = await runner.resume('garbled').catch((e: unknown) => e);
    expect(garbled).to.be.instanceOf(CheckpointCorruptedError).and.include({ location: 'the input in its record', reason: 'input: unknown tag "nope"' });
    expect((garbled as Error).cause).to.have.property('path', 'input');
  });

  it('builds instances with a function for DI containers, and refuses what is not an instance', async () => {
    const storage = new MemoryStorage();
    await new WorkflowRunner({ storage }).run(new Audit('first'), { workflowId: 'a-1', input: 'x' });
    await storage.writeRecord('a-2', { ...(await storage.readRecord('a-1'))!.record, workflowId: 'a-2', completion: undefined, status: 'failed' }, null);
    const names: string[] = [];
    const runner = new WorkflowRunner({
      storage,
      workflows: (name) => {
        names.push(name);
        return name === 'audit' ? new Audit('from-di') : undefined;
      },
    });
    expect((await runner.resume('a-2')).output).to.equal('from-di:x');
    expect(names).to.deep.equal(['audit']);
    const wrong = new WorkflowRunner({ storage, workflows: () => 'not an instance' as never });
    const error = await wrong.resume('a-2').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidOptionError);
    expect((error as Error).message).to.equal("option 'workflows('audit')' is 'not an instance'; expected an instance of a workflow class, or undefined");
    const none = await new WorkflowRunner({ storage, workflows: () => null as never }).resume('a-2').catch((e: unknown) => e);
    expect(none).to.be.instanceOf(WorkflowNotRegisteredError).with.property('workflowName', 'audit');
  });

  it("refuses an instance of another workflow under the stored workflow's name (a factory's mistake)", async () => {
    const storage = new MemoryStorage();
    await failedShipment(storage, 'ship-7');
    const error = await new WorkflowRunner({ storage, workflows: () => new Audit() }).resume('ship-7').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(WorkflowDefinitionChangedError);
  });

  describe('the workflows option', () => {
    it('checks every class when the runner is built: a graph that cannot run, two classes with one name, something else', () => {
      class NoSteps {}
      expect(() => new WorkflowRunner({ workflows: [NoSteps] })).to.throw(WorkflowDefinitionError);
      expect(() => new WorkflowRunner({ workflows: [Shipment, ImpostorShipment] })).to.throw(InvalidOptionError, "option 'workflows' is a function; expected one class per workflow name and version: 'shipment' version 1 is both Shipment and ImpostorShipment (give one of them @Workflow({ version }))");
      expect(() => new WorkflowRunner({ workflows: [Shipment, Shipment] })).to.not.throw();
      expect(() => new WorkflowRunner({ workflows: [{}] as never })).to.throw(InvalidOptionError, "option 'workflows' is {}; expected a workflow class (a constructor with @Step() methods)");
      expect(() => new WorkflowRunner({ workflows: 'Shipment' as never })).to.throw(InvalidOptionError, "option 'workflows' is 'Shipment'; expected an array of workflow classes or a function (workflowName, version?) => instance");
    });
  });

  describe('the stored input', () => {
    it('refuses an input that cannot be stored before anything is read or written, naming the path', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage });
      const error = await runner.run(new Audit(), { workflowId: 'fn', input: { onDone: () => 1 } as never, fingerprint: 'given' }).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InputSerializationError);
      expect(error).to.include({ code: 'WAYMARK_INPUT_SERIALIZATION', workflowId: 'fn', path: 'input.onDone' });
      expect((error as Error).message).to.match(/^workflow 'fn': input at input\.onDone cannot be stored: a function cannot be stored\. .*pass plain data/);
      expect(await storage.list()).to.deep.equal([]);
    });

    it('stores the latest input: a resume whose excluded fields changed stores the new ones; resuming an interrupted run unchanged writes nothing', async () => {
      const storage = new MemoryStorage();
      const versions: string[] = [];
      @Workflow({ name: 'stamp' })
      class Stamp {
        @Step() async only() {
          versions.push((await storage.readRecord('s-1'))!.version);
          if (failPack) throw new Error('not yet');
          return 'ok';
        }
      }
      const runner = new WorkflowRunner({ storage, fingerprint: { exclude: ['requestedAt'] } });
      failPack = true;
      await runner.run(new Stamp(), { workflowId: 's-1', input: { requestedAt: 1 } }).catch(() => undefined);
      await runner.run(new Stamp(), { workflowId: 's-1', input: { requestedAt: 2 }, resume: true }).catch(() => undefined);
      expect((await runner.get('s-1'))!.input).to.deep.equal({ requestedAt: 2 });
      expect(versions[1]).to.not.equal(versions[0]);
      // Interrupted (still 'running'), then resumed with the same input: the record is not rewritten.
      const { record, version } = (await storage.readRecord('s-1'))!;
      const interrupted = await storage.writeRecord('s-1', { ...record, status: 'running', error: undefined }, version);
      failPack = false;
      await runner.run(new Stamp(), { workflowId: 's-1', input: { requestedAt: 2 }, resume: true });
      expect(versions[2]).to.equal(interrupted);
    });
  });
});
