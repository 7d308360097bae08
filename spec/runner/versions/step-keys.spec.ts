/**
 * Where a step's checkpoints are stored: identity for records never migrated or restarted, the
 * record's `stepKeys` otherwise, with stored names no step owns hidden; fresh names never reused.
 */
import { expect } from 'chai';
import { itemKey, listKey } from '../../../lib/item-keys';
import { freshKey, keyedStorage, StepKeys, stepOfKey, storedBases } from '../../../lib/runner/versions/step-keys';
import { MemoryStorage } from '../../../lib/storage/memory-storage';
import type { WorkflowRecord } from '../../../lib/storage/records';

const record = (stepKeys?: Record<string, string>): WorkflowRecord => ({
  formatVersion: 1,
  workflowId: 'w',
  workflowName: 'n',
  fingerprint: 'f',
  steps: [
    { name: 'a', after: [] },
    { name: 'b', after: ['a'], forEach: true },
  ],
  updatedAt: '2026-12-06T00:00:00.000Z',
  ...(stepKeys === undefined ? {} : { stepKeys }),
});

describe('step keys', () => {
  it('translate nothing and hide nothing for a record without stepKeys', () => {
    const keys = StepKeys.of(record());
    expect(keys.identity).to.equal(true);
    expect(keys.live(['a', 'gone', itemKey('b', 0)])).to.deep.equal(['a', 'gone', itemKey('b', 0)]);
    expect(keys.key(listKey('b'))).to.equal(listKey('b'));
  });

  it('store each step under its key, items and lists with it, and hide stored names no step owns', () => {
    const keys = StepKeys.of(record({ a: 'old-a', b: `b\u001e2` }));
    expect(keys.key('a')).to.equal('old-a');
    expect(keys.key(itemKey('b', 3))).to.equal(itemKey('b\u001e2', 3));
    expect(keys.live(['old-a', 'a', 'b', itemKey('b', 0), itemKey('b\u001e2', 1), listKey('b\u001e2'), 'dropped'])).to.deep.equal(['a', itemKey('b', 1), listKey('b')]);
    expect(StepKeys.of(record({})).live(['a', 'dropped']), '{} hides what no step owns').to.deep.equal(['a']);
  });

  it('give fresh names no stored checkpoint has', () => {
    const used = storedBases(['a', 'a\u001e1', itemKey('a\u001e2', 4)]);
    expect([...used]).to.deep.equal(['a', 'a\u001e1', 'a\u001e2']);
    expect(freshKey('a', used)).to.equal('a\u001e3');
    expect(stepOfKey('a\u001e3')).to.equal('a');
    expect(stepOfKey('a')).to.equal('a');
  });

  it('read and commit through a view by step name, for that workflow alone', async () => {
    const storage = new MemoryStorage();
    const view = keyedStorage(storage, 'w', StepKeys.of(record({ a: 'a\u001e1' })));
    const checkpoint = { formatVersion: 1 as const, step: 'a', status: 'completed' as const, attempts: 1, committedAt: '2026-12-06T00:00:00.000Z', output: 7 };
    await storage.commit('w', { ...checkpoint, output: 1 });
    await view.commit('w', checkpoint);
    expect(await view.readCheckpoint('w', 'a')).to.deep.include({ step: 'a', output: 7 });
    expect(await storage.readCheckpoint('w', 'a')).to.deep.include({ output: 1 });
    expect((await view.load('w'))!.committedSteps).to.deep.equal(['a']);
    await view.commit('other', checkpoint);
    expect(await storage.readCheckpoint('other', 'a')).to.deep.include({ output: 7 });
    expect(view.dueWakes, 'everything else passes through').to.be.a('function');
    expect(keyedStorage(storage, 'w', StepKeys.of(record()))).to.equal(storage);
  });
});
