/**
 * PostgreSQL tells at once that a lease's owner died: the owner's process keeps a session holding an
 * advisory lock while it holds leases, and the database drops the lock with the session.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freshSchema, PG_URL, type PgFixture } from '../../helpers/postgres';
import { TS_REGISTER } from '../../helpers/child';

const ROOT = join(__dirname, '..', '..', '..');

/** A process that takes the lease of `workflowId` and holds it for an hour, until killed. */
async function holder(pg: PgFixture, workflowId: string): Promise<{ child: ChildProcess; pid: number }> {
  const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, 'spec/fixtures/hold-lease.ts'), `postgres:${PG_URL}|${pg.schema}`, workflowId], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d) => resolve(String(d)));
    child.once('exit', (code) => reject(new Error(`the holder exited ${code}: ${stderr}`)));
  });
  const held = JSON.parse(line) as { acquired: boolean; pid: number };
  expect(held.acquired).to.equal(true);
  return { child, pid: held.pid };
}

/** Resolves once `check` is true; the database drops a dead session's locks as it notices the socket closed. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`never: ${what}`);
}

describe('PostgresStorage: the owner of a lease is known dead at once', function () {
  this.timeout(60_000);
  let pg: PgFixture;
  beforeEach(async () => (pg = await freshSchema()));
  afterEach(async () => {
    await pg.storage.close();
    await pg.drop();
  });

  it('a SIGKILLed holder of an hour-long lease: its lease reads as nobody\'s, is named by deadLeases, and is taken over now', async () => {
    const { child, pid } = await holder(pg, 'job');
    try {
      expect(await pg.storage.acquireLease('job', 'me', 60_000)).to.deep.include({ acquired: false, holder: `holder pid ${pid}` });
      expect(await pg.storage.readLease('job')).to.deep.include({ owner: `holder pid ${pid}` });
      expect(await pg.storage.deadLeases(10)).to.deep.equal([]);
      child.kill('SIGKILL');
      await eventually(async () => (await pg.storage.deadLeases(10)).includes('job'), 'the dead holder is seen');
      expect(await pg.storage.readLease('job')).to.equal(undefined);
      const taken = await pg.storage.acquireLease('job', 'me', 60_000);
      expect(taken.acquired).to.equal(true);
      expect(await pg.storage.deadLeases(10), 'the new lease is alive').to.deep.equal([]);
      if (taken.acquired) await pg.storage.releaseLease(taken.lease);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a live holder whose session was cut (a database restart) gets its leases back under a new session', async () => {
    const storage = pg.open();
    const held = await storage.acquireLease('kept', 'a live run', 60_000);
    if (!held.acquired) throw new Error('not acquired');
    const sessions = await pg.pool.query(
      `SELECT p.pid FROM pg_locks p JOIN "${pg.schema}".leases l ON p.classid = l.presence_a::oid AND p.objid = l.presence_b::oid WHERE p.locktype = 'advisory' AND l.workflow_id = 'kept'`,
    );
    expect(sessions.rows).to.have.length(1);
    await pg.pool.query('SELECT pg_terminate_backend($1)', [sessions.rows[0]!.pid]);
    // Dead for a moment; then the owner's new session stamps the lease it still holds.
    await eventually(async () => (await pg.storage.readLease('kept')) !== undefined && (await pg.storage.deadLeases(10)).length === 0 && (await pg.pool.query(`SELECT 1 FROM pg_locks p JOIN "${pg.schema}".leases l ON p.classid = l.presence_a::oid AND p.objid = l.presence_b::oid WHERE p.locktype = 'advisory' AND p.pid <> $1`, [sessions.rows[0]!.pid])).rows.length === 1, 'the lease is stamped again');
    expect(await pg.storage.acquireLease('kept', 'another', 60_000)).to.deep.include({ acquired: false, holder: 'a live run' });
    expect(await storage.renewLease(held.lease, 60_000)).to.not.equal(undefined);
    await storage.releaseLease(held.lease);
    await storage.close();
  });

  it('closes its session once no lease is held, and opens one again for the next lease', async () => {
    const storage = pg.open();
    const sessionsOf = async () => (await pg.pool.query(`SELECT count(*)::int AS n FROM pg_locks p JOIN "${pg.schema}".leases l ON p.classid = l.presence_a::oid AND p.objid = l.presence_b::oid WHERE p.locktype = 'advisory'`)).rows[0]!.n as number;
    const first = await storage.acquireLease('a', 'me', 60_000);
    if (!first.acquired) throw new Error('not acquired');
    expect(await sessionsOf()).to.equal(1);
    await storage.releaseLease(first.lease);
    await storage.close();
    const second = await storage.acquireLease('b', 'me', 60_000);
    if (!second.acquired) throw new Error('not acquired');
    expect(await sessionsOf(), 'a new session for the next lease').to.equal(1);
    await storage.releaseLease(second.lease);
    await storage.close();
  });
});
