/** Counting runs per workflow version: by status, unfinished and stranded, within a bound on records read. */
import { expect } from 'chai';
import { WorkflowRunner } from '../../../lib/runner/workflow-runner';
import { MemoryStorage } from '../../../lib/storage/memory-storage';
import type { WorkflowRecord } from '../../../lib/storage/records';

const record = (id: string, name: string, version: number | undefined, status: WorkflowRecord['status']): WorkflowRecord => ({
  formatVersion: 1,
  workflowId: id,
  workflowName: name,
  ...(version === undefined ? {} : { version }),
  fingerprint: 'f',
  steps: [{ name: 'a', after: [] }],
  updatedAt: '2026-12-06T00:00:00.000Z',
  status,
});

describe('version counts', () => {
  it('count each name and version by status, unfinished and stranded, and say when a bound stopped them', async () => {
    const storage = new MemoryStorage();
    await storage.writeRecord('a', record('a', 'order', undefined, 'waiting'), null);
    await storage.writeRecord('b', { ...record('b', 'order', 1, 'running'), stranded: { at: new Date().toISOString(), by: 'x', missing: 'order@1' } }, null);
    await storage.writeRecord('c', record('c', 'order', 2, 'completed'), null);
    await storage.writeRecord('d', record('d', 'order', 2, 'failed'), null);
    await storage.writeRecord('e', record('e', 'invoice', 3, 'waiting'), null);
    const runner = new WorkflowRunner({ storage });
    expect(await runner.countVersions()).to.deep.equal({
      versions: [
        { workflowName: 'invoice', version: 3, statuses: { waiting: 1 }, unfinished: 1, stranded: 0 },
        { workflowName: 'order', version: 1, statuses: { waiting: 1, running: 1 }, unfinished: 2, stranded: 1 },
        { workflowName: 'order', version: 2, statuses: { completed: 1, failed: 1 }, unfinished: 0, stranded: 0 },
      ],
      examined: 5,
      complete: true,
    });
    expect((await runner.countVersions({ workflowName: 'invoice' })).versions.map((v) => v.workflowName)).to.deep.equal(['invoice']);
    const bounded = await runner.countVersions({ maxReads: 3 });
    expect(bounded).to.deep.include({ examined: 3, complete: false });
  });
});
