/**
 * Events are never lost and never inherited: a sender that dies between storing an event and
 * waking its workflow still gets it woken; a retry with the same event id wakes it; an event sent
 * to a workflow while it was cleared never goes to the next workflow under that id; an event that
 * came before a step's deadline is no timeout; an event for an ended workflow says so.
 */
import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { S3Storage } from '../../lib/storage/s3';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { deferred } from '../helpers/deferred';
import { freshSchema } from '../helpers/postgres';
import { startS3 } from '../helpers/s3-server';
import { tempDir } from '../helpers/temp-dir';

@Workflow({ name: 'parcel' })
class Parcel {
  @Step() label() {
    return 'labelled';
  }
  @Step({ after: ['label'], waitFor: { event: 'picked-up' } }) track(ctx: StepContext) {
    return ctx.event<{ by: string }>()!.by;
  }
}

/** `storage`, except that every call after a `putEvent` fails: the sender's process died right after storing the event. */
function diesAfterPut(storage: CheckpointStorage): CheckpointStorage {
  let dead = false;
  return new Proxy(storage, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (dead) throw new Error('the sender died');
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (key === 'putEvent') dead = true;
        return result;
      };
    },
  });
}

/** The message `promise` rejects with; fails the spec if it resolves. */
async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a rejection');
}

type Store = { storage: CheckpointStorage; close: () => Promise<void> };
const STORES: [string, () => Promise<Store>][] = [
  ['MemoryStorage', async () => ({ storage: new MemoryStorage(), close: async () => undefined })],
  ['FileStorage', async () => {
    const dir = await tempDir('waymark-events-');
    return { storage: new FileStorage({ directory: dir.path }), close: dir.remove };
  }],
  ['S3Storage', async () => {
    const s3 = await startS3();
    return { storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: 'events' }), close: s3.close };
  }],
  ['PostgresStorage', async () => {
    const pg = await freshSchema();
    return { storage: pg.storage, close: pg.drop };
  }],
];

