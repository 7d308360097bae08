import { expect } from 'chai';
import { parseDuration } from '../lib/duration';
import { InvalidOptionError } from '../lib/errors';

describe('parseDuration', () => {
  it('reads numbers as ms and strings with a unit', () => {
    expect(parseDuration('x', 0)).to.equal(0);
    expect(parseDuration('x', 1500)).to.equal(1500);
    expect(parseDuration('x', '500ms')).to.equal(500);
    expect(parseDuration('x', '45s')).to.equal(45_000);
    expect(parseDuration('x', '90min')).to.equal(5_400_000);
    expect(parseDuration('x', '2m')).to.equal(120_000);
    expect(parseDuration('x', '12h')).to.equal(43_200_000);
    expect(parseDuration('x', ' 30d ')).to.equal(2_592_000_000);
    expect(parseDuration('x', '1.5d')).to.equal(129_600_000);
    expect(parseDuration('x', '2w')).to.equal(1_209_600_000);
  });

  it('refuses anything else, naming the option', () => {
    for (const value of ['30', '30 days', 'd', '-1d', '1y', '', -1, Number.NaN, Infinity, null, undefined, {}]) {
      expect(() => parseDuration('retention.completed', value), String(value)).to.throw(InvalidOptionError, "option 'retention.completed' is");
    }
  });
});
