import { expect } from 'chai';
import { CanonicalFingerprint } from '../../lib/fingerprint';
import { ignoredInputPaths, MAX_PROBED_LEAVES } from '../../lib/fingerprint/ignored-paths';

describe('ignoredInputPaths', () => {
  it('names the leaves whose change leaves the fingerprint as it was: excluded paths, wildcards, whole excluded objects', async () => {
    const strategy = new CanonicalFingerprint({ exclude: ['meta', 'items[*].at', 'n'] });
    const input = { id: 7, n: 1e21, meta: { requestId: 'r', nested: [1, 2] }, items: [{ sku: 'a', at: 't1' }, { sku: 'b', at: null }], flags: { on: true } };
    expect(await ignoredInputPaths(strategy, input)).to.deep.equal(['n', 'meta.requestId', 'meta.nested[0]', 'meta.nested[1]', 'items[0].at', 'items[1].at']);
  });

  it('follows what an include list keeps, and empty objects and arrays are leaves', async () => {
    const strategy = new CanonicalFingerprint({ include: ['id'] });
    expect(await ignoredInputPaths(strategy, { id: 1, tags: [], extra: {}, flag: false })).to.deep.equal(['tags', 'extra', 'flag']);
  });

  it('asks a hand-written strategy too, and finds nothing ignored by the default one', async () => {
    const byId = { fingerprint: (input: unknown) => String((input as { id: unknown }).id) };
    expect(await ignoredInputPaths(byId, { id: 1, at: 'x' })).to.deep.equal(['at']);
    expect(await ignoredInputPaths(new CanonicalFingerprint(), { a: 0, b: '', c: null, d: [true] })).to.deep.equal([]);
  });

  it('walks arrays and objects with something in them; a Date, a Map or an empty object is one leaf', async () => {
    const ignoresAll = { fingerprint: () => 'same' };
    const input = { at: new Date(0), m: new Map([[1, 2]]), obj: { k: 1, list: [true] }, empty: {}, none: [] };
    expect(await ignoredInputPaths(ignoresAll, input)).to.deep.equal(['at', 'm', 'obj.k', 'obj.list[0]', 'empty', 'none']);
    const asJson = { fingerprint: (value: unknown) => JSON.stringify(value) };
    expect(await ignoredInputPaths(asJson, input), 'each leaf, whatever its kind, is changed').to.deep.equal([]);
    expect(await ignoredInputPaths(asJson, { s: 'changed', n: 0, f: false, z: null }), 'whatever its value').to.deep.equal([]);
  });

  it('is undefined, not a guess, for an input with too many leaves or one the strategy refuses', async () => {
    const most = Array.from({ length: MAX_PROBED_LEAVES }, (_, i) => i);
    expect(await ignoredInputPaths({ fingerprint: () => 'same' }, most)).to.have.length(MAX_PROBED_LEAVES);
    expect(await ignoredInputPaths(new CanonicalFingerprint(), [...most, 1])).to.equal(undefined);
    const refusing = { fingerprint: () => Promise.reject(new Error('no')) };
    expect(await ignoredInputPaths(refusing, { a: 1 })).to.equal(undefined);
    const pickyAboutChanges = { fingerprint: (input: unknown) => { if ((input as { a: unknown }).a !== 1) throw new Error('only 1'); return 'f'; } };
    expect(await ignoredInputPaths(pickyAboutChanges, { a: 1 }), 'a change it refuses is one it looks at').to.deep.equal([]);
    expect(await ignoredInputPaths(new CanonicalFingerprint(), 5), 'a scalar input has no fields').to.deep.equal([]);
    expect(await ignoredInputPaths({ fingerprint: () => 'same' }, 5), 'not even one ignored').to.deep.equal([]);
  });
});
