import { expect } from 'chai';
import sinon from 'sinon';
import { withRetries } from '../../../lib/storage/s3/s3-retry';

const transient = () => Object.assign(new Error('slow down'), { name: 'SlowDown' });

describe('withRetries', () => {
  let clock: sinon.SinonFakeTimers;
  const waits: number[] = [];
  beforeEach(() => {
    waits.length = 0;
    clock = sinon.useFakeTimers();
    const original = clock.setTimeout;
    sinon.stub(Math, 'random').returns(0.5);
    sinon.replace(globalThis, 'setTimeout', ((fn: () => void, ms: number) => {
      waits.push(ms);
      return original(fn, ms);
    }) as typeof setTimeout);
  });
  afterEach(() => {
    sinon.restore();
    clock.restore();
  });

  /** Runs `withRetries` to the end, moving the fake clock through every wait. */
  async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
    const outcome = promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await clock.runAllAsync();
    return outcome;
  }

  it('returns the first success, numbering the tries from 1', async () => {
    const tries: number[] = [];
    const out = await settle(
      withRetries({}, async (attempt) => {
        tries.push(attempt);
        if (attempt < 3) throw transient();
        return 'ok';
      }),
    );
    expect(out.value).to.equal('ok');
    expect(tries).to.deep.equal([1, 2, 3]);
  });

  it('waits a random part of an exponential ceiling between tries: base 50 ms, capped at 2 s, 5 tries', async () => {
    const error = transient();
    let tries = 0;
    const out = await settle(
      withRetries({}, async () => {
        tries++;
        throw error;
      }),
    );
    expect(out.error).to.equal(error);
    expect(tries).to.equal(5);
    expect(waits).to.deep.equal([25, 50, 100, 200]);
  });

  it('takes its attempts, base and cap from the options', async () => {
    let tries = 0;
    await settle(
      withRetries({ attempts: 7, baseDelayMs: 100, maxDelayMs: 1_000 }, async () => {
        tries++;
        throw transient();
      }),
    );
    expect(tries).to.equal(7);
    expect(waits).to.deep.equal([50, 100, 200, 400, 500, 500]);
  });

  it('gives up at once on a fault that is not transient', async () => {
    const denied = Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    let tries = 0;
    const out = await settle(
      withRetries({}, async () => {
        tries++;
        throw denied;
      }),
    );
    expect(out.error).to.equal(denied);
    expect(tries).to.equal(1);
    expect(waits).to.deep.equal([]);
  });

  it('tries once when attempts is 1', async () => {
    let tries = 0;
    const out = await settle(
      withRetries({ attempts: 1 }, async () => {
        tries++;
        throw transient();
      }),
    );
    expect(out.error).to.have.property('name', 'SlowDown');
    expect(tries).to.equal(1);
  });
});