describe('event delivery', () => {
  for (const [name, open] of STORES) {
    describe(name, () => {
      let store: Store;
      beforeEach(async () => (store = await open()));
      afterEach(() => store.close());

      it('leaves the workflow in the wake index, due in seconds, when the sender dies between storing the event and waking it', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: [Parcel], tracer: false });
        expect((await runner.run(new Parcel(), { workflowId: 'p-1' })).status).to.equal('waiting');
        const sender = new WorkflowRunner({ storage: diesAfterPut(store.storage), tracer: false });
        const before = Date.now();
        expect(await failure(sender.sendEvent('p-1', 'picked-up', { by: 'van-7' }, { eventId: 'scan-1' }))).to.equal('the sender died');
        const entries = (await store.storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).filter((e) => e.workflowId === 'p-1');
        expect(entries, 'an entry that brings a worker back').to.have.length(1);
        expect(entries[0]!.wakeAt).to.be.within(before, before + 10_000);
        // The retry a webhook makes with the same delivery id is a duplicate that still wakes it now.
        const retried = await runner.sendEvent('p-1', 'picked-up', { by: 'van-7' }, { eventId: 'scan-1' });
        expect(retried).to.deep.equal({ duplicate: true, eventId: 'scan-1', wakes: true });
        const due = (await store.storage.dueWakes(Date.now(), 10)).filter((e) => e.workflowId === 'p-1');
        expect(due, 'due at once after the retry').to.have.length.greaterThan(0);
        expect((await runner.resume('p-1')).output).to.equal('van-7');
      });

      it('never hands an event sent while the workflow was cleared to the next workflow under the same id', async () => {
        const runner = new WorkflowRunner({ storage: store.storage, workflows: [Parcel], tracer: false });
        await runner.run(new Parcel(), { workflowId: 'p-2' });
        // The sender read the record of the first workflow, then stalls before its write lands.
        const stall = deferred<void>();
        const reached = deferred<void>();
        const slow = new Proxy(store.storage, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver) as unknown;
            if (key !== 'putEvent' || typeof value !== 'function') return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
            return async (...args: unknown[]) => {
              reached.resolve();
              await stall.promise;
              return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            };
          },
        });
        const sending = new WorkflowRunner({ storage: slow, tracer: false }).sendEvent('p-2', 'picked-up', { by: 'old' }, { eventId: 'late' });
        await reached.promise;
        await runner.clear('p-2');
        expect((await runner.run(new Parcel(), { workflowId: 'p-2' })).status).to.equal('waiting');
        stall.resolve();
        await sending;
        // The new workflow neither shows nor consumes the first one's event.
        expect((await runner.get('p-2', { events: true }))!.events).to.deep.equal([]);
        expect((await runner.resume('p-2')).status).to.equal('waiting');
        await runner.sendEvent('p-2', 'picked-up', { by: 'new' }, { eventId: 'fresh' });
        expect((await runner.resume('p-2')).output).to.equal('new');
      });
    });
  }

  it('a worker resumes the workflow seconds after its sender died between storing the event and waking it', async function () {
    this.timeout(30_000);
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Parcel], tracer: false });
    await runner.run(new Parcel(), { workflowId: 'p-3' });
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 100 });
    await worker.start();
    try {
      const completed = new Promise<void>((resolve) => runner.on('run:completed', ({ workflowId }) => workflowId === 'p-3' && resolve()));
      const sentAt = Date.now();
      expect(await failure(new WorkflowRunner({ storage: diesAfterPut(storage), tracer: false }).sendEvent('p-3', 'picked-up', { by: 'van-9' }))).to.equal('the sender died');
      await completed;
      expect(Date.now() - sentAt).to.be.below(10_000);
      expect((await runner.get('p-3'))!.status).to.equal('completed');
    } finally {
      await worker.stop();
    }
  });

  it('reads the events again before deciding that a step timed out: an event that came while another step ran is consumed', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, tracer: false });
    @Workflow({ name: 'stale-mailbox' })
    class Approval {
      @Step({ waitFor: { event: 'opened' } }) open() {
        return 'open';
      }
      @Step({ after: ['open'] }) async review() {
        // The approval comes in while this step runs, 30 ms into a 150 ms deadline.
        await new Promise((resolve) => setTimeout(resolve, 30));
        await runner.sendEvent('a-1', 'approved', 'yes', { eventId: 'ok-1' });
        await new Promise((resolve) => setTimeout(resolve, 200));
        return 'reviewed';
      }
      @Step({ after: ['open'], waitFor: { event: 'approved', timeoutMs: 150 } }) approve(ctx: StepContext) {
        return ctx.event<string>();
      }
    }
    expect((await runner.run(new Approval(), { workflowId: 'a-1' })).status).to.equal('waiting');
    await runner.sendEvent('a-1', 'opened', null, { eventId: 'o-1' });
    // One step at a time: 'approve' is looked at only after 'review', past its deadline; the run
    // listed its events (for 'open') before the approval came.
    const result = await runner.run(new Approval(), { workflowId: 'a-1', resume: true, concurrency: 1 });
    expect(result.status).to.equal('completed');
    expect(result.steps.approve!.output).to.equal('yes');
  });

  describe('to a workflow that ended', () => {
    @Workflow({ name: 'ended-parcel' })
    class Quick {
      @Step() only() {
        return 1;
      }
    }
    @Workflow({ name: 'broken-parcel' })
    class Broken {
      @Step() only(): number {
        throw new Error('carrier down');
      }
    }

    it('says completed, and stores nothing no step would ever consume', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false });
      await runner.run(new Quick(), { workflowId: 'q-1' });
      expect(await runner.sendEvent('q-1', 'picked-up', 1, { eventId: 'e-1' })).to.deep.equal({ duplicate: false, eventId: 'e-1', wakes: false, ended: 'completed' });
      expect(await storage.listEvents('q-1')).to.deep.equal([]);
      expect(await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).to.deep.equal([]);
    });

    it('says failed, and keeps the event for a resume', async () => {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false });
      await runner.run(new Broken(), { workflowId: 'b-1' }).catch(() => undefined);
      expect(await runner.sendEvent('b-1', 'picked-up', 1, { eventId: 'e-1' })).to.deep.equal({ duplicate: false, eventId: 'e-1', wakes: false, ended: 'failed' });
      expect((await storage.listEvents('b-1')).map((e) => e.eventId)).to.deep.equal(['e-1']);
    });
  });
});
