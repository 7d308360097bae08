/**
 * Child workflows under kills: three worker processes share one store (or one BullMQ queue), one
 * SIGKILLed at random and replaced while a parent starts its children and while they finish. No
 * child may be started twice, no child step may run after it committed, the parent must hear every
 * child and complete; a parent cancelled while its canceller dies half-way leaves no child behind.
 * On every durable store.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { Step, Workflow } from '../../../decorators';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { dropQueue, queueName, redisTarget } from '../../helpers/redis';
import type { CheckpointStorage } from '../../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../../lib/storage/file/file-storage';
import { SqliteStorage } from '../../../lib/storage/sqlite';
import { startFleet } from '../../helpers/fleet';
import { until } from '../../helpers/until';
import { processStores, type ProcessStore } from '../../helpers/process-stores';
import { seeded } from '../../helpers/race-harness';
import { tempDir } from '../../helpers/temp-dir';
import { readEvents } from '../../helpers/worker';

const KILLS = Number(process.env.CHILD_KILLS ?? 6);

const { providers, close } = processStores('children');

/** Children for the kill rounds: fewer on the slow emulator, and on Ceph. */
const childrenOn = (store: ProcessStore) => (store.s3 === 's3rver' ? 40 : store.s3 === 'rgw' ? 60 : 100);

/** The fixture's workflows as the spec process sees them (same names, for cancel and reads). */
@Workflow({ name: 'account' })
class Account {
  @Step() settle() {
    return 0;
  }
}
@Workflow({ name: 'batch' })
class Batch {
  @Step({ spawn: () => [] }) report() {
    return 0;
  }
}

type Line = { at: number; pid: string; what: string; arg: string; rest: string };

/** The fixture's journal: `<ms> <pid> <what> <arg> <rest>` lines, read as the worker helper reads event lines. */
function journal(file: string): Line[] {
  return readEvents(file).map(([at, pid, text]) => {
    const [what, arg = '', ...rest] = text.split(' ');
    return { at: Number(at), pid, what: what!, arg, rest: rest.join(' ') };
  });
}

/** Three worker processes of the children fixture. Each starts the parent (idempotent) unless `startOnce`: then only the first does. */
function fleet(env: Record<string, string>, startOnce = false) {
  return startFleet('spec/fixtures/children-worker.ts', 3, env, { envFor: (n) => ({ START: n === 0 || !startOnce ? '1' : '0' }) });
}

/** Where a parent stands, for a failure's message: its status and what it waits for, its children by status, the wake entries. */
async function stateOf(runner: WorkflowRunner, storage: CheckpointStorage): Promise<unknown> {
  const info = await runner.get('batch');
  const children: Record<string, number> = {};
  for (const c of info?.children ?? []) children[c.status ?? '?'] = (children[c.status ?? '?'] ?? 0) + 1;
  const wakes = await storage.dueWakes(Date.now() + 3_600_000, 20);
  return { status: info?.status, waitingFor: info?.waitingFor, wakeAt: info?.wakeAt, lease: info?.lease, children, wakes: wakes.map((w) => `${w.workflowId}@${w.wakeAt - Date.now()}`) };
}

/** The checks every kill round ends with: each child started once, no step after its commit, every child heard. */
function checkRound(lines: readonly Line[], n: number, context: string): void {
  const created = lines.filter((l) => l.what === 'created').map((l) => l.arg);
  // A process killed between a child's write and its line leaves the line out (up to 16 are written
  // at once): never two lines for one child. The store says every child exists.
  const twice = created.filter((id, i) => created.indexOf(id) !== i);
  expect(twice, `${context}: children started twice`).to.deep.equal([]);
  expect(created.length, `${context}: children created`).to.be.at.most(n);
  const committedAt = new Map<string, number>();
  for (const l of lines) if (l.what === 'committed' && !committedAt.has(l.arg)) committedAt.set(l.arg, l.at);
  for (const l of lines) {
    if (l.what !== 'start') continue;
    const at = committedAt.get(l.arg);
    expect(at === undefined || l.at < at, `${context}: ${l.arg} ran again after it committed`).to.equal(true);
  }
  const parent = lines.filter((l) => l.what === 'parent');
  expect(parent.length, `${context}: the parent completed once`).to.be.at.least(1);
  expect(JSON.parse(parent[0]!.rest), context).to.equal((3 * n * (n - 1)) / 2);
}

