/**
 * The race harness (spec/helpers/race-harness.ts) on every provider: seeded rounds of 2-8 contenders
 * under injected delays, transient faults, lost answers and stalls between a fence and its write.
 * `npm test` runs a slice of 100 rounds per provider (half on S3) to stay within its time; `npm run
 * stress` runs 1,000 (`RACE_ROUNDS` sets them). A failure names its seed, and
 * `RACE_SEED=<seed> RACE_ROUNDS=1` replays that schedule (`RACE_PROVIDERS=FileStorage` for one).
 */
import { expect } from 'chai';
import sinon from 'sinon';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { stepWrites } from '../../lib/storage/file/commit-thread';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { S3Storage } from '../../lib/storage/s3';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { raceRounds, seeded, type Neighbour, type RaceSettings } from '../helpers/race-harness';
import { startS3, type S3Fixture } from '../helpers/s3-server';
import { startRgw } from '../helpers/ceph-rgw';
import { freshSchema, type PgFixture } from '../helpers/postgres';
import { tempDir } from '../helpers/temp-dir';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { join } from 'node:path';

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 100);
const FIRST_SEED = Number(process.env.RACE_SEED ?? 1);
const PARALLEL = 25;
const SETTINGS: RaceSettings = { maxDelayMs: 300, leaseTtlMs: 150 };

/** A schedule per round, keyed by the seed in its workflow id (`race-<seed>`), for chaos below the storage interface. */
function perRound(salt: number): (key: string) => (() => number) | undefined {
  const schedules = new Map<number, () => number>();
  return (key) => {
    const seed = /race-(\d+)/.exec(key)?.[1];
    if (seed === undefined) return undefined;
    if (!schedules.has(Number(seed))) schedules.set(Number(seed), seeded(Number(seed) * 7919 + salt));
    return schedules.get(Number(seed));
  };
}

interface Provider {
  readonly name: string;
  readonly rounds: number;
  setup(): Promise<{ storage: CheckpointStorage; neighbour?: Neighbour; teardown(): Promise<void> }>;
}

