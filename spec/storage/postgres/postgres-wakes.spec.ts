import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { PaidFlow } from '../../fixtures/paid-flow';
import { freshSchema, PG_URL, type PgFixture } from '../../helpers/postgres';
import { TS_REGISTER } from '../../helpers/child';

const ROOT = join(__dirname, '..', '..', '..');

describe('PostgresStorage wake notices (LISTEN/NOTIFY)', function () {
  this.timeout(60_000);
  let pg: PgFixture;
  beforeEach(async () => {
    pg = await freshSchema();
  });
  afterEach(async () => pg.drop());

  it('an event sent in this process wakes a worker in another process at once, though it polls every 10 minutes', async () => {
    const runner = new WorkflowRunner({ storage: pg.storage, workflows: [PaidFlow], maxInlineWaitMs: 0, tracer: false });
    const waiting = await runner.run(new PaidFlow(), { workflowId: 'order-1', input: { cents: 1250 } });
    expect(waiting.status).to.equal('waiting');

    const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, 'spec/fixtures/paid-flow.ts')], {
      cwd: ROOT,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', PG_URL, SCHEMA: pg.schema, WORKFLOW_ID: 'order-1' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const ready = new Promise<void>((resolve, reject) => {
      child.on('message', (m) => m === 'ready' && resolve());
      void exited.then(() => reject(new Error(`the worker exited before it was ready: ${stdout} ${stderr}`)));
    });
    try {
      await ready;
      // The worker's first scan found nothing due; only the notice can start the step before its next poll.
      await runner.sendEvent('order-1', 'paid', { by: 'card' });
      expect(await exited, stderr).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const output = JSON.parse(stdout) as { shipped: number; paidBy: string };
    expect(output).to.include({ shipped: 1250, paidBy: 'card' });
  });

  it('stops listening: the listening connection goes back to the pool', async () => {
    const heard: string[] = [];
    const stop = await pg.storage.listenWakes((id) => heard.push(id));
    await pg.open().notifyWake('w-1');
    const other = pg.open();
    // A notice is delivered to a listener once the notifying transaction commits; poll by query until it is.
    for (let i = 0; i < 200 && heard.length === 0; i++) await other.readLease('poll');
    expect(heard).to.deep.equal(['w-1']);
    await stop();
    await pg.open().notifyWake('w-2');
    await other.readLease('poll');
    expect(heard).to.deep.equal(['w-1']);
    expect(pg.pool.totalCount - pg.pool.idleCount, 'no client still checked out').to.equal(0);
  });
});
