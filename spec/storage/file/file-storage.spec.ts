import { expect } from 'chai';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { CheckpointCorruptedError, InvalidOptionError, InvalidWorkflowIdError } from '../../../lib/errors';
import { FileStorage } from '../../../lib/storage/file/file-storage';
import { describeStorageContract, sampleCheckpoint, sampleRecord } from '../../../lib/testing';
import { tempDir } from '../../helpers/temp-dir';

describeStorageContract('FileStorage', async () => {
  const dir = await tempDir();
  return { storage: new FileStorage({ directory: dir.path }), cleanup: dir.remove };
});

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
    const path = join(dir.path, 'workflows', 'job', 'steps', 'extract.json');
    await fs.writeFile(path, '{"formatVersion":1,"step":"extr');
    const error = await storage.readCheckpoint('job', 'extract').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError);
    expect((error as CheckpointCorruptedError).location).to.equal(path);
    expect((error as Error).message).to.contain(path);
    expect((await storage.load('job'))?.committedSteps).to.deep.equal(['extract'], 'a corrupted checkpoint still counts as committed');
  });

  it('throws CheckpointCorruptedError for a record that is valid JSON of the wrong shape', async () => {
    await storage.writeRecord('job', sampleRecord('job'), null);
    await fs.writeFile(join(dir.path, 'workflows', 'job', 'record.json'), '{"revision":1,"record":{"hello":1}}');
    const error = await storage.load('job').catch((e: unknown) => e);
    expect(error).to.be.instanceOf(CheckpointCorruptedError);
    expect((error as Error).message).to.contain('record.json');
  });

  it('leaves no temp file after writes, and ignores temp files a crash left behind', async () => {
    await storage.writeRecord('job', sampleRecord('job'), null);
    await storage.commit('job', sampleCheckpoint('a'));
    expect((await listFiles(dir.path)).filter((f) => f.includes('.tmp-'))).to.deep.equal([]);
    await fs.writeFile(join(dir.path, 'workflows', 'job', 'steps', '.tmp-crashed'), '{"partial');
    expect((await storage.load('job'))?.committedSteps).to.deep.equal(['a']);
  });

  it('a lease taken and released leaves no file behind', async () => {
    const attempt = await storage.acquireLease('job', 'me', 60_000);
    expect(attempt.acquired).to.equal(true);
    if (attempt.acquired) await storage.releaseLease(attempt.lease);
    expect(await listFiles(dir.path)).to.deep.equal([]);
  });

  it('treats a lock whose owner on this host is dead as stale at once', async () => {
    const lockDir = join(dir.path, 'locks', 'job');
    await fs.mkdir(lockDir, { recursive: true });
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max: never a live process
    const { hostname } = await import('node:os');
    await fs.writeFile(join(lockDir, '1.lock'), JSON.stringify({ workflowId: 'job', owner: 'dead', token: '1.x', host: hostname(), pid: deadPid, expiresAt: Date.now() + 3_600_000 }));
    const attempt = await storage.acquireLease('job', 'me', 60_000);
    expect(attempt.acquired).to.equal(true);
    expect(await fs.readdir(lockDir)).to.deep.equal(['2.lock']);
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
});
