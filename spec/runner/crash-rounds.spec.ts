/**
 * Workers running a real workflow are SIGKILLed at random moments (inside a step, inside a commit,
 * between steps); after each kill the stored state is checked and the run resumed.
 */
import { expect } from 'chai';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { decodeValue } from '../../lib/checkpoint-codec';
import { decodeSegment, encodeSegment } from '../../lib/workflow-id';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { S3Storage } from '../../lib/storage/s3';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { WorkflowWorker } from '../../lib/worker/workflow-worker';
import { Step } from '../../decorators';
import type { StepContext } from '../../lib/runner/step-context';
import { pipelineStepOutput, type PipelineOutput } from '../fixtures/pipeline-output';
import { freshSchema, PG_URL } from '../helpers/postgres';
import { startS3, type S3Fixture } from '../helpers/s3-server';
import { startRgw } from '../helpers/ceph-rgw';
import { tempDir } from '../helpers/temp-dir';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { readEvents, startWorker } from '../helpers/worker';

const STEPS = 8;
const ROUNDS = 50;
const PARALLEL = 2;

class Pipeline {}
for (let i = 0; i < STEPS; i++) {
  const name = `step${i}`;
  Object.defineProperty(Pipeline.prototype, name, {
    value: (ctx: StepContext<{ seed: number }, PipelineOutput | undefined>) => pipelineStepOutput(i, ctx.previous, ctx.input.seed),
  });
  Step()(Pipeline.prototype, name, Object.getOwnPropertyDescriptor(Pipeline.prototype, name)!);
}

function expectedOutput(): PipelineOutput {
  let out: PipelineOutput | undefined;
  for (let i = 0; i < STEPS; i++) out = pipelineStepOutput(i, out, 7);
  return out!;
}

type Moment = 'before the first step' | 'inside a step' | 'inside a commit' | 'between steps' | 'after the run';

function momentOf(lastEvent: string | undefined): Moment {
  if (lastEvent === undefined || lastEvent === 'ready') return 'before the first step';
  if (lastEvent.startsWith('start')) return 'inside a step';
  if (lastEvent.startsWith('end')) return 'inside a commit';
  if (lastEvent.startsWith('done')) return 'after the run';
  return 'between steps';
}

interface Provider {
  readonly name: string;
  /**
   * Whether a dead owner's lease is taken over at once (FileStorage sees that its process is gone);
   * otherwise (S3, PostgreSQL) only once it expires, by its TTL.
   */
  readonly deadOwnerTakenOverAtOnce: boolean;
  /**
   * How long each step takes, in ms: short where a commit is short (one PostgreSQL round trip is
   * about a millisecond), so that kills land inside commits as well as inside steps.
   */
  readonly stepMs: string;
  setup(): Promise<{
    store: string;
    storage: CheckpointStorage;
    leaseTtlMs: string;
    /** Everything stored, as paths relative to the store's root. */
    stored(): Promise<string[]>;
    teardown(): Promise<void>;
  }>;
}

/** All a store may hold once every run finished: records and checkpoints, nothing else (no temp file, lock or lease). */
const FINISHED_STORE = /^~?workflows\/[^/]+\/(record(\.\d+)?\.json|steps(@[^/]+)?\/[^/]+\.json)$/;
/** An entry of the index of ended workflows, as FileStorage (by day and hour) and S3Storage name them. */
const ENDED_ENTRY = /^~?ended\/completed\/(?:\d{8}\/\d{2}\/)?(\d{16})~([^/]+)$/;

async function filesUnder(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inside = await filesUnder(root, path);
      // An empty directory is a leftover too (a lock directory never removed).
      out.push(...(inside.length === 0 ? [`${relative(root, path)}/`] : inside));
    } else out.push(relative(root, path));
  }
  return out;
}

/** Every key under `<prefix>/`, relative to it. */
async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

