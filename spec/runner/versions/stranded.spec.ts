/**
 * Marking a stranded run: under the lease, nothing but the mark changed; never a run a process
 * holds or one that ended; and not again while a recent mark says the same (no lease taken).
 */
import { expect } from 'chai';
import { markStranded } from '../../../lib/runner/versions/stranded';
import type { WorkflowRecord } from '../../../lib/storage/records';
import { spyStorage } from '../../helpers/spy-storage';

const record = (status: WorkflowRecord['status']): WorkflowRecord => ({ formatVersion: 1, workflowId: 'w', workflowName: 'order', version: 1, fingerprint: 'f', steps: [{ name: 'a', after: [] }], updatedAt: '2026-12-06T00:00:00.000Z', status, wakeAt: '2026-12-06T01:00:00.000Z' });

describe('stranded marks', () => {
  it('mark an unfinished run under its lease, changing nothing else, and give the lease back', async () => {
    const storage = spyStorage();
    await storage.writeRecord('w', record('waiting'), null);
    expect(await markStranded(storage, 'w', 'pid 7 on host', 'order@1')).to.equal(true);
    const { stranded, updatedAt: _u, ...rest } = (await storage.readRecord('w'))!.record;
    const { updatedAt: _v, ...before } = record('waiting');
    expect(rest).to.deep.equal(before);
    expect(stranded).to.deep.include({ by: 'pid 7 on host', missing: 'order@1' });
    expect(storage.acquireLease.callCount).to.equal(1);
    expect(await storage.readLease('w'), 'the lease is given back').to.equal(undefined);
  });

  it('write nothing, and take no lease, while a recent mark says the same; a new missing version is marked again', async () => {
    const storage = spyStorage();
    await storage.writeRecord('w', record('waiting'), null);
    await markStranded(storage, 'w', 'a', 'order@1');
    const marked = (await storage.readRecord('w'))!.record;
    storage.acquireLease.resetHistory();
    expect(await markStranded(storage, 'w', 'b', 'order@1', marked)).to.equal(false);
    expect(storage.acquireLease.callCount, 'no lease for what the record already says').to.equal(0);
    expect(await markStranded(storage, 'w', 'b', 'order@2', marked)).to.equal(true);
    expect((await storage.readRecord('w'))!.record.stranded).to.deep.include({ by: 'b', missing: 'order@2' });
  });

  it('never mark a run a process holds, nor one that ended', async () => {
    const storage = spyStorage();
    await storage.writeRecord('w', record('running'), null);
    const held = await storage.acquireLease('w', 'someone', 60_000);
    expect(await markStranded(storage, 'w', 'b', 'order@1')).to.equal(false);
    if (held.acquired) await storage.releaseLease(held.lease);
    await storage.writeRecord('done', { ...record('completed'), workflowId: 'done' }, null);
    expect(await markStranded(storage, 'done', 'b', 'order@1')).to.equal(false);
    expect((await storage.readRecord('w'))!.record.stranded).to.equal(undefined);
    expect((await storage.readRecord('done'))!.record.stranded).to.equal(undefined);
  });
});
