import { expect } from 'chai';
import { Pool } from 'pg';
import { Step } from '../../../decorators';
import { InvalidOptionError, LeaseLostError, RecordConflictError, StorageError, WorkflowFailedError } from '../../../lib/errors';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import type { StepContext } from '../../../lib/runner/step-context';
import { PostgresStorage, SCHEMA_VERSION } from '../../../lib/storage/postgres';
import { describeStorageContract, sampleCheckpoint, sampleRecord } from '../../../lib/testing';
import { sampleEvent } from '../../../lib/testing/storage-contract';
import { freshSchema, PG_URL, type PgFixture } from '../../helpers/postgres';

/** Polls `check` until it holds (each poll is a query: no timer stands in for the condition). */
async function until(check: () => Promise<boolean>, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) if (await check()) return;
  throw new Error('condition never held');
}

describeStorageContract('PostgresStorage', async () => {
  const fixture = await freshSchema();
  return { storage: fixture.storage, cleanup: () => fixture.drop() };
});

describe('PostgresStorage', function () {
  let pg: PgFixture;
  beforeEach(async () => {
    pg = await freshSchema();
  });
  afterEach(async () => pg.drop());

  describe('schema and migrations', () => {
    it('migrates once from 8 storages at once, and again without change', async () => {
      const pool = new Pool({ connectionString: PG_URL, max: 16 });
      const schema = `${pg.schema}_m`;
      try {
        await Promise.all(Array.from({ length: 8 }, () => new PostgresStorage({ pool, schema }).migrate()));
        await new PostgresStorage({ pool, schema }).migrate();
        const { rows } = await pool.query(`SELECT version FROM "${schema}".schema_version`);
        expect(rows).to.deep.equal([{ version: SCHEMA_VERSION }]);
        const tables = await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]);
        expect(tables.rows.map((r) => r.table_name)).to.deep.equal(['checkpoints', 'ended', 'events', 'leases', 'schema_version', 'wakes', 'workflows']);
      } finally {
        await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await pool.end();
      }
    });

    it('refuses a schema newer than it knows, saying to upgrade', async () => {
      await pg.pool.query(`UPDATE "${pg.schema}".schema_version SET version = $1`, [SCHEMA_VERSION + 1]);
      const error = (await pg.storage.migrate().catch((e: unknown) => e)) as StorageError;
      expect(error).to.be.instanceOf(StorageError);
      expect(error.message).to.contain(`at version ${SCHEMA_VERSION + 1}, newer than this waymark knows (${SCHEMA_VERSION}): upgrade waymark`);
    });

    it('on a database never migrated, every call says to run migrate()', async () => {
      const storage = new PostgresStorage({ pool: pg.pool, schema: `${pg.schema}_none` });
      for (const call of [() => storage.load('a'), () => storage.commit('a', sampleCheckpoint('s')), () => storage.acquireLease('a', 'me', 1000), () => storage.dueWakes(Date.now(), 10)]) {
        const error = (await call().catch((e: unknown) => e)) as StorageError;
        expect(error).to.be.instanceOf(StorageError);
        expect(error.message).to.contain(`the schema "${pg.schema}_none" has no waymark tables, or not all of this version's: run \`await storage.migrate()\` once`);
      }
    });

    it('upgrades a schema of version 1 (before the index of ended workflows), keeping its data; until then prune says to migrate', async () => {
      await pg.storage.writeRecord('kept', { ...sampleRecord('kept'), status: 'completed' }, null);
      await pg.pool.query(`DROP TABLE "${pg.schema}".ended`);
      await pg.pool.query(`ALTER TABLE "${pg.schema}".leases DROP COLUMN presence_a, DROP COLUMN presence_b`);
      await pg.pool.query(`INSERT INTO "${pg.schema}".leases (workflow_id, owner, token, expires_at) VALUES ('held', 'a run of 0.1', 't-1', now() + interval '1 hour')`);
      await pg.pool.query(`UPDATE "${pg.schema}".schema_version SET version = 1`);
      const error = (await pg.storage.endedBefore('completed', Date.now(), 10).catch((e: unknown) => e)) as StorageError;
      expect(error).to.be.instanceOf(StorageError);
      expect(error.message).to.contain('run `await storage.migrate()` once');
      await pg.open().migrate();
      expect((await pg.pool.query(`SELECT version FROM "${pg.schema}".schema_version`)).rows).to.deep.equal([{ version: SCHEMA_VERSION }]);
      expect((await pg.storage.readRecord('kept'))?.record.status).to.equal('completed');
      // A lease taken before version 3 has no owner's session to look at: it waits for its expiry.
      expect(await pg.storage.readLease('held')).to.deep.include({ owner: 'a run of 0.1' });
      expect(await pg.storage.deadLeases(10)).to.deep.equal([]);
      expect(await pg.storage.acquireLease('held', 'me', 1000)).to.deep.include({ acquired: false, holder: 'a run of 0.1' });
      await pg.storage.addEnded({ workflowId: 'kept', status: 'completed', endedAt: 5 });
      expect(await pg.storage.endedBefore('completed', 10, 10)).to.deep.equal([{ workflowId: 'kept', status: 'completed', endedAt: 5 }]);
    });

    it('takes the smallest retry options there are: one try, no wait', () => {
      expect(() => new PostgresStorage({ pool: pg.pool, retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 } })).to.not.throw();
    });

    it('refuses retry options it cannot honour, naming them', () => {
      for (const retry of [{ attempts: 0 }, { attempts: 1.5 }, { baseDelayMs: -1 }, { maxDelayMs: Number.NaN }]) {
        expect(() => new PostgresStorage({ pool: pg.pool, retry }), JSON.stringify(retry)).to.throw(InvalidOptionError, `PostgresStorage retry.${Object.keys(retry)[0]}`);
      }
    });

    it('takes only a lowercase identifier as schema name', () => {
      for (const schema of ['Waymark', 'a;drop', '1abc', '', 'x'.repeat(64), 'a"b']) {
        expect(() => new PostgresStorage({ pool: pg.pool, schema }), schema).to.throw(InvalidOptionError);
      }
    });
  });

  describe('one round trip per durable step', () => {
    it('commits a step in one statement, fenced by the lease in that same statement', async () => {
      const { lease } = (await pg.storage.acquireLease('job', 'me', 30_000)) as { acquired: true; lease: import('../../../lib/storage/records').Lease };
      const statements: string[] = [];
      const query = pg.pool.query.bind(pg.pool);
      (pg.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        statements.push(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text);
        return (query as (...a: unknown[]) => unknown)(...args);
      };
      await pg.storage.commit('job', sampleCheckpoint('s1'), lease);
      expect(statements).to.have.length(1);
      expect(statements[0]).to.match(/WITH held AS .* FOR SHARE\) INSERT INTO/s);
    });

    it('writes nothing once the lease expired by the database clock, even untaken', async () => {
      const attempt = await pg.storage.acquireLease('job', 'me', 1);
      if (!attempt.acquired) throw new Error('not acquired');
      await pg.pool.query('SELECT pg_sleep(0.01)');
      const error = await pg.storage.commit('job', sampleCheckpoint('late'), attempt.lease).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(LeaseLostError);
      expect((await pg.pool.query(`SELECT count(*)::int AS n FROM "${pg.schema}".checkpoints`)).rows[0].n).to.equal(0);
    });

    it('a commit racing a takeover lands before it or not at all: nothing of the old owner appears after the new one loaded (10 rounds)', async () => {
      for (let round = 0; round < 10; round++) {
        const id = `race-${round}`;
        const first = await pg.storage.acquireLease(id, 'old', 40);
        if (!first.acquired) throw new Error('not acquired');
        const other = pg.open();
        // The old owner commits step after step until it is fenced out; the new owner polls for the
        // lease and loads as soon as it has it.
        const old = (async () => {
          for (let i = 0; ; i++) {
            try {
              await pg.storage.commit(id, sampleCheckpoint(`old-${i}`, i), first.lease);
            } catch (error) {
              expect(error).to.be.instanceOf(LeaseLostError);
              return i;
            }
          }
        })();
        const seen = (async () => {
          for (;;) {
            const taken = await other.acquireLease(id, 'new', 30_000);
            if (taken.acquired) return (await other.load(id))?.committedSteps ?? [];
          }
        })();
        const [written, atTakeover] = await Promise.all([old, seen]);
        const after = (await pg.storage.load(id))?.committedSteps ?? [];
        expect(written, 'the old owner committed before its lease ran out').to.be.greaterThan(0);
        expect([...after].sort(), 'nothing landed after the takeover').to.deep.equal([...atTakeover].sort());
      }
    });

    it('a commit held up past its lease expiry lands before the takeover, never after the new owner loaded', async () => {
      const first = await pg.storage.acquireLease('slow', 'old', 300);
      if (!first.acquired) throw new Error('not acquired');
      const waitingOn = async (pattern: string) =>
        (await pg.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [pattern])).rows.length === 1;
      // Another transaction holds the checkpoint's key, so the old owner's commit waits inside its statement.
      const blocker = await pg.pool.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`INSERT INTO "${pg.schema}".checkpoints (workflow_id, step, data) VALUES ('slow', 's', '{}')`);
        const commit = pg.storage.commit('slow', sampleCheckpoint('s'), first.lease).then(() => 'committed', (e: unknown) => e);
        await until(() => waitingOn(`%INSERT INTO "${pg.schema}".checkpoints%FROM held%`));
        // The lease runs out (by the database clock) while the commit waits.
        await pg.pool.query(`SELECT pg_sleep(greatest(0, extract(epoch FROM expires_at - clock_timestamp())) + 0.02) FROM "${pg.schema}".leases WHERE workflow_id = 'slow'`);
        const other = pg.open();
        let loaded: readonly string[] | undefined;
        const takeover = (async () => {
          for (;;) {
            const taken = await other.acquireLease('slow', 'new', 30_000);
            if (taken.acquired) return (loaded = (await other.load('slow'))?.committedSteps ?? []);
          }
        })();
        // The takeover either finishes (and loads) now, or waits for the commit in flight.
        await until(async () => loaded !== undefined || (await waitingOn(`%INSERT INTO "${pg.schema}".leases%`)));
        await blocker.query('ROLLBACK');
        const [outcome, atTakeover] = await Promise.all([commit, takeover]);
        const after = (await pg.storage.load('slow'))?.committedSteps ?? [];
        expect(after, 'what the new owner loaded is all there is').to.deep.equal(atTakeover);
        expect(outcome === 'committed' ? ['s'] : [], 'the commit, if it landed, landed before the takeover').to.deep.equal(atTakeover);
      } finally {
        blocker.release();
      }
    });
  });

  describe('loads', () => {
    it('loads the record and step names in one query, without outputs', async () => {
      await pg.storage.writeRecord('job', sampleRecord('job'), null);
      for (let i = 0; i < 3; i++) await pg.storage.commit('job', sampleCheckpoint(`s${i}`, 'x'.repeat(1000)));
      const statements: string[] = [];
      const query = pg.pool.query.bind(pg.pool);
      (pg.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        statements.push(typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text);
        return (query as (...a: unknown[]) => unknown)(...args);
      };
      const loaded = await pg.storage.load('job');
      expect(loaded?.committedSteps.slice().sort()).to.deep.equal(['s0', 's1', 's2']);
      expect(statements).to.have.length(1);
      expect(statements[0]).to.not.contain('data');
    });

    it('a resume reads the outputs it needs in one query: the dependency of the first step to run', async () => {
      let failing = true;
      class Ten {}
      for (let i = 0; i < 10; i++) {
        const name = `s${i}`;
        Object.defineProperty(Ten.prototype, name, {
          value: (ctx: StepContext<unknown, number | undefined>) => {
            if (i === 7 && failing) throw new Error('crash at s7');
            return (ctx.previous ?? 0) + 1;
          },
        });
        Step()(Ten.prototype, name, Object.getOwnPropertyDescriptor(Ten.prototype, name)!);
      }
      const runner = new WorkflowRunner({ storage: pg.storage, tracer: false });
      await runner.run(new Ten(), { workflowId: 'ten' }).catch(() => undefined);
      failing = false;
      const statements: [string, unknown[]][] = [];
      const query = pg.pool.query.bind(pg.pool);
      (pg.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        statements.push(typeof args[0] === 'string' ? [args[0], (args[1] ?? []) as unknown[]] : [(args[0] as { text: string }).text, [...(args[0] as { values: unknown[] }).values]]);
        return (query as (...a: unknown[]) => unknown)(...args);
      };
      const result = await runner.run(new Ten(), { workflowId: 'ten', resume: true });
      expect(result.output).to.equal(10);
      const reads = statements.filter(([sql]) => /SELECT .*data FROM .*checkpoints/s.test(sql));
      expect(reads, 'one read of outputs').to.have.length(1);
      expect(reads[0]![1][1]).to.deep.equal(['s6']);
      expect(statements.filter(([sql]) => /ARRAY\(SELECT step FROM/.test(sql)), 'one load of names and record').to.have.length(1);
    });

    it('scans due wakes through the index (EXPLAIN), not the whole table', async () => {
      await pg.pool.query(`INSERT INTO "${pg.schema}".wakes (wake_at, workflow_id) SELECT g, 'w' || g FROM generate_series(1, 20000) g`);
      await pg.pool.query(`ANALYZE "${pg.schema}".wakes`);
      const { rows } = await pg.pool.query(`EXPLAIN SELECT wake_at, workflow_id FROM "${pg.schema}".wakes WHERE wake_at <= 10 ORDER BY wake_at, workflow_id LIMIT 100`);
      const plan = rows.map((r) => r['QUERY PLAN'] as string).join('\n');
      expect(plan).to.match(/Index (Only )?Scan using wakes_pkey/);
      expect(plan).to.not.contain('Seq Scan');
      expect(await pg.storage.dueWakes(10, 100)).to.have.length(10);
    });
  });

  describe('exact namespaces and safe SQL', () => {
    const ids = [`it's`, 'back\\slash', '100%', 'a_b', 'a%', `"; DROP TABLE workflows; --`, 'ünïcødé ✓ 🎉'];
    it('stores, reads and clears ids full of quotes, backslashes, % and _ exactly', async () => {
      for (const id of ids) {
        await pg.storage.writeRecord(id, sampleRecord(id), null);
        await pg.storage.commit(id, sampleCheckpoint(`step '${id}'`, id));
      }
      expect(await pg.storage.list()).to.deep.equal([...ids].sort());
      await pg.storage.clear('a%');
      expect(await pg.storage.list()).to.deep.equal(ids.filter((id) => id !== 'a%').sort());
      const loaded = await pg.storage.load('a_b');
      expect(loaded?.committedSteps).to.deep.equal([`step 'a_b'`]);
      expect((await pg.storage.readCheckpoint('a_b', `step 'a_b'`)).output).to.equal('a_b');
    });
  });

  describe('faults', () => {
    /**
     * The real pool, except that the next statement matching `pattern` runs on the server and then
     * fails as if its connection had dropped before the answer came back: the write landed, the
     * caller does not know it. The database is real; only the answer is lost.
     */
    function losingAnswers(pattern: RegExp, error: () => Error, attempts = 8): { storage: PostgresStorage; lost: () => number } {
      let lost = 0;
      let armed = true;
      const real = pg.pool;
      const pool = {
        connect: () => real.connect(),
        query: async (config: { text: string; values: unknown[] }) => {
          const result = await real.query(config);
          if (armed && pattern.test(config.text)) {
            armed = false;
            lost++;
            throw error();
          }
          return result;
        },
      } as unknown as Pool;
      return { storage: new PostgresStorage({ pool, schema: pg.schema, retry: { attempts, baseDelayMs: 1 } }), lost: () => lost };
    }
    const dropped = (code: string) => () => Object.assign(new Error('connection lost'), { code });

    it('a write whose answer was lost is tried again and recognised as its own: no false conflict, no double write', async () => {
      const creates = losingAnswers(/INSERT INTO .*workflows/s, dropped('08006'));
      expect(await creates.storage.writeRecord('lost', sampleRecord('lost'), null)).to.equal('1');
      const replaces = losingAnswers(/UPDATE .*workflows/s, dropped('08006'));
      expect(await replaces.storage.writeRecord('lost', { ...sampleRecord('lost'), fingerprint: 'b'.repeat(64) }, '1')).to.equal('2');
      // Someone else's record is still a conflict.
      const stale = losingAnswers(/UPDATE .*workflows/s, dropped('08006'));
      await stale.storage.writeRecord('lost', { ...sampleRecord('lost'), fingerprint: 'c'.repeat(64) }, '2');
      const conflict = await stale.storage.writeRecord('lost', { ...sampleRecord('lost'), fingerprint: 'd'.repeat(64) }, '2').catch((e: unknown) => e);
      expect(conflict).to.be.instanceOf(RecordConflictError);
      expect([creates.lost(), replaces.lost(), stale.lost()]).to.deep.equal([1, 1, 1]);
    });

    it('an acquire, an event and a commit whose answers were lost: the lease is ours, the event stored once and reported stored, the step committed once', async () => {
      const acquire = losingAnswers(/INSERT INTO .*leases/s, dropped('57P01'));
      const attempt = await acquire.storage.acquireLease('lost', 'me', 30_000);
      expect(attempt.acquired).to.equal(true);
      const put = losingAnswers(/INSERT INTO .*events/s, dropped('ECONNRESET'));
      expect(await put.storage.putEvent('lost', sampleEvent('e1', 1000))).to.equal(true);
      expect(await put.storage.putEvent('lost', sampleEvent('e1', 2000))).to.equal(false);
      const commit = losingAnswers(/INSERT INTO .*checkpoints/s, () => new Error('Connection terminated unexpectedly'));
      if (!attempt.acquired) throw new Error('not acquired');
      await commit.storage.commit('lost', sampleCheckpoint('s', 'once'), attempt.lease);
      expect((await pg.storage.load('lost'))?.committedSteps).to.deep.equal(['s']);
      expect([acquire.lost(), put.lost(), commit.lost()]).to.deep.equal([1, 1, 1]);
    });

    it('retries each transient failure code, and no other', async () => {
      for (const code of ['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '40001', '40P01', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']) {
        const { storage } = losingAnswers(/SELECT pg_notify/, dropped(code));
        await storage.notifyWake(`w-${code}`);
      }
      const { storage } = losingAnswers(/SELECT pg_notify/, dropped('23505'));
      const error = (await storage.notifyWake('w').catch((e: unknown) => e)) as StorageError;
      expect(error).to.be.instanceOf(StorageError);
      expect(error).to.include({ workflowId: 'w', operation: 'notify wake' });
      // One try only: the first failure is reported.
      const once = losingAnswers(/SELECT pg_notify/, dropped('08006'), 1);
      expect(await once.storage.notifyWake('w').catch((e: unknown) => e)).to.be.instanceOf(StorageError);
    });

    it('clear reports every row it deleted: record, checkpoints and events', async () => {
      await pg.storage.writeRecord('full', sampleRecord('full'), null);
      await pg.storage.commit('full', sampleCheckpoint('a'));
      await pg.storage.commit('full', sampleCheckpoint('b'));
      await pg.storage.putEvent('full', sampleEvent('e', 1000));
      const progress: [number, number][] = [];
      await pg.storage.clear('full', { onProgress: (done, total) => progress.push([done, total]) });
      expect(progress).to.deep.equal([[4, 4]]);
    });

    it('a connection killed mid-commit: the commit is retried and lands once, whole', async () => {
      const first = await pg.storage.acquireLease('killed', 'me', 30_000);
      if (!first.acquired) throw new Error('not acquired');
      const blocker = await pg.pool.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`INSERT INTO "${pg.schema}".checkpoints (workflow_id, step, data) VALUES ('killed', 's', '{}')`);
        const commit = pg.storage.commit('killed', sampleCheckpoint('s', 'whole'), first.lease);
        let pid: number | undefined;
        await until(async () => {
          const { rows } = await pg.pool.query(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, [`%INSERT INTO "${pg.schema}".checkpoints%FROM held%`]);
          pid = rows[0]?.pid as number | undefined;
          return pid !== undefined;
        });
        await pg.pool.query('SELECT pg_terminate_backend($1)', [pid]);
        await blocker.query('ROLLBACK');
        await commit;
        expect((await pg.storage.readCheckpoint('killed', 's')).output).to.equal('whole');
        const { rows } = await pg.pool.query(`SELECT count(*)::int AS n FROM "${pg.schema}".checkpoints WHERE workflow_id = 'killed'`);
        expect(rows[0].n).to.equal(1);
      } finally {
        blocker.release();
      }
    });

    it('a statement that keeps failing is reported as StorageError naming the workflow, step and operation', async () => {
      const first = await pg.storage.acquireLease('gone', 'me', 30_000);
      if (!first.acquired) throw new Error('not acquired');
      await pg.pool.query(`DROP TABLE "${pg.schema}".checkpoints`);
      const error = (await pg.storage.commit('gone', sampleCheckpoint('s'), first.lease).catch((e: unknown) => e)) as StorageError;
      expect(error).to.be.instanceOf(StorageError);
      expect(error).to.include({ workflowId: 'gone', step: 's', operation: 'commit' });
    });

    it('a pool with every connection taken: steps wait for one, and the run completes', async () => {
      const pool = new Pool({ connectionString: PG_URL, max: 1 });
      pool.on('error', () => undefined);
      const storage = new PostgresStorage({ pool, schema: pg.schema });
      const held = await pool.connect();
      class Two {
        @Step() one() {
          return 1;
        }
        @Step() two(ctx: StepContext<unknown, number>) {
          return ctx.previous + 1;
        }
      }
      const run = new WorkflowRunner({ storage, tracer: false }).run(new Two(), { workflowId: 'exhausted' });
      held.release();
      expect((await run).output).to.equal(2);
      await pool.end();
    });

    it('a run whose connections are all killed between steps resumes, each step committed exactly once', async () => {
      let killed = false;
      const runs: string[] = [];
      class Killed {
        @Step() one() {
          runs.push('one');
          return 1;
        }
        @Step() async two(ctx: StepContext<unknown, number>) {
          runs.push('two');
          if (!killed) {
            killed = true;
            await pg.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1`, [`%"${pg.schema}"%`]);
          }
          return ctx.previous + 1;
        }
        @Step() three(ctx: StepContext<unknown, number>) {
          runs.push('three');
          return ctx.previous + 1;
        }
      }
      const runner = new WorkflowRunner({ storage: pg.storage, tracer: false });
      const result = await runner.run(new Killed(), { workflowId: 'killed-run', resume: true }).catch((e: unknown) => e);
      const output = result instanceof WorkflowFailedError ? (await runner.run(new Killed(), { workflowId: 'killed-run', resume: true })).output : (result as { output: number }).output;
      expect(output).to.equal(3);
      const { rows } = await pg.pool.query(`SELECT step FROM "${pg.schema}".checkpoints WHERE workflow_id = 'killed-run' ORDER BY step`);
      expect(rows.map((r) => r.step)).to.deep.equal(['one', 'three', 'two']);
      expect(runs.filter((r) => r === 'one')).to.have.length(1);
    });
  });
});
