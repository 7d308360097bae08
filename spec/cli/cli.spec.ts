/**
 * The real `waymark` bin (bin/waymark.js over the built dist/) in a child process, against a real
 * FileStorage directory.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Step, Workflow } from '../../decorators';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import type { StepContext } from '../../lib/runner/step-context';
import { S3Storage } from '../../lib/storage/s3';
import { sampleCheckpoint } from '../../lib/testing';
import { OrderEtl, Warehouse } from '../../samples/order-etl/order-etl';
import { InvoiceFlow } from '../fixtures/invoice-flow';
import { SagaFlow } from '../fixtures/saga-flow';
import { PurchaseFlow } from '../fixtures/branch-flow';
import { InvoiceLines } from '../fixtures/fan-out-flow';
import { OrderV1, OrderV2 } from '../fixtures/order-versions';
import { freshSchema, PG_URL } from '../helpers/postgres';
import { startS3 } from '../helpers/s3-server';
import { tempDir } from '../helpers/temp-dir';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'waymark.js');

function waymark(args: string[], input?: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(BIN, args, { cwd: ROOT, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(error);
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Runs the bin on a pseudo-terminal (util-linux `script`), typing `input`. */
function waymarkOnTerminal(args: string[], input: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const command = [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(input);
  });
}

class Stamped {
  @Step() stamp(ctx: StepContext<{ at: Date; amount: number; blob: Buffer }>) {
    return { at: ctx.input.at, cents: BigInt(ctx.input.amount) * 100n, tags: new Set(['a']), none: undefined };
  }
}

class Shipping {
  @Step() pick() {
    return ['a', 'b'];
  }
  @Step() pack(ctx: { previous: string[] }) {
    return ctx.previous.length;
  }
  @Step() ship() {
    throw new Error('carrier down');
  }
}

