import { expect } from 'chai';
import sinon from 'sinon';
import { CheckpointCorruptedError, LeaseLostError, RecordConflictError, StorageError } from '../../lib/errors';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { describeStorageContract, sampleCheckpoint, sampleRecord } from '../../lib/testing';

describeStorageContract('MemoryStorage', async () => ({ storage: new MemoryStorage() }));

describe('MemoryStorage', () => {
  it('names memory locations in what it reports', async () => {
    const storage = new MemoryStorage();
    const missing = (await storage.readCheckpoint('wf', 'nope').catch((e: unknown) => e)) as StorageError;
    expect(missing).to.be.instanceOf(StorageError).and.include({ operation: 'read checkpoint', step: 'nope', location: 'memory:nope' });
    expect(missing.message).to.contain('no such checkpoint');
    await storage.writeRecord('wf', sampleRecord('wf'), null);
    const conflict = (await storage.writeRecord('wf', sampleRecord('wf'), null).catch((e: unknown) => e)) as RecordConflictError;
    expect(conflict).to.be.instanceOf(RecordConflictError).and.include({ location: 'memory:record' });
    // What it cannot parse back, it names too.
    await storage.writeRecord('bad', { ...sampleRecord('bad'), fingerprint: undefined } as never, null);
    for (const read of [() => storage.load('bad'), () => storage.readRecord('bad')]) {
      expect(await read().catch((e: unknown) => e)).to.be.instanceOf(CheckpointCorruptedError).and.include({ location: 'memory:record' });
    }
    await storage.commit('bad', { ...sampleCheckpoint('s'), status: 'running' } as never);
    expect(await storage.readCheckpoint('bad', 's').catch((e: unknown) => e)).to.be.instanceOf(CheckpointCorruptedError).and.include({ location: 'memory:s' });
  });

  it('keeps events of an id with nothing else stored out of load and list, counts them in a clear, and names an unreadable one', async () => {
    const storage = new MemoryStorage();
    await storage.putEvent('mail-only', { formatVersion: 1, eventId: 'e', name: 'n', payload: 1, sentAt: 'now' });
    expect(await storage.load('mail-only')).to.equal(undefined);
    expect(await storage.list()).to.deep.equal([]);
    await storage.commit('mail-only', sampleCheckpoint('s'));
    const progress: [number, number][] = [];
    await storage.clear('mail-only', { onProgress: (d, t) => progress.push([d, t]) });
    expect(progress).to.deep.equal([[2, 2]]);
    await storage.putEvent('odd', { formatVersion: 2 } as never);
    expect(await storage.listEvents('odd').catch((e: unknown) => e)).to.be.instanceOf(CheckpointCorruptedError).and.include({ location: 'memory:event' });
  });

  it('has no record version for checkpoints stored without a record', async () => {
    const storage = new MemoryStorage();
    await storage.commit('wf', sampleCheckpoint('s'));
    expect(await storage.load('wf')).to.deep.equal({ record: undefined, recordVersion: undefined, committedSteps: ['s'] });
    expect(await storage.readRecord('wf')).to.equal(undefined);
  });

  it('reports clear progress as checkpoints plus the record', async () => {
    const storage = new MemoryStorage();
    const progress: [number, number][] = [];
    await storage.commit('bare', sampleCheckpoint('a'));
    await storage.commit('bare', sampleCheckpoint('b'));
    await storage.clear('bare', { onProgress: (done, total) => void progress.push([done, total]) });
    await storage.writeRecord('full', sampleRecord('full'), null);
    await storage.commit('full', sampleCheckpoint('a'));
    await storage.clear('full', { onProgress: (done, total) => void progress.push([done, total]) });
    expect(progress).to.deep.equal([[2, 2], [2, 2]]);
  });

  it('holds a lease until its expiry, exclusive: at that very millisecond it is free and fences nothing in', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    try {
      const storage = new MemoryStorage();
      const first = await storage.acquireLease('wf', 'first', 1_000);
      if (!first.acquired) expect.fail('not acquired');
      clock.tick(999);
      expect(await storage.acquireLease('wf', 'second', 1_000)).to.deep.equal({ acquired: false, holder: 'first', expiresAt: 1_001_000 });
      await storage.commit('wf', sampleCheckpoint('in-time'), first.lease);
      clock.tick(1);
      expect(await storage.commit('wf', sampleCheckpoint('late'), first.lease).catch((e: unknown) => e)).to.be.instanceOf(LeaseLostError);
      expect((await storage.acquireLease('wf', 'second', 1_000)).acquired).to.equal(true);
    } finally {
      clock.restore();
    }
  });
});
