import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CheckpointCorruptedError, InvalidOptionError, InvalidWorkflowIdError, LeaseLostError, RecordConflictError, StorageError } from '../../../lib/errors';
import { FileStorage } from '../../../lib/storage/file/file-storage';
import { thisProcess } from '../../../lib/storage/file/process-identity';
import { ownTempTag } from '../../../lib/storage/file/atomic-file';
import { stepWrites } from '../../../lib/storage/file/commit-thread';
import { describeStorageContract, sampleCheckpoint, sampleRecord } from '../../../lib/testing';
import { tempDir } from '../../helpers/temp-dir';
import { deferred, within } from '../../helpers/deferred';
import sinon from 'sinon';
import { TS_REGISTER } from '../../helpers/child';

const ROOT = join(__dirname, '..', '..', '..');

describeStorageContract('FileStorage', async () => {
  const dir = await tempDir();
  return { storage: new FileStorage({ directory: dir.path }), cleanup: dir.remove };
});

/** The directory FileStorage keeps a workflow's checkpoints in (named by the lease that last took it). */
async function stepsDir(root: string, workflowId: string): Promise<string> {
  const dir = join(root, 'workflows', workflowId);
  return join(dir, (await fs.readdir(dir)).find((name) => /^steps(@.+)?$/.test(name))!);
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.push(path.slice(root.length + 1));
    }
  };
  await walk(root).catch(() => undefined);
  return out.sort();
}

