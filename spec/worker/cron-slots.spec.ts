import { expect } from 'chai';
import { InvalidOptionError } from '../../lib/errors';
import { CronSlots, slotWorkflowId } from '../../lib/worker/cron-slots';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('CronSlots', () => {
  it('reads the pattern in its time zone, lists slots in a window, and finds the latest one', () => {
    const paris = new CronSlots('0 6 * * *', 'Europe/Paris');
    expect(paris.between(at('2026-12-01T00:00:00Z'), at('2026-12-03T00:00:00Z')).map(iso)).to.deep.equal(['2026-12-01T05:00:00.000Z', '2026-12-02T05:00:00.000Z']);
    // Summer time: 06:00 in Paris is 04:00 UTC.
    expect(iso(paris.next(at('2026-07-01T00:00:00Z')))).to.equal('2026-07-01T04:00:00.000Z');
    expect(iso(paris.latest(at('2026-12-01T04:59:59Z')))).to.equal('2026-11-30T05:00:00.000Z');
    expect(iso(new CronSlots('0 0 1 1 *', 'UTC').latest(at('2026-12-01T00:00:00Z')))).to.equal('2026-01-01T00:00:00.000Z');
    expect(slotWorkflowId('report', at('2026-12-01T05:00:00Z'))).to.equal('report@2026-12-01T05:00:00.000Z');
  });

  it('counts a slot at the end of a window in it, and one at its start out of it', () => {
    const hourly = new CronSlots('0 * * * *', 'UTC');
    expect(hourly.between(at('2026-12-01T10:00:00Z'), at('2026-12-01T12:00:00Z')).map(iso)).to.deep.equal(['2026-12-01T11:00:00.000Z', '2026-12-01T12:00:00.000Z']);
    expect(hourly.latest(at('2026-12-01T12:00:00Z'))).to.equal(at('2026-12-01T12:00:00Z'));
  });

  it('finds the latest slot however far back it is, up to five years (a leap day two years back)', () => {
    expect(iso(new CronSlots('0 0 29 2 *', 'UTC').latest(at('2026-12-01T00:00:00Z')))).to.equal('2024-02-29T00:00:00.000Z');
    expect(iso(new CronSlots('0 0 1 * *', 'UTC').latest(at('2026-12-15T00:00:00Z')))).to.equal('2026-12-01T00:00:00.000Z');
    expect(iso(new CronSlots('* * * * * *', 'UTC').latest(at('2026-12-15T00:00:00.500Z')))).to.equal('2026-12-15T00:00:00.000Z');
  });

  it('reads the pattern in the process time zone when none is given', () => {
    const slots = new CronSlots('0 6 * * *');
    const local = new Date(2026, 11, 1, 6, 0, 0).getTime();
    expect(slots.next(local - 1)).to.equal(local);
  });

  it('refuses what is not a pattern, an unknown zone, and a pattern that never fires, saying which and why', () => {
    const refusals: [() => unknown, string][] = [
      [() => new CronSlots(5 as never), "option 'cron' is 5; expected a cron pattern such as '0 6 * * *'"],
      [() => new CronSlots(''), "option 'cron' is ''; expected a cron pattern such as '0 6 * * *'"],
      [() => new CronSlots('   '), "option 'cron' is '   '; expected a cron pattern such as '0 6 * * *'"],
      [() => new CronSlots('0 6 * * *', 2 as never), "option 'timezone' is 2; expected an IANA time zone such as 'Europe/Paris'"],
      [() => new CronSlots('0 6 * * *', 'Mars/Olympus'), "option 'timezone' is 'Mars/Olympus'; expected an IANA time zone (Invalid time zone specified: Mars/Olympus)"],
      [() => new CronSlots('every day'), "option 'cron' is 'every day'; expected a cron pattern croner accepts"],
      [() => new CronSlots('every day', 'UTC'), "option 'cron' is 'every day'; expected a cron pattern croner accepts (CronPattern: invalid configuration format"],
      [() => new CronSlots('every day', 'Mars/Olympus'), "option 'cron' is 'every day'"],
      [() => new CronSlots('0 0 30 2 *'), "option 'cron' is '0 0 30 2 *'; expected a cron pattern that fires at least once (this one names no date that exists)"],
    ];
    for (const [build, message] of refusals) expect(build, message).to.throw(InvalidOptionError, message);
  });
});
