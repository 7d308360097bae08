import { expect } from 'chai';
import { Step, Workflow } from '../../decorators';
import sinon from 'sinon';
import { CheckpointCorruptedError, InvalidOptionError, StorageError, WorkflowBusyError, WorkflowFailedError, WorkflowNotFoundError } from '../../lib/errors';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { WorkflowRecord, WorkflowStatus } from '../../lib/storage/records';
import { S3Storage } from '../../lib/storage/s3';
import { sampleCheckpoint, sampleRecord } from '../../lib/testing';
import { freshSchema } from '../helpers/postgres';
import { startS3, type S3Fixture } from '../helpers/s3-server';
import { tempDir } from '../helpers/temp-dir';

const DAY = 86_400_000;
const STATUSES: readonly WorkflowStatus[] = ['completed', 'failed', 'cancelled', 'compensated', 'running', 'waiting', 'compensating'];
const ENDED = new Set<WorkflowStatus>(['completed', 'failed', 'cancelled', 'compensated']);

/** A store under test, and how to dispose of it. */
interface Store {
  readonly storage: CheckpointStorage;
  dispose(): Promise<void>;
}

/** Counts calls by method name, calling through. */
function counting(storage: CheckpointStorage): { storage: CheckpointStorage; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(storage, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { storage: proxy, calls };
}

/** `items` through `work`, 16 at a time. */
async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = next++; i < items.length; i = next++) await work(items[i]!);
  }));
}

/** One stored workflow: its status, and how many days ago it ended (or was created, if it has not ended). */
interface Planted {
  readonly workflowId: string;
  readonly status: WorkflowStatus;
  readonly ageDays: number;
}

/**
 * 1,000 workflows of every status and of ages from 0 to 59 days, each with a record and a checkpoint
 * and, when ended, its entry in the index. A third of the unfinished ones also carry an old entry
 * from before they ran again (a failed workflow resumed): prune must see through it.
 */
async function plant(storage: CheckpointStorage, now: number): Promise<Planted[]> {
  const planted = Array.from({ length: 1000 }, (_, i): Planted => ({ workflowId: `wf-${String(i).padStart(4, '0')}`, status: STATUSES[i % STATUSES.length]!, ageDays: (i * 7919) % 60 }));
  await eachLimited(planted, async ({ workflowId, status, ageDays }) => {
    const at = new Date(now - ageDays * DAY).toISOString();
    const record: WorkflowRecord = { ...sampleRecord(workflowId), status, createdAt: at, updatedAt: at, ...(ENDED.has(status) ? { endedAt: at } : {}) };
    await storage.commit(workflowId, sampleCheckpoint('a'));
    await storage.writeRecord(workflowId, record, null);
    if (ENDED.has(status)) await storage.addEnded({ workflowId, status, endedAt: Date.parse(at) });
    else if (Number(workflowId.slice(3)) % 3 === 0) await storage.addEnded({ workflowId, status: 'completed', endedAt: now - 45 * DAY });
  });
  return planted;
}

const providers: [string, () => Promise<Store>][] = [];
let s3: S3Fixture | undefined;
let s3Prefixes = 0;
providers.push(['MemoryStorage', async () => ({ storage: new MemoryStorage(), dispose: async () => undefined })]);
providers.push(['FileStorage', async () => {
  const dir = await tempDir();
  return { storage: new FileStorage({ directory: dir.path }), dispose: dir.remove };
}]);
providers.push(['S3Storage', async () => {
  s3 ??= await startS3();
  return { storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: `prune${++s3Prefixes}` }), dispose: async () => undefined };
}]);
providers.push(['PostgresStorage', async () => {
  const pg = await freshSchema();
  return { storage: pg.storage, dispose: pg.drop };
}]);

