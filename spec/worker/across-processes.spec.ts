import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { runTs } from '../helpers/child';
import { freshSchema, PG_URL } from '../helpers/postgres';
import { tempDir } from '../helpers/temp-dir';

const FIXTURE = 'spec/fixtures/waiting-worker.ts';

/** `<step> <workflowId>` of each step start, in order, and which processes started them. */
function starts(events: string): { step: string; pid: string }[] {
  return readFileSync(events, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [pid, step, id] = line.split(' ');
      return { step: `${step} ${id}`, pid: pid! };
    });
}

/** The workflows whose lease a SqliteStorage database still keeps. */
async function leasesIn(path: string): Promise<unknown[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => { prepare(sql: string): { all(): Record<string, unknown>[] }; close(): void } };
  const db = new DatabaseSync(path);
  try {
    return db.prepare('SELECT workflow_id FROM leases').all().map((r) => r.workflow_id);
  } finally {
    db.close();
  }
}

describe('waits and recovery across processes (FileStorage)', function () {
  this.timeout(60_000);

  it('a timer outlives the process that wrote it: a worker started after it passed runs it at once, one started before runs it on time', async () => {
    const dir = await tempDir();
    try {
      const env = { STORE: join(dir.path, 'store'), EVENTS: join(dir.path, 'events.log'), DELAY_MS: '1500' };
      // A timer that passes while no process is up: the next worker runs it at its first scan.
      const late = JSON.parse((await runTs(FIXTURE, { ...env, MODE: 'run', WORKFLOW_ID: 'late' })).stdout);
      expect(late.status).to.equal('waiting');
      while (Date.now() <= Date.parse(late.wakeAt)) await new Promise((resolve) => setTimeout(resolve, Date.parse(late.wakeAt) - Date.now() + 1));
      const lateWorker = JSON.parse((await runTs(FIXTURE, { ...env, MODE: 'worker', UNTIL: 'late', POLL_MS: '600000' })).stdout);
      expect(lateWorker.late).to.deep.include({ status: 'completed', output: 11 });

      // A worker that is up before the timer is due runs it then, not before.
      const early = JSON.parse((await runTs(FIXTURE, { ...env, MODE: 'run', WORKFLOW_ID: 'early' })).stdout);
      expect(early.status).to.equal('waiting');
      const earlyWorker = JSON.parse((await runTs(FIXTURE, { ...env, MODE: 'worker', UNTIL: 'early' })).stdout);
      expect(earlyWorker.early).to.deep.include({ status: 'completed', output: 11 });
      expect(Date.parse(earlyWorker.early.steps.b.committedAt)).to.be.at.least(Date.parse(early.wakeAt), 'not before its time');
      const log = starts(env.EVENTS);
      expect(log.map((s) => s.step)).to.deep.equal(['a late', 'b late', 'c late', 'a early', 'b early', 'c early']);
      expect(log[1]!.pid).to.not.equal(log[0]!.pid, 'the process that wrote the wait had exited');
    } finally {
      await dir.remove();
    }
  });

  for (const kind of ['FileStorage', 'SqliteStorage', 'PostgresStorage'] as const) {
    it(`${kind}: a running worker resumes a SIGKILLed run at once, long before its 30 s lease expires: the store sees its owner is gone`, async () => {
      const dir = await tempDir();
      const pg = kind === 'PostgresStorage' ? await freshSchema() : undefined;
      try {
        const store = pg !== undefined ? `postgres:${PG_URL}|${pg.schema}` : kind === 'SqliteStorage' ? `sqlite:${join(dir.path, 'waymark.db')}` : join(dir.path, 'store');
        const env = { STORE: store, EVENTS: join(dir.path, 'events.log'), DELAY_MS: '0', LEASE_TTL_MS: '30000' };
        // The worker is up first, and polls rarely: the recovery comes from its sweep for dead owners.
        const worker = runTs(FIXTURE, { ...env, MODE: 'worker', UNTIL: 'killed', POLL_MS: '600000' });
        const crashed = await runTs(FIXTURE, { ...env, MODE: 'run', WORKFLOW_ID: 'killed', CRASH_AT: 'b' });
        const killedAt = Date.now();
        expect(crashed.signal).to.equal('SIGKILL');
        const done = await worker;
        expect(done.code, done.stderr + done.stdout).to.equal(0);
        const info = JSON.parse(done.stdout).killed;
        expect(info).to.deep.include({ status: 'completed', output: 11 });
        expect(Date.parse(info.steps.c.committedAt), 'finished before the dead lease expired').to.be.below(killedAt + 30_000);
        const log = starts(env.EVENTS);
        expect(log.map((s) => s.step)).to.deep.equal(['a killed', 'b killed', 'b killed', 'c killed']);
        if (kind === 'SqliteStorage') expect(await leasesIn(join(dir.path, 'waymark.db')), 'no lease left behind').to.deep.equal([]);
        else if (pg === undefined) expect(await readdir(join(store, 'locks')).catch(() => []), 'no lock left behind').to.deep.equal([]);
        else expect((await pg.pool.query(`SELECT workflow_id FROM "${pg.schema}".leases`)).rows, 'no lease left behind').to.deep.equal([]);
      } finally {
        await dir.remove();
        await pg?.drop();
      }
    });
  }

  it('a workflow whose process was SIGKILLed mid-step is finished by a worker in another process, nobody re-submitting it', async () => {
    const dir = await tempDir();
    try {
      const env = { STORE: join(dir.path, 'store'), EVENTS: join(dir.path, 'events.log'), DELAY_MS: '0', LEASE_TTL_MS: '500' };
      const crashed = await runTs(FIXTURE, { ...env, MODE: 'run', WORKFLOW_ID: 'job', CRASH_AT: 'b' });
      expect(crashed.signal).to.equal('SIGKILL');
      const reader = new WorkflowRunner({ storage: new FileStorage({ directory: env.STORE }) });
      expect((await reader.get('job'))!.status).to.equal('running');

      const worker = await runTs(FIXTURE, { ...env, MODE: 'worker', UNTIL: 'job' });
      expect(worker.code, worker.stderr + worker.stdout).to.equal(0);
      const info = JSON.parse(worker.stdout).job;
      expect(info).to.deep.include({ status: 'completed', output: 11 });
      const log = starts(env.EVENTS);
      expect(log.map((s) => s.step)).to.deep.equal(['a job', 'b job', 'b job', 'c job'], "'a' committed before the crash is not run again");
      expect(log[2]!.pid).to.not.equal(log[1]!.pid);
      expect(await new FileStorage({ directory: env.STORE }).dueWakes(Date.now() + 3_600_000, 10)).to.deep.equal([]);
    } finally {
      await dir.remove();
    }
  });
});
