import { expect } from 'chai';
import { InvalidFingerprintPathError } from '../../lib/errors';
import { matching, omitPaths, parsePath, pickPaths } from '../../lib/fingerprint/fingerprint-path';

const paths = (...texts: string[]) => texts.map(parsePath);

describe('fingerprint paths', () => {
  describe('parsePath', () => {
    it('reads keys, indexes and [*] into segments', () => {
      expect(parsePath('a')).to.deep.equal([{ key: 'a' }]);
      expect(parsePath('meta.receivedAt')).to.deep.equal([{ key: 'meta' }, { key: 'receivedAt' }]);
      expect(parsePath('items[*].ts')).to.deep.equal([{ key: 'items' }, { all: true }, { key: 'ts' }]);
      expect(parsePath('rows[0][12]')).to.deep.equal([{ key: 'rows' }, { index: 0 }, { index: 12 }]);
      expect(parsePath('[3].a')).to.deep.equal([{ index: 3 }, { key: 'a' }]);
      expect(parsePath('odd key-1')).to.deep.equal([{ key: 'odd key-1' }]);
    });

    const bad: [unknown, string, string][] = [
      ['', '', 'a path must be a non-empty string'],
      [undefined, 'undefined', 'a path must be a non-empty string'],
      [7, '7', 'a path must be a non-empty string'],
      ['a..b', 'a..b', 'empty segment'],
      ['.a', '.a', 'empty segment'],
      ['a.', 'a.', 'empty segment'],
      ['a.[0]', 'a.[0]', 'empty segment'],
      ['a[', 'a[', "cannot parse 'a[' (use name, name[*] or name[0])"],
      ['a[x]', 'a[x]', "cannot parse 'a[x]' (use name, name[*] or name[0])"],
      ['a[0]b', 'a[0]b', "cannot parse 'a[0]b' (use name, name[*] or name[0])"],
      ['b.a]', 'b.a]', "cannot parse 'a]' (use name, name[*] or name[0])"],
    ];
    for (const [text, shown, reason] of bad) {
      it(`refuses ${JSON.stringify(text)}: ${reason}`, () => {
        try {
          parsePath(text as string);
          expect.fail('accepted');
        } catch (error) {
          expect(error).to.be.instanceOf(InvalidFingerprintPathError);
          expect((error as InvalidFingerprintPathError).path).to.equal(shown);
          expect((error as InvalidFingerprintPathError).reason).to.equal(reason);
        }
      });
    }
  });

  describe('matching', () => {
    it('gives the rests of the paths whose first segment selects a key or an index', () => {
      const set = paths('a.b', 'a', 'ab.c', 'l[*].x', 'l[1]', '[2]');
      expect(matching(set, 'a')).to.deep.equal([[{ key: 'b' }], []]);
      expect(matching(set, 'ab')).to.deep.equal([[{ key: 'c' }]]);
      expect(matching(set, 'l')).to.deep.equal([[{ all: true }, { key: 'x' }], [{ index: 1 }]]);
      expect(matching(matching(set, 'l'), 1)).to.deep.equal([[{ key: 'x' }], []]);
      expect(matching(matching(set, 'l'), 0)).to.deep.equal([[{ key: 'x' }]]);
      expect(matching(set, 2)).to.deep.equal([[]]);
      expect(matching(set, '2')).to.deep.equal([]);
      expect(matching(set, 'b')).to.deep.equal([]);
    });
  });

  describe('omitPaths', () => {
    const value = { a: { b: 1, bc: 2 }, l: [{ x: 1, y: 2 }, { x: 3, y: 4 }], k: 'v' };

    it('drops exactly what the paths select', () => {
      expect(omitPaths(value, paths('a.b', 'l[*].x'))).to.deep.equal({ a: { bc: 2 }, l: [{ y: 2 }, { y: 4 }], k: 'v' });
      expect(omitPaths(value, paths('l[0]'))).to.deep.equal({ a: { b: 1, bc: 2 }, l: [{ x: 3, y: 4 }], k: 'v' });
      expect(omitPaths(value, paths('k', 'a'))).to.deep.equal({ l: [{ x: 1, y: 2 }, { x: 3, y: 4 }] });
    });

    it('ignores paths that select nothing, and gives undefined when everything is selected', () => {
      expect(omitPaths(value, paths('zz', 'k.deeper', 'l[9]'))).to.deep.equal(value);
      expect(omitPaths(value, [])).to.equal(value);
      expect(omitPaths(value, [[]])).to.equal(undefined);
      expect(omitPaths([1, 2], paths('[*]'))).to.deep.equal([]);
    });

    it("keeps a '__proto__' key as an own key", () => {
      const out = omitPaths(JSON.parse('{"__proto__": {"p": 1}, "a": 1}'), paths('a')) as object;
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect(Object.keys(out)).to.deep.equal(['__proto__']);
    });
  });

  describe('a path and a path below it, together', () => {
    const both = ['a', 'a.x'].map((p) => parsePath(p));
    it('omit the whole key', () => {
      expect(omitPaths({ a: { x: 1, y: 2 }, b: 3 }, both)).to.deep.equal({ b: 3 });
    });
    it('pick the whole key', () => {
      expect(pickPaths({ a: { x: 1, y: 2 }, b: 3 }, both)).to.deep.equal({ a: { x: 1, y: 2 } });
    });
  });

  describe('pickPaths', () => {
    const value = { a: { b: 1, bc: 2 }, l: [{ x: 1, y: 2 }, { x: 3, y: 4 }], k: 'v', n: null };

    it('keeps exactly what the paths select, array items in their order', () => {
      expect(pickPaths(value, paths('a.b'))).to.deep.equal({ a: { b: 1 } });
      expect(pickPaths(value, paths('l[*].x', 'k'))).to.deep.equal({ l: [{ x: 1 }, { x: 3 }], k: 'v' });
      expect(pickPaths(value, paths('l[1]'))).to.deep.equal({ l: [{ x: 3, y: 4 }] });
      expect(pickPaths(value, paths('n'))).to.deep.equal({ n: null });
      expect(pickPaths(value, [[]])).to.equal(value);
    });

    it('leaves out what a path cannot reach: a key below a leaf, a missing index', () => {
      expect(pickPaths(value, paths('k.deeper'))).to.deep.equal({});
      expect(pickPaths(value, paths('l[5]', 'l[*].z'))).to.deep.equal({ l: [{}, {}] });
      expect(pickPaths(value, paths('zz'))).to.deep.equal({});
      expect(pickPaths('leaf', paths('a'))).to.equal(undefined);
      expect(pickPaths(null, paths('a'))).to.equal(undefined);
    });

    it("keeps a '__proto__' key as an own key", () => {
      const out = pickPaths(JSON.parse('{"__proto__": {"p": 1}, "a": 1}'), paths('__proto__')) as object;
      expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
      expect(Object.keys(out)).to.deep.equal(['__proto__']);
    });
  });
});
