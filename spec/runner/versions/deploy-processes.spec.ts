/**
 * The deploy of deploy.spec.ts played by worker processes, as an operator meets it, on SqliteStorage:
 * a process with version 1 starts 20 shipments that wait on events (each with a timeout) and timers,
 * and is stopped; a process with versions 1 and 2 finishes old runs on 1 while new ones start on 2;
 * a process with version 2 alone reports the rest stranded, once each, running nothing; a migration
 * moves them and that process finishes them on 2; a restart from a step runs it and its dependent again.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { SqliteStorage } from '../../../lib/storage/sqlite';
import { ShipmentV1, ShipmentV2 } from '../../fixtures/deploy-flows';
import { TS_REGISTER } from '../../helpers/child';
import { within } from '../../helpers/deferred';
import { tempDir } from '../../helpers/temp-dir';

const ROOT = join(__dirname, '..', '..', '..');

/** A deploy-worker process; resolves `ready` once its worker runs, `stop()` once it stopped and exited. */
function workerProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['-r', TS_REGISTER, join(ROOT, 'spec/fixtures/deploy-worker.ts')], { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    void exited.then((code) => reject(new Error(`the worker exited with ${code} before it was ready: ${stderr}`)));
  });
  return {
    pid: String(child.pid),
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      expect(await exited, stderr).to.equal(0);
    },
  };
}

