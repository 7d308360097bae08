import { expect } from 'chai';
import sinon from 'sinon';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { InvalidOptionError, WorkflowNotRegisteredError } from '../../lib/errors';
import type { StepContext } from '../../lib/runner/step-context';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { sampleCheckpoint } from '../../lib/testing';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { RunRecord } from '../../lib/runner/run-record';
import type { WakeEntry, WorkflowRecord } from '../../lib/storage/records';
import { CanonicalFingerprint } from '../../lib/fingerprint';
import { deferred } from '../helpers/deferred';
import { tempDir } from '../helpers/temp-dir';
import { freshSchema } from '../helpers/postgres';
import { startS3 } from '../helpers/s3-server';
import { S3Storage } from '../../lib/storage/s3';
import { TS_REGISTER } from '../helpers/child';

const counts = new Map<string, number>();
function count(key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

@Workflow({ name: 'nudge' })
class Nudge {
  @Step() first(ctx: StepContext) {
    count(`${ctx.workflowId}:first`);
    return 1;
  }
  @Step({ delayMs: 150 }) second(ctx: StepContext<unknown, number>) {
    count(`${ctx.workflowId}:second`);
    return ctx.previous + 1;
  }
}

@Workflow({ name: 'approval' })
class Approval {
  @Step() ask() {
    return 'asked';
  }
  @Step({ waitFor: { event: 'answer' } }) decide(ctx: StepContext) {
    return ctx.event();
  }
}

const gate = { release: deferred<void>(), entered: deferred<void>() };

const outage = { on: false };

@Workflow({ name: 'outage' })
class Outage {
  @Step() call() {
    if (outage.on) throw new Error('partner down');
    return 'called';
  }
}

@Workflow({ name: 'slow' })
class Slow {
  @Step() async only(ctx: StepContext) {
    gate.entered.resolve();
    await Promise.race([gate.release.promise, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))]);
    return ctx.signal.aborted ? 'aborted' : 'finished';
  }
}

/** Resolves when `runner` reports workflow `id` completed. */
function completion(runner: WorkflowRunner, id: string): Promise<unknown> {
  return new Promise((resolve) => {
    const off = runner.on('run:completed', ({ workflowId, result }) => {
      if (workflowId !== id) return;
      off();
      resolve(result.output);
    });
  });
}

/** What a process that died before running the one step (`only`) of workflow `name` leaves: a running record and its recovery entry, due at `wakeAt`. */
async function interrupted(storage: MemoryStorage, workflowId: string, name: string, wakeAt: number): Promise<void> {
  await storage.writeRecord(workflowId, { formatVersion: 1, workflowId, workflowName: name, fingerprint: 'x', steps: [{ name: 'only', after: [] }], updatedAt: 'now', input: null, status: 'running', wakeAt: new Date(wakeAt).toISOString() }, null);
  await storage.addWake({ workflowId, wakeAt });
}

