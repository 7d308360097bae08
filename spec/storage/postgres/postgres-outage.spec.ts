/**
 * A worker on PostgreSQL through a network outage (a TCP proxy that resets every connection and
 * refuses new ones for a few seconds): the process keeps running, its scans fail and are reported,
 * and once the database answers again it listens again and wakes the timers that came due.
 */
import { expect } from 'chai';
import { Pool } from 'pg';
import { Step, Workflow } from '../../../decorators';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { PostgresStorage } from '../../../lib/storage/postgres';
import { WorkflowWorker } from '../../../lib/worker/workflow-worker';
import { freshSchema, PG_URL, type PgFixture } from '../../helpers/postgres';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy';

@Workflow({ name: 'outage-timer' })
class Later {
  @Step() first() {
    return 1;
  }
  @Step({ delayMs: 2_500 }) second() {
    return 2;
  }
}

describe('PostgresStorage through a network outage', function () {
  this.timeout(60_000);
  let pg: PgFixture;
  let proxy: TcpProxy;
  let pool: Pool;
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  beforeEach(async () => {
    pg = await freshSchema();
    const url = new URL(PG_URL);
    proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
    url.host = `127.0.0.1:${proxy.port}`;
    pool = new Pool({ connectionString: url.toString(), max: 4, connectionTimeoutMillis: 2_000 });
    // As README shows: an idle client whose connection died is dropped by the pool.
    pool.on('error', () => undefined);
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
  });
  afterEach(async () => {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
    await pool.end();
    await proxy.close();
    await pg.drop();
  });

  it('a worker keeps running while every connection drops for seconds, then listens again and wakes its timers', async () => {
    const storage = new PostgresStorage({ pool, schema: pg.schema });
    const runner = new WorkflowRunner({ storage, workflows: [Later], tracer: false });
    const worker = new WorkflowWorker({ runner, pollIntervalMs: 100, onError: () => undefined });
    await worker.start();
    try {
      expect((await runner.run(new Later(), { workflowId: 'later-1' })).status).to.equal('waiting');
      const completed = new Promise<void>((resolve) => runner.on('run:completed', ({ workflowId }) => workflowId === 'later-1' && resolve()));
      proxy.cut();
      // The outage outlasts several scans and the listener's reconnect attempts.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      proxy.restore();
      await completed;
      expect(worker.state()).to.equal('running');
      expect(crashes, 'nothing escaped to the process').to.deep.equal([]);
      // Listening again, on a new connection through the proxy.
      for (let i = 0; ; i++) {
        const { rows } = await pg.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'LISTEN "%' AND state = 'idle'`);
        if (rows[0].n >= 1) break;
        if (i === 100) throw new Error('the worker never listened again');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await worker.stop();
    }
    expect(crashes).to.deep.equal([]);
  });
});
