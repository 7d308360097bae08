import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import { WorkflowFailedError } from '../../lib/errors';
import { WaymarkModule } from '../../lib/nestjs';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import type { StepContext } from '../../lib/runner/step-context';
import { tempDir } from '../helpers/temp-dir';

@Injectable()
class Inventory {
  reservations = 0;
  failShip = true;
  reserve(sku: string) {
    this.reservations++;
    return `res-${sku}`;
  }
}

@Injectable()
@Workflow({ name: 'fulfil' })
class FulfilWorkflow {
  constructor(private readonly inventory: Inventory) {}
  @Step() reserve(ctx: StepContext<{ sku: string }>) {
    return this.inventory.reserve(ctx.input.sku);
  }
  @Step() ship(ctx: StepContext<{ sku: string }, string>) {
    if (this.inventory.failShip) throw new Error('carrier down');
    return `shipped ${ctx.previous}`;
  }
}

// The other decorator order: @Workflow outside @Injectable.
@Workflow({ name: 'audit' })
@Injectable()
class AuditWorkflow {
  constructor(readonly inventory: Inventory) {}
  @Step() count() {
    return this.inventory.reservations;
  }
}

@Injectable()
class Settings {
  directory = '';
}

describe('waymark/nestjs', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir.remove());

  it('injects a WorkflowRunner and a workflow whose dependencies Nest provides; a crashed run resumes', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [WaymarkModule.forRoot({ storage: new FileStorage({ directory: dir.path }) })],
      providers: [Inventory, FulfilWorkflow, AuditWorkflow],
    }).compile();
    const app = await moduleRef.init();
    try {
      const runner = app.get(WorkflowRunner);
      const workflow = app.get(FulfilWorkflow);
      const inventory = app.get(Inventory);
      const first = await runner.run(workflow, { workflowId: 'order-1', input: { sku: 'x' } }).catch((e: unknown) => e);
      expect(first).to.be.instanceOf(WorkflowFailedError);
      inventory.failShip = false;
      const resumed = await runner.run(workflow, { workflowId: 'order-1', input: { sku: 'x' }, resume: true });
      expect(resumed.output).to.equal('shipped res-x');
      expect(resumed.steps.reserve.status).to.equal('restored');
      expect(inventory.reservations).to.equal(1);
      expect(app.get(AuditWorkflow).inventory).to.equal(inventory, 'decorator order does not matter');
      expect((await runner.run(app.get(AuditWorkflow), { workflowId: 'audit' })).output).to.equal(1);
    } finally {
      await app.close();
    }
  });

  it('resolves several versions of one workflow from Nest: new runs on the newest, each stored run on its own', async () => {
    @Injectable()
    @Workflow({ name: 'restock' })
    class RestockV1 {
      constructor(readonly inventory: Inventory) {}
      @Step() order() {
        return `v1 ${this.inventory.reserve('x')}`;
      }
    }
    @Injectable()
    @Workflow({ name: 'restock', version: 2 })
    class RestockV2 {
      constructor(readonly inventory: Inventory) {}
      @Step() order() {
        return `v2 ${this.inventory.reserve('y')}`;
      }
    }
    const storage = new MemoryStorage();
    const old = new WorkflowRunner({ storage, workflows: [RestockV1] });
    await old.run(new RestockV1(new Inventory()), { workflowId: 'r-1' });
    await old.restart('r-1', { from: 'order' });
    const moduleRef = await Test.createTestingModule({ imports: [WaymarkModule.forRoot({ storage, workflows: [RestockV1, RestockV2] })], providers: [Inventory, RestockV1, RestockV2] }).compile();
    const runner = moduleRef.get(WorkflowRunner);
    expect(runner.workflowInstance('restock')).to.be.instanceOf(RestockV2);
    expect((await runner.resume('r-1')).output, 'pinned to version 1, built by Nest').to.equal('v1 res-x');
    expect(moduleRef.get(Inventory).reservations).to.equal(1);
  });

  it('forRootAsync builds the runner options from injected providers', async () => {
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        WaymarkModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ storage: new FileStorage({ directory: settings.directory || dir.path }), concurrency: 3 }),
        }),
      ],
      providers: [Inventory, FulfilWorkflow],
    }).compile();
    const runner = moduleRef.get(WorkflowRunner);
    expect(runner.storage).to.be.instanceOf(FileStorage);
    expect((runner.storage as FileStorage).directory).to.equal(dir.path);
  });

  it('lets a test override the storage with a fake', async () => {
    const storage = new MemoryStorage();
    const moduleRef = await Test.createTestingModule({ imports: [WaymarkModule.forRoot({ storage })], providers: [Inventory, FulfilWorkflow] }).compile();
    moduleRef.get(Inventory).failShip = false;
    await moduleRef.get(WorkflowRunner).run(moduleRef.get(FulfilWorkflow), { workflowId: 'w', input: { sku: 'y' } });
    expect((await storage.load('w'))?.committedSteps).to.deep.equal(['reserve', 'ship']);
  });

  describe('with a worker', () => {
    @Injectable()
    class Mailer {
      sent: string[] = [];
    }

    @Injectable()
    @Workflow({ name: 'dunning' })
    class DunningWorkflow {
      constructor(private readonly mailer: Mailer) {}
      @Step() bill() {
        return 'billed';
      }
      @Step({ waitFor: { event: 'payment' } }) thank(ctx: StepContext) {
        this.mailer.sent.push(`thanks for ${ctx.event<number>()}`);
        return 'thanked';
      }
    }

    it('starts a worker at bootstrap that resumes workflows built by Nest, and stops it at shutdown', async () => {
      const storage = new MemoryStorage();
      const moduleRef = await Test.createTestingModule({
        imports: [WaymarkModule.forRoot({ storage, workflows: [DunningWorkflow], worker: { pollIntervalMs: 60_000 } })],
        providers: [Mailer, DunningWorkflow],
      }).compile();
      const app = await moduleRef.init();
      const worker = app.get(WorkflowWorker);
      try {
        expect(worker.state()).to.equal('running');
        const runner = app.get(WorkflowRunner);
        expect((await runner.run(app.get(DunningWorkflow), { workflowId: 'd-1' })).status).to.equal('waiting');
        const completed = new Promise((resolve) => runner.on('run:completed', resolve));
        await runner.sendEvent('d-1', 'payment', 1200);
        await completed;
        expect(app.get(Mailer).sent).to.deep.equal(['thanks for 1200'], 'the instance came from Nest, with its dependency');
      } finally {
        await app.close();
      }
      expect(worker.state()).to.equal('stopped');
    });

    it('provides no worker without the worker option, and refuses workflows that are not classes', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [WaymarkModule.forRoot({ storage: new MemoryStorage() })] }).compile();
      const app = await moduleRef.init();
      expect(app.get(WorkflowWorker)).to.equal(null);
      await app.close();
      expect(() => WaymarkModule.forRoot({ workflows: 'Dunning' as never })).to.not.throw();
      const broken = await Test.createTestingModule({ imports: [WaymarkModule.forRoot({ workflows: 'Dunning' as never })] })
        .compile()
        .catch((e: unknown) => e);
      expect(broken).to.have.property('code', 'WAYMARK_INVALID_OPTION');
    });
  });
});
