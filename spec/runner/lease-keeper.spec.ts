import { expect } from 'chai';
import sinon from 'sinon';
import { Step } from '../../decorators';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { Lease } from '../../lib/storage/records';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { deferred } from '../helpers/deferred';

describe('the lease keeper', () => {
  it('release waits for a renewal in flight and gives up the renewed lease (a conditional release of the old version would leave it behind)', async () => {
    const storage = new MemoryStorage();
    const renewStarted = deferred();
    const renewMayFinish = deferred();
    const renewed: Lease[] = [];
    const renew = storage.renewLease.bind(storage);
    sinon.stub(storage, 'renewLease').callsFake(async (lease, ttlMs) => {
      renewStarted.resolve();
      await renewMayFinish.promise;
      // As on S3, every renewal is a new version of the lease.
      const next = { ...(await renew(lease, ttlMs))!, version: `v${renewed.length + 2}` };
      renewed.push(next);
      return next;
    });
    const release = sinon.spy(storage, 'releaseLease');
    class One {
      @Step() async only() {
        await renewStarted.promise;
        return 1;
      }
    }
    const run = new WorkflowRunner({ storage, leaseTtlMs: 30 }).run(new One(), { workflowId: 'job' });
    await renewStarted.promise;
    // The step has returned and the run is releasing, while the renewal has not finished.
    await new Promise((resolve) => setImmediate(resolve));
    expect(release.callCount, 'release waits for the renewal').to.equal(0);
    renewMayFinish.resolve();
    expect((await run).status).to.equal('completed');
    expect(release.callCount).to.equal(1);
    expect(release.firstCall.args[0]).to.deep.equal(renewed.at(-1));
    expect((await storage.acquireLease('job', 'next', 1_000)).acquired, 'nothing left behind').to.equal(true);
  });
});
