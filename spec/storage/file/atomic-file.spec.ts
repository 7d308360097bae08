import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promises as fs } from 'node:fs';
import sinon from 'sinon';
import { createFileExclusive, makeDirectory, ownTempTag, readdirIfExists, removeStaleTemps, STALE_TEMP_MS, syncDirectory, TEMP_PREFIX, writeFileAtomic } from '../../../lib/storage/file/atomic-file';
import { deferred } from '../../helpers/deferred';
import { thisProcess } from '../../../lib/storage/file/process-identity';

async function rejection(promise: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await promise;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  return expect.fail('resolved');
}

describe('atomic files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'waymark-atomic-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const names = () => readdirSync(dir).sort();

  it("tags temp files with this machine's key, this pid and this start time", () => {
    const me = thisProcess();
    expect(ownTempTag()).to.match(new RegExp(`^[0-9a-f]{12}\\.${me.pid}\\.${me.started}$`));
    expect(TEMP_PREFIX).to.equal('.tmp-');
  });

  it('writeFileAtomic creates and replaces a file whole, leaving no temp file', async () => {
    const path = join(dir, 'f.json');
    await writeFileAtomic(path, 'one');
    await writeFileAtomic(path, 'two, longer');
    expect(readFileSync(path, 'utf8')).to.equal('two, longer');
    expect(names()).to.deep.equal(['f.json']);
  });

  it('writeFileAtomic removes its temp file when the rename fails, and says why', async () => {
    mkdirSync(join(dir, 'taken', 'child'), { recursive: true });
    const error = await rejection(writeFileAtomic(join(dir, 'taken'), 'x'));
    expect(error.code).to.be.oneOf(['EISDIR', 'ENOTEMPTY', 'EEXIST']);
    expect(names()).to.deep.equal(['taken']);
  });

  it('createFileExclusive creates a file once, whole, and never replaces it', async () => {
    const path = join(dir, 'once.json');
    expect(await createFileExclusive(path, 'first')).to.equal(true);
    expect(await createFileExclusive(path, 'second')).to.equal(false);
    expect(readFileSync(path, 'utf8')).to.equal('first');
    expect(names()).to.deep.equal(['once.json']);
  });

  it('createFileExclusive passes on an error that is not "exists", leaving no temp file', async () => {
    writeFileSync(join(dir, 'plain'), 'x');
    const error = await rejection(createFileExclusive(join(dir, 'plain', 'below'), 'x'));
    expect(error.code).to.equal('ENOTDIR');
    expect(names()).to.deep.equal(['plain']);
  });

  describe('removeStaleTemps', () => {
    const me = thisProcess();
    const [key] = ownTempTag().split('.');
    const gonePid = 2 ** 22 + 1;
    const touch = (name: string, ageMs = 0) => {
      writeFileSync(join(dir, name), 'partial');
      if (ageMs > 0) {
        const at = (Date.now() - ageMs) / 1000;
        utimesSync(join(dir, name), at, at);
      }
      return name;
    };

    it('finds nothing to remove where there is no directory', async () => {
      expect(await removeStaleTemps(join(dir, 'missing'))).to.equal(0);
      touch('file');
      expect(await removeStaleTemps(join(dir, 'file'))).to.equal(0);
    });

    it("removes at once a temp file whose writer provably died, never a live writer's", async () => {
      const dead = touch(`${TEMP_PREFIX}${key}.${gonePid}.${me.started}-a`);
      const reused = touch(`${TEMP_PREFIX}${key}.${me.pid}.${Number(me.started) + 1}-b`);
      const live = touch(`${TEMP_PREFIX}${ownTempTag()}-c`);
      expect(await removeStaleTemps(dir)).to.equal(2);
      expect(names()).to.deep.equal([live]);
      expect([dead, reused]).to.not.include(live);
    });

    it('waits 10 minutes for a temp file whose writer it cannot judge (another machine, an untagged name)', async () => {
      expect(STALE_TEMP_MS).to.equal(600_000);
      const otherMachine = touch(`${TEMP_PREFIX}000000000000.${gonePid}.1-a`, STALE_TEMP_MS - 60_000);
      const untagged = touch(`${TEMP_PREFIX}odd-name`, STALE_TEMP_MS - 60_000);
      touch(`${TEMP_PREFIX}000000000000.${gonePid}.1-old`, STALE_TEMP_MS + 60_000);
      touch(`${TEMP_PREFIX}old-untagged`, STALE_TEMP_MS + 60_000);
      const notTemp = touch('record.1.json', STALE_TEMP_MS * 10);
      expect(await removeStaleTemps(dir)).to.equal(2);
      expect(names()).to.deep.equal([otherMachine, untagged, notTemp].sort());
    });

    it('looks only at the names it is given, and counts a file gone meanwhile as not removed', async () => {
      const dead = touch(`${TEMP_PREFIX}${key}.${gonePid}.${me.started}-a`);
      const old = touch(`${TEMP_PREFIX}old`, STALE_TEMP_MS + 60_000);
      expect(await removeStaleTemps(dir, [old, `${TEMP_PREFIX}vanished`])).to.equal(1);
      expect(names()).to.deep.equal([dead]);
    });
  });

  describe('makeDirectory', () => {
    it('creates every missing parent, and accepts what exists', async () => {
      const deep = join(dir, 'a', 'b', 'c');
      await makeDirectory(deep);
      await makeDirectory(deep);
      await makeDirectory(join(dir, 'a'));
      expect(readdirSync(join(dir, 'a', 'b'))).to.deep.equal(['c']);
    });

    it('rejects with the reason when a parent cannot be a directory', async () => {
      writeFileSync(join(dir, 'plain'), 'x');
      expect((await rejection(makeDirectory(join(dir, 'plain', 'x', 'y')))).code).to.equal('ENOTDIR');
    });

    it('gives up at once where creating keeps answering ENOENT', async () => {
      expect((await rejection(makeDirectory('/proc/waymark-nope/a'))).code).to.equal('ENOENT');
    });
  });

  it('readdirIfExists lists names, none for a missing directory, and passes on other errors', async () => {
    writeFileSync(join(dir, 'x'), '');
    expect(await readdirIfExists(dir)).to.deep.equal(['x']);
    expect(await readdirIfExists(join(dir, 'missing'))).to.deep.equal([]);
    expect((await rejection(readdirIfExists(join(dir, 'x')))).code).to.equal('ENOTDIR');
  });

  describe('directory fsyncs, grouped', () => {
    afterEach(() => sinon.restore());

    /** Makes every FileHandle.sync wait for its own release; returns the log of syncs begun and their releases. */
    async function holdSyncs(dir: string): Promise<{ begun: number; release: () => void }> {
      const probe = await fs.open(join(dir, 'probe'), 'w');
      const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
      await probe.close();
      const sync = proto.sync;
      const waiting: (() => void)[] = [];
      const state = {
        begun: 0,
        release: () => waiting.shift()!(),
      };
      sinon.stub(proto, 'sync').callsFake(function (this: object) {
        state.begun++;
        const go = deferred<void>();
        waiting.push(() => go.resolve());
        return go.promise.then(() => sync.call(this));
      });
      return state;
    }

    it('lets callers arriving while an fsync runs share the next one, which starts after it, and no earlier fsync answers them', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'waymark-dirsync-'));
      try {
        const syncs = await holdSyncs(dir);
        const settled: string[] = [];
        const first = syncDirectory(dir).then(() => settled.push('first'));
        while (syncs.begun < 1) await new Promise((resolve) => setImmediate(resolve));
        const later = [syncDirectory(dir), syncDirectory(dir), syncDirectory(dir)].map((p, i) => p.then(() => settled.push(`later-${i}`)));
        syncs.release();
        await first;
        while (syncs.begun < 2) await new Promise((resolve) => setImmediate(resolve));
        expect(settled).to.deep.equal(['first'], 'the later callers wait for the fsync that started after them');
        syncs.release();
        await Promise.all(later);
        expect(syncs.begun).to.equal(2, 'three callers, one fsync');
        expect(settled).to.deep.equal(['first', 'later-0', 'later-1', 'later-2']);
        // Idle again: the next caller starts its own at once.
        const alone = syncDirectory(dir);
        while (syncs.begun < 3) await new Promise((resolve) => setImmediate(resolve));
        syncs.release();
        await alone;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('rejects every caller of an fsync that fails, and the next caller tries again', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'waymark-dirsync-'));
      rmSync(dir, { recursive: true });
      const errors = await Promise.all([syncDirectory(dir), syncDirectory(dir)].map((p) => p.then(() => 'synced', (e: NodeJS.ErrnoException) => e.code)));
      expect(errors).to.deep.equal(['ENOENT', 'ENOENT']);
      mkdirSync(dir);
      try {
        await syncDirectory(dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