let s3: S3Fixture | undefined;
const providers: Provider[] = [
  {
    name: 'FileStorage',
    deadOwnerTakenOverAtOnce: true,
    stepMs: '10',
    async setup() {
      const dir = await tempDir();
      const root = join(dir.path, 'store');
      return {
        store: `file:${root}`,
        storage: new FileStorage({ directory: root }),
        leaseTtlMs: '30000',
        // The trash and locks directories themselves may stay, empty; nothing may stay inside them.
        stored: async () => (await filesUnder(root)).filter((f) => f !== 'trash/' && f !== 'locks/'),
        teardown: dir.remove,
      };
    },
  },
  {
    name: 'SqliteStorage',
    deadOwnerTakenOverAtOnce: true,
    stepMs: '10',
    async setup() {
      const dir = await tempDir();
      const path = join(dir.path, 'waymark.db');
      const storage = new SqliteStorage({ path });
      // Rows named as the file layout names them, so one check reads every store.
      const stored = async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string, options?: object) => { prepare(sql: string): { all(): Record<string, unknown>[] }; close(): void } };
        const db = new DatabaseSync(path, { readOnly: true });
        try {
          const rows = db
            .prepare(
              `SELECT 'record' AS kind, workflow_id AS a, '' AS b FROM workflows UNION ALL SELECT 'step', workflow_id, step FROM checkpoints
               UNION ALL SELECT 'lock', workflow_id, '' FROM leases UNION ALL SELECT 'wake', workflow_id, wake_at FROM wakes
               UNION ALL SELECT 'event', workflow_id, event_id FROM events UNION ALL SELECT 'ended/' || status, workflow_id, ended_at FROM ended`,
            )
            .all();
          return rows.map((r) => {
            const [kind, a, b] = [r.kind as string, r.a as string, String(r.b)];
            if (kind === 'step') return `workflows/${encodeSegment(a)}/steps/${encodeSegment(b)}.json`;
            if (kind === 'lock') return `locks/${encodeSegment(a)}/lease.json`;
            if (kind === 'wake') return `wakes/${b}~${a}`;
            if (kind === 'event') return `events/${a}`;
            if (kind.startsWith('ended/')) return `${kind}/${b.padStart(16, '0')}~${encodeSegment(a)}`;
            return `workflows/${encodeSegment(a)}/record.json`;
          });
        } finally {
          db.close();
        }
      };
      return {
        store: `sqlite:${path}`,
        storage,
        leaseTtlMs: '30000',
        stored,
        teardown: async () => {
          await storage.close();
          await dir.remove();
        },
      };
    },
  },
  {
    name: 'S3Storage',
    deadOwnerTakenOverAtOnce: false,
    stepMs: '10',
    async setup() {
      s3 ??= await startS3();
      const prefix = `crash-${Date.now()}`;
      const storage = new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix, retry: { baseDelayMs: 5 } });
      // A killed worker's S3 lease is taken over only once it expires: short here, but not so short
      // that a loaded machine (the S3 server shares this process) misses a renewal: 300 ms did.
      return { store: `s3:${s3.endpoint}|${s3.bucket}|${prefix}`, storage, leaseTtlMs: '1000', stored: () => keysUnder(s3!.client(), s3!.bucket, prefix), teardown: async () => undefined };
    },
  },
  {
    name: 'S3Storage on Ceph',
    deadOwnerTakenOverAtOnce: false,
    stepMs: '10',
    async setup() {
      const rgw = await startRgw();
      const bucket = await rgw.bucket();
      const prefix = 'crash';
      const storage = new S3Storage({ client: rgw.client(), bucket, prefix, retry: { baseDelayMs: 5 } });
      return { store: `s3:${rgw.endpoint}|${bucket}|${prefix}|rgw`, storage, leaseTtlMs: '1000', stored: () => keysUnder(rgw.client(), bucket, prefix), teardown: async () => undefined };
    },
  },
  {
    name: 'PostgresStorage',
    deadOwnerTakenOverAtOnce: false,
    stepMs: '2',
    async setup() {
      const pg = await freshSchema();
      const s = `"${pg.schema}"`;
      // Rows named as the file layout names them, so one check reads every store.
      const stored = async () => {
        const { rows } = await pg.pool.query(
          `SELECT 'workflows/' || workflow_id || '/record.json' AS id, workflow_id FROM ${s}.workflows
           UNION ALL SELECT 'steps', workflow_id || '/' || step FROM ${s}.checkpoints
           UNION ALL SELECT 'locks', workflow_id FROM ${s}.leases
           UNION ALL SELECT 'wakes', wake_at || '~' || workflow_id FROM ${s}.wakes
           UNION ALL SELECT 'events', workflow_id FROM ${s}.events
           UNION ALL SELECT 'ended/' || status, lpad(ended_at::text, 16, '0') || '~' || workflow_id FROM ${s}.ended`,
        );
        return rows.map((r) => {
          const kind = r.id as string;
          const name = r.workflow_id as string;
          if (kind === 'steps') {
            const [id, step] = name.split('/') as [string, string];
            return `workflows/${encodeSegment(id)}/steps/${encodeSegment(step)}.json`;
          }
          if (kind === 'locks') return `locks/${encodeSegment(name)}/lease.json`;
          if (kind === 'wakes' || kind === 'events') return `${kind}/${name}`;
          if (kind.startsWith('ended/')) {
            const [time, ...id] = name.split('~');
            return `${kind}/${time}~${encodeSegment(id.join('~'))}`;
          }
          return `workflows/${encodeSegment(name)}/record.json`;
        });
      };
      return { store: `postgres:${PG_URL}|${pg.schema}`, storage: pg.storage, leaseTtlMs: '1000', stored, teardown: pg.drop };
    },
  },
];

