import { expect } from 'chai';
import { DEFAULT_MAX_STALLED_COUNT, resolveWorkerSettings } from '../../lib/bullmq/queue-settings';
import { InvalidOptionError } from '../../lib/errors';

describe('bullmq queue worker settings', () => {
  it("defaults to BullMQ's lock and stalled check, a renewal at half the lock, and 1,000 stalls", () => {
    expect(resolveWorkerSettings(undefined)).to.deep.equal({ lockDuration: 30_000, lockRenewTime: 15_000, stalledInterval: 30_000, maxStalledCount: DEFAULT_MAX_STALLED_COUNT, drainDelay: 5 });
    expect(DEFAULT_MAX_STALLED_COUNT).to.equal(1_000);
  });

  it('takes the edges of what works, and a name', () => {
    expect(resolveWorkerSettings({ lockDuration: 1_000, lockRenewTime: 999, stalledInterval: 1, maxStalledCount: 1, drainDelay: 1, name: 'w' })).to.deep.equal({
      lockDuration: 1_000,
      lockRenewTime: 999,
      stalledInterval: 1,
      maxStalledCount: 1,
      drainDelay: 1,
      name: 'w',
    });
    expect(resolveWorkerSettings({ lockDuration: 3_001 }).lockRenewTime).to.equal(1_500);
  });

  const refused: [string, unknown, string, RegExp][] = [
    ['settings that are not an object', 'fast', 'settings', /an object of BullMQ worker settings/],
    ['null settings', null, 'settings', /an object/],
    ['concurrency here', { concurrency: 2 }, 'settings.concurrency', /give concurrency to the QueueWorker itself/],
    ['a connection here', { connection: {} }, 'settings.connection', /give connection to the QueueWorker itself/],
    ['autorun', { autorun: false }, 'settings.autorun', /starts its BullMQ worker itself/],
    ['a fractional lock', { lockDuration: 1_500.5 }, 'settings.lockDuration', /integer >= 1000/],
    ['a renewal of 0', { lockRenewTime: 0 }, 'settings.lockRenewTime', /integer >= 1/],
    ['a renewal past the lock', { lockDuration: 2_000, lockRenewTime: 2_001 }, 'settings.lockRenewTime', /less than lockDuration \(2000 ms\)/],
    ['a renewal at the lock', { lockDuration: 2_000, lockRenewTime: 2_000 }, 'settings.lockRenewTime', /the lock would expire before it is renewed/],
    ['lock renewal turned off', { skipLockRenewal: true }, 'settings.skipLockRenewal', /not to be set: a run longer than lockDuration would lose its job lock/],
    ['the stalled check turned off', { skipStalledCheck: true }, 'settings.skipStalledCheck', /not to be set: a job whose worker died would not be re-delivered/],
    ['an unknown setting', { lockDurationMs: 5 }, 'settings.lockDurationMs', /one of lockDuration, lockRenewTime, stalledInterval, maxStalledCount, drainDelay, name/],
    ['no stalled retry', { maxStalledCount: 0 }, 'settings.maxStalledCount', /with 0, the first crash of a worker fails its jobs for good/],
    ['a stalled interval of 0', { stalledInterval: 0 }, 'settings.stalledInterval', /integer >= 1/],
    ['no drain delay', { drainDelay: 0 }, 'settings.drainDelay', /integer >= 1 \(seconds\)/],
    ['an empty name', { name: '' }, 'settings.name', /non-empty string/],
    ['a numeric name', { name: 3 }, 'settings.name', /non-empty string/],
  ];
  for (const [what, settings, option, message] of refused) {
    it(`refuses ${what}, naming the setting`, () => {
      let error: unknown;
      try {
        resolveWorkerSettings(settings as never);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(InvalidOptionError).with.property('option', option);
      expect((error as Error).message).to.match(message);
    });
  }
});