let s3: S3Fixture | undefined;
const providers: Provider[] = [
  { name: 'MemoryStorage', rounds: ROUNDS, setup: async () => ({ storage: new MemoryStorage(), teardown: async () => undefined }) },
  {
    name: 'FileStorage',
    rounds: ROUNDS,
    async setup() {
      const dir = await tempDir();
      // Stall mode: a commit that passed its fence waits before the write that stores it.
      const schedule = perRound(1);
      const write = stepWrites.write.bind(stepWrites);
      const stub = sinon.stub(stepWrites, 'write').callsFake(async (path, data) => {
        const random = schedule(path);
        if (random && random() < 0.2) await new Promise((resolve) => setTimeout(resolve, random() * SETTINGS.maxDelayMs));
        return write(path, data);
      });
      return {
        storage: new FileStorage({ directory: dir.path }),
        teardown: async () => {
          stub.restore();
          await dir.remove();
        },
      };
    },
  },
  {
    name: 'SqliteStorage',
    rounds: ROUNDS,
    async setup() {
      const dir = await tempDir();
      const storage = new SqliteStorage({ path: join(dir.path, 'waymark.db') });
      return {
        storage,
        teardown: async () => {
          await storage.close();
          await dir.remove();
        },
      };
    },
  },
  {
    name: 'S3Storage',
    // Slower per round (a real HTTP server): half as many unless RACE_ROUNDS says how many.
    rounds: process.env.RACE_ROUNDS === undefined ? ROUNDS / 2 : ROUNDS,
    async setup() {
      s3 ??= await startS3();
      // The SDK's own retries on, as README configures the client: an answer dropped after the write
      // landed is retried below waymark. Stall mode: a commit's PUT waits after its fence's HEAD.
      const schedule = perRound(2);
      s3.chaos((op, key) => {
        const random = schedule(key);
        if (!random || op !== 'PUT') return undefined;
        // S3 cannot fence and write in one step: README guarantees no late commit only while a worker
        // does not freeze between them for longer than the fence's margin (a third of the TTL).
        if (/\/steps\//.test(key) && random() < 0.2) return { delayMs: random() * (SETTINGS.leaseTtlMs / 3 - 10) };
        if (/\/(lease|record)\.json$/.test(key) && random() < 0.05) return { dropAnswer: true };
        return undefined;
      });
      const prefix = `races-${Date.now()}`;
      const client = s3.client({ sdkRetries: true });
      const storage = new S3Storage({ client, bucket: s3.bucket, prefix, retry: { baseDelayMs: 5 } });
      // Another store at the nested prefix <prefix>/<workflow id> must never be reached.
      const neighbour: Neighbour = (workflowId) => new S3Storage({ client, bucket: s3!.bucket, prefix: `${prefix}/${workflowId}`, retry: { baseDelayMs: 5 } });
      return { storage, neighbour, teardown: async () => s3?.chaos(undefined) };
    },
  },
  {
    name: 'S3Storage on Ceph',
    rounds: process.env.RACE_ROUNDS === undefined ? ROUNDS / 2 : ROUNDS,
    async setup() {
      // The same chaos as on s3rver, made by the client (the server is Ceph's own): a commit's PUT
      // waits after its fence's HEAD; a lease or record PUT is applied and its answer dropped, which
      // the SDK retries as a reset connection.
      const rgw = await startRgw();
      const schedule = perRound(3);
      const injected = { delayed: 0, dropped: 0 };
      const client = rgw.client({
        sdkRetries: true,
        chaos: (method, key) => {
          const random = schedule(key);
          if (!random || method !== 'PUT') return undefined;
          if (/\/steps\//.test(key) && random() < 0.2) return (injected.delayed++, { delayMs: random() * (SETTINGS.leaseTtlMs / 3 - 10) });
          if (/\/(lease|record)\.json$/.test(key) && random() < 0.05) return (injected.dropped++, { dropAnswer: true });
          return undefined;
        },
      });
      const bucket = await rgw.bucket();
      const prefix = 'races';
      const storage = new S3Storage({ client, bucket, prefix, retry: { baseDelayMs: 5 } });
      const neighbour: Neighbour = (workflowId) => new S3Storage({ client, bucket, prefix: `${prefix}/${workflowId}`, retry: { baseDelayMs: 5 } });
      return {
        storage,
        neighbour,
        // The client's chaos is the spec's own code: a round that injected nothing proved nothing.
        teardown: async () => {
          expect(injected, 'chaos injected by the Ceph client').to.satisfy((n: typeof injected) => n.delayed > 0 && n.dropped > 0);
        },
      };
    },
  },
  {
    name: 'PostgresStorage',
    rounds: ROUNDS,
    async setup() {
      // No chaos below the interface: a commit's fence and write are one statement.
      const pg: PgFixture = await freshSchema(30);
      return { storage: pg.storage, teardown: () => pg.drop() };
    },
  },
];

describe('lease races (harness)', function () {
  this.timeout(30 * 60_000);
  after(async () => s3?.close());

  // RACE_PROVIDERS=FileStorage,S3Storage runs only those.
  const only = process.env.RACE_PROVIDERS?.split(',');
  for (const provider of providers.filter((p) => only === undefined || only.includes(p.name))) {
    it(`${provider.name}: ${provider.rounds} seeded rounds of 2-8 contenders keep one owner, one history and nothing left behind`, async () => {
      const { storage, neighbour, teardown } = await provider.setup();
      try {
        const failures = await raceRounds(storage, FIRST_SEED, provider.rounds, PARALLEL, SETTINGS, neighbour);
        expect(failures.length, `${failures.length} violations (replay one with RACE_SEED=<seed> RACE_ROUNDS=1):\n${failures.slice(0, 30).join('\n')}`).to.equal(0);
      } finally {
        await teardown();
      }
    });
  }
});
