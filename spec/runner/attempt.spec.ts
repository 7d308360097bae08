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

    it('settles with a synchronous result or throw, tracking no user code even when aborted after', async () => {
      const tracked: Promise<unknown>[] = [];
      const track = (p: Promise<unknown>) => void tracked.push(p);
      const attempts = [new Attempt(track), new Attempt(track), new Attempt(track), new Attempt(track)];
      expect(await attempts[0]!.run(() => 7)).to.equal(7);
      expect(await attempts[1]!.run(() => null)).to.equal(null);
      expect(await attempts[2]!.run(() => undefined)).to.equal(undefined);
      const boom = new Error('boom');
      expect(await outcome(attempts[3]!.run(() => { throw boom; }))).to.deep.equal({ error: boom });
      for (const attempt of attempts) attempt.abort('late', 'late');
      expect(tracked, 'only asynchronous user code is tracked').to.deep.equal([]);
    });

    it('settles with an asynchronous result (a promise or a thenable), tracking nothing while it is not interrupted', async () => {
      const tracked: Promise<unknown>[] = [];
      const track = (p: Promise<unknown>) => void tracked.push(p);
      const thenable = { then: (resolve: (v: unknown) => void) => resolve('from a thenable') };
      expect(await new Attempt(track).run(() => Promise.resolve(1))).to.equal(1);
      expect(await new Attempt(track).run(() => thenable)).to.equal('from a thenable');
      expect(await outcome(new Attempt(track).run(() => Promise.reject(new Error('late'))))).to.have.nested.property('error.message', 'late');
      expect(tracked).to.deep.equal([]);
    });

    it('rejects at once with the rejection when aborted, and hands the still running user code to be tracked', async () => {
      const gate = deferred<string>();
      const tracked: Promise<unknown>[] = [];
      const attempt = new Attempt((p) => void tracked.push(p));
      const pending = outcome(attempt.run(() => gate.promise));
      attempt.abort('reason', 'rejected');
      expect(await pending).to.deep.equal({ error: 'rejected' });
      expect(tracked).to.have.length(1);
      gate.resolve('too late');
      expect(await tracked[0]).to.equal('too late');
    });

    it('tracks user code whose attempt was aborted while it was being called (before it returned its promise)', async () => {
      const tracked: Promise<unknown>[] = [];
      const attempt = new Attempt((p) => void tracked.push(p));
      const pending = outcome(
        attempt.run(() => {
          attempt.abort('reason', 'rejected');
          return new Promise(() => undefined);
        }),
      );
      expect(await pending).to.deep.equal({ error: 'rejected' });
      expect(tracked).to.have.length(1);
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
