import { expect } from 'chai';
import fc from 'fast-check';
import { decodeSegment, encodeSegment } from '../lib/workflow-id';

/** Names that differ only in letter case, or in characters that need encoding. */
const tricky = fc.string({ unit: fc.constantFrom('a', 'A', 'b', 'B', 'z', 'Z', '-', '_', '.', '/', '%', 'é', 'É', '0'), minLength: 1, maxLength: 6 });

describe('workflow ids as path segments', () => {
  it('encodes every upper-case letter, so no two names differ only in letter case on disk', () => {
    expect(encodeSegment('a')).to.equal('a');
    expect(encodeSegment('A')).to.equal('%41');
    expect(encodeSegment('Job-1')).to.equal('%4Aob-1');
    fc.assert(
      fc.property(tricky, tricky, (x, y) => {
        fc.pre(x !== y);
        // A case-insensitive file system (macOS, Windows) compares names this way.
        expect(encodeSegment(x).toLowerCase()).not.to.equal(encodeSegment(y).toLowerCase());
      }),
      { numRuns: 2_000 },
    );
  });

  it('makes one safe segment of any name, and decodes only what it made', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (name) => {
        const segment = encodeSegment(name);
        expect(segment).to.match(/^(?:[a-z0-9_-]|%[0-9A-F]{2})+$/);
        if (name.isWellFormed()) expect(decodeSegment(segment)).to.equal(name);
      }),
      { numRuns: 1_000 },
    );
    for (const foreign of ['A', '%41x%4', '%4a', '.', '..', 'a/b', '', '%C3']) expect(decodeSegment(foreign), foreign).to.equal(undefined);
  });

  it('keeps a name of lower-case letters, digits, - and _ as it is, both ways', () => {
    const safe = fc.string({ unit: fc.constantFrom(...'abcxyz0189-_'), minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(safe, (name) => {
        expect(encodeSegment(name)).to.equal(name);
        expect(decodeSegment(name)).to.equal(name);
      }),
    );
    expect(encodeSegment('s12')).to.equal('s12');
    expect(encodeSegment('s12.')).to.equal('s12%2E');
  });
});