describe('FileStorage', () => {
  let dir: { path: string; remove: () => Promise<void> };
  let storage: FileStorage;
  beforeEach(async () => {
    dir = await tempDir();
    storage = new FileStorage({ directory: dir.path });
  });
  afterEach(() => dir.remove());

  it('requires a directory', () => {
    expect(() => new FileStorage({ directory: '' })).to.throw(InvalidOptionError);
  });

  it('never writes outside its directory, whatever the id', async () => {
    const ids = ['../escape', '../../etc/x', '/abs/path', 'a/../../b', '..', '.', '\\..\\win', 'nul:'];
    for (const id of ids) {
      await storage.writeRecord(id, sampleRecord(id), null);
      await storage.commit(id, sampleCheckpoint('../step', id));
    }
    // Every write makes exactly one file; finding them all under the root proves none went elsewhere.
    const files = await listFiles(dir.path);
    expect(files).to.have.length(ids.length * 2);
    for (const f of files) {
      expect(f.startsWith('workflows/')).to.equal(true, f);
      expect(f.split('/')).to.have.length.within(3, 4);
      expect(f).not.to.match(/(^|\/)\.\.?(\/|$)/);
    }
  });

  it('rejects an id whose encoding does not fit a file name', async () => {
    const id = '字'.repeat(100); // 100 characters, 900 bytes encoded
    const error = await storage.load(id).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InvalidWorkflowIdError);
    expect((error as Error).message).to.contain('file-name encoding');
  });

  it('throws CheckpointCorruptedError naming the file for a corrupted checkpoint', async () => {
    await storage.commit('job', sampleCheckpoint('extract'));
    const path = join(await stepsDir(dir.path, 'job'), 'extract.json');
    await fs.writeFile(path, '{"formatVersion":1,"step":"extr');
    const error = await storage.readCheckpoint('job', 'extract').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError);
    expect((error as CheckpointCorruptedError).location).to.equal(path);
    expect((error as Error).message).to.contain(path);
    expect((await storage.load('job'))?.committedSteps).to.deep.equal(['extract'], 'a corrupted checkpoint still counts as committed');
  });

  it('throws CheckpointCorruptedError for a record that is valid JSON of the wrong shape', async () => {
    await storage.writeRecord('job', sampleRecord('job'), null);
    await fs.writeFile(join(dir.path, 'workflows', 'job', 'record.1.json'), '{"revision":1,"record":{"hello":1}}');
    const error = await storage.load('job').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError);
    expect((error as Error).message).to.contain('record.1.json');
  });

  it('keeps the record as numbered revisions, the highest current, older ones removed; reads a 0.1 record.json until the next write', async () => {
    const workflowDir = join(dir.path, 'workflows', 'job');
    await fs.mkdir(workflowDir, { recursive: true });
    await fs.writeFile(join(workflowDir, 'record.json'), JSON.stringify({ revision: 4, record: sampleRecord('job', 'a'.repeat(64)) }));
    expect(await storage.readRecord('job')).to.deep.equal({ record: sampleRecord('job', 'a'.repeat(64)), version: '4' });
    const v5 = await storage.writeRecord('job', sampleRecord('job', 'b'.repeat(64)), '4');
    expect(v5).to.equal('5');
    expect(await fs.readdir(workflowDir)).to.deep.equal(['record.5.json']);
    await storage.writeRecord('job', sampleRecord('job', 'c'.repeat(64)), v5);
    expect(await fs.readdir(workflowDir)).to.deep.equal(['record.6.json']);
    // A writer killed before it removed the older revision leaves two: the higher one counts.
    await fs.writeFile(join(workflowDir, 'record.2.json'), JSON.stringify({ revision: 2, record: sampleRecord('job', 'z'.repeat(64)) }));
    expect((await storage.load('job'))?.record?.fingerprint).to.equal('c'.repeat(64));
  });

  it('leaves no temp file after writes, and ignores temp files a crash left behind', async () => {
    await storage.writeRecord('job', sampleRecord('job'), null);
    await storage.commit('job', sampleCheckpoint('a'));
    expect((await listFiles(dir.path)).filter((f) => f.includes('.tmp-'))).to.deep.equal([]);
    await fs.writeFile(join(await stepsDir(dir.path, 'job'), '.tmp-crashed'), '{"partial');
    expect((await storage.load('job'))?.committedSteps).to.deep.equal(['a']);
  });

  it('a lease taken and released leaves no file behind', async () => {
    const attempt = await storage.acquireLease('job', 'me', 60_000);
    expect(attempt.acquired).to.equal(true);
    if (attempt.acquired) await storage.releaseLease(attempt.lease);
    expect(await listFiles(dir.path)).to.deep.equal([]);
  });

  describe('lock owners: dead at once only when host, boot, pid namespace, pid and start time all say so', () => {
    const me = thisProcess();
    const lockDir = () => join(dir.path, 'locks', 'job');
    async function lockedBy(owner: Record<string, unknown>): Promise<void> {
      await fs.mkdir(lockDir(), { recursive: true });
      await fs.writeFile(join(lockDir(), '1.lock'), JSON.stringify({ workflowId: 'job', owner: 'them', token: '1.x', expiresAt: Date.now() + 3_600_000, ...owner }));
    }
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max: never a live process

    it('this machine runs Linux with /proc, so every part of the identity is checked', () => {
      expect(me.boot, 'boot id').to.match(/^[0-9a-f-]{36}$/);
      expect(me.pidns, 'pid namespace').to.match(/^pid:\[\d+\]$/);
      expect(me.started, 'start time').to.match(/^\d+$/);
    });

    it('takes over at once a lock whose owner on this host, boot and pid namespace is dead', async () => {
      await lockedBy({ ...me, pid: deadPid });
      const attempt = await storage.acquireLease('job', 'me', 60_000);
      expect(attempt.acquired).to.equal(true);
      expect(await fs.readdir(lockDir())).to.deep.equal(['2.lock']);
    });

    it('takes over at once a lock carrying this very pid with another start time (a restarted container is pid 1 again)', async () => {
      await lockedBy({ ...me, started: String(Number(me.started) - 1) });
      expect((await storage.acquireLease('job', 'me', 60_000)).acquired).to.equal(true);
    });

    it('keeps a lock of this very process (same start time): it is alive', async () => {
      await lockedBy({ ...me });
      expect(await storage.acquireLease('job', 'me', 60_000)).to.include({ acquired: false, holder: 'them' });
    });

    for (const [label, owner] of [
      ['another host', { host: 'other-host' }],
      ['another boot (or a machine with the same host name)', { boot: '00000000-0000-0000-0000-000000000000' }],
      ['another pid namespace (another container on a shared volume)', { pidns: 'pid:[1]' }],
      ['an owner written without boot id and pid namespace', { boot: undefined, pidns: undefined, started: undefined }],
    ] as const) {
      it(`keeps the lock of a dead-looking pid from ${label} until it expires`, async () => {
        await lockedBy({ ...me, pid: deadPid, ...owner });
        expect(await storage.acquireLease('job', 'me', 60_000)).to.include({ acquired: false, holder: 'them' });
      });
    }

    it('never takes over a live owner in another pid namespace whose pid does not exist here (unshare --pid)', async function () {
      this.timeout(60_000);
      // A pid free here (host pids are handed out upwards, so a low gap stays free for the test).
      let target = 100;
      while (existsSync(`/proc/${target}`)) target++;
      // In a fresh pid namespace pids count up from 1 (the shell): burn them so the holder gets `target`.
      const script = `i=2; while [ $i -lt ${target} ]; do /bin/true; i=$((i+1)); done; "$@"`;
      const holder = [process.execPath, '-r', TS_REGISTER, join(ROOT, 'spec/fixtures/hold-lease.ts'), dir.path, 'job'];
      const child = spawn('unshare', ['--pid', '--fork', '--kill-child', 'sh', '-c', script, 'sh', ...holder], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      try {
        const line = await new Promise<string>((resolve, reject) => {
          child.stdout.once('data', (d) => resolve(String(d)));
          child.once('exit', (code) => reject(new Error(`unshare --pid --fork exited ${code} (it needs root and util-linux's unshare): ${stderr}`)));
        });
        const held = JSON.parse(line) as { acquired: boolean; pid: number };
        expect(held.acquired).to.equal(true);
        expect(held.pid, 'the holder got the pid that is free here').to.equal(target);
        expect(existsSync(`/proc/${held.pid}`), 'its pid names no process here').to.equal(false);
        const lock = JSON.parse(await fs.readFile(join(lockDir(), '1.lock'), 'utf8'));
        expect(lock.pidns).to.not.equal(me.pidns);
        expect(await storage.acquireLease('job', 'me', 60_000)).to.include({ acquired: false, holder: `holder pid ${held.pid}` });
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  describe('takeover races', () => {
    afterEach(() => sinon.restore());

    it('a takeover judged on a stale lock that has since given way to a new holder backs off (generations restart with the directory)', async () => {
      const me = thisProcess();
      const lockDir = join(dir.path, 'locks', 'job');
      await fs.mkdir(lockDir, { recursive: true });
      await fs.writeFile(join(lockDir, '1.lock'), JSON.stringify({ ...me, pid: 2 ** 22 + 12345, workflowId: 'job', owner: 'dead', token: '1.x', expiresAt: Date.now() + 3_600_000 }));
      // C judges 1.lock stale and is paused just before it creates 2.lock.
      const paused = deferred();
      const resume = deferred();
      const link = fs.link.bind(fs);
      let pausedOnce = false;
      sinon.stub(fs, 'link').callsFake(async (from, to) => {
        if (!pausedOnce && String(to).endsWith(`${'/'}2.lock`)) {
          pausedOnce = true;
          paused.resolve();
          await resume.promise;
        }
        return link(from, to);
      });
      const c = storage.acquireLease('job', 'C', 60_000);
      await paused.promise;
      // Meanwhile B takes it over and releases it, and D takes it afresh: D's lock is 1.lock again.
      const b = await storage.acquireLease('job', 'B', 60_000);
      if (!b.acquired) expect.fail('B should take over the dead lock');
      await storage.releaseLease(b.lease);
      const d = await storage.acquireLease('job', 'D', 60_000);
      if (!d.acquired) expect.fail('D should take the free lease');
      resume.resolve();
      const cAttempt = await c;
      expect(cAttempt).to.include({ acquired: false, holder: 'D' });
      expect(await storage.renewLease(d.lease, 60_000), 'D still holds it').to.not.equal(undefined);
      expect((await fs.readdir(lockDir)).filter((n) => n.endsWith('.lock'))).to.deep.equal(['1.lock']);
    });
  });

  describe('readers beside running workers', () => {
    afterEach(() => sinon.restore());

    it("finds a checkpoint whose directory a new lease holder renamed while it read", async () => {
      const a = await storage.acquireLease('job', 'A', 60_000);
      if (!a.acquired) expect.fail('A should take the free lease');
      await storage.commit('job', sampleCheckpoint('s1'), a.lease);
      await storage.releaseLease(a.lease);
      const reading = deferred();
      const go = deferred();
      const readFile = fs.readFile.bind(fs);
      let paused = false;
      sinon.stub(fs, 'readFile').callsFake((async (path: string, ...rest: unknown[]) => {
        if (!paused && String(path).includes(`steps@${a.lease.token}`)) {
          paused = true;
          reading.resolve();
          await go.promise;
        }
        return (readFile as (...args: unknown[]) => Promise<unknown>)(path, ...rest);
      }) as never);
      const read = storage.readCheckpoint('job', 's1');
      await within(reading.promise, 5_000, 'the reader never read the checkpoint');
      // B takes the lease: the checkpoints move to B's directory under the paused reader.
      const b = await storage.acquireLease('job', 'B', 60_000);
      if (!b.acquired) expect.fail('B should take the free lease');
      const moved = storage.commit('job', sampleCheckpoint('s2'), b.lease);
      await moved;
      go.resolve();
      expect(await read).to.deep.equal(sampleCheckpoint('s1'));
      expect(paused).to.equal(true);
    });
  });

  describe('a former owner that stalls between its fence and its write', () => {
    afterEach(() => sinon.restore());

    it('writes nothing once another worker has taken the lease over: its late commit fails with LeaseLostError', async () => {
      const x = await storage.acquireLease('job', 'X', 300);
      if (!x.acquired) expect.fail('X should get the lease');
      await storage.commit('job', sampleCheckpoint('a', 'x'), x.lease);
      // X passes its fence for step b, then stalls just before the write that would store it.
      const stalled = deferred();
      const wake = deferred();
      const write = stepWrites.write.bind(stepWrites);
      let stalledOnce = false;
      sinon.stub(stepWrites, 'write').callsFake(async (path, data) => {
        if (path.endsWith(`${'/'}b.json`) && !stalledOnce) {
          stalledOnce = true;
          stalled.resolve();
          await wake.promise;
        }
        return write(path, data);
      });
      const late = storage.commit('job', sampleCheckpoint('b', 'x'), x.lease).catch((e: unknown) => e);
      await stalled.promise;
      // Meanwhile X's lease expires, Y takes the workflow over, commits b itself and finishes.
      while (Date.now() <= x.lease.expiresAt) await new Promise((r) => setImmediate(r));
      const y = await storage.acquireLease('job', 'Y', 60_000);
      if (!y.acquired) expect.fail('Y should take the expired lease over');
      await storage.commit('job', sampleCheckpoint('b', 'y'), y.lease);
      await storage.releaseLease(y.lease);
      wake.resolve();
      expect(await late).to.be.instanceOf(LeaseLostError).and.include({ workflowId: 'job', step: 'b' });
      expect((await storage.readCheckpoint('job', 'b')).output, "Y's b stands").to.equal('y');
      expect((await storage.readCheckpoint('job', 'a')).output).to.equal('x');
    });
  });

  describe('what killed writers leave behind', () => {
    const me = thisProcess();
    const deadPid = 2 ** 22 + 12345;
    /** A temp-file name as a writer with `pid` and `started` on this machine would make it. */
    const tempBy = (pid: number, started: string | undefined, n: number) => `.tmp-${ownTempTag().split('.')[0]}.${pid}.${started}-${n}`;

    it('a takeover removes temp files of dead writers and long-stale ones, never a live writer’s, and an unfinished clear', async () => {
      await storage.writeRecord('job', sampleRecord('job'), null);
      await storage.commit('job', sampleCheckpoint('a'));
      const steps = await stepsDir(dir.path, 'job');
      const workflowDir = join(dir.path, 'workflows', 'job');
      const litter = {
        deadWriter: join(steps, tempBy(deadPid, me.started, 1)),
        deadWriterRecord: join(workflowDir, tempBy(deadPid, me.started, 2)),
        liveWriter: join(steps, tempBy(me.pid, me.started, 3)),
        otherMachineFresh: join(steps, '.tmp-0123456789ab.77.88-4'),
        otherMachineOld: join(steps, '.tmp-0123456789ab.77.88-5'),
      };
      for (const path of Object.values(litter)) await fs.writeFile(path, '{"partial');
      const old = new Date(Date.now() - 11 * 60_000);
      await fs.utimes(litter.otherMachineOld, old, old);
      const trash = join(dir.path, 'trash', 'job.1b0e1a9e-0000-4000-8000-000000000000');
      await fs.mkdir(join(trash, 'steps'), { recursive: true });
      await fs.writeFile(join(trash, 'steps', 'x.json'), '{}');
      // The last owner died holding the lease.
      const lockDir = join(dir.path, 'locks', 'job');
      await fs.mkdir(lockDir, { recursive: true });
      await fs.writeFile(join(lockDir, '1.lock'), JSON.stringify({ ...me, pid: deadPid, workflowId: 'job', owner: 'dead', token: '1.x', expiresAt: Date.now() + 3_600_000 }));
      await fs.writeFile(join(lockDir, tempBy(deadPid, me.started, 6)), '{"partial');

      const attempt = await storage.acquireLease('job', 'me', 60_000);
      if (!attempt.acquired) expect.fail('not acquired');
      const left = await listFiles(dir.path);
      const ours = `workflows/job/steps@${attempt.lease.token}`;
      expect(left).to.include.members([`${ours}/${tempBy(me.pid, me.started, 3)}`, `${ours}/.tmp-0123456789ab.77.88-4`]);
      expect(left.filter((f) => f.includes('.tmp-')), 'only the live writer’s and the fresh foreign one stay').to.have.length(2);
      expect(left.filter((f) => f.startsWith('trash/'))).to.deep.equal([]);
      expect(left).to.include.members(['workflows/job/record.1.json', `${ours}/a.json`, 'locks/job/2.lock']);
    });

    it('an acquisition clears a dead acquirer’s temp files from the lock directory, so release can remove it', async () => {
      const lockDir = join(dir.path, 'locks', 'job');
      await fs.mkdir(lockDir, { recursive: true });
      await fs.writeFile(join(lockDir, tempBy(deadPid, me.started, 7)), '{"partial');
      const attempt = await storage.acquireLease('job', 'me', 60_000);
      if (!attempt.acquired) expect.fail('not acquired');
      await storage.releaseLease(attempt.lease);
      expect(await listFiles(dir.path)).to.deep.equal([]);
      expect(existsSync(lockDir)).to.equal(false);
    });

    it('clear() removes an empty lock directory', async () => {
      await storage.commit('job', sampleCheckpoint('a'));
      await fs.mkdir(join(dir.path, 'locks', 'job'), { recursive: true });
      await storage.clear('job');
      expect(existsSync(join(dir.path, 'locks', 'job'))).to.equal(false);
    });
  });

  it('rejects an impossible directory with StorageError naming it, at once, instead of spinning', async () => {
    const impossible = new FileStorage({ directory: '/proc/waymark-impossible' });
    for (const operation of [
      () => impossible.acquireLease('job', 'me', 60_000),
      () => impossible.writeRecord('job', sampleRecord('job'), null),
      () => impossible.commit('job', sampleCheckpoint('a')),
      () => impossible.clear('job'),
    ]) {
      const error = await within(operation().catch((e: unknown) => e), 2_000, 'the operation did not give up');
      expect(error).to.be.instanceOf(StorageError);
      expect((error as Error).message).to.contain('/proc/waymark-impossible');
    }
  });

  it('keeps a live lock of another host until it expires', async () => {
    const lockDir = join(dir.path, 'locks', 'job');
    await fs.mkdir(lockDir, { recursive: true });
    await fs.writeFile(join(lockDir, '1.lock'), JSON.stringify({ workflowId: 'job', owner: 'far away', token: '1.x', host: 'other-host', pid: 1, expiresAt: Date.now() + 3_600_000 }));
    const attempt = await storage.acquireLease('job', 'me', 60_000);
    expect(attempt).to.include({ acquired: false, holder: 'far away' });
  });

  it('acquirers racing releases (which remove the lock directory) never fail, and hold the lease one at a time', async () => {
    let holders = 0;
    let peak = 0;
    const contender = async (id: number) => {
      for (let got = 0, tries = 0; got < 15; tries++) {
        expect(tries).to.be.below(100_000, 'a contender never got the lease');
        const attempt = await storage.acquireLease('contended', `c${id}`, 60_000);
        if (!attempt.acquired) {
          await new Promise((r) => setImmediate(r));
          continue;
        }
        peak = Math.max(peak, ++holders);
        await new Promise((r) => setImmediate(r)); // hold it across a turn, so an overlapping holder would show
        holders--;
        await storage.releaseLease(attempt.lease);
        got++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => contender(i)));
    expect(peak).to.equal(1);
    expect(await listFiles(dir.path)).to.deep.equal([], 'the last release leaves nothing behind');
  });

  describe('every write is durable and atomic', () => {
    afterEach(() => sinon.restore());

    /** Records the file-system calls FileStorage makes: opens (with the path), fsyncs (by path), renames and links. */
    async function recordFsCalls(): Promise<string[]> {
      const log: string[] = [];
      const paths = new WeakMap<object, string>();
      const probe = await fs.open(join(dir.path, 'probe'), 'w');
      const handleProto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
      await probe.close();
      const open = fs.open.bind(fs);
      sinon.stub(fs, 'open').callsFake(async (...args: Parameters<typeof fs.open>) => {
        const handle = await open(...args);
        paths.set(handle, String(args[0]));
        return handle;
      });
      const sync = handleProto.sync;
      sinon.stub(handleProto, 'sync').callsFake(function (this: object) {
        log.push(`fsync ${paths.get(this)}`);
        return sync.call(this);
      });
      const rename = fs.rename.bind(fs);
      sinon.stub(fs, 'rename').callsFake(async (from, to) => {
        await rename(from, to);
        log.push(`rename ${String(from)} -> ${String(to)}`);
      });
      const link = fs.link.bind(fs);
      sinon.stub(fs, 'link').callsFake(async (from, to) => {
        await link(from, to);
        log.push(`link ${String(from)} -> ${String(to)}`);
      });
      return log;
    }

    /** Checks that `final` was put in place from a temp file fsynced before, and its directory fsynced after. */
    function expectDurable(log: string[], final: string, how: 'rename' | 'link'): void {
      const placed = log.findIndex((line) => line.startsWith(`${how} `) && line.endsWith(` -> ${final}`));
      expect(placed, `${final} is put in place by ${how}, not written where it is read (${log.join('; ')})`).to.be.at.least(0);
      const temp = log[placed].slice(how.length + 1, log[placed].indexOf(' -> '));
      expect(temp, 'from a temp file beside it').to.match(/\/\.tmp-[^/]+$/);
      expect(log.slice(0, placed), `the temp file is fsynced before the ${how}`).to.include(`fsync ${temp}`);
      const directory = final.slice(0, final.lastIndexOf('/'));
      expect(log.slice(placed + 1), `its directory is fsynced after the ${how}`).to.include(`fsync ${directory}`);
    }

    // A commit's syscalls, and their order, are checked as the kernel sees them: commit-thread.spec.ts (strace).

    it('a record write fsyncs its temp file, links it to its new name, then fsyncs the directory', async () => {
      const first = await storage.writeRecord('job', sampleRecord('job'), null);
      const log = await recordFsCalls();
      await storage.writeRecord('job', { ...sampleRecord('job'), fingerprint: 'next' }, first);
      const final = log.find((line) => line.startsWith('link '))?.split(' -> ')[1];
      expect(final, log.join('; ')).to.match(/\/record\.\d+\.json$/);
      expectDurable(log, final!, 'link');
    });

    it('a reader never sees a record half written: while a record write is stopped mid-write, the old one reads whole', async () => {
      const first = await storage.writeRecord('job', sampleRecord('job'), null);
      const halfWritten = deferred();
      const mayFinish = deferred();
      const marker = 'new-value-'.repeat(50);
      // Any write of the new checkpoint, whichever way it is done, stops after half its bytes.
      const stopHalfway = async (write: (data: string) => Promise<void>, data: unknown, rest: (data: string) => Promise<void>) => {
        if (typeof data !== 'string' || !data.includes(marker)) return write(data as string);
        await write(data.slice(0, data.length >> 1));
        halfWritten.resolve();
        await mayFinish.promise;
        await rest(data.slice(data.length >> 1));
      };
      const probe = await fs.open(join(dir.path, 'probe'), 'w');
      const handleProto = Object.getPrototypeOf(probe) as { writeFile: (data: string, encoding?: string) => Promise<void> };
      await probe.close();
      const handleWrite = handleProto.writeFile;
      sinon.stub(handleProto, 'writeFile').callsFake(function (this: object, data: string, encoding?: string) {
        return stopHalfway((d) => handleWrite.call(this, d, encoding), data, (d) => handleWrite.call(this, d, encoding));
      });
      const writeFile = fs.writeFile.bind(fs);
      sinon.stub(fs, 'writeFile').callsFake((path, data, options) =>
        stopHalfway((d) => writeFile(path, d, options), data, (d) => fs.appendFile(path as string, d)),
      );
      const write = storage.writeRecord('job', { ...sampleRecord('job'), fingerprint: marker }, first);
      await halfWritten.promise;
      const reader = new FileStorage({ directory: dir.path });
      expect((await reader.load('job'))?.record?.fingerprint).to.equal(sampleRecord('job').fingerprint);
      mayFinish.resolve();
      await write;
      expect((await reader.load('job'))?.record?.fingerprint).to.equal(marker);
    });
  });

  it('clear() racing a writer ends with the checkpoint whole or absent, never torn', async () => {
    for (let round = 0; round < 30; round++) {
      await storage.commit('job', sampleCheckpoint('seed'));
      const results = await Promise.allSettled([storage.commit('job', sampleCheckpoint('s', { round })), storage.clear('job')]);
      expect(results[1].status).to.equal('fulfilled');
      const loaded = await storage.load('job');
      if (loaded?.committedSteps.includes('s')) expect((await storage.readCheckpoint('job', 's')).output).to.deep.equal({ round });
      await storage.clear('job');
    }
    expect(await listFiles(join(dir.path, 'trash'))).to.deep.equal([]);
  });

  describe('its layout on disk, and what it says when the disk says no', () => {
    const wf = (...parts: string[]) => join(dir.path, 'workflows', 'job', ...parts);
    const failure = async (promise: Promise<unknown>): Promise<StorageError> => {
      const error = await promise.then(() => expect.fail('resolved'), (e: unknown) => e);
      expect(error).to.be.instanceOf(StorageError);
      return error as StorageError;
    };

    it('requires a directory: a non-empty path, resolved to an absolute one', () => {
      for (const options of [undefined, {}, { directory: '' }, { directory: 7 }]) {
        try {
          new FileStorage(options as never);
          expect.fail('accepted');
        } catch (error) {
          expect(error).to.be.instanceOf(InvalidOptionError);
          expect(error).to.include({ option: 'FileStorage directory', expected: 'a non-empty path' });
        }
      }
      expect(new FileStorage({ directory: 'relative/store' }).directory).to.equal(join(process.cwd(), 'relative/store'));
    });

    it('allows ids whose encoding is at most 238 bytes, and names the size of one that is not', async () => {
      expect(await storage.load(`${'A'.repeat(79)}a`)).to.equal(undefined);
      const error = await storage.load('A'.repeat(80)).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidWorkflowIdError);
      expect((error as InvalidWorkflowIdError).reason).to.equal('its file-name encoding is 240 bytes; FileStorage allows 238');
    });

    it("keeps a lease's checkpoints in steps@<token>, unleased ones in steps@open, and reads waymark 0.1's steps", async () => {
      await storage.commit('job', sampleCheckpoint('free', 1));
      expect(await fs.readdir(wf())).to.deep.equal(['steps@open']);
      const attempt = await storage.acquireLease('job', 'me', 60_000);
      if (!attempt.acquired) expect.fail('not acquired');
      await storage.commit('job', sampleCheckpoint('held', 2), attempt.lease);
      expect(await fs.readdir(wf())).to.deep.equal([`steps@${attempt.lease.token}`]);
      expect((await fs.readdir(wf(`steps@${attempt.lease.token}`))).sort()).to.deep.equal(['free.json', 'held.json']);
      await storage.releaseLease(attempt.lease);
      await fs.rename(wf(`steps@${attempt.lease.token}`), wf('steps'));
      expect([...((await storage.load('job'))?.committedSteps ?? [])].sort()).to.deep.equal(['free', 'held']);
      expect((await storage.readCheckpoint('job', 'held')).output).to.equal(2);
    });

    it('counts only checkpoint files in the checkpoint directory, and no other directory', async () => {
      await storage.commit('job', sampleCheckpoint('real'));
      for (const other of ['oldsteps', 'steps-old', 'a-steps@x']) {
        await fs.mkdir(wf(other));
        await fs.writeFile(wf(other, 'ghost.json'), JSON.stringify(sampleCheckpoint('ghost')));
      }
      await fs.writeFile(wf('steps@open', `.tmp-${ownTempTag()}-x`), 'partial');
      await fs.writeFile(wf('steps@open', 'notes.txt'), 'x');
      await fs.writeFile(wf('steps@open', 'Upper.json'), 'not an encoding waymark makes');
      expect((await storage.load('job'))?.committedSteps).to.deep.equal(['real']);
      expect((await storage.readCheckpoint('job', 'real')).step).to.equal('real');
      await storage.commit('job', sampleCheckpoint('second'));
      expect((await fs.readdir(wf('steps@open'))).filter((n) => n.endsWith('.json')).sort()).to.deep.equal(['Upper.json', 'real.json', 'second.json']);
    });

    it('lists only the directories whose names are encodings it makes', async () => {
      await storage.commit('job', sampleCheckpoint('s'));
      await fs.mkdir(join(dir.path, 'workflows', 'Not An Encoding'));
      await fs.mkdir(join(dir.path, 'workflows', '%2x'));
      expect(await storage.list()).to.deep.equal(['job']);
    });

    it('refuses a record version it never handed out as a conflict, writing nothing', async () => {
      for (const version of ['abc', '-1', '-5', '1.5e400']) {
        const error = await storage.writeRecord('job', sampleRecord('job'), version).catch((e: unknown) => e);
        expect(error, version).to.be.instanceOf(RecordConflictError);
        expect((error as RecordConflictError).location).to.equal(wf(`record.${version}.json`));
      }
      expect(existsSync(wf())).to.equal(false);
      expect(await storage.writeRecord('job', sampleRecord('job'), null)).to.equal('1');
      expect(await storage.writeRecord('job', sampleRecord('job'), '1')).to.equal('2');
      // A version superseded: the conflict names the revision it could not create.
      const stale = (await storage.writeRecord('job', sampleRecord('job'), '1').catch((e: unknown) => e)) as RecordConflictError;
      expect(stale).to.be.instanceOf(RecordConflictError).and.include({ location: wf('record.2.json') });
    });

    it('wraps what the file system refuses in StorageError naming the operation', async () => {
      await fs.writeFile(join(dir.path, 'workflows'), 'a file where a directory belongs');
      await fs.writeFile(join(dir.path, 'locks'), 'a file where a directory belongs');
      const lease = { workflowId: 'job', owner: 'me', token: '1.x', expiresAt: Date.now() + 1_000 };
      const cases: [string, () => Promise<unknown>][] = [
        ['load', () => storage.load('job')],
        ['read record', () => storage.readRecord('job')],
        ['write record', () => storage.writeRecord('job', sampleRecord('job'), null)],
        ['commit', () => storage.commit('job', sampleCheckpoint('s'))],
        ['clear', () => storage.clear('job')],
        ['list', () => storage.list()],
        ['acquire lease', () => storage.acquireLease('job', 'me', 1_000)],
        ['renew lease', () => storage.renewLease(lease, 1_000)],
        ['release lease', () => storage.releaseLease(lease)],
        ['check lease', () => storage.commit('job', sampleCheckpoint('s'), lease)],
      ];
      for (const [operation, call] of cases) {
        const error = await failure(call());
        expect(error.operation, operation).to.equal(operation);
        expect(error.workflowId).to.equal(operation === 'list' ? '*' : 'job');
        const location = operation.endsWith('lease') ? join(dir.path, 'locks') : operation === 'list' ? dir.path : wf();
        expect(error.location, operation).to.equal(location);
      }
      const read = await failure(storage.readCheckpoint('job', 'x'));
      expect(read).to.include({ operation: 'read checkpoint', step: 'x', location: wf('steps', 'x.json') });
    });

    it("reports a commit the disk refuses for another reason than a vanished directory as StorageError at the checkpoint's path", async () => {
      const attempt = await storage.acquireLease('job', 'me', 60_000);
      if (!attempt.acquired) expect.fail('not acquired');
      const path = wf(`steps@${attempt.lease.token}`, 's.json');
      await fs.mkdir(join(path, 'in-the-way'), { recursive: true });
      const error = await failure(storage.commit('job', sampleCheckpoint('s'), attempt.lease));
      expect(error).to.include({ operation: 'commit', step: 's', location: path });
    });

    it('fences with the lock files only near expiry: within 2 s a lease it does not hold writes nothing', async () => {
      const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      try {
        const attempt = await storage.acquireLease('job', 'me', 60_000);
        if (!attempt.acquired) expect.fail('not acquired');
        const stranger = { ...attempt.lease, token: `${attempt.lease.token.split('.')[0]}.someone-else` };
        await storage.writeRecord('job', sampleRecord('job'), null, { ...stranger, expiresAt: Date.now() + 2_001 });
        const error = await storage.writeRecord('job', sampleRecord('job'), '1', { ...stranger, expiresAt: Date.now() + 2_000 }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(LeaseLostError);
        expect(await storage.writeRecord('job', sampleRecord('job'), '1', { ...attempt.lease, expiresAt: Date.now() + 2_000 })).to.equal('2');
      } finally {
        clock.restore();
      }
    });

    it('clears an id with nothing stored without reporting progress; reports a long clear in chunks of 200', async () => {
      const progress: [number, number][] = [];
      await storage.clear('nothing', { onProgress: (done, total) => void progress.push([done, total]) });
      expect(progress).to.deep.equal([]);
      await fs.mkdir(wf('steps@open'), { recursive: true });
      for (let i = 0; i < 400; i++) await fs.writeFile(wf('steps@open', `s${i}.json`), JSON.stringify(sampleCheckpoint(`s${i}`)));
      await storage.clear('job', { onProgress: (done, total) => void progress.push([done, total]) });
      expect(progress).to.deep.equal([[200, 401], [400, 401], [401, 401]]);
      expect(existsSync(wf())).to.equal(false);
      expect(await fs.readdir(join(dir.path, 'trash'))).to.deep.equal([]);
    });

    it('says why a clear could not remove the lock directory', async () => {
      await storage.commit('job', sampleCheckpoint('s'));
      await fs.mkdir(join(dir.path, 'locks'), { recursive: true });
      await fs.writeFile(join(dir.path, 'locks', 'job'), 'a file where a directory belongs');
      expect((await failure(storage.clear('job'))).operation).to.equal('clear');
    });

    it("a takeover sweeps the trash of the workflow's unfinished clear, not a sibling's; an ordinary acquisition sweeps nothing", async () => {
      await fs.mkdir(join(dir.path, 'trash', 'job.1', 'steps@open'), { recursive: true });
      await fs.writeFile(join(dir.path, 'trash', 'job.1', 'steps@open', 's.json'), '{}');
      await fs.mkdir(join(dir.path, 'trash', 'job-2.1'), { recursive: true });
      const clock = sinon.useFakeTimers({ now: Date.now(), toFake: ['Date'] });
      try {
        const first = await storage.acquireLease('job', 'me', 1_000);
        expect(first.acquired).to.equal(true);
        expect((await fs.readdir(join(dir.path, 'trash'))).sort()).to.deep.equal(['job-2.1', 'job.1']);
        clock.tick(1_000);
        const taken = await storage.acquireLease('job', 'me', 1_000);
        expect(taken.acquired).to.equal(true);
        expect(await fs.readdir(join(dir.path, 'trash'))).to.deep.equal(['job-2.1']);
      } finally {
        clock.restore();
      }
    });
  });
});