describe('child workflows under kills', function () {
  this.timeout(10 * 60_000);
  after(close);

  for (const [name, open] of providers) {
    it(`${name}: 3 workers, one SIGKILLed ${KILLS} times while a parent starts its children and while they finish: none started twice or re-run after its commit, the parent completes`, async () => {
      const seed = Number(process.env.CHILD_SEED ?? Date.now() % 100_000);
      const next = seeded(seed);
      const opened = await open();
      const { store, storage, teardown } = opened;
      const children = childrenOn(opened);
      const dir = await tempDir('waymark-children-events-');
      const events = join(dir.path, 'events.log');
      const workers = await fleet({ STORE: store, EVENTS: events, CHILDREN: String(children), CHILD_MS: '20', LEASE_TTL_MS: '2000' });
      try {
        // The first kill lands while the children are being started, the others while they finish.
        expect(await until(() => journal(events).some((l) => l.what === 'created'), 60_000), 'children are being created').to.equal(true);
        for (let k = 0; k < KILLS; k++) {
          workers.kill(next());
          await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(next() * 450)));
        }
        const runner = new WorkflowRunner({ storage, workflows: [Batch, Account] });
        const completed = await until(() => journal(events).some((l) => l.what === 'parent'), 120_000);
        expect(completed, `seed ${seed}: the parent completed; it is ${JSON.stringify(await stateOf(runner, storage))}`).to.equal(true);
        checkRound(journal(events), children, `seed ${seed}`);
        // The run completed; its record says so once its last write lands. With a 2 s lease under load
        // that write can be fenced out (the run's outcome stands: it warns), and a worker's resume,
        // every step restored, marks it completed instead.
        const marked = await until(async () => (await runner.get('batch'))?.status === 'completed', 60_000);
        expect(marked, `seed ${seed}: the record says completed; it is ${JSON.stringify(await stateOf(runner, storage))}`).to.equal(true);
        const info = await runner.get('batch');
        expect(info!.children!.filter((c) => c.status === 'completed').length).to.equal(children);
      } finally {
        await workers.stop();
        await dir.remove();
        await teardown();
      }
    });

    it(`${name}: a parent cancelled while its canceller dies half-way through cancelling the children leaves none unfinished (workers keep being killed)`, async () => {
      const { store, storage, teardown } = await open();
      const dir = await tempDir('waymark-children-cancel-');
      const events = join(dir.path, 'events.log');
      const n = 20;
      const workers = await fleet({ STORE: store, EVENTS: events, CHILDREN: String(n), HOLD: '1', LEASE_TTL_MS: '2000' }, true);
      try {
        const runner = new WorkflowRunner({ storage, workflows: [Batch, Account] });
        // The parent waits for its children, every one of them stored.
        expect(await until(async () => (await runner.get('batch'))?.status === 'waiting', 60_000), 'the parent waits for its children').to.equal(true);
        workers.kill(0.5);
        // The canceller dies after cancelling a few children: every storage call fails from then on.
        let cancels = 0;
        const dying = new Proxy(storage, {
          get(target, key, receiver) {
            const value = Reflect.get(target, key, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (cancels >= 5) return Promise.reject(new Error('the canceller died'));
              if (key === 'putEvent' && (args[1] as { name: string }).name === '\u001fcancel' && args[0] !== 'batch') cancels++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        });
        const canceller = new WorkflowRunner({ storage: dying, workflows: [Batch, Account], logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
        const outcome = await canceller.cancel('batch', { reason: 'operator' }).then((r) => r.outcome, () => 'died');
        workers.kill(0.2);
        // Cancelled by this call (it then died half-way through the children), or, when a worker's
        // run held the parent (the killed one's lease, until it expires), by that run's successor.
        if (outcome === 'requested') expect(cancels).to.equal(0);
        else expect(cancels, `the canceller died half-way (${outcome})`).to.equal(5);
        expect(await until(async () => (await runner.get('batch'))!.status === 'cancelled', 60_000), `the parent is cancelled (cancel said ${outcome}); it is ${JSON.stringify(await stateOf(runner, storage))}`).to.equal(true);
        const unfinished = async () => (await runner.get('batch'))!.children!.filter((c) => c.status !== 'cancelled').map((c) => `${c.workflowId} ${c.status}`);
        // A worker takes the cancel's follow-up entry once due (seconds) and cancels the rest.
        expect(await until(async () => (await unfinished()).length === 0, 60_000), `children not cancelled: ${(await unfinished()).join(', ')}`).to.equal(true);
        expect(journal(events).filter((l) => l.what === 'start'), 'no child ran').to.deep.equal([]);
      } finally {
        await workers.stop();
        await dir.remove();
        await teardown();
      }
    });
  }

  for (const kind of ['FileStorage', 'SqliteStorage'] as const) {
    it(`BullMQ on ${kind}: 3 QueueWorker processes, one SIGKILLed at random, run a parent with 200 children to the end (children and the parent's wakes go through the queue)`, async () => {
      const redis = await redisTarget();
      const queue = queueName('children');
      const dir = await tempDir('waymark-children-queue-');
      const events = join(dir.path, 'events.log');
      const root = join(dir.path, 'store');
      const next = seeded(11);
      const store = kind === 'SqliteStorage' ? `sqlite:${join(dir.path, 'waymark.db')}` : `file:${root}`;
      const workers = await fleet({ MODE: 'queue', REDIS: `${redis.host}:${redis.port}`, QUEUE: queue, STORE: store, EVENTS: events, CHILDREN: '200', CHILD_MS: '5', LEASE_TTL_MS: '2000' });
      try {
        expect(await until(() => journal(events).some((l) => l.what === 'created'), 60_000), 'children are being created').to.equal(true);
        for (let k = 0; k < 4; k++) {
          workers.kill(next());
          await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(next() * 400)));
        }
        expect(await until(() => journal(events).some((l) => l.what === 'parent'), 120_000), 'the parent completed').to.equal(true);
        checkRound(journal(events), 200, 'queue');
        const storage = kind === 'SqliteStorage' ? new SqliteStorage({ path: join(dir.path, 'waymark.db') }) : new FileStorage({ directory: root });
        const runner = new WorkflowRunner({ storage, workflows: [Batch, Account] });
        expect((await runner.get('batch'))!.children!.filter((c) => c.status === 'completed').length).to.equal(200);
        if (storage instanceof SqliteStorage) await storage.close();
      } finally {
        await workers.stop();
        await dropQueue(redis, queue);
        await dir.remove();
      }
    });
  }
});