describe('crash rounds', function () {
  this.timeout(15 * 60_000);
  after(async () => s3?.close());

  for (const provider of providers) {
    it(`${provider.name}: ${ROUNDS} SIGKILLs at random moments, each followed by a resume that re-runs nothing committed`, async () => {
      const { store, storage, leaseTtlMs, stored: storedFiles, teardown } = await provider.setup();
      const dir = await tempDir();
      const expected = expectedOutput();
      const moments = new Map<Moment, number>();
      try {
        // An uninterrupted run sets the window in which kills land.
        const clean = startWorker({ STORE: store, EVENTS: join(dir.path, 'clean.log'), WORKFLOW_ID: 'clean', STEPS: String(STEPS), STEP_MS: provider.stepMs, LEASE_TTL_MS: leaseTtlMs });
        await clean.ready;
        const began = Date.now();
        const cleanExit = await clean.exit;
        const windowMs = Math.max(Date.now() - began, 5);
        expect(JSON.parse(cleanExit.stdout || '{}').output, `the clean run: ${cleanExit.stdout} ${cleanExit.stderr}`).to.equal(String(expected.total));

        const round = async (n: number): Promise<void> => {
          const workflowId = `round-${n}`;
          const events = join(dir.path, `${workflowId}.log`);
          const worker = startWorker({ STORE: store, EVENTS: events, WORKFLOW_ID: workflowId, STEPS: String(STEPS), STEP_MS: provider.stepMs, LEASE_TTL_MS: leaseTtlMs });
          await worker.ready;
          const timer = setTimeout(() => worker.child.kill('SIGKILL'), Math.random() * windowMs * 1.1);
          await worker.exit;
          clearTimeout(timer);
          const lines = readEvents(events);
          const moment = momentOf(lines.at(-1) && `${lines.at(-1)![1]} ${lines.at(-1)![2]}`.trim());
          moments.set(moment, (moments.get(moment) ?? 0) + 1);

          // No torn or corrupted checkpoint: every committed step reads and decodes.
          const stored = await storage.load(workflowId);
          const committed = [...(stored?.committedSteps ?? [])].sort();
          for (const step of committed) decodeValue((await storage.readCheckpoint(workflowId, step)).output);
          // Every commit the worker saw complete is stored.
          for (const [, kind, step] of lines) if (kind === 'committed') expect(committed).to.include(step);

          const resumedSteps: string[] = [];
          const runner = new WorkflowRunner({ storage, onBusy: 'wait', busyTimeoutMs: 30_000 });
          runner.on('step:started', ({ step }) => resumedSteps.push(step));
          const result = await runner.run(new Pipeline(), { workflowId, input: { seed: 7 }, resume: true });
          for (const step of committed) {
            expect(resumedSteps, `round ${n} (${moment}): committed ${step} ran again`).not.to.include(step);
            expect(result.steps[step].status).to.equal('restored');
          }
          expect(result.output, `round ${n} (${moment})`).to.deep.equal(expected);
        };
        for (let n = 0; n < ROUNDS; n += PARALLEL) await Promise.all(Array.from({ length: Math.min(PARALLEL, ROUNDS - n) }, (_, k) => round(n + k)));
        // A lock may remain only where a worker was killed after completing, before it released
        // the lease (a late duplicate then needs no lease, so nobody took it over), with a temp file
        // if it was killed inside its last record write: its owner is dead, so the lock is taken
        // over (at once on FileStorage, which sees the process is gone; on S3 and PostgreSQL once
        // it expires), and taking it sweeps what the dead writer left.
        const lockOf = (path: string) => /^(?:locks|~workflows)\/([^/]+)\/(?:\d+\.lock|lease\.json)?$/.exec(path)?.[1];
        const locked = new Set((await storedFiles()).flatMap((path) => lockOf(path) ?? []));
        for (const id of locked) {
          const workflowId = decodeSegment(id)!;
          if (!provider.deadOwnerTakenOverAtOnce) {
            // A lease left by a worker killed in the last rounds may not have expired yet: its
            // expiry is the moment it may be taken over, so that is what is waited for.
            const holder = await storage.readLease(workflowId);
            while (holder !== undefined && Date.now() <= holder.expiresAt) await new Promise((resolve) => setTimeout(resolve, holder.expiresAt - Date.now() + 1));
          }
          const attempt = await storage.acquireLease(workflowId, 'sweeper', 60_000);
          expect(attempt.acquired, `the lock left on ${id} is taken over ${provider.deadOwnerTakenOverAtOnce ? 'at once' : 'once it expired'}`).to.equal(true);
          if (attempt.acquired) await storage.releaseLease(attempt.lease);
        }
        // Wake entries remain where a run was killed between writing an entry and the record that
        // names it (or after the record that dropped it): one worker pass drops every one of them.
        const sweeper = new WorkflowWorker({ runner: new WorkflowRunner({ storage }), pollIntervalMs: 50, onError: () => undefined });
        await sweeper.start();
        while ((await storage.dueWakes(Number.MAX_SAFE_INTEGER, 1)).length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        await sweeper.stop();
        // A writer killed while adding an ended entry left its temp file in that index, whose hours no
        // removal passes (completed workflows stay): prune's scan of it removes such a file.
        await new WorkflowRunner({ storage }).prune({ olderThan: 0, status: ['completed', 'failed', 'cancelled', 'compensated'], dryRun: true });
        // Killed writers left no temp file and no unfinished clear once their workflows were resumed.
        // (The wake index's own directory stays, empty, like the workflows directory.)
        const files = await storedFiles();
        // S3: a process killed during its conditional-DELETE probe leaves that one object, which the next probe removes.
        expect(files.filter((path) => !FINISHED_STORE.test(path) && !ENDED_ENTRY.test(path) && path !== 'wakes/' && path !== '~probe/conditional-delete'), 'only records, checkpoints and ended entries remain').to.deep.equal([]);
        // Each completed workflow is in the index of ended workflows at the time its record says. An
        // entry no record names remains only where a run was killed between writing it and the
        // record (prune drops such an entry when it passes).
        const entries = files.flatMap((path) => {
          const match = ENDED_ENTRY.exec(path);
          return match === null ? [] : [{ endedAt: Number(match[1]), workflowId: decodeSegment(match[2]!)! }];
        });
        const ids = await storage.list();
        for (const workflowId of ids) {
          const endedAt = Date.parse((await storage.readRecord(workflowId))!.record.endedAt!);
          expect(entries.some((e) => e.workflowId === workflowId && e.endedAt === endedAt), `${workflowId} is in the index of ended workflows`).to.equal(true);
        }
        expect(entries.filter((e) => !ids.includes(e.workflowId))).to.deep.equal([]);
      } finally {
        console.log(`      ${provider.name} kill moments: ${JSON.stringify(Object.fromEntries(moments))}`);
        await dir.remove();
        await teardown();
      }
      expect(moments.get('inside a step') ?? 0, 'some kills land inside a step').to.be.greaterThan(0);
      expect(moments.get('inside a commit') ?? 0, 'some kills land inside a commit').to.be.greaterThan(0);
    });
  }
});