describe('WorkflowWorker', () => {
  const workers: WorkflowWorker[] = [];
  const started = (worker: WorkflowWorker) => (workers.push(worker), worker);
  beforeEach(() => {
    counts.clear();
    gate.release = deferred<void>();
    gate.entered = deferred<void>();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop({ deadlineMs: 0 })));
  });

  for (const [name, make] of [
    ['MemoryStorage', async () => ({ storage: new MemoryStorage() as CheckpointStorage, done: async () => undefined })],
    [
      'FileStorage',
      async () => {
        const dir = await tempDir();
        return { storage: new FileStorage({ directory: dir.path }) as CheckpointStorage, done: dir.remove };
      },
    ],
    [
      'S3Storage',
      async () => {
        const s3 = await startS3();
        return { storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: 'worker', retry: { baseDelayMs: 1 } }) as CheckpointStorage, done: () => s3.close() };
      },
    ],
    [
      'PostgresStorage',
      async () => {
        const pg = await freshSchema();
        return { storage: pg.storage as CheckpointStorage, done: pg.drop };
      },
    ],
  ] as const) {
    describe(`on ${name}`, () => {
      let storage: CheckpointStorage;
      let done: () => Promise<void>;
      beforeEach(async () => ({ storage, done } = await make()));
      afterEach(async () => {
        // Workers first: the store goes away after them.
        await Promise.all(workers.splice(0).map((w) => w.stop({ deadlineMs: 0 })));
        await done();
      });

      it('wakes a due timer and finishes the workflow, leaving nothing in the wake index', async () => {
        const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Nudge] });
        const waiting = await runner.run(new Nudge(), { workflowId: 'n-1' });
        expect(waiting.status).to.equal('waiting');
        const finished = completion(runner, 'n-1');
        await started(new WorkflowWorker({ runner, pollIntervalMs: 20 })).start();
        expect(await finished).to.equal(2);
        expect(counts.get('n-1:second')).to.equal(1);
        expect((await runner.get('n-1'))!.status).to.equal('completed');
        await until(() => storage.dueWakes(Date.now() + 3_600_000, 10).then((d) => d.length === 0));
      });

      it('wakes a timer on time whatever the poll interval: the scan before it saw the entry and timed the next scan for it', async () => {
        const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Nudge] });
        const waiting = await runner.run(new Nudge(), { workflowId: 'n-3' });
        const finished = completion(runner, 'n-3');
        await started(new WorkflowWorker({ runner, pollIntervalMs: 600_000 })).start();
        expect(await finished).to.equal(2);
        expect(Date.parse((await runner.get('n-3'))!.steps.second!.committedAt!)).to.be.at.least(Date.parse(waiting.wakeAt!));
      });

      for (const removal of ['after the writer added it twice', 'between the writer\'s two adds'] as const) {
        it(`keeps the entry of a failed run made to wait again while a worker drops its entries (the worker removes it ${removal})`, async () => {
          // A worker reads the record (failed) just before a writer makes it wait again with an entry
          // due now, as a parent retrying a failed child does: the entry the worker removes must
          // come back, whichever way the two interleave.
          const read = deferred<void>();
          const reread = deferred<void>();
          let removed = false;
          const writerDone = deferred<void>();
          let watching = false;
          const hooked = (hooks: { readRecord?: (record: WorkflowRecord | undefined) => void; removeWake?: () => Promise<void>; writeRecord?: () => Promise<void> }) =>
            new Proxy(storage, {
              get(target, key) {
                const value = Reflect.get(target, key) as unknown;
                if (typeof value !== 'function') return value;
                const method = (value as (...args: unknown[]) => unknown).bind(target);
                if (key === 'readRecord' && hooks.readRecord !== undefined)
                  return async (id: string) => {
                    const stored = await target.readRecord(id);
                    if (watching && id === 'f-1') hooks.readRecord!(stored?.record);
                    return stored;
                  };
                if (key === 'removeWake' && hooks.removeWake !== undefined)
                  return async (entry: WakeEntry) => {
                    if (watching && entry.workflowId === 'f-1') await hooks.removeWake!();
                    await target.removeWake(entry);
                    if (watching && entry.workflowId === 'f-1') removed = true;
                  };
                if (key === 'writeRecord' && hooks.writeRecord !== undefined)
                  return async (...args: Parameters<CheckpointStorage['writeRecord']>) => {
                    await hooks.writeRecord!();
                    return target.writeRecord(...args);
                  };
                return method;
              },
            });
          const late = removal === 'after the writer added it twice';
          const workerStorage = hooked({
            readRecord: (record) => record?.status === 'failed' && (removed ? reread : read).resolve(),
            removeWake: async () => {
              if (late) await writerDone.promise;
            },
          });
          // The worker has read the record (failed) before the writer writes it. Its removal comes
          // after the writer's second add (it then reads the record waiting), or between the two adds
          // (it then reads it failed still: the record is written after that read).
          const writerStorage = hooked({ writeRecord: () => (late ? read.promise : reread.promise) });
          const runner = new WorkflowRunner({ storage: workerStorage, workflows: [Outage] });
          outage.on = true;
          expect(String(await runner.run(new Outage(), { workflowId: 'f-1' }).catch((error: Error) => error.message))).to.contain('partner down');
          outage.on = false;
          const stored = (await storage.readRecord('f-1'))!;
          // The failed run is in no wake index: the entry the worker finds is the writer's.
          expect(await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).to.deep.equal([]);
          const writer = await storage.acquireLease('f-1', 'a retrying parent', 30_000);
          if (!writer.acquired) throw new Error('the lease is free');
          const finished = completion(runner, 'f-1');
          watching = true;
          await started(new WorkflowWorker({ runner, pollIntervalMs: 20 })).start();
          await new RunRecord(writerStorage, 'f-1', stored.record, stored.version, () => writer.lease).wait({ wakeAt: Date.now(), waiting: {}, waitingFor: [], timers: {} });
          await storage.releaseLease(writer.lease);
          writerDone.resolve();
          expect(await finished).to.equal('called');
        });
      }

      it('recovers a run that died: running, no live lease, its recovery entry due', async () => {
        const runner = new WorkflowRunner({ storage, workflows: [Nudge] });
        // What a process killed after committing 'first' leaves behind.
        await storage.writeRecord('n-2', {
          formatVersion: 1,
          workflowId: 'n-2',
          workflowName: 'nudge',
          fingerprint: await new CanonicalFingerprint().fingerprint(null),
          steps: [
            { name: 'first', after: [] },
            { name: 'second', after: ['first'] },
          ],
          updatedAt: new Date().toISOString(),
          createdAt: new Date(Date.now() - 10_000).toISOString(),
          input: null,
          status: 'running',
          wakeAt: new Date(Date.now() - 1).toISOString(),
        }, null);
        await storage.commit('n-2', { ...sampleCheckpoint('first', 1), committedAt: new Date(Date.now() - 10_000).toISOString() });
        await storage.addWake({ workflowId: 'n-2', wakeAt: Date.now() - 1 });
        const finished = completion(runner, 'n-2');
        await started(new WorkflowWorker({ runner, pollIntervalMs: 20 })).start();
        expect(await finished).to.equal(2);
        expect(counts.get('n-2:first')).to.equal(undefined, 'the committed step is not run again');
      });

      it('resumes a workflow waiting for an event as soon as this process sends it, without waiting for a poll', async () => {
        const runner = new WorkflowRunner({ storage, workflows: [Approval] });
        await runner.run(new Approval(), { workflowId: 'a-1' });
        await started(new WorkflowWorker({ runner, pollIntervalMs: 600_000 })).start();
        const finished = completion(runner, 'a-1');
        await runner.sendEvent('a-1', 'answer', 'yes');
        expect(await finished).to.equal('yes');
      });
    });
  }

  it('scans again soon after a scan the store failed, whatever the poll interval: a timer is still woken on time', async () => {
    const storage = new MemoryStorage();
    let failures = 2;
    const flaky = new Proxy(storage, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (key === 'dueWakes') return (...args: Parameters<MemoryStorage['dueWakes']>) => (failures-- > 0 ? Promise.reject(new Error('store unreachable')) : target.dueWakes(...args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const runner = new WorkflowRunner({ storage: flaky, maxInlineWaitMs: 0, workflows: [Nudge] });
    const waiting = await runner.run(new Nudge(), { workflowId: 'flaky-1' });
    const errors: unknown[] = [];
    const finished = completion(runner, 'flaky-1');
    await started(new WorkflowWorker({ runner, pollIntervalMs: 600_000, onError: (error) => errors.push(error) })).start();
    expect(await finished).to.equal(2);
    expect(errors.map((e) => (e as Error).message)).to.deep.equal(['store unreachable', 'store unreachable']);
    expect(Date.parse((await runner.get('flaky-1'))!.steps.second!.committedAt!)).to.be.at.least(Date.parse(waiting.wakeAt!));
  });

  it('drops entries of workflows that finished or were cleared, running nothing', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Nudge] });
    await runner.run(new Nudge(), { workflowId: 'done' });
    await storage.addWake({ workflowId: 'done', wakeAt: Date.now() - 5 });
    await storage.addWake({ workflowId: 'gone', wakeAt: Date.now() - 5 });
    counts.clear();
    await started(new WorkflowWorker({ runner, pollIntervalMs: 10 })).start();
    await until(() => storage.dueWakes(Date.now(), 10).then((d) => d.length === 0));
    expect([...counts.keys()]).to.deep.equal([]);
  });

  it('looks again at a workflow another process runs when its lease would expire, and tells nobody', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Nudge] });
    await runner.run(new Nudge(), { workflowId: 'busy', resume: false }).catch(() => undefined);
    await storage.writeRecord('busy', { ...(await storage.readRecord('busy'))!.record, status: 'waiting', completion: undefined }, (await storage.readRecord('busy'))!.version);
    const held = await storage.acquireLease('busy', 'another process', 60_000);
    if (!held.acquired) throw new Error('lease');
    const due = Date.now() - 5;
    await storage.addWake({ workflowId: 'busy', wakeAt: due });
    const errors: unknown[] = [];
    await started(new WorkflowWorker({ runner, pollIntervalMs: 10, onError: (e) => errors.push(e) })).start();
    await until(() => storage.dueWakes(Date.now(), 10).then((d) => !d.some((e) => e.workflowId === 'busy')));
    const later = await storage.dueWakes(held.lease.expiresAt + 1_000, 10);
    expect(later.filter((e) => e.workflowId === 'busy' && e.wakeAt > held.lease.expiresAt)).to.have.length(1);
    expect(errors).to.deep.equal([]);
  });

  it('reports a workflow whose class it does not know, and tries it again later, not at every scan', async () => {
    const storage = new MemoryStorage();
    await new WorkflowRunner({ storage, maxInlineWaitMs: 0 }).run(new Nudge(), { workflowId: 'stranger' });
    await storage.addWake({ workflowId: 'stranger', wakeAt: Date.now() - 5 });
    const errors: [unknown, string | undefined][] = [];
    const reported = deferred<void>();
    const worker = started(
      new WorkflowWorker({
        runner: new WorkflowRunner({ storage }),
        pollIntervalMs: 10,
        onError: (error, id) => {
          errors.push([error, id]);
          reported.resolve();
        },
      }),
    );
    await worker.start();
    await reported.promise;
    expect(errors[0]![0]).to.be.instanceOf(WorkflowNotRegisteredError);
    expect(errors[0]![1]).to.equal('stranger');
    await until(() => storage.dueWakes(Date.now(), 10).then((d) => d.length === 0));
    expect((await storage.dueWakes(Date.now() + 61_000, 10)).map((e) => e.workflowId)).to.include('stranger');
  });

  it('reports a dead owner\'s run whose class it does not know once, not at every sweep for dead owners', async function () {
    this.timeout(20_000);
    const dir = await tempDir();
    const holder = spawn(process.execPath, ['-r', TS_REGISTER, join(__dirname, '..', 'fixtures', 'hold-lease.ts'), dir.path, 'stranger'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const storage = new FileStorage({ directory: dir.path });
      // A run of a class this worker does not know, whose process died: its recovery entry is an hour away.
      const wakeAt = Date.now() + 3_600_000;
      await storage.writeRecord('stranger', { formatVersion: 1, workflowId: 'stranger', workflowName: 'nudge', fingerprint: 'x', steps: [{ name: 'first', after: [] }], updatedAt: 'now', input: null, status: 'running', wakeAt: new Date(wakeAt).toISOString() }, null);
      await storage.addWake({ workflowId: 'stranger', wakeAt });
      await new Promise((resolve) => holder.stdout!.once('data', resolve));
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
      expect(await storage.deadLeases(10)).to.deep.equal(['stranger']);
      const errors: unknown[] = [];
      const worker = started(new WorkflowWorker({ runner: new WorkflowRunner({ storage }), pollIntervalMs: 600_000, onError: (error) => errors.push(error) }));
      await worker.start();
      // Three sweeps for dead owners go by: the run is reported once, then left for a minute.
      await new Promise((resolve) => setTimeout(resolve, 3_200));
      expect(errors.filter((e) => e instanceof WorkflowNotRegisteredError)).to.have.length(1);
    } finally {
      holder.kill('SIGKILL');
      await dir.remove();
    }
  });

  it('runs each due workflow once with two workers on one storage', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Nudge] });
    const ids = Array.from({ length: 12 }, (_, i) => `many-${i}`);
    for (const id of ids) await runner.run(new Nudge(), { workflowId: id });
    const all = Promise.all(ids.map((id) => completion(runner, id)));
    const other = new WorkflowRunner({ storage, maxInlineWaitMs: 0, workflows: [Nudge] });
    const others = Promise.all(ids.map((id) => completion(other, id)));
    await Promise.all([started(new WorkflowWorker({ runner, pollIntervalMs: 15, concurrency: 3 })).start(), started(new WorkflowWorker({ runner: other, pollIntervalMs: 15, concurrency: 3 })).start()]);
    await Promise.race([all, others, until(async () => (await Promise.all(ids.map((id) => runner.get(id)))).every((i) => i!.status === 'completed'))]);
    for (const id of ids) expect(counts.get(`${id}:second`), id).to.equal(1);
  });

  describe('stop', () => {
    /** A store holding a 'slow' workflow whose process died before its step, due for recovery; and a worker for it. */
    async function interruptedSlow(workflowId: string): Promise<{ storage: MemoryStorage; runner: WorkflowRunner; worker: WorkflowWorker }> {
      const storage = new MemoryStorage();
      const runner = new WorkflowRunner({ storage, workflows: [Slow] });
      await interrupted(storage, workflowId, 'slow', 0);
      return { storage, runner, worker: new WorkflowWorker({ runner, pollIntervalMs: 10, onError: () => undefined }) };
    }

    it('lets a running workflow finish within the deadline, then stops', async () => {
      const { runner, worker } = await interruptedSlow('slow');
      await worker.start();
      await gate.entered.promise;
      expect(worker.running()).to.deep.equal(['slow']);
      const stopping = worker.stop({ deadlineMs: 10_000 });
      expect(worker.state()).to.equal('stopping');
      gate.release.resolve();
      await stopping;
      expect(worker.state()).to.equal('stopped');
      expect((await runner.get('slow'))!.status).to.equal('completed');
    });

    it('interrupts what is still running at the deadline: it stores no outcome, stays running, and the next worker finishes it', async () => {
      const { storage, runner, worker } = await interruptedSlow('slow-2');
      await worker.start();
      await gate.entered.promise;
      await worker.stop({ deadlineMs: 0 });
      const info = (await runner.get('slow-2'))!;
      expect(info.status).to.equal('running');
      expect(info.steps.only!.status).to.equal('pending', 'the interrupted attempt was not committed');
      expect((await storage.dueWakes(Date.now(), 10)).map((e) => e.workflowId)).to.include('slow-2');
      gate.release.resolve();
      const finished = completion(runner, 'slow-2');
      await started(new WorkflowWorker({ runner, pollIntervalMs: 10 })).start();
      expect(await finished).to.equal('finished');
    });

    it('checks its options and is started once', async () => {
      const runner = new WorkflowRunner();
      expect(() => new WorkflowWorker({} as never)).to.throw(InvalidOptionError, 'WorkflowRunner');
      expect(() => new WorkflowWorker({ runner, pollIntervalMs: 0 })).to.throw(InvalidOptionError, 'pollIntervalMs');
      expect(() => new WorkflowWorker({ runner, concurrency: 1.5 })).to.throw(InvalidOptionError, 'concurrency');
      expect(() => new WorkflowWorker({ runner, onError: 'log' as never })).to.throw(InvalidOptionError, 'onError');
      const worker = new WorkflowWorker({ runner });
      expect(worker.state()).to.equal('created');
      await worker.start();
      expect(worker.state()).to.equal('running');
      await worker.start().then(
        () => expect.fail('a second start'),
        (e: unknown) => expect(e).to.be.instanceOf(InvalidOptionError),
      );
      await worker.stop();
      await worker.stop();
      expect(worker.state()).to.equal('stopped');
    });
  });
});

