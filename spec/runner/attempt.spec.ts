import { expect } from 'chai';
import { Attempt, AttemptsInFlight, INTERRUPTED } from '../../lib/runner/attempt';
import { deferred } from '../helpers/deferred';

async function outcome(promise: Promise<unknown>): Promise<{ value?: unknown; error?: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe('attempts', () => {
  describe('Attempt', () => {
    it('gives a signal that is not aborted until the attempt is, then aborted with the reason', () => {
      const attempt = new Attempt();
      const signal = attempt.signal;
      expect(attempt.signal).to.equal(signal);
      expect(signal.aborted).to.equal(false);
      attempt.abort('why', 'rejection');
      expect(signal.aborted).to.equal(true);
      expect(signal.reason).to.equal('why');
    });

    it('gives a signal born aborted, with the first reason, when read after the abort', () => {
      const attempt = new Attempt();
      attempt.abort('first', 'r1');
      attempt.abort('second', 'r2');
      expect(attempt.signal.aborted).to.equal(true);
      expect(attempt.signal.reason).to.equal('first');
    });

    it('settles with a synchronous result or throw, tracking no user code', async () => {
      const tracked: Promise<unknown>[] = [];
      const track = (p: Promise<unknown>) => void tracked.push(p);
      expect(await new Attempt().run(() => 7, track)).to.equal(7);
      expect(await new Attempt().run(() => null, track)).to.equal(null);
      expect(await new Attempt().run(() => undefined, track)).to.equal(undefined);
      const boom = new Error('boom');
      expect(await outcome(new Attempt().run(() => { throw boom; }, track))).to.deep.equal({ error: boom });
      expect(tracked, 'only asynchronous user code is tracked').to.deep.equal([]);
    });

    it('settles with an asynchronous result, and tracks the running promise', async () => {
      const tracked: Promise<unknown>[] = [];
      const thenable = { then: (resolve: (v: unknown) => void) => resolve('from a thenable') };
      expect(await new Attempt().run(() => Promise.resolve(1), (p) => void tracked.push(p))).to.equal(1);
      expect(await new Attempt().run(() => thenable, (p) => void tracked.push(p))).to.equal('from a thenable');
      expect(await outcome(new Attempt().run(() => Promise.reject(new Error('late')), (p) => void tracked.push(p.catch(() => 'handled'))))).to.have.nested.property('error.message', 'late');
      expect(tracked).to.have.length(3);
    });

    it('rejects at once with the rejection when aborted, while the user code still runs', async () => {
      const gate = deferred<string>();
      const attempt = new Attempt();
      const pending = outcome(attempt.run(() => gate.promise, () => undefined));
      attempt.abort('reason', 'rejected');
      expect(await pending).to.deep.equal({ error: 'rejected' });
      gate.resolve('too late');
    });
  });

  describe('AttemptsInFlight', () => {
    it("interrupts every attempt in flight when the run's signal aborts, and none that ended", async () => {
      const stop = new AbortController();
      const inFlight = new AttemptsInFlight(stop.signal);
      const [a, b, ended] = [inFlight.start(), inFlight.start(), inFlight.start()];
      inFlight.end(ended);
      const pending = outcome(inFlight.run(a, () => new Promise(() => undefined)));
      stop.abort('cancelled');
      expect(await pending).to.deep.equal({ error: INTERRUPTED });
      expect(a.signal.reason).to.equal('cancelled');
      expect(b.signal.aborted).to.equal(true);
      expect(ended.signal.aborted).to.equal(false);
    });

    it('starts an attempt interrupted once the run stopped', async () => {
      const stop = new AbortController();
      stop.abort('gone');
      const attempt = new AttemptsInFlight(stop.signal).start();
      expect(attempt.signal.reason).to.equal('gone');
    });

    it('settles only when all user code it started has settled, interrupted or not', async () => {
      const stop = new AbortController();
      const inFlight = new AttemptsInFlight(stop.signal);
      await inFlight.settled();
      const first = deferred<void>();
      const second = deferred<void>();
      const attempt = inFlight.start();
      void outcome(inFlight.run(attempt, () => first.promise.then(() => second.promise)));
      const other = inFlight.start();
      void outcome(inFlight.run(other, () => Promise.reject(new Error('fails'))));
      stop.abort('cancel');
      let settled = false;
      const done = inFlight.settled().then(() => (settled = true));
      first.resolve();
      await new Promise((resolve) => setImmediate(resolve));
      expect(settled).to.equal(false);
      second.resolve();
      await done;
      expect(settled).to.equal(true);
    });
  });
});
