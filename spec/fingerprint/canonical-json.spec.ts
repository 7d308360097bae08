import { expect } from 'chai';
import fc from 'fast-check';
import { canonicalJson, referenceCanonicalJson } from '../../lib/fingerprint/canonical-json';
import { copyJsonData } from '../../lib/fingerprint/json-data';

/** Keys that exercise RFC 8785 ordering: integer-like, digit-led, non-ASCII, astral, empty. */
const key = fc.oneof(fc.string(), fc.constantFrom('10', '2', '0', '1a', '01', '-1', '4294967295', 'é', 'z', '', '\u{1F600}', 'Z', '_', '€'), fc.nat().map(String));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: 'binary-ascii' }),
    fc.array(tie('value')),
    fc.dictionary(key, tie('value'), { noNullPrototype: true }),
  ),
})).value;

describe('canonical JSON', () => {
  it('writes byte for byte what canonicalize (the RFC 8785 reference) writes (property)', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(copyJsonData(value))).to.equal(referenceCanonicalJson(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('orders integer-like keys as strings, as RFC 8785 requires', () => {
    const copy = copyJsonData({ b: 1, 10: 'ten', 2: 'two', '1a': true });
    expect(copy.hasIndexKeys).to.equal(true);
    expect(canonicalJson(copy)).to.equal('{"10":"ten","1a":true,"2":"two","b":1}');
  });

  it('takes the native path when no object has an integer-like key', () => {
    const copy = copyJsonData({ zeta: [1e21, 0.1, -0], alpha: { 'é': 'x', e: '\u001f' } });
    expect(copy.hasIndexKeys).to.equal(false);
    expect(canonicalJson(copy)).to.equal('{"alpha":{"e":"\\u001f","é":"x"},"zeta":[1e+21,0.1,0]}');
  });
});