describe('a deploy played across worker processes (SqliteStorage)', function () {
  this.timeout(120_000);

  it('old runs finish on their version, new ones start on the newest, stranded ones are told once and never run, and a migration moves them', async () => {
    const dir = await tempDir('waymark-deploy-');
    const path = join(dir.path, 'waymark.db');
    const journal = join(dir.path, 'journal');
    const lines = (): string[][] => {
      try {
        return readFileSync(journal, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' '));
      } catch {
        return [];
      }
    };
    const ranBy = (pid: string, id: string) => lines().filter(([p, w]) => p === pid && w === id).map(([, , step]) => step);
    const until = async (what: string, condition: () => boolean | Promise<boolean>) => within((async () => { while (!(await condition())) await new Promise((r) => setTimeout(r, 25)); })(), 30_000, what);
    const storage = new SqliteStorage({ path });
    const admin = new WorkflowRunner({ storage, workflows: [ShipmentV1, ShipmentV2], tracer: false });
    try {
      // s-0..s-9 wait to be labelled; s-10..s-19 are labelled now: s-10..s-14 then wait for their
      // dispatch time, s-15..s-19 are dispatched and wait to be delivered. Events wait with a timer (their timeout).
      const soon = Date.now() + 4_000;
      const dispatchAt = Array.from({ length: 20 }, (_, i) => (i >= 10 && i < 15 ? soon : 0));
      const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `s-${from + i}`);
      const first = workerProcess({ STORE: `sqlite:${path}`, VERSIONS: '1', START: '20', DISPATCH_AT: dispatchAt.join(','), JOURNAL: journal });
      await first.ready;
      for (const id of ids(10, 20)) await admin.sendEvent(id, 'labelled');
      await until('the first process labels s-10..s-19, and dispatches s-15..s-19', () => ids(10, 20).every((id) => ranBy(first.pid, id).includes('v1.label')) && ids(15, 20).every((id) => ranBy(first.pid, id).includes('v1.dispatch')));
      await first.stop();
      expect((await admin.list({ workflowName: 'shipment', version: 1, status: 'waiting' })).items.length, 'all wait (unless a timer came already)').to.be.at.least(15);

      // Versions 1 and 2: s-0, s-1 (labelled and delivered now) and s-10..s-14 (when their time comes) finish on 1; a new run starts on 2.
      const both = workerProcess({ STORE: `sqlite:${path}`, VERSIONS: '1,2', JOURNAL: journal });
      await both.ready;
      for (const id of ['s-0', 's-1']) await admin.sendEvent(id, 'labelled');
      for (const id of ['s-0', 's-1', ...ids(10, 15)]) await admin.sendEvent(id, 'delivered');
      await admin.run(admin.workflowInstance('shipment'), { workflowId: 'n-0', input: { dispatchAt: 0 } });
      expect((await admin.get('n-0'))!.version, 'new runs start on the newest version').to.equal(2);
      await admin.sendEvent('n-0', 'labelled');
      await admin.sendEvent('n-0', 'delivered');
      const finishedOnOne = ['s-0', 's-1', ...ids(10, 15)];
      await until('old runs finish on version 1', async () => (await Promise.all([...finishedOnOne, 'n-0'].map((id) => admin.get(id)))).every((i) => i!.status === 'completed'));
      expect(ranBy(both.pid, 's-0')).to.deep.equal(['v1.label', 'v1.dispatch', 'v1.deliver']);
      for (const id of ids(10, 15)) expect([...ranBy(first.pid, id), ...ranBy(both.pid, id)], id).to.deep.equal(['v1.pack', 'v1.label', 'v1.dispatch', 'v1.deliver']);
      expect(ranBy(both.pid, 'n-0')).to.deep.equal(['v2.tag', 'v2.dispatch', 'v2.deliver', 'v2.track']);
      for (const id of finishedOnOne) expect((await admin.get(id))!.version, id).to.equal(1);
      await both.stop();

      // Version 2 alone: what comes due is stranded, told once each, and nothing runs.
      const left = [...ids(2, 10), ...ids(15, 20)];
      const due = ['s-2', 's-3', 's-4', 's-15', 's-16', 's-17'];
      const second = workerProcess({ STORE: `sqlite:${path}`, VERSIONS: '2', JOURNAL: journal });
      await second.ready;
      for (const id of ['s-2', 's-3', 's-4']) await admin.sendEvent(id, 'labelled');
      for (const id of ['s-15', 's-16', 's-17']) await admin.sendEvent(id, 'delivered');
      const told = () => lines().filter(([p, kind]) => p === second.pid && kind === 'told');
      await until('every due version-1 run is told stranded', () => due.every((id) => told().some(([, , w]) => w === id)));
      expect(told().every(([, , , code]) => code === 'WAYMARK_WORKFLOW_NOT_REGISTERED')).to.equal(true);
      expect(told().length, 'each told once').to.equal(new Set(told().map(([, , w]) => w)).size);
      expect(lines().filter(([p, kind]) => p === second.pid && kind !== 'told'), 'nothing ran').to.deep.equal([]);
      const v2Only = new WorkflowRunner({ storage, workflows: [ShipmentV2], tracer: false });
      expect((await v2Only.list({ stranded: true })).items.map((i) => i.workflowId).sort()).to.deep.equal([...left].sort());
      for (const id of left) expect((await admin.get(id))!.status, `${id} never failed`).to.equal('waiting');

      // Migrated, the version-2 process finishes them: label is tag now, and committed steps do not run again.
      for (const id of left) expect(await admin.migrate(id, { to: 2 })).to.deep.include({ from: 1, to: 2 });
      for (const id of ids(5, 10)) await admin.sendEvent(id, 'labelled');
      for (const id of [...ids(2, 10), 's-18', 's-19']) await admin.sendEvent(id, 'delivered');
      await until('the migrated runs complete on version 2', async () => (await Promise.all(left.map((id) => admin.get(id)))).every((i) => i!.status === 'completed'));
      for (const id of ids(2, 10)) expect(ranBy(second.pid, id), id).to.deep.equal(['v2.tag', 'v2.dispatch', 'v2.deliver', 'v2.track']);
      for (const id of ids(15, 20)) expect(ranBy(second.pid, id), id).to.deep.equal(['v2.deliver', 'v2.track']);
      for (const id of ids(15, 20)) expect((await admin.get(id, { outputs: true }))!.output).to.equal('tracking: dispatched v1');

      // A restart from a step runs it and its dependent again in that process; the event it consumed is consumed again.
      await admin.restart('s-15', { from: 'deliver' });
      await until('the restarted run completes', async () => (await admin.get('s-15'))!.status === 'completed' && ranBy(second.pid, 's-15').length === 4);
      expect(ranBy(second.pid, 's-15')).to.deep.equal(['v2.deliver', 'v2.track', 'v2.deliver', 'v2.track']);
      expect(ranBy(second.pid, 's-16'), 'nothing else ran again').to.deep.equal(['v2.deliver', 'v2.track']);
      await second.stop();
      // Across the three processes, no step of any run ran twice (but the restarted ones).
      const counts = new Map<string, number>();
      for (const [, id, step] of lines().filter(([, kind]) => kind !== 'told')) {
        const key = `${id} ${step!.replace(/^v\d\./, '').replace('label', 'tag')}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      expect([...counts].filter(([key, n]) => n > 1 && !key.startsWith('s-15 '))).to.deep.equal([]);
    } finally {
      await storage.close();
      await dir.remove();
    }
  });
});