describe('runner.prune (retention)', function () {
  this.timeout(300_000);
  after(async () => s3?.close());

  for (const [name, open] of providers) {
    describe(`on ${name}`, () => {
      let store: Store;
      beforeEach(async () => (store = await open()));
      afterEach(async () => store.dispose());

      it('deletes exactly the workflows of the chosen statuses that ended before the cutoff, among 1,000 of mixed age and status, without listing the store', async () => {
        const now = Date.now();
        const planted = await plant(store.storage, now);
        const { storage, calls } = counting(store.storage);
        const runner = new WorkflowRunner({ storage, tracer: false });
        const expected = planted.filter((p) => (p.status === 'completed' || p.status === 'compensated') && p.ageDays >= 30).map((p) => p.workflowId).sort();
        expect(expected.length).to.be.within(100, 200);

        const dry = await runner.prune({ olderThan: '30d', dryRun: true });
        expect([...dry.workflowIds].sort()).to.deep.equal(expected);
        expect(dry.dryRun).to.equal(true);
        expect(await store.storage.list()).to.have.length(1000);

        const progress: number[] = [];
        const result = await runner.prune({ olderThan: '30d', onProgress: (count) => progress.push(count) });
        expect([...result.workflowIds].sort()).to.deep.equal(expected);
        expect(result.busy).to.deep.equal([]);
        expect(progress).to.deep.equal(expected.map((_, i) => i + 1));
        // Found through the index: the store was never listed, and no workflow was loaded whole.
        expect(calls.get('list') ?? 0).to.equal(0);
        expect(calls.get('load') ?? 0).to.equal(0);
        expect(calls.get('clear')).to.equal(expected.length);

        const gone = new Set(expected);
        const left = await store.storage.list();
        expect(left).to.deep.equal(planted.map((p) => p.workflowId).filter((id) => !gone.has(id)));
        for (const p of planted.filter((x) => !gone.has(x.workflowId) && (!ENDED.has(x.status) || x.ageDays >= 30))) {
          // What stays stays whole: its record and its checkpoint, whatever its age or stale entry.
          const stored = await store.storage.load(p.workflowId);
          expect(stored?.record?.status, p.workflowId).to.equal(p.status);
          expect(stored?.committedSteps, p.workflowId).to.deep.equal(['a']);
        }
        // Nothing of those statuses before the cutoff is left in the index (stale entries went too).
        expect(await store.storage.endedBefore('completed', now - 30 * DAY, 10)).to.deep.equal([]);
        expect(await store.storage.endedBefore('compensated', now - 30 * DAY, 10)).to.deep.equal([]);

        // Another status and age; then nothing left to do.
        const failed = await runner.prune({ olderThan: 50 * DAY, status: 'failed' });
        expect([...failed.workflowIds].sort()).to.deep.equal(planted.filter((p) => p.status === 'failed' && p.ageDays >= 50).map((p) => p.workflowId).sort());
        expect((await runner.prune({ olderThan: '30d', status: ['completed', 'compensated'] })).workflowIds).to.deep.equal([]);
      });
    });
  }

  describe('what it never deletes', () => {
    it('a workflow whose lease a run holds is kept and reported busy; a later prune deletes it', async () => {
      const storage = new MemoryStorage();
      const endedAt = Date.now() - 40 * DAY;
      await storage.writeRecord('old', { ...sampleRecord('old'), status: 'completed', endedAt: new Date(endedAt).toISOString() }, null);
      await storage.addEnded({ workflowId: 'old', status: 'completed', endedAt });
      const held = await storage.acquireLease('old', 'a run', 60_000);
      const runner = new WorkflowRunner({ storage, tracer: false });
      const result = await runner.prune({ olderThan: '30d' });
      expect(result).to.deep.include({ workflowIds: [], busy: ['old'] });
      expect(await storage.readRecord('old')).to.not.equal(undefined);
      if (held.acquired) await storage.releaseLease(held.lease);
      expect((await runner.prune({ olderThan: '30d' })).workflowIds).to.deep.equal(['old']);
      expect(await storage.list()).to.deep.equal([]);
    });

    it('a workflow its storage fails to delete is reported and kept; the others are pruned all the same', async () => {
      const storage = new MemoryStorage();
      for (let i = 0; i < 3; i++) {
        await storage.writeRecord(`w${i}`, { ...sampleRecord(`w${i}`), status: 'completed', endedAt: new Date(1000 + i).toISOString() }, null);
        await storage.addEnded({ workflowId: `w${i}`, status: 'completed', endedAt: 1000 + i });
      }
      const clear = storage.clear.bind(storage);
      sinon.stub(storage, 'clear').callsFake((workflowId, options) => (workflowId === 'w0' ? Promise.reject(new Error('ENAMETOOLONG')) : clear(workflowId, options)));
      const runner = new WorkflowRunner({ storage, tracer: false });
      const result = await runner.prune({ olderThan: 0 });
      expect(result.workflowIds).to.deep.equal(['w1', 'w2']);
      expect(result.failures.map((f) => [f.workflowId, (f.error as Error).message])).to.deep.equal([['w0', 'ENAMETOOLONG']]);
      expect(await storage.list()).to.deep.equal(['w0']);
      expect((await storage.endedBefore('completed', Infinity, 10)).map((e) => e.workflowId), 'its entry stays, for the next prune').to.deep.equal(['w0']);
    });

    it('stops at limit, and between workflows when its signal aborts', async () => {
      const storage = new MemoryStorage();
      for (let i = 0; i < 5; i++) {
        await storage.writeRecord(`w${i}`, { ...sampleRecord(`w${i}`), status: 'completed', endedAt: new Date(1000 + i).toISOString() }, null);
        await storage.addEnded({ workflowId: `w${i}`, status: 'completed', endedAt: 1000 + i });
      }
      const runner = new WorkflowRunner({ storage, tracer: false });
      expect((await runner.prune({ olderThan: 0, limit: 2 })).workflowIds).to.deep.equal(['w0', 'w1']);
      const stop = new AbortController();
      const result = await runner.prune({ olderThan: 0, signal: stop.signal, onProgress: () => stop.abort() });
      expect(result.workflowIds).to.deep.equal(['w2']);
      expect(await storage.list()).to.deep.equal(['w3', 'w4']);
    });

    it('real runs: what completed, failed or was compensated enters the index when it ends; what runs again leaves it in effect', async () => {
      let fail = true;
      @Workflow({ name: 'ends' })
      class Ends {
        @Step() a() { return 1; }
        @Step() b() { if (fail) throw new Error('not yet'); return 2; }
      }
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, tracer: false, workflows: [Ends] });
      await runner.run(new Ends(), { workflowId: 'f' }).catch(() => undefined);
      const failedAt = Date.parse((await storage.readRecord('f'))!.record.endedAt!);
      expect(await storage.endedBefore('failed', Date.now(), 10)).to.deep.equal([{ workflowId: 'f', status: 'failed', endedAt: failedAt }]);
      fail = false;
      await runner.resume('f');
      const completedAt = Date.parse((await storage.readRecord('f'))!.record.endedAt!);
      expect(await storage.endedBefore('completed', Date.now(), 10)).to.deep.equal([{ workflowId: 'f', status: 'completed', endedAt: completedAt }]);
      // The failed entry is stale now: a prune of failed workflows drops it and keeps the workflow.
      expect((await runner.prune({ olderThan: 0, status: 'failed' })).workflowIds).to.deep.equal([]);
      expect(await storage.endedBefore('failed', Date.now(), 10)).to.deep.equal([]);
      expect((await runner.get('f'))?.status).to.equal('completed');
      expect((await runner.prune({ olderThan: 0 })).workflowIds).to.deep.equal(['f']);
      expect(await runner.get('f')).to.equal(undefined);
    });
  });

  describe('entries that no longer say what the record says', () => {
    const ended = async (storage: MemoryStorage, workflowId: string, endedAt: number, record?: Partial<WorkflowRecord>) => {
      await storage.writeRecord(workflowId, { ...sampleRecord(workflowId), status: 'completed', endedAt: new Date(endedAt).toISOString(), ...record }, null);
      await storage.addEnded({ workflowId, status: 'completed', endedAt });
    };

    it('drops an entry whose workflow is gone, ended at another time, or has no end time, and deletes nothing for it', async () => {
      const storage = new MemoryStorage();
      await storage.addEnded({ workflowId: 'cleared', status: 'completed', endedAt: 1000 });
      await ended(storage, 'ended-again', 2000, { endedAt: new Date(5000).toISOString() });
      await storage.addEnded({ workflowId: 'ended-again', status: 'completed', endedAt: 5000 });
      await ended(storage, 'no-end-time', 3000, { endedAt: undefined });
      await ended(storage, 'other-status', 4000, { status: 'failed' });
      const runner = new WorkflowRunner({ storage, tracer: false });
      // Only the entry that matches its record counts: ended-again at 5000, deleted once.
      const found: string[] = [];
      expect((await runner.prune({ olderThan: 0, dryRun: true, onProgress: (n, id) => found.push(`${n} ${id}`) })).workflowIds).to.deep.equal(['ended-again']);
      expect(found).to.deep.equal(['1 ended-again']);
      // A dry run changes nothing, stale entries included.
      expect(await storage.endedBefore('completed', Date.now(), 10)).to.have.length(5);
      expect((await runner.prune({ olderThan: 0 })).workflowIds).to.deep.equal(['ended-again']);
      expect(await storage.endedBefore('completed', Date.now(), 10)).to.deep.equal([]);
      expect(await storage.list()).to.deep.equal(['no-end-time', 'other-status']);
    });

    it('keeps a workflow that ran again between the first read and the lease, dropping its entry', async () => {
      const storage = new MemoryStorage();
      await ended(storage, 'revived', 1000);
      const acquire = storage.acquireLease.bind(storage);
      sinon.stub(storage, 'acquireLease').callsFake(async (id, owner, ttl) => {
        // A resume got there first and ended again since: the record moved on.
        const { record, version } = (await storage.readRecord(id))!;
        await storage.writeRecord(id, { ...record, status: 'running', endedAt: undefined }, version);
        return acquire(id, owner, ttl);
      });
      const result = await new WorkflowRunner({ storage, tracer: false }).prune({ olderThan: 0 });
      sinon.restore();
      expect(result.workflowIds).to.deep.equal([]);
      expect((await storage.readRecord('revived'))?.record.status).to.equal('running');
      expect(await storage.endedBefore('completed', Date.now(), 10)).to.deep.equal([]);
    });

    it('keeps a workflow whose record cannot be read, and goes on with the others', async () => {
      const storage = new MemoryStorage();
      await ended(storage, 'broken', 1000);
      await ended(storage, 'fine', 2000);
      await ended(storage, 'broken-later', 3000);
      const read = storage.readRecord.bind(storage);
      const reads = new Map<string, number>();
      sinon.stub(storage, 'readRecord').callsFake(async (id) => {
        reads.set(id, (reads.get(id) ?? 0) + 1);
        // 'broken' cannot be read at all; 'broken-later' only once prune holds its lease.
        if (id === 'broken' || (id === 'broken-later' && reads.get(id)! > 1)) throw new CheckpointCorruptedError(id, 'its record', 'not JSON');
        return read(id);
      });
      const runner = new WorkflowRunner({ storage, tracer: false });
      expect((await runner.prune({ olderThan: 0 })).workflowIds).to.deep.equal(['fine']);
      sinon.restore();
      expect(await storage.list()).to.deep.equal(['broken', 'broken-later']);
      expect((await storage.endedBefore('completed', Date.now(), 10)).map((e) => e.workflowId)).to.deep.equal(['broken', 'broken-later']);
    });

    it('reports each workflow its storage fails to read, deleting none of them', async () => {
      const storage = new MemoryStorage();
      await ended(storage, 'first', 1000);
      await ended(storage, 'second', 2000);
      sinon.stub(storage, 'readRecord').rejects(new StorageError('first', 'read record', new Error('disk gone')));
      const result = await new WorkflowRunner({ storage, tracer: false }).prune({ olderThan: 0 });
      sinon.restore();
      expect(result.workflowIds).to.deep.equal([]);
      expect(result.failures.map((f) => f.workflowId)).to.deep.equal(['first', 'second']);
      expect(result.failures[0]!.error).to.be.instanceOf(StorageError);
      expect(await storage.list()).to.deep.equal(['first', 'second']);
    });

    it('stops when the index itself cannot be read', async () => {
      const storage = new MemoryStorage();
      await ended(storage, 'first', 1000);
      sinon.stub(storage, 'endedBefore').rejects(new StorageError('*', 'scan ended', new Error('disk gone')));
      const error = await new WorkflowRunner({ storage, tracer: false }).prune({ olderThan: 0 }).catch((e: unknown) => e);
      sinon.restore();
      expect(error).to.be.instanceOf(StorageError);
      expect(await storage.list()).to.deep.equal(['first']);
    });
  });

  describe('racing a resume of the same workflow', () => {
    for (const [name, make] of [
      ['MemoryStorage', async () => ({ storage: new MemoryStorage() as CheckpointStorage, dispose: async () => undefined })],
      ['FileStorage', async () => {
        const dir = await tempDir();
        return { storage: new FileStorage({ directory: dir.path }) as CheckpointStorage, dispose: dir.remove };
      }],
    ] as const) {
      it(`${name}: the lease decides; the workflow is either gone whole or kept whole and completed, and no committed step runs again`, async () => {
        const store = await make();
        try {
          const runs: string[] = [];
          let fail = true;
          @Workflow({ name: 'race' })
          class Race {
            @Step() first(ctx: { workflowId: string }) { runs.push(`first ${ctx.workflowId}`); return 1; }
            @Step() second(ctx: { workflowId: string }) {
              runs.push(`second ${ctx.workflowId}`);
              if (fail) throw new Error('down');
              return 2;
            }
          }
          // Who goes first is forced in two rounds of three, through the lease each takes; the third
          // starts both at once and lets the interleaving be what it is.
          let onPruneLease: (() => void) | undefined;
          const acquireLease = store.storage.acquireLease.bind(store.storage);
          const storage: CheckpointStorage = Object.assign(Object.create(store.storage) as CheckpointStorage, {
            acquireLease: async (id: string, owner: string, ttlMs: number) => {
              const attempt = await acquireLease(id, owner, ttlMs);
              if (owner.startsWith('waymark prune') && attempt.acquired) onPruneLease?.();
              return attempt;
            },
          });
          const runner = new WorkflowRunner({ storage, tracer: false, workflows: [Race], onBusy: 'wait', busyTimeoutMs: 10_000 });
          let onResumeLease: (() => void) | undefined;
          runner.on('lease:acquired', () => onResumeLease?.());
          const outcomes = new Map<string, number>();
          for (let round = 0; round < 30; round++) {
            const id = `race-${round}`;
            fail = true;
            await runner.run(new Race(), { workflowId: id }).catch(() => undefined);
            fail = false;
            runs.length = 0;
            const order = (['prune first', 'resume first', 'together'] as const)[round % 3]!;
            let pruning: Promise<{ workflowIds: readonly string[] }>;
            let resuming: Promise<unknown>;
            if (order === 'prune first') {
              // The resume starts while the prune holds the workflow's lease (and waits for it).
              const started = new Promise<Promise<unknown>>((resolve) => (onPruneLease = () => resolve(runner.resume(id))));
              pruning = runner.prune({ olderThan: 0, status: 'failed' });
              resuming = started.then((resume) => resume);
            } else if (order === 'resume first') {
              // The prune starts while the resume holds the lease.
              const started = new Promise<Promise<{ workflowIds: readonly string[] }>>((resolve) => (onResumeLease = () => resolve(runner.prune({ olderThan: 0, status: 'failed' }))));
              resuming = runner.resume(id);
              pruning = started.then((prune) => prune);
            } else {
              pruning = runner.prune({ olderThan: 0, status: 'failed' });
              resuming = runner.resume(id);
            }
            const [pruned, resumed] = await Promise.allSettled([pruning, resuming]);
            onPruneLease = onResumeLease = undefined;
            expect(pruned.status).to.equal('fulfilled');
            const deleted = pruned.status === 'fulfilled' && pruned.value.workflowIds.includes(id);
            expect(runs.filter((r) => r.startsWith('first')), 'a committed step never runs again').to.deep.equal([]);
            const stored = await store.storage.load(id);
            if (deleted) {
              // Gone whole, and the resume did not bring it back.
              expect(stored, id).to.equal(undefined);
              expect(resumed.status).to.equal('rejected');
              const reason = (resumed as PromiseRejectedResult).reason;
              expect(reason instanceof WorkflowNotFoundError || reason instanceof WorkflowBusyError, String(reason)).to.equal(true);
            } else {
              // Kept whole: the resume finished it.
              expect(resumed.status, String((resumed as PromiseRejectedResult).reason)).to.equal('fulfilled');
              expect(stored?.record?.status).to.equal('completed');
              expect([...(stored?.committedSteps ?? [])].sort()).to.deep.equal(['first', 'second']);
            }
            const key = `${order}: ${deleted ? 'pruned' : 'resumed'}`;
            outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
          }
          // The lease decided each forced order: the holder's side won every time.
          expect(outcomes.get('prune first: pruned'), JSON.stringify([...outcomes])).to.equal(10);
          expect(outcomes.get('resume first: resumed'), JSON.stringify([...outcomes])).to.equal(10);
        } finally {
          await store.dispose();
        }
      });
    }
  });

  it('refuses options it cannot honour, naming each', async () => {
    const runner = new WorkflowRunner({ tracer: false });
    for (const [options, message] of [
      [{}, "option 'olderThan' is undefined; expected how long ago a workflow must have ended to be pruned: '30d', '12h' or ms"],
      [{ olderThan: '30 days' }, "option 'olderThan' is '30 days'; expected a duration"],
      [{ olderThan: -1 }, "option 'olderThan' is -1"],
      [{ olderThan: '1d', status: 'running' }, "option 'status' is 'running'; expected one of 'completed', 'failed', 'cancelled', 'compensated' (running, waiting and compensating workflows are never pruned)"],
      [{ olderThan: '1d', status: [] }, "option 'status' is []; expected one or more of 'completed', 'failed', 'cancelled', 'compensated'"],
      [{ olderThan: '1d', limit: 0 }, "option 'limit' is 0; expected an integer >= 1"],
      [{ olderThan: '1d', limit: 1.5 }, "option 'limit' is 1.5; expected an integer >= 1"],
      [{ olderThan: '1d', dryRun: 'yes' }, "option 'dryRun' is 'yes'; expected true or false"],
      [null, "option 'prune options' is null; expected { olderThan: '30d' | ms, status?, dryRun?, limit? }"],
      ['30d', "option 'prune options' is '30d'; expected { olderThan: '30d' | ms, status?, dryRun?, limit? }"],
    ] as const) {
      const error = await runner.prune(options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).to.be.instanceOf(InvalidOptionError);
      expect((error as Error).message).to.contain(message);
    }
    // The smallest values there are.
    expect(await runner.prune({ olderThan: 0, limit: 1, status: 'cancelled', dryRun: false })).to.deep.include({ workflowIds: [], busy: [], dryRun: false });
  });

  it('a failed run of a compensating workflow is not in reach: compensating workflows are never pruned', async () => {
    @Workflow({ name: 'stuck-saga' })
    class StuckSaga {
      @Step({ compensate: 'undo' }) a() { return 1; }
      @Step() b(): never { throw new Error('no'); }
      undo(): never { throw new Error('undo down'); }
    }
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, tracer: false });
    const error = await runner.run(new StuckSaga(), { workflowId: 'stuck' }).catch((e: unknown) => e);
    expect((error as WorkflowFailedError).result.status).to.equal('failed');
    expect((await runner.prune({ olderThan: 0, status: ['completed', 'compensated', 'cancelled'] })).workflowIds).to.deep.equal([]);
    // It ended 'failed' (its compensation failed): a prune of failed workflows may take it, like any failed one.
    expect((await runner.prune({ olderThan: 0, status: 'failed' })).workflowIds).to.deep.equal(['stuck']);
  });
});