/** Resolves once `condition` holds, checking it as the event loop turns (each check is a storage read). */
async function until(condition: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

const holds = new Map<string, ReturnType<typeof deferred<void>>>();
const entered = new Map<string, ReturnType<typeof deferred<void>>>();
const hold = (id: string) => holds.get(id) ?? (holds.set(id, deferred<void>()), holds.get(id)!);
const entering = (id: string) => entered.get(id) ?? (entered.set(id, deferred<void>()), entered.get(id)!);

@Workflow({ name: 'held' })
class Held {
  @Step() async only(ctx: StepContext) {
    entering(ctx.workflowId).resolve();
    await Promise.race([hold(ctx.workflowId).promise, new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))]);
    ctx.signal.throwIfAborted();
    return ctx.workflowId;
  }
}

@Workflow({ name: 'breaks' })
class Breaks {
  @Step() only(): never {
    throw new Error('broken for good');
  }
}

@Workflow({ name: 'later' })
class Later {
  @Step() first() {
    return 1;
  }
  @Step({ delayMs: 3_600_000 }) second(ctx: StepContext) {
    count(`${ctx.workflowId}:second`);
  }
}

describe('WorkflowWorker, at its edges', () => {
  const workers: WorkflowWorker[] = [];
  const started = (worker: WorkflowWorker) => (workers.push(worker), worker);
  beforeEach(() => {
    counts.clear();
    holds.clear();
    entered.clear();
  });
  afterEach(async () => {
    for (const h of holds.values()) h.resolve();
    await Promise.all(workers.splice(0).map((w) => w.stop({ deadlineMs: 0 })));
    sinon.restore();
  });

  it('names each option it refuses and what it expects', async () => {
    const runner = new WorkflowRunner({ workflows: [Held] });
    const refusals: [() => unknown, string][] = [
      [() => new WorkflowWorker(null as never), "option 'WorkflowWorker runner' is undefined; expected a WorkflowRunner (with the workflow classes it may resume)"],
      [() => new WorkflowWorker(5 as never), "option 'WorkflowWorker runner' is undefined"],
      [() => new WorkflowWorker({ runner: {} } as never), "option 'WorkflowWorker runner' is {}"],
      [() => new WorkflowWorker({ runner, pollIntervalMs: 0 }), "option 'pollIntervalMs' is 0; expected an integer >= 1"],
      [() => new WorkflowWorker({ runner, pollIntervalMs: 2.5 }), "option 'pollIntervalMs' is 2.5; expected an integer >= 1"],
      [() => new WorkflowWorker({ runner, concurrency: 0 }), "option 'concurrency' is 0; expected an integer >= 1"],
      [() => new WorkflowWorker({ runner, onError: 'log' as never }), "option 'onError' is 'log'; expected a function (error, workflowId?) => void"],
    ];
    for (const [build, message] of refusals) expect(build, message).to.throw(InvalidOptionError, message);
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 1, concurrency: 1 });
    const scheduleRefusals: [unknown, string][] = [
      [null, "option 'schedule options' is null; expected { cron, timezone?, input?, overlap?, catchUp? }"],
      [5, "option 'schedule options' is 5; expected { cron, timezone?, input?, overlap?, catchUp? }"],
      [{ cron: '* * * * *', input: 5 }, "option 'schedule input' is 5; expected a function (slot: Date) => input"],
      [{ cron: '* * * * *', overlap: 'never' }, "option 'schedule overlap' is 'never'; expected 'skip' or 'allow'"],
      [{ cron: '* * * * *', catchUp: 'all' }, "option 'schedule catchUp' is 'all'; expected 'latest' or 'none'"],
    ];
    for (const [options, message] of scheduleRefusals) expect(() => worker.schedule(Held, options as never), message).to.throw(InvalidOptionError, message);
    await started(worker).start();
    expect(() => worker.schedule(Held, { cron: '* * * * *' })).to.throw(InvalidOptionError, "option 'WorkflowWorker state' is 'running'; expected 'created' (schedules are added before start())");
    const again = await worker.start().catch((e: unknown) => e);
    expect((again as Error).message).to.equal("option 'WorkflowWorker state' is 'running'; expected 'created' (a worker starts once)");
    for (const deadlineMs of [-1, 1.5, 'soon']) {
      const error = await worker.stop({ deadlineMs: deadlineMs as never }).catch((e: unknown) => e);
      expect((error as Error).message, String(deadlineMs)).to.contain(`option 'deadlineMs' is ${typeof deadlineMs === 'string' ? `'${deadlineMs}'` : deadlineMs}; expected an integer >= 0`);
    }
    expect(worker.state()).to.equal('running');
  });

  it('runs at most `concurrency` workflows, and starts the next one as soon as one finishes, without waiting for a poll', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Held] });
    const now = Date.now();
    for (const [i, id] of ['h1', 'h2', 'h3', 'h4'].entries()) await interrupted(storage, id, 'held', now - 10 + i);
    const worker = started(new WorkflowWorker({ runner, pollIntervalMs: 600_000, concurrency: 2 }));
    await worker.start();
    await Promise.all([entering('h1').promise, entering('h2').promise]);
    expect(worker.running()).to.deep.equal(['h1', 'h2']);
    hold('h1').resolve();
    await entering('h3').promise;
    expect(worker.running().sort()).to.deep.equal(['h2', 'h3']);
  });

  it('starts newly due work beside a running workflow (its own entry, still due, does not crowd the scan)', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Held] });
    await interrupted(storage, 'h1', 'held', Date.now() - 100);
    const worker = started(new WorkflowWorker({ runner, pollIntervalMs: 20, concurrency: 2 }));
    await worker.start();
    await entering('h1').promise;
    await interrupted(storage, 'h2', 'held', Date.now() - 50);
    await entering('h2').promise;
    expect(worker.running()).to.deep.equal(['h1', 'h2']);
  });

  it('starts a due workflow at once however many due entries another workflow has (events pile up entries)', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Held] });
    const now = Date.now();
    await interrupted(storage, 'h1', 'held', now - 100);
    // Three events for h1 left three more entries, all earlier than h2's timer.
    for (const at of [now - 90, now - 80, now - 70]) await storage.addWake({ workflowId: 'h1', wakeAt: at });
    await interrupted(storage, 'h2', 'held', now - 10);
    const worker = started(new WorkflowWorker({ runner, pollIntervalMs: 600_000, concurrency: 2 }));
    await worker.start();
    // h1 holds its slot until h2 has started: h2 must not wait for h1.
    await entering('h1').promise;
    await entering('h2').promise;
    expect(worker.running()).to.deep.equal(['h1', 'h2']);
    hold('h1').resolve();
    hold('h2').resolve();
    await worker.stop();
    // One run answered all of h1's entries: none is left to resume it again.
    expect(await storage.dueWakes(Number.MAX_SAFE_INTEGER, 10)).to.deep.equal([]);
  });

  it('does not scan again while it waits on running work with nothing else due', async () => {
    const storage = new MemoryStorage();
    const scans = sinon.spy(storage, 'dueWakes');
    const runner = new WorkflowRunner({ storage, workflows: [Held] });
    await interrupted(storage, 'h1', 'held', Date.now() - 100);
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 600_000, concurrency: 2 });
    await worker.start();
    await entering('h1').promise;
    const seen = scans.callCount;
    // A measuring window, not a synchronisation: a worker that rescans in a loop would scan many times in it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(scans.callCount - seen).to.be.at.most(1);
    hold('h1').resolve();
    await worker.stop();
  });

  it('a second stop while stopping waits for the first, interrupting nothing earlier than the first one would', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Held] });
    await interrupted(storage, 'h1', 'held', Date.now() - 100);
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 600_000 });
    await worker.start();
    await entering('h1').promise;
    const first = worker.stop({ deadlineMs: 60_000 });
    const second = worker.stop({ deadlineMs: 0 });
    // Past the second call's deadline: had it counted, the step would be interrupted by now.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(worker.running()).to.deep.equal(['h1']);
    hold('h1').resolve();
    await Promise.all([first, second]);
    expect((await runner.get('h1'))!.status).to.equal('completed');
  });

  it('scans again when asked during a scan: an event sent while the index is being read is not left for the next poll', async () => {
    // 'first' holds its step once woken, so no finished run prompts a scan: only the request made during the scan can.
    @Workflow({ name: 'gatekeeper' })
    class Gatekeeper {
      @Step({ waitFor: { event: 'answer' } }) async decide(ctx: StepContext) {
        if (ctx.workflowId === 'first') await hold('first').promise;
        return ctx.event();
      }
    }
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Gatekeeper] });
    await runner.run(new Gatekeeper(), { workflowId: 'first' });
    await runner.run(new Gatekeeper(), { workflowId: 'second' });
    const worker = started(new WorkflowWorker({ runner, pollIntervalMs: 600_000 }));
    await worker.start();
    // The next scan reads the index, then waits here until told to go on.
    const reading = deferred<void>();
    const goOn = deferred<void>();
    const dueWakes = storage.dueWakes.bind(storage);
    storage.dueWakes = async (now, limit) => {
      const entries = await dueWakes(now, limit);
      storage.dueWakes = dueWakes;
      reading.resolve();
      await goOn.promise;
      return entries;
    };
    const second = completion(runner, 'second');
    await runner.sendEvent('first', 'answer', 1);
    await reading.promise;
    await runner.sendEvent('second', 'answer', 2);
    goOn.resolve();
    expect(await second).to.equal(2);
    expect(worker.running()).to.include('first', 'still held: its end did not prompt the scan');
  });

  it('says what went wrong through a process warning when no onError is given', async () => {
    const warnings = sinon.stub(process, 'emitWarning');
    const storage = new MemoryStorage();
    await interrupted(storage, 'stranger', 'held', Date.now() - 100);
    const worker = started(new WorkflowWorker({ runner: new WorkflowRunner({ storage }), pollIntervalMs: 600_000 }));
    await worker.start();
    await until(() => warnings.callCount > 0);
    expect(warnings.firstCall.args).to.deep.equal(["waymark worker, workflow 'stranger': workflow 'stranger': its workflow 'held' (version 1) is not registered with this runner: pass its class in new WorkflowRunner({ workflows: [...] }) (or a function (name, version) => instance, for a DI container)", { code: 'WAYMARK_WORKFLOW_NOT_REGISTERED' }]);
    const failing = new MemoryStorage();
    failing.dueWakes = async () => {
      throw new Error('disk on fire');
    };
    const other = started(new WorkflowWorker({ runner: new WorkflowRunner({ storage: failing }), pollIntervalMs: 600_000 }));
    await other.start();
    expect(warnings.lastCall.args).to.deep.equal(['waymark worker: disk on fire', { code: 'WAYMARK_WORKER_ERROR' }]);
  });

  it('drops the entry of a workflow that failed for good or was cleared, telling nobody: nothing to retry', async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Breaks] });
    await interrupted(storage, 'broken', 'breaks', Date.now() - 100);
    await storage.addWake({ workflowId: 'cleared', wakeAt: Date.now() - 100 });
    const errors: unknown[] = [];
    await started(new WorkflowWorker({ runner, pollIntervalMs: 10, onError: (e) => errors.push(e) })).start();
    await until(() => storage.dueWakes(Date.now() + 3_600_000, 10).then((d) => d.length === 0));
    expect((await runner.get('broken'))!.status).to.equal('failed');
    expect(errors).to.deep.equal([]);
  });

  it("drops a stale entry of a waiting workflow whose record wakes it later, keeping the record's own", async () => {
    const storage = new MemoryStorage();
    const runner = new WorkflowRunner({ storage, workflows: [Later] });
    const waiting = await runner.run(new Later(), { workflowId: 'l-1' });
    const wakeAt = Date.parse(waiting.wakeAt!);
    await storage.addWake({ workflowId: 'l-1', wakeAt: Date.now() - 100 });
    const errors: unknown[] = [];
    await started(new WorkflowWorker({ runner, pollIntervalMs: 10, onError: (e) => errors.push(e) })).start();
    await until(() => storage.dueWakes(Date.now(), 10).then((d) => d.length === 0));
    expect(await storage.dueWakes(wakeAt, 10)).to.deep.equal([{ workflowId: 'l-1', wakeAt }]);
    expect(counts.get('l-1:second')).to.equal(undefined);
    expect(errors).to.deep.equal([]);
  });
});