describe('waymark CLI', function () {
  this.timeout(60_000);
  let dir: { path: string; remove: () => Promise<void> };
  let store: string;
  let storage: FileStorage;
  beforeEach(async () => {
    dir = await tempDir();
    store = `file:${dir.path}`;
    storage = new FileStorage({ directory: dir.path });
    const runner = new WorkflowRunner({ storage });
    await runner.run(new Shipping(), { workflowId: 'ship-1', input: { to: 'x' } }).catch(() => undefined);
    await runner.run(new Shipping(), { workflowId: 'ship-10', input: { to: 'y' } }).catch(() => undefined);
  });
  afterEach(() => dir.remove());

  it('is executable as installed', () => {
    accessSync(BIN, constants.X_OK);
  });

  it('list prints the workflow ids, or JSON', async () => {
    expect(await waymark(['list', '--store', store])).to.deep.include({ code: 0, stdout: 'ship-1\nship-10\n' });
    expect(JSON.parse((await waymark(['list', '--store', store, '--json'])).stdout)).to.deep.equal(['ship-1', 'ship-10']);
  });

  it('list --status keeps the workflows in those statuses; an unknown status is refused, naming the ones there are', async () => {
    expect(await waymark(['list', '--store', store, '--status', 'failed'])).to.deep.include({ code: 0, stdout: 'ship-1\nship-10\n' });
    expect(await waymark(['list', '--store', store, '--status=completed'])).to.deep.include({ code: 0, stdout: '' });
    expect(JSON.parse((await waymark(['list', '--store', store, '--status', 'running, failed', '--json'])).stdout)).to.deep.equal(['ship-1', 'ship-10']);
    const bad = await waymark(['list', '--store', store, '--status', 'paused']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain("'paused'").and.contain('running, waiting, completed, failed, cancelled, compensating, compensated, corrupted');
  });

  it('status shows the workflow status with its last error and creation time; the failed step with its attempts', async () => {
    const { stdout } = await waymark(['status', 'ship-1', '--store', store]);
    expect(stdout).to.contain('status       failed\n').and.contain("error        WAYMARK_STEP_FAILED in step 'ship': carrier down\n");
    expect(stdout).to.match(/created      \d{4}-\d\d-\d\dT[\d:.]+Z\n/);
    expect(stdout.split('\n').find((l) => l.startsWith('ship'))).to.match(/^ship\s+failed\s+1\s+-\s+-$/);
    const json = JSON.parse((await waymark(['status', 'ship-1', '--store', store, '--json'])).stdout);
    expect(json).to.deep.include({ status: 'failed', input: { to: 'x' } });
    expect(json.error).to.deep.include({ code: 'WAYMARK_STEP_FAILED', message: 'carrier down', step: 'ship', attempts: 1 });
    expect(json.error.stack).to.match(/^Error: carrier down\n\s+at Shipping\.ship /);
  });

  it('status --json shows stored values as JSON data, never the store\'s encoding: a Date as its ISO string, a BigInt with its n, bytes as { bytes, base64 }', async () => {
    const at = new Date('2026-12-01T08:00:00.000Z');
    await new WorkflowRunner({ storage }).run(new Stamped(), { workflowId: 'stamp-1', input: { at, amount: 12, blob: Buffer.from('hi') }, fingerprint: 'stamp-input-1' });
    const { stdout } = await waymark(['status', 'stamp-1', '--store', store, '--json']);
    expect(stdout).not.to.contain('$wm');
    const json = JSON.parse(stdout);
    expect(json.input).to.deep.equal({ at: at.toISOString(), amount: 12, blob: { bytes: 2, base64: 'aGk=' } });
    expect(json.output).to.deep.equal({ at: at.toISOString(), cents: '1200n', tags: ['a'], none: null });
  });

  it('status shows each step, attempts, commit time and output size, and the fingerprint', async () => {
    const { code, stdout } = await waymark(['status', 'ship-1', '--store', store]);
    expect(code).to.equal(0);
    const record = (await storage.load('ship-1'))!.record!;
    expect(stdout).to.contain(`fingerprint  ${record.fingerprint}`).and.contain('2 of 3 committed');
    const lines = stdout.split('\n');
    expect(lines.find((l) => l.startsWith('pick'))).to.match(/^pick\s+committed\s+1\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\d+ B$/);
    expect(lines.find((l) => l.startsWith('ship'))).to.match(/^ship\s+failed\s+1\s+-\s+-$/);

    const json = JSON.parse((await waymark(['status', 'ship-1', '--store', store, '--json'])).stdout);
    expect(json).to.deep.include({ workflowId: 'ship-1', workflowName: 'Shipping', fingerprint: record.fingerprint });
    expect(json.steps.map((s: { name: string; status: string; attempts?: number }) => [s.name, s.status, s.attempts])).to.deep.equal([
      ['pick', 'committed', 1],
      ['pack', 'committed', 1],
      ['ship', 'failed', 1],
    ]);
    expect(json.steps[0].outputBytes).to.equal(JSON.stringify(['a', 'b']).length);
  });

  it('status of an unknown workflow fails with exit code 1', async () => {
    const { code, stderr } = await waymark(['status', 'nope', '--store', store]);
    expect(code).to.equal(1);
    expect(stderr).to.contain("no workflow 'nope'");
  });

  it('clear refuses without --yes when piped, clears exactly one id with --yes, and stays quiet on a pipe', async () => {
    const refused = await waymark(['clear', 'ship-1', '--store', store]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain('without --yes');
    expect(await storage.load('ship-1')).to.not.equal(undefined);

    const cleared = await waymark(['clear', 'ship-1', '--store', store, '--yes', '--json']);
    expect(cleared.code).to.equal(0);
    expect(JSON.parse(cleared.stdout)).to.deep.equal({ workflowId: 'ship-1', cleared: true, checkpoints: 2 });
    expect(cleared.stderr).to.equal('', 'no progress output when not on a terminal');
    expect(await storage.list()).to.deep.equal(['ship-10'], "clearing 'ship-1' leaves 'ship-10'");
  });

  it('clear asks on a terminal, and shows progress there for a large workflow', async () => {
    for (let i = 0; i < 1500; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => storage.commit('big', sampleCheckpoint(`s${i + k}`))));
    const declined = await waymarkOnTerminal(['clear', 'big', '--store', store], 'n\n');
    expect(declined.output).to.contain("Clear workflow 'big' (1500 checkpoints)? [y/N]");
    expect(declined.code).to.equal(1);
    expect((await storage.load('big'))?.committedSteps).to.have.length(1500);

    const accepted = await waymarkOnTerminal(['clear', 'big', '--store', store], 'y\n');
    expect(accepted.code, accepted.output).to.equal(0);
    expect(accepted.output).to.match(/clearing big: 200\/1501 \(13%\)/).and.match(/clearing big: 1501\/1501 \(100%\)/);
    expect(accepted.output).to.contain("cleared 'big' (1500 checkpoints)");
    expect(await storage.load('big')).to.equal(undefined);
  });

  it('prune lists with --dry-run, refuses without --yes when piped, asks on a terminal, and deletes exactly what ended before the cutoff', async () => {
    // beforeEach left ship-1 and ship-10 failed, ended just now.
    const dry = await waymark(['prune', '--store', store, '--older-than', '0', '--status', 'failed', '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.match(/^ship-1\nship-10\nwould prune 2 failed workflows that ended before \d{4}-\d\d-\d\dT/);
    const young = await waymark(['prune', '--store', store, '--older-than', '1d', '--status', 'failed', '--yes']);
    expect(young.stdout).to.match(/^nothing to prune: no failed workflow ended before/);
    const none = await waymark(['prune', '--store', store, '--older-than', '0', '--json']);
    expect(JSON.parse(none.stdout)).to.deep.include({ dryRun: true, workflowIds: [] }, 'by default only completed and compensated workflows');
    const refused = await waymark(['prune', '--store', store, '--older-than', '0', '--status', 'failed']);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.contain('refusing to prune 2 failed workflows').and.contain('without --yes');
    expect(await storage.list()).to.deep.equal(['ship-1', 'ship-10']);

    const declined = await waymarkOnTerminal(['prune', '--store', store, '--older-than', '0', '--status', 'failed'], 'n\n');
    expect(declined.code).to.equal(1);
    expect(declined.output).to.contain('Prune 2 failed workflows that ended before');
    const accepted = await waymarkOnTerminal(['prune', '--store', store, '--older-than', '0', '--status', 'failed'], 'y\n');
    expect(accepted.code, accepted.output).to.equal(0);
    expect(accepted.output).to.match(/pruning: 2\/2 \(100%\)/).and.contain('pruned 2 failed workflows');
    expect(await storage.list()).to.deep.equal([]);

    const badStatus = await waymark(['prune', '--store', store, '--older-than', '0', '--status', 'running']);
    expect(badStatus.code).to.equal(2);
    expect(badStatus.stderr).to.contain("--status 'running' is not one of").and.contain('never pruned');
    const noAge = await waymark(['prune', '--store', store]);
    expect(noAge.code).to.equal(2);
    expect(noAge.stderr).to.contain('prune needs --older-than');
  });

  it('clear gives its lease back: nothing of the workflow is left, not even a lock, and a worker can start it at once', async () => {
    expect((await waymark(['clear', 'ship-1', '--store', store, '--yes'])).code).to.equal(0);
    expect((await readdir(dir.path, { recursive: true })).filter((path) => path.split('/').some((name) => name.split('.')[0] === 'ship-1'))).to.deep.equal([]);
  });

  it('clear on S3 gives its lease back, so the workflow is not blocked for the lease TTL', async () => {
    const s3 = await startS3();
    try {
      const s3Storage = new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: 'cli' });
      await s3Storage.commit('ship-1', sampleCheckpoint('pick'));
      const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };
      const cleared = await waymark(['clear', 'ship-1', '--store', `s3://${s3.bucket}/cli`, '--yes'], undefined, env);
      expect(cleared.code, cleared.stderr).to.equal(0);
      expect(await s3Storage.load('ship-1')).to.equal(undefined);
      expect(await s3Storage.acquireLease('ship-1', 'next worker', 60_000)).to.include({ acquired: true });
    } finally {
      await s3.close();
    }
  });

  it('works on PostgreSQL: list, status and clear through a postgres:// URL with its schema', async () => {
    const pg = await freshSchema();
    try {
      const runner = new WorkflowRunner({ storage: pg.storage });
      await runner.run(new Shipping(), { workflowId: 'pg-1', input: { to: 'x' } }).catch(() => undefined);
      const store = `${PG_URL}?schema=${pg.schema}`;
      const list = await waymark(['list', '--store', store]);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout.trim()).to.equal('pg-1');
      const status = await waymark(['status', 'pg-1', '--store', store]);
      expect(status.stdout.split('\n').find((l) => l.startsWith('ship'))).to.match(/^ship\s+failed\s+1\s/);
      const cleared = await waymark(['clear', 'pg-1', '--store', store, '--yes']);
      expect(cleared.code, cleared.stderr).to.equal(0);
      expect(await pg.storage.load('pg-1')).to.equal(undefined);
    } finally {
      await pg.drop();
    }
  });

  it('works on SQLite: list, status and clear through sqlite:<file>; a missing database file is refused, never created', async () => {
    const path = join(dir.path, 'waymark.db');
    const sqlite = new SqliteStorage({ path });
    try {
      await new WorkflowRunner({ storage: sqlite }).run(new Shipping(), { workflowId: 'lite-1', input: { to: 'x' } }).catch(() => undefined);
      const list = await waymark(['list', '--store', `sqlite:${path}`]);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout.trim()).to.equal('lite-1');
      const status = await waymark(['status', 'lite-1', '--store', `sqlite:${path}`]);
      expect(status.stdout.split('\n').find((l) => l.startsWith('ship'))).to.match(/^ship\s+failed\s+1\s/);
      const cleared = await waymark(['clear', 'lite-1', '--store', `sqlite:${path}`, '--yes']);
      expect(cleared.code, cleared.stderr).to.equal(0);
      expect(await sqlite.load('lite-1')).to.equal(undefined);
      const missing = await waymark(['list', '--store', `sqlite:${join(dir.path, 'typo.db')}`]);
      expect(missing.code).to.not.equal(0);
      expect(missing.stderr).to.contain('an existing SQLite database file');
    } finally {
      await sqlite.close();
    }
  });

  it('clear will not clear a workflow that is running', async () => {
    const held = await storage.acquireLease('ship-1', 'a running worker', 60_000);
    expect(held.acquired).to.equal(true);
    const { code, stderr } = await waymark(['clear', 'ship-1', '--store', store, '--yes']);
    expect(code).to.equal(1);
    expect(stderr).to.contain('WAYMARK_WORKFLOW_BUSY').and.contain('a running worker');
    expect(await storage.load('ship-1')).to.not.equal(undefined);
  });

  it('graph prints a Mermaid flowchart, marked with stored status, and plain text', async () => {
    const plain = await waymark(['graph', 'samples/order-etl/order-etl.ts', 'OrderEtl']);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.equal('flowchart TD\n  s0["extract"]\n  s1["transform"]\n  s2["load"]\n  s0 --> s1\n  s1 --> s2\n');

    const warehouse = new Warehouse();
    warehouse.failNextLoad = true;
    await new WorkflowRunner({ storage }).run(new OrderEtl(warehouse), { workflowId: 'etl', input: { customerId: 'c' } }).catch(() => undefined);
    const marked = await waymark(['graph', 'samples/order-etl/order-etl.ts', 'OrderEtl', '--workflow-id', 'etl', '--store', store]);
    expect(marked.stdout).to.contain('s0["extract ✓"]:::committed').and.contain('s2["load ✗ failed"]:::failed').and.contain('classDef committed').and.contain('classDef failed');

    const text = await waymark(['graph', 'samples/order-etl/order-etl.ts', 'OrderEtl', '--text', '--workflow-id', 'etl', '--store', store]);
    expect(text.stdout.split('\n').slice(0, 4)).to.deep.equal([
      'order-etl (OrderEtl)',
      '  extract    (root)           [committed]',
      '  transform  after extract    [committed]',
      '  load       after transform  [failed]',
    ]);

    // A saga that failed and was compensated: its undone steps compensated, the failed one failed.
    await new WorkflowRunner({ storage }).run(new SagaFlow(), { workflowId: 'booking', input: { seat: '7F' } }).catch(() => undefined);
    const saga = await waymark(['graph', 'spec/fixtures/saga-flow.ts', 'SagaFlow', '--text', '--workflow-id', 'booking', '--store', store]);
    expect(saga.stdout.split('\n').slice(1, 5).map((line) => /\[(\w+)\]/.exec(line)?.[1])).to.deep.equal(['compensated', 'compensated', 'compensated', 'failed']);
    const sagaChart = await waymark(['graph', 'spec/fixtures/saga-flow.ts', 'SagaFlow', '--workflow-id', 'booking', '--store', store]);
    expect(sagaChart.stdout).to.contain('["reserve ↩ compensated"]:::compensated').and.contain('["issue ✗ failed"]:::failed').and.contain('classDef compensated');
  });

  it('status and graph show branches: the condition of each step that has one, and which steps were skipped', async () => {
    await new WorkflowRunner({ storage }).run(new PurchaseFlow(), { workflowId: 'lamp', input: { cents: 4_500 } });
    const status = await waymark(['status', 'lamp', '--store', store]);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.contain('steps        4 of 4 committed (1 skipped)\n');
    expect(status.stdout.split('\n').find((l) => l.startsWith('managerApproval'))).to.match(/^managerApproval \(when\)\s+skipped\s+1\s/);
    expect(status.stdout.split('\n').find((l) => l.startsWith('autoApproval'))).to.match(/^autoApproval \(when\)\s+committed\s/);
    const json = JSON.parse((await waymark(['status', 'lamp', '--store', store, '--json'])).stdout);
    expect(json.steps.find((s: { name: string }) => s.name === 'managerApproval')).to.include({ status: 'skipped', when: true });

    const mermaid = await waymark(['graph', 'spec/fixtures/branch-flow.ts', 'PurchaseFlow', '--workflow-id', 'lamp', '--store', store]);
    expect(mermaid.stdout).to.contain(`  s1{{"managerApproval (skipped)<br/><i>if ctx.result('check') > 100_000</i>"}}:::skipped\n`);
    expect(mermaid.stdout).to.contain(`  s2{{"autoApproval ✓<br/><i>if ctx.result('check') <= 100_000</i>"}}:::committed\n`).and.contain('classDef skipped');
    const text = await waymark(['graph', 'spec/fixtures/branch-flow.ts', 'PurchaseFlow', '--text']);
    expect(text.stdout.split('\n')[2]).to.equal("  managerApproval  after check  (when: ctx.result('check') > 100_000)");
  });

  it('status and graph show a fan-out: its progress, its failed items, what it runs for each', async () => {
    await new WorkflowRunner({ storage }).run(new InvoiceLines(), { workflowId: 'inv-1', input: { lines: ['desk', 'broken lamp', 'chair'] } });
    const status = await waymark(['status', 'inv-1', '--store', store]);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout, 'items are counted in their step, not listed as steps').to.contain('steps        3 of 3 committed\n');
    expect(status.stdout.split('\n').find((l) => l.startsWith('bill'))).to.match(/^bill \(forEach\)\s+committed, items 2 of 3 committed, 1 failed\s+1\s/);
    expect(status.stdout).to.contain("failed items of 'bill':\n");
    expect(status.stdout.split('\n').find((l) => l.startsWith('1 '))).to.match(/^1\s+1\s+NO_PRICE: no price for broken lamp$/);
    const json = JSON.parse((await waymark(['status', 'inv-1', '--store', store, '--json'])).stdout);
    expect(json.steps.map((s: { name: string }) => s.name)).to.deep.equal(['load', 'bill', 'total']);
    expect(json.steps[1]).to.deep.include({ forEach: true, items: { total: 3, committed: 2, failed: 1, remaining: 0 }, failedItems: [{ index: 1, code: 'NO_PRICE', message: 'no price for broken lamp', attempts: 1 }] });

    // A run that failed on too many items lists them from the record.
    await new WorkflowRunner({ storage }).run(new InvoiceLines(), { workflowId: 'inv-2', input: { lines: ['broken a', 'broken b', 'ok'] } }).catch(() => undefined);
    const failed = JSON.parse((await waymark(['status', 'inv-2', '--store', store, '--json'])).stdout);
    expect(failed.steps[1].status).to.equal('failed');
    expect(failed.steps[1].failedItems.map((f: { index: number }) => f.index).sort()).to.deep.equal([0, 1]);

    const mermaid = await waymark(['graph', 'spec/fixtures/fan-out-flow.ts', 'InvoiceLines', '--workflow-id', 'inv-1', '--store', store]);
    expect(mermaid.stdout).to.contain('  s1[["bill ✓<br/><i>for each of ctx.previous, 5 at once, tolerates 1 failed</i>"]]:::committed\n');
    const text = await waymark(['graph', 'spec/fixtures/fan-out-flow.ts', 'InvoiceLines', '--text']);
    expect(text.stdout.split('\n')[2]).to.equal('  bill   after load  (for each of ctx.previous, 5 at once, tolerates 1 failed)');
  });

  it('cancel cancels a waiting workflow for good, and says so when it had ended', async () => {
    class Renewal {
      @Step() remind() {
        return 'reminded';
      }
      @Step({ delayMs: 86_400_000 }) renew() {
        return 'renewed';
      }
    }
    await new WorkflowRunner({ storage }).run(new Renewal(), { workflowId: 'plan-7' });
    const cancelled = await waymark(['cancel', 'plan-7', '--store', store, '--reason', 'customer closed the account']);
    expect(cancelled.code, cancelled.stderr).to.equal(0);
    expect(cancelled.stdout).to.equal('cancelled plan-7\n');
    const status = await waymark(['status', 'plan-7', '--store', store]);
    expect(status.stdout).to.contain('status       cancelled\n').and.contain('error        WAYMARK_CANCELLED: cancelled: customer closed the account\n');
    const again = await waymark(['cancel', 'plan-7', '--store', store, '--json']);
    expect(again.code).to.equal(1);
    expect(JSON.parse(again.stdout)).to.deep.equal({ workflowId: 'plan-7', outcome: 'ended', status: 'cancelled' });
  });

  it('versions counts runs per version and stranded ones; list finds them; migrate moves them with the classes of a module, checked, in bulk; restart runs a step again', async () => {
    const v1 = new WorkflowRunner({ storage, workflows: [OrderV1] });
    for (const id of ['o-1', 'o-2', 'o-3']) await v1.run(new OrderV1(), { workflowId: id, input: { sku: id } });
    await v1.sendEvent('o-3', 'paid');
    await v1.resume('o-3');
    // A process with version 2 alone is asked to run o-1: it is marked stranded, and nothing else changes.
    const v2 = new WorkflowRunner({ storage, workflows: [OrderV2] });
    expect(await v2.resume('o-1').catch((e: unknown) => (e as Error).name)).to.equal('WorkflowNotRegisteredError');
    const versions = await waymark(['versions', '--store', store, '--workflow', 'order']);
    expect(versions.code, versions.stderr).to.equal(0);
    expect(versions.stdout).to.match(/^workflow\s+version\s+unfinished\s+stranded\s+runs\norder\s+1\s+2\s+1\s+waiting 2, completed 1\n/);
    expect(versions.stdout).to.contain('1 run of order@1 is stranded: deploy that version beside the new one, or move them (waymark migrate --workflow order --from 1)');
    expect((await waymark(['list', '--store', store, '--stranded'])).stdout).to.equal('o-1\n');
    expect((await waymark(['list', '--store', store, '--workflow', 'order', '--version', '1', '--status', 'waiting'])).stdout).to.equal('o-1\no-2\n');
    const status = await waymark(['status', 'o-1', '--store', store]);
    expect(status.stdout).to.match(/version {6}1 {2}STRANDED: .* had no order@1 \(/);

    const module = 'spec/fixtures/order-versions.ts';
    const dry = await waymark(['migrate', '--workflow', 'order', '--from', '1', '--store', store, '--workflows', module, '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.equal('would move o-1 from version 1 to 2: keeps reserve; runs charge, ship, notify\nwould move o-2 from version 1 to 2: keeps reserve; runs charge, ship, notify\n');
    const piped = await waymark(['migrate', '--workflow', 'order', '--from', '1', '--store', store, '--workflows', module]);
    expect(piped.code).to.equal(2);
    expect(piped.stderr).to.contain('refusing to migrate 2 workflows to the newest version without --yes');
    const moved = await waymark(['migrate', '--workflow', 'order', '--from', '1', '--store', store, '--workflows', module, '--yes', '--json']);
    expect(moved.code, moved.stderr).to.equal(0);
    expect(JSON.parse(moved.stdout).migrated.map((m: { workflowId: string; to: number }) => `${m.workflowId}@${m.to}`)).to.deep.equal(['o-1@2', 'o-2@2']);
    expect((await v2.get('o-1'))!.version).to.equal(2);
    expect((await waymark(['list', '--store', store, '--stranded'])).stdout).to.equal('');
    const noModule = await waymark(['migrate', 'o-3', '--store', store]);
    expect(noModule.code).to.equal(2);
    expect(noModule.stderr).to.contain('migrate needs --workflows <module>');
    const completed = await waymark(['migrate', 'o-3', '--store', store, '--workflows', module]);
    expect(completed.code).to.equal(1);
    expect(completed.stderr).to.contain("not migrated: WAYMARK_MIGRATION_REFUSED: workflow 'o-3': cannot move from version 1 to 2: it completed");

    const restarted = await waymark(['restart', 'o-3', '--store', store, '--from', 'pay']);
    expect(restarted.code, restarted.stderr).to.equal(0);
    expect(restarted.stdout).to.equal("restarted o-3 (completed): runs pay, ship again; discards the commits of pay, ship\n1 workflow restarted: a worker on this store runs them (under BullMQ, queue.wake(id) each)\n");
    expect((await waymark(['status', 'o-3', '--store', store])).stdout).to.contain('status       running\n').and.match(/history {6}\S+ restarted \(pay, ship run again\), was completed\n/);
    expect((await v1.resume('o-3')).output).to.equal('shipped');
    const unknown = await waymark(['restart', '--workflow', 'order', '--status', 'completed', '--from', 'nope', '--store', store, '--yes']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.contain("not restarted: WAYMARK_RESTART_REFUSED: workflow 'o-3': cannot restart from step 'nope': no such step in its graph (order@1: reserve, pay, ship)");
    const both = await waymark(['restart', 'o-3', '--workflow', 'order', '--from', 'pay', '--store', store]);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.contain('restart takes workflow ids or filters');
  });

  it('resume asks for a run of each failed workflow that matches, without any class: stored, with a wake entry for a worker that has it; cancel in bulk the same way', async () => {
    const dry = await waymark(['resume', '--status', 'failed', '--workflow', 'Shipping', '--store', store, '--dry-run']);
    expect(dry.code, dry.stderr).to.equal(0);
    expect(dry.stdout).to.equal('would request a run of ship-1 (failed)\nwould request a run of ship-10 (failed)\n2 runs would be requested (--yes asks for them)\n');
    expect((await storage.readRecord('ship-1'))!.record.resumeRequested).to.equal(undefined);
    const piped = await waymark(['resume', '--status', 'failed', '--store', store]);
    expect(piped.code).to.equal(2);
    expect(piped.stderr).to.contain('refusing to resume 2 workflows without --yes');
    const asked = await waymark(['resume', 'ship-1', '--store', store, '--json']);
    expect(asked.code, asked.stderr).to.equal(0);
    expect(JSON.parse(asked.stdout).resumed).to.deep.equal([{ workflowId: 'ship-1', outcome: 'requested', status: 'failed', dryRun: false }]);
    expect((await storage.readRecord('ship-1'))!.record.resumeRequested).to.have.property('at');
    expect((await storage.dueWakes(Date.now(), 10)).map((e) => e.workflowId)).to.deep.equal(['ship-1']);
    // The failure's stack, where the step threw, with --verbose.
    const verbose = await waymark(['status', 'ship-10', '--store', store, '--verbose']);
    expect(verbose.stdout).to.match(/error {8}carrier down in step 'ship'|error {8}WAYMARK_STEP_FAILED in step 'ship': carrier down\n {13}Error: carrier down\n {13}\s+at Shipping\.ship /);
    expect((await waymark(['status', 'ship-10', '--store', store])).stdout).to.not.contain('at Shipping.ship');
    const missing = await waymark(['resume', 'nobody', '--store', store]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('not resumed: WAYMARK_WORKFLOW_NOT_FOUND');
    // Cancel has the same bulk form.
    const dryCancel = await waymark(['cancel', '--workflow', 'Shipping', '--status', 'failed', '--store', store, '--dry-run']);
    expect(dryCancel.stdout).to.equal('would cancel ship-1\nwould cancel ship-10\n');
    const cancelled = await waymark(['cancel', '--workflow', 'Shipping', '--status', 'failed', '--store', store, '--yes', '--reason', 'carrier gone']);
    expect(cancelled.code, cancelled.stderr).to.equal(0);
    expect(cancelled.stdout).to.equal('cancelled ship-1\ncancelled ship-10\n');
    expect((await storage.readRecord('ship-10'))!.record.cancelled).to.deep.include({ reason: 'carrier gone' });
  });

  it('status shows a parent\'s children and a child\'s parent; cancel of the parent cancels its children too', async () => {
    @Workflow({ name: 'parcel' })
    class Parcel {
      @Step({ waitFor: { event: 'picked' } }) pack() {
        return 'packed';
      }
    }
    @Workflow({ name: 'dispatch' })
    class Dispatch {
      @Step({ spawn: () => [{ workflow: Parcel, input: { to: 'Lyon' } }, { workflow: Parcel, input: { to: 'Nantes' } }] })
      ship(ctx: { children: unknown[] }) {
        return ctx.children;
      }
    }
    const runner = new WorkflowRunner({ storage, workflows: [Dispatch, Parcel] });
    await runner.run(new Dispatch(), { workflowId: 'dispatch-1' });
    const parent = await waymark(['status', 'dispatch-1', '--store', store]);
    expect(parent.stdout).to.contain("waiting for  children of 'ship'\n").and.contain('children     2 started: 2 waiting\n');
    expect(parent.stdout.split('\n').find((l) => l.startsWith('dispatch-1/ship/1'))).to.match(/^dispatch-1\/ship\/1\s+ship\s+1\s+parcel\s+waiting$/);
    const child = await waymark(['status', 'dispatch-1/ship/0', '--store', store]);
    expect(child.stdout).to.contain("parent       dispatch-1 (step 'ship', child 0)\n");
    const cancelled = await waymark(['cancel', 'dispatch-1', '--store', store, '--reason', 'order withdrawn']);
    expect(cancelled.code, cancelled.stderr).to.equal(0);
    for (const id of ['dispatch-1/ship/0', 'dispatch-1/ship/1']) expect((await runner.get(id))!.error!.message, id).to.equal("cancelled: its parent 'dispatch-1' was cancelled");
  });

  it('status shows a polling step: how many times it said "not yet" and when it is called next', async () => {
    class Tracking {
      @Step() book() {
        return 'booked';
      }
      @Step() track(ctx: StepContext) {
        ctx.retryAfter(3_600_000);
      }
    }
    const waiting = await new WorkflowRunner({ storage }).run(new Tracking(), { workflowId: 'parcel' });
    expect(waiting.status).to.equal('waiting');
    const status = await waymark(['status', 'parcel', '--store', store]);
    expect(status.stdout).to.contain(`wakes at     ${waiting.wakeAt}\n`);
    expect(status.stdout.split('\n').find((l) => l.startsWith('track'))).to.contain(`waiting, 1 poll, next ${waiting.wakeAt}`);
    const json = JSON.parse((await waymark(['status', 'parcel', '--store', store, '--json'])).stdout);
    expect(json.steps.find((s: { name: string }) => s.name === 'track')).to.include({ status: 'waiting', polls: 1, nextCall: waiting.wakeAt });
  });

  it('status, list and graph show compensations: what was undone, and each step compensation in the graph', async () => {
    await new WorkflowRunner({ storage }).run(new SagaFlow(), { workflowId: 'trip', input: { seat: '1A' } }).catch(() => undefined);
    const status = await waymark(['status', 'trip', '--store', store]);
    expect(status.stdout).to.contain('status       compensated\n').and.contain("error        NO_TICKETS in step 'issue': sold out\n").and.contain('compensation 3 undone\n');
    expect(status.stdout.split('\n').find((l) => l.startsWith('charge'))).to.match(/^charge\s+committed, compensated\s/);
    expect(JSON.parse((await waymark(['status', 'trip', '--store', store, '--json'])).stdout).compensation.done).to.have.keys('reserve', 'charge', 'email');
    expect((await waymark(['list', '--store', store, '--status', 'compensated'])).stdout).to.equal('trip\n');
    const mermaid = await waymark(['graph', 'spec/fixtures/saga-flow.ts', 'SagaFlow']);
    expect(mermaid.stdout).to.contain('  s0c(["↩ undo"]):::compensation\n  s0 -.->|undo| s0c\n').and.contain('classDef compensation');
    expect(mermaid.stdout).to.not.contain('s3c');
    const text = await waymark(['graph', 'spec/fixtures/saga-flow.ts', 'SagaFlow', '--text']);
    expect(text.stdout).to.contain('  reserve  (root)  (compensate: undo)\n  charge   after reserve  (compensate: undo)\n');
  });

  it('status and graph show what a waiting workflow waits for; send-event stores an event once and a resume consumes it', async () => {
    const runner = new WorkflowRunner({ storage, workflows: [InvoiceFlow] });
    const waiting = await runner.run(new InvoiceFlow(), { workflowId: 'inv-7' });
    const status = await waymark(['status', 'inv-7', '--store', store]);
    expect(status.stdout).to.contain('status       waiting\n').and.contain(`wakes at     ${waiting.wakeAt}\n`).and.contain('waiting for  payment\n');
    expect(status.stdout.split('\n').find((l) => l.startsWith('settle'))).to.match(/^settle\s+waiting\s/);
    expect(status.stdout).to.contain('lease        free (no run holds it)\n');
    const held = await storage.acquireLease('inv-7', 'a worker on host-b', 60_000);
    expect((await waymark(['status', 'inv-7', '--store', store])).stdout).to.contain(`lease        held by a worker on host-b until ${new Date((held as { lease: { expiresAt: number } }).lease.expiresAt).toISOString()}\n`);
    if (held.acquired) await storage.releaseLease(held.lease);
    const text = await waymark(['graph', 'spec/fixtures/invoice-flow.ts', 'InvoiceFlow', '--text', '--workflow-id', 'inv-7', '--store', store]);
    expect(text.stdout).to.contain('remind  after send  [waiting]  (timer: 3 d after its dependencies)').and.contain('settle  after send  [waiting]  (event: payment, timeout 14 d then run)');
    const mermaid = await waymark(['graph', 'spec/fixtures/invoice-flow.ts', 'InvoiceFlow']);
    expect(mermaid.stdout).to.contain('s2["settle<br/><i>event: payment, timeout 14 d then run</i>"]');

    const sent = await waymark(['send-event', 'inv-7', 'payment', '--store', store, '--payload', '{"cents":1200}', '--event-id', 'evt-1']);
    expect(sent).to.deep.include({ code: 0, stdout: 'sent payment to inv-7 (event id evt-1)\n' });
    const again = await waymark(['send-event', 'inv-7', 'payment', '--store', store, '--payload', '{"cents":1}', '--event-id', 'evt-1', '--json']);
    expect(JSON.parse(again.stdout)).to.deep.equal({ duplicate: true, eventId: 'evt-1', wakes: true });
    expect((await runner.resume('inv-7')).steps.settle!.output).to.equal(1200);

    const badJson = await waymark(['send-event', 'inv-7', 'payment', '--store', store, '--payload', '{cents']);
    expect(badJson.code).to.equal(2);
    expect(badJson.stderr).to.contain('--payload is not JSON');
    const nobody = await waymark(['send-event', 'nobody', 'payment', '--store', store]);
    expect(nobody.code).to.equal(1);
    expect(nobody.stderr).to.contain('WAYMARK_WORKFLOW_NOT_FOUND');
  });

  it('--help and --version print and exit 0', async () => {
    const help = await waymark(['--help']);
    expect(help).to.include({ code: 0, stderr: '' });
    expect(help.stdout).to.contain('usage:').and.contain('waymark status');
    const version = await waymark(['--version']);
    expect(version).to.deep.equal({ code: 0, stdout: `${require('../../package.json').version}\n`, stderr: '' });
  });

  it('a reader that stops early (| head -1) is no error', async () => {
    for (let i = 0; i < 3000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, k) => storage.commit('big', sampleCheckpoint(`s${i + k}`))));
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile('bash', ['-c', `set -o pipefail; '${BIN}' status big --store '${store}' | head -1`], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } }, (error, out, err) =>
        resolve({ code: error ? Number(error.code) : 0, stdout: out, stderr: err }),
      ),
    );
    expect(stderr).to.equal('');
    expect(code).to.equal(0);
    expect(stdout).to.equal('workflow     big\n');
  });

  it('a store directory that does not exist is an error naming it, not an empty store', async () => {
    const missing = join(dir.path, 'typo');
    for (const args of [['list'], ['status', 'ship-1'], ['clear', 'ship-1', '--yes']]) {
      const { code, stdout, stderr } = await waymark([...args, '--store', `file:${missing}`]);
      expect(code, args[0]).to.equal(1);
      expect(stdout).to.equal('');
      expect(stderr).to.contain(missing).and.contain('does not exist');
    }
  });

  it('status reports a corrupted record, naming the file and how to recover; clear --yes removes it', async () => {
    const workflowDir = join(dir.path, 'workflows', 'ship-1');
    const recordPath = join(workflowDir, (await readdir(workflowDir)).find((name) => /^record\.\d+\.json$/.test(name))!);
    await writeFile(recordPath, '{"revision": 1, "rec');
    const status = await waymark(['status', 'ship-1', '--store', store]);
    expect(status.code).to.equal(1);
    expect(status.stdout).to.contain(`corrupted    ${recordPath}: not valid JSON`).and.contain(`waymark clear ship-1 --store ${store}`);
    const cleared = await waymark(['clear', 'ship-1', '--store', store, '--yes']);
    expect(cleared.code, cleared.stderr).to.equal(0);
    expect(await storage.list()).to.deep.equal(['ship-10']);
  });

  it('ui serves with the token it is given, warns when bound beyond this machine, and stops on SIGINT', async () => {
    const token = 'sixteen-or-more-chars';
    const child = spawn(process.execPath, [BIN, 'ui', '--store', store, '--port', '0', '--host', '0.0.0.0', '--token', token], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const found = /(http:\/\/\S+)/.exec(stdout)?.[1];
        if (found !== undefined) resolve(found);
      });
      void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect(url).to.match(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/#token=${token}$`));
    expect(stderr).to.contain('serving on 0.0.0.0: anyone who reaches this port and has the token can read and clear workflows');
    const api = new URL('/api/workflows', url).toString();
    expect((await fetch(api, { headers: { 'x-waymark-token': token } })).status).to.equal(200);
    expect((await fetch(api)).status).to.equal(403);
    child.kill('SIGINT');
    expect(await exited).to.equal(0);
  });

  it('ui refuses a port, a token or a store it cannot use, saying which', async () => {
    for (const [args, message] of [
      [['ui'], '--store is required'],
      [['ui', '--store', store, '--port', 'http'], "--port 'http' is not a port number (0 to 65535)"],
      [['ui', '--store', store, '--port', '70000'], "--port '70000' is not a port number"],
      [['ui', '--store', store, '--token', 'short'], '--token needs at least 16 characters'],
    ] as const) {
      const { code, stderr } = await waymark([...args]);
      expect(code, args.join(' ')).to.equal(2);
      expect(stderr).to.contain(message);
    }
    const missing = await waymark(['ui', '--store', 'file:/nonexistent/waymark']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('an existing directory');
  });

  it('reports usage mistakes with exit code 2', async () => {
    for (const args of [[], ['frobnicate'], ['status', '--store', store], ['list'], ['list', '--store', 'ftp://x'], ['graph', 'samples/order-etl/order-etl.ts', 'Nope']]) {
      const { code, stderr } = await waymark(args);
      expect(code, args.join(' ')).to.equal(2);
      expect(stderr).to.contain('usage:');
    }
  });
});
