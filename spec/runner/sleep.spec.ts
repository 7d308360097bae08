import { expect } from 'chai';
import sinon from 'sinon';
import { sleep } from '../../lib/runner/sleep';

describe('sleep', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  /** Whether `promise` has settled after the pending microtasks ran. */
  async function isSettled(promise: Promise<unknown>): Promise<boolean> {
    let settled = false;
    void promise.then(() => (settled = true));
    await clock.tickAsync(0);
    return settled;
  }

  it('waits exactly its time', async () => {
    const slept = sleep(100);
    await clock.tickAsync(99);
    expect(await isSettled(slept)).to.equal(false);
    await clock.tickAsync(1);
    expect(await isSettled(slept)).to.equal(true);
  });

  it('does not wait for no time, nor with a signal already aborted', async () => {
    expect(await isSettled(sleep(0))).to.equal(true);
    expect(await isSettled(sleep(-5))).to.equal(true);
    const stopped = new AbortController();
    stopped.abort();
    expect(await isSettled(sleep(1_000, stopped.signal))).to.equal(true);
    expect(clock.countTimers()).to.equal(0);
  });

  it('ends at once when its signal aborts, leaving no timer and no listener behind', async () => {
    const stop = new AbortController();
    const listeners = sinon.spy(stop.signal, 'removeEventListener');
    const slept = sleep(60_000, stop.signal);
    expect(clock.countTimers()).to.equal(1);
    stop.abort();
    expect(await isSettled(slept)).to.equal(true);
    expect(clock.countTimers()).to.equal(0);
    expect(listeners.calledOnce).to.equal(true);
  });

  it('removes its abort listener when it ends on time', async () => {
    const stop = new AbortController();
    const removed = sinon.spy(stop.signal, 'removeEventListener');
    const slept = sleep(10, stop.signal);
    await clock.tickAsync(10);
    expect(await isSettled(slept)).to.equal(true);
    expect(removed.calledOnceWith('abort')).to.equal(true);
  });
});
