import { expect } from 'chai';
import sinon from 'sinon';
import { Step } from '../../decorators';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import type { Lease } from '../../lib/storage/records';
import { WorkflowRunner } from '../../lib/runner/workflow-runner';
import { LeaseKeeper, type LeaseSettings } from '../../lib/runner/lease-keeper';
import { WorkflowBusyError } from '../../lib/errors';
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

  describe('on its own, with a clock the spec moves', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers({ now: 1_000_000 });
    });
    afterEach(() => clock.restore());

    const settings = (over: Partial<LeaseSettings> = {}): LeaseSettings => ({ owner: 'me', ttlMs: 3_000, onBusy: 'throw', busyTimeoutMs: 60_000, signal: new AbortController().signal, ...over });

    it('refuses a busy workflow at once with onBusy throw, naming the holder and the expiry', async () => {
      const storage = new MemoryStorage();
      await storage.acquireLease('wf', 'other', 5_000);
      const error = await LeaseKeeper.acquire(storage, 'wf', settings(), () => undefined).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(WorkflowBusyError);
      expect(error).to.include({ workflowId: 'wf', holder: 'other', expiresAt: 1_005_000 });
    });

    it("waits with onBusy wait, backing off 25, 50, 100 ms..., never past the holder's expiry, and takes the lease once free", async () => {
      const storage = new MemoryStorage();
      await storage.acquireLease('wf', 'other', 300);
      const triedAt: number[] = [];
      const acquire = storage.acquireLease.bind(storage);
      sinon.stub(storage, 'acquireLease').callsFake((...args) => {
        triedAt.push(Date.now() - 1_000_000);
        return acquire(...args);
      });
      const keeper = LeaseKeeper.acquire(storage, 'wf', settings({ onBusy: 'wait' }), () => undefined);
      await clock.tickAsync(300);
      const held = await keeper;
      expect(triedAt).to.deep.equal([0, 25, 75, 175, 300]);
      expect(held.lease.owner).to.equal('me');
      await held.release();
    });

    it('backs off to at most a second between tries', async () => {
      const storage = new MemoryStorage();
      await storage.acquireLease('wf', 'other', 60_000);
      const triedAt: number[] = [];
      const acquire = storage.acquireLease.bind(storage);
      sinon.stub(storage, 'acquireLease').callsFake((...args) => {
        triedAt.push(Date.now() - 1_000_000);
        return acquire(...args);
      });
      const waited = LeaseKeeper.acquire(storage, 'wf', settings({ onBusy: 'wait', busyTimeoutMs: 5_000 }), () => undefined).catch((e: unknown) => e);
      await clock.tickAsync(5_000);
      expect(await waited).to.be.instanceOf(WorkflowBusyError);
      expect(triedAt).to.deep.equal([0, 25, 75, 175, 375, 775, 1_575, 2_575, 3_575, 4_575, 5_000]);
    });

    it('gives up waiting after busyTimeoutMs, or at once when the run is cancelled', async () => {
      const storage = new MemoryStorage();
      await storage.acquireLease('wf', 'other', 60_000);
      const waited = LeaseKeeper.acquire(storage, 'wf', settings({ onBusy: 'wait', busyTimeoutMs: 1_000 }), () => undefined).catch((e: unknown) => e);
      await clock.tickAsync(999);
      let settled = false;
      void waited.then(() => (settled = true));
      await clock.tickAsync(0);
      expect(settled).to.equal(false);
      await clock.tickAsync(1_001);
      expect(await waited).to.be.instanceOf(WorkflowBusyError);
      const stop = new AbortController();
      const cancelled = LeaseKeeper.acquire(storage, 'wf', settings({ onBusy: 'wait', signal: stop.signal }), () => undefined).catch((e: unknown) => e);
      await clock.tickAsync(10);
      stop.abort();
      await clock.tickAsync(0);
      expect(await cancelled).to.be.instanceOf(WorkflowBusyError);
    });

    it('renews every third of its TTL, adopting each renewed lease, until released', async () => {
      const storage = new MemoryStorage();
      const renew = sinon.spy(storage, 'renewLease');
      const lost = sinon.fake();
      const keeper = await LeaseKeeper.acquire(storage, 'wf', settings({ ttlMs: 3_000 }), lost);
      const first = keeper.lease;
      await clock.tickAsync(999);
      expect(renew.callCount).to.equal(0);
      await clock.tickAsync(1);
      expect(renew.callCount).to.equal(1);
      expect(renew.firstCall.args).to.deep.equal([first, 3_000]);
      expect(keeper.lease.expiresAt).to.equal(1_000_000 + 1_000 + 3_000);
      await clock.tickAsync(1_000);
      expect(renew.callCount).to.equal(2);
      expect(renew.secondCall.args[0]).to.deep.equal({ ...first, expiresAt: 1_004_000 });
      const release = sinon.spy(storage, 'releaseLease');
      await keeper.release();
      expect(release.firstCall.args[0]).to.equal(keeper.lease);
      await clock.tickAsync(10_000);
      expect(renew.callCount).to.equal(2);
      expect(lost.called).to.equal(false);
    });

    it('reports the lease lost when a renewal says it is gone, and renews no more', async () => {
      const storage = new MemoryStorage();
      const lost = sinon.fake();
      await LeaseKeeper.acquire(storage, 'wf', settings({ ttlMs: 3 }), lost);
      const renew = sinon.stub(storage, 'renewLease').resolves(undefined);
      await clock.tickAsync(1);
      expect(lost.calledOnce).to.equal(true);
      await clock.tickAsync(100);
      expect(renew.callCount).to.equal(1);
    });

    it('rides out a failing renewal while the lease lasts, and reports it lost once it expired', async () => {
      const storage = new MemoryStorage();
      const lost = sinon.fake();
      const keeper = await LeaseKeeper.acquire(storage, 'wf', settings({ ttlMs: 3_000 }), lost);
      const renew = sinon.stub(storage, 'renewLease').rejects(new Error('network down'));
      await clock.tickAsync(1_000);
      await clock.tickAsync(1_000);
      expect(renew.callCount).to.equal(2);
      expect(lost.called, 'not lost while it has not expired').to.equal(false);
      await clock.tickAsync(1_000);
      expect(renew.callCount).to.equal(3);
      expect(lost.calledOnce, 'lost at expiry').to.equal(true);
      expect(keeper.lease.expiresAt).to.equal(1_003_000);
    });
  });
});
