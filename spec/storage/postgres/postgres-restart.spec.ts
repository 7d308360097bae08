import { expect } from 'chai';
import { Pool } from 'pg';
import { Step } from '../../../decorators';
import type { StepContext } from '../../../lib/runner/step-context';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { PostgresStorage } from '../../../lib/storage/postgres';
import { startOwnPostgres, type OwnPostgres } from '../../helpers/own-postgres';

describe('PostgresStorage across a server restart', function () {
  this.timeout(120_000);
  let server: OwnPostgres;
  before(async () => {
    server = await startOwnPostgres();
  });
  after(async () => server?.stop());

  it('a commit in flight when the server restarts is tried again once it is back, and lands once', async () => {
    const pool = new Pool({ connectionString: server.url, max: 4 });
    pool.on('error', () => undefined);
    const other = new Pool({ connectionString: server.url, max: 2 });
    other.on('error', () => undefined);
    try {
      const storage = new PostgresStorage({ pool });
      await storage.migrate();
      const held = await storage.acquireLease('in-flight', 'me', 60_000);
      if (!held.acquired) throw new Error('not acquired');
      // Another transaction holds the checkpoint's key: the commit waits inside its statement.
      const blocker = await other.connect();
      blocker.on('error', () => undefined);
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO waymark.checkpoints (workflow_id, step, data) VALUES ('in-flight', 's', '{}')`);
      const commit = storage.commit('in-flight', { formatVersion: 1, step: 's', status: 'completed', attempts: 1, committedAt: new Date().toISOString(), output: 'whole' }, held.lease);
      for (let i = 0; ; i++) {
        const { rows } = await other.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%FROM held%'`);
        if (rows.length === 1) break;
        if (i === 500) throw new Error('the commit never waited');
      }
      // The fast shutdown terminates the waiting commit (and the blocker, rolling it back).
      await server.restart();
      blocker.release(true);
      await commit;
      expect((await storage.readCheckpoint('in-flight', 's')).output).to.equal('whole');
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM waymark.checkpoints WHERE workflow_id = 'in-flight'`);
      expect(rows[0].n).to.equal(1);
    } finally {
      await pool.end();
      await other.end();
    }
  });

  it('a server restarted mid-run: the run goes on, every step committed exactly once, none run twice', async () => {
    const pool = new Pool({ connectionString: server.url, max: 4 });
    pool.on('error', () => undefined);
    try {
      const storage = new PostgresStorage({ pool });
      await storage.migrate();
      const runs: string[] = [];
      class Restarted {
        @Step() one() {
          runs.push('one');
          return 1;
        }
        @Step() async two(ctx: StepContext<unknown, number>) {
          runs.push('two');
          // Every connection the pool holds is terminated; the server is up again when this resolves.
          await server.restart();
          return ctx.previous + 1;
        }
        @Step() three(ctx: StepContext<unknown, number>) {
          runs.push('three');
          return ctx.previous + 1;
        }
      }
      const result = await new WorkflowRunner({ storage, tracer: false }).run(new Restarted(), { workflowId: 'restarted' });
      expect(result.output).to.equal(3);
      expect(runs).to.deep.equal(['one', 'two', 'three']);
      const { rows } = await pool.query(`SELECT step FROM waymark.checkpoints WHERE workflow_id = 'restarted' ORDER BY step`);
      expect(rows.map((r) => r.step)).to.deep.equal(['one', 'three', 'two']);
      expect((await storage.readRecord('restarted'))?.record.status).to.equal('completed');
    } finally {
      await pool.end();
    }
  });
});
