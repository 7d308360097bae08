/**
 * SqliteStorage: the storage contract, plus what is its own: one database shared by processes, a
 * killed owner's lease taken over at once, group commit with fencing per caller, the schema version,
 * and the refusal of a network file system.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import { InvalidOptionError, LeaseLostError } from '../../../lib/errors';
import { SqliteStorage } from '../../../lib/storage/sqlite';
import { mountOf, NETWORK_FILE_SYSTEMS } from '../../../lib/storage/sqlite/sqlite-storage';
import { describeStorageContract, sampleCheckpoint, sampleRecord } from '../../../lib/testing';
import { runTs } from '../../helpers/child';
import { tempDir } from '../../helpers/temp-dir';

describeStorageContract('SqliteStorage', async () => {
  const dir = await tempDir('waymark-sqlite-');
  const storage = new SqliteStorage({ path: join(dir.path, 'waymark.db') });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await dir.remove();
    },
  };
});

describe('SqliteStorage', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir('waymark-sqlite-')));
  afterEach(() => dir.remove());

  it('commits arriving together go in one transaction, each fenced by its own lease', async () => {
    const storage = new SqliteStorage({ path: join(dir.path, 'a.db') });
    try {
      const a = await storage.acquireLease('a', 'me', 60_000);
      const b = await storage.acquireLease('b', 'me', 60_000);
      if (!a.acquired || !b.acquired) throw new Error('no lease');
      await storage.releaseLease(b.lease);
      const results = await Promise.allSettled([storage.commit('a', sampleCheckpoint('s1'), a.lease), storage.commit('b', sampleCheckpoint('s1'), b.lease), storage.commitMany('a', [sampleCheckpoint('s2'), sampleCheckpoint('s3')], a.lease)]);
      expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).to.be.instanceOf(LeaseLostError);
      expect([...(await storage.load('a'))!.committedSteps].sort()).to.deep.equal(['s1', 's2', 's3']);
      expect(await storage.load('b'), 'the fenced-out commit wrote nothing').to.equal(undefined);
    } finally {
      await storage.close();
    }
  });

  it('two processes share one database: a record written by one is read and conditionally replaced by the other', async () => {
    const path = join(dir.path, 'shared.db');
    const storage = new SqliteStorage({ path });
    try {
      await storage.writeRecord('w', sampleRecord('w'), null);
      const other = await runTs('spec/fixtures/sqlite-writer.ts', { DB: path });
      expect(other.code, other.stderr).to.equal(0);
      const { record, version } = (await storage.readRecord('w'))!;
      expect(record.fingerprint).to.equal('b'.repeat(64));
      expect(version).to.equal('2');
    } finally {
      await storage.close();
    }
  });

  it("takes over at once the lease of a process of this host that was killed", async () => {
    const path = join(dir.path, 'dead.db');
    const holder = await runTs('spec/fixtures/sqlite-writer.ts', { DB: path, HOLD: '1' });
    expect(holder.signal, holder.stderr).to.equal('SIGKILL');
    const storage = new SqliteStorage({ path });
    try {
      expect(await storage.readLease('held'), 'a dead owner holds nothing').to.equal(undefined);
      expect(await storage.deadLeases(10)).to.deep.equal(['held']);
      const taken = await storage.acquireLease('held', 'me', 1_000);
      expect(taken.acquired).to.equal(true);
    } finally {
      await storage.close();
    }
  });

  it('refuses a database written by a newer schema, and options it cannot use', async () => {
    const path = join(dir.path, 'new.db');
    const storage = new SqliteStorage({ path });
    await storage.close();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => { exec(sql: string): void; close(): void } };
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 99');
    db.close();
    expect(() => new SqliteStorage({ path })).to.throw(InvalidOptionError, /schema version 1 or older; it has version 99/);
    expect(() => new SqliteStorage({ path: '' })).to.throw(InvalidOptionError);
    expect(() => new SqliteStorage({ path: join(dir.path, 'x.db'), busyTimeoutMs: -1 })).to.throw(InvalidOptionError, /busyTimeoutMs/);
  });
});

describe('SqliteStorage on a network file system', () => {
  const mounts = ['/dev/sda1 / ext4 rw 0 0', 'server:/export /mnt/shared nfs4 rw 0 0', '//nas/jobs /mnt/my\\040jobs cifs rw 0 0', 'tmpfs /mnt/shared/tmp tmpfs rw 0 0'].join('\n');

  it('finds the mount that holds a directory: the longest mount point above it', () => {
    expect(mountOf('/home/app', mounts)).to.deep.equal({ point: '/', type: 'ext4' });
    expect(mountOf('/mnt/shared/db', mounts)).to.deep.equal({ point: '/mnt/shared', type: 'nfs4' });
    expect(mountOf('/mnt/shared/tmp/x', mounts)).to.deep.equal({ point: '/mnt/shared/tmp', type: 'tmpfs' });
    expect(mountOf('/mnt/my jobs', mounts)).to.deep.equal({ point: '/mnt/my jobs', type: 'cifs' });
    expect(mountOf('/mnt/sharedother', mounts)).to.deep.equal({ point: '/', type: 'ext4' });
  });

  it('counts NFS, SMB and the other network file systems as unsafe, local ones as safe', () => {
    for (const type of ['nfs', 'nfs4', 'cifs', 'smb3', 'fuse.sshfs', 'ceph']) expect(NETWORK_FILE_SYSTEMS.has(type), type).to.equal(true);
    for (const type of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'zfs']) expect(NETWORK_FILE_SYSTEMS.has(type), type).to.equal(false);
  });
});
