import { expect } from 'chai';
import { UnfingerprintableInputError } from '../../lib/errors';
import { parsePath } from '../../lib/fingerprint/fingerprint-path';
import { copyJsonData } from '../../lib/fingerprint/json-data';

/** The error copyJsonData throws for `value`, or a failure when it throws none. */
function rejection(value: unknown, ...exclude: string[]): UnfingerprintableInputError {
  try {
    copyJsonData(value, 'input', exclude.map(parsePath));
  } catch (error) {
    expect(error).to.be.instanceOf(UnfingerprintableInputError);
    return error as UnfingerprintableInputError;
  }
  return expect.fail(`${String(value)} was accepted`);
}

describe('copyJsonData', () => {
  describe('says what is wrong and where', () => {
    class Tagged {
      get [Symbol.toStringTag]() {
        return 'Money';
      }
    }
    const cases: [string, unknown, string, string][] = [
      ['a lone surrogate', { s: 'a\ud800' }, 'input.s', 'a string with a lone surrogate is not valid Unicode'],
      ['NaN', [NaN], 'input[0]', 'NaN is not a JSON number'],
      ['-Infinity', { x: -Infinity }, 'input.x', '-Infinity is not a JSON number'],
      ['undefined', undefined, 'input', 'undefined is not JSON data'],
      ['a BigInt', { n: 2n }, 'input.n', 'BigInt is not JSON data (pass it as a string)'],
      ['a symbol', { s: Symbol('s') }, 'input.s', 'a symbol is not JSON data'],
      ['a function', { f() {} }, 'input.f', 'a function is not JSON data'],
      ['an array hole', { a: [1, , 3] }, 'input.a[1]', 'array hole is not JSON data'],
      ['a Map', { m: new Map() }, 'input.m', 'Map is not JSON data'],
      ['a Date, with what to do instead', { at: new Date(0) }, 'input.at', 'Date is not JSON data (pass date.toISOString(), or exclude the field)'],
      ['a class instance that calls itself something else', { price: new Tagged() }, 'input.price', 'Money is not JSON data'],
      ['an object with toJSON', { v: { toJSON: () => 1 } }, 'input.v', 'an object with a toJSON method is not plain data (pass what toJSON returns)'],
      ['an enumerable symbol key', { o: { [Symbol('k')]: 1 } }, 'input.o', 'symbol-keyed properties are not JSON data'],
      ['a key with a lone surrogate', { o: { ['k\udc00']: 1 } }, 'input.o["k\\udc00"]', 'a key with a lone surrogate is not valid Unicode'],
    ];
    for (const [what, value, path, reason] of cases) {
      it(`${what}: ${path}`, () => {
        const error = rejection(value);
        expect(error.path).to.equal(path);
        expect(error.reason).to.equal(reason);
        expect(error.message).to.equal(`input at ${path} cannot be fingerprinted: ${reason}`);
      });
    }

    it('writes identifier keys with a dot and every other key quoted in brackets', () => {
      const bad = 1n;
      expect(rejection({ a1: { _b: { $c: { d_2: bad } } } }).path).to.equal('input.a1._b.$c.d_2');
      expect(rejection({ '1a': bad }).path).to.equal('input["1a"]');
      expect(rejection({ 'a-b': bad }).path).to.equal('input["a-b"]');
      expect(rejection({ 'a b': { c: bad } }).path).to.equal('input["a b"].c');
      expect(rejection({ '': bad }).path).to.equal('input[""]');
      expect(rejection({ 'x\n': bad }).path).to.equal('input["x\\n"]');
      expect(rejection([[0, [bad]]]).path).to.equal('input[0][1][0]');
    });

    it('names the root it was given', () => {
      expect(() => copyJsonData({ x: 1n }, 'output')).to.throw(UnfingerprintableInputError, 'input at output.x cannot');
    });

    it('finds a cycle however deep it starts, and names where it closes', () => {
      const root: Record<string, unknown> = {};
      let node = root;
      for (let i = 0; i < 150; i++) node = (node.n = {}) as Record<string, unknown>;
      node.back = root;
      const error = rejection(root);
      expect(error.reason).to.equal('circular reference');
      expect(error.path).to.equal(`input${'.n'.repeat(150)}.back`);
      const short: unknown[] = [];
      short.push(short);
      expect(rejection({ list: short }).path).to.equal('input.list[0]');
      const self: Record<string, unknown> = { name: 'a' };
      self.self = self;
      expect(rejection({ order: self }).path, 'the first repeated path, not the one 100 levels down').to.equal('input.order.self');
      const a: Record<string, unknown> = {};
      const b: Record<string, unknown> = { a };
      a.b = b;
      expect(rejection(a).path).to.equal('input.b.a');
    });

    it('accepts the same object twice when neither contains the other, at any depth', () => {
      const shared = { v: 1 };
      let deep: Record<string, unknown> = { left: shared, right: shared, list: [shared, shared] };
      for (let i = 0; i < 150; i++) deep = { n: deep, again: shared };
      const { value } = copyJsonData(deep);
      let node = value as Record<string, unknown>;
      for (let i = 0; i < 150; i++) {
        expect(node.again).to.deep.equal({ v: 1 });
        node = node.n as Record<string, unknown>;
      }
      expect(node).to.deep.equal({ left: { v: 1 }, list: [{ v: 1 }, { v: 1 }], right: { v: 1 } });
    });
  });

  describe('accepts plain data of every shape', () => {
    it('class instances and null-prototype objects, through their own enumerable keys', () => {
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
        get length() {
          return Math.hypot(this.x, this.y);
        }
      }
      const bare = Object.assign(Object.create(null), { b: 2, a: 1 });
      expect(copyJsonData({ p: new Point(3, 4), bare }).value).to.deep.equal({ bare: { a: 1, b: 2 }, p: { x: 3, y: 4 } });
    });

    it('a symbol key that is not enumerable is not data, so it is ignored', () => {
      const o = { a: 1 };
      Object.defineProperty(o, Symbol('hidden'), { value: 2, enumerable: false });
      expect(copyJsonData(o).value).to.deep.equal({ a: 1 });
    });

    it('refuses an enumerable symbol key beside a hidden one', () => {
      const o = { a: 1 };
      Object.defineProperty(o, Symbol('hidden'), { value: 2, enumerable: false });
      Object.defineProperty(o, Symbol('shown'), { value: 3, enumerable: true });
      expect(() => copyJsonData(o)).to.throw(UnfingerprintableInputError, 'symbol-keyed properties');
    });

    it('leaves out a whole key excluded beside a path below it', () => {
      const paths = ['a', 'a.x'].map((p) => parsePath(p));
      expect(copyJsonData({ a: { x: 1, y: 2 }, b: 3 }, 'input', paths).value).to.deep.equal({ b: 3 });
      expect(copyJsonData([{ x: 1 }, 2], 'input', ['[0]', '[0].x'].map((p) => parsePath(p))).value).to.deep.equal([2]);
    });

    it('an undefined property is absent, as in JSON', () => {
      expect(copyJsonData({ a: undefined, b: 1 }).value).to.deep.equal({ b: 1 });
    });

    it("a '__proto__' key becomes an own key, never the copy's prototype", () => {
      const copy = copyJsonData(JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')).value as Record<string, unknown>;
      expect(Object.getPrototypeOf(copy)).to.equal(Object.prototype);
      expect(Object.keys(copy)).to.deep.equal(['__proto__', 'a']);
      expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).to.deep.equal({ polluted: true });
    });

    it('returns a copy: changing the input afterwards changes nothing', () => {
      const input = { list: [{ a: 1 }], o: { b: 'x' } };
      const { value } = copyJsonData(input);
      input.list[0].a = 2;
      input.o.b = 'y';
      expect(value).to.deep.equal({ list: [{ a: 1 }], o: { b: 'x' } });
    });
  });

  describe('orders keys by UTF-16 code units (RFC 8785)', () => {
    const keysOf = (value: unknown) => Object.keys(copyJsonData(value).value as object);
    for (const n of [2, 5, 16, 17, 40]) {
      it(`in an object of ${n} keys`, () => {
        const keys = Array.from({ length: n }, (_, i) => `k${String.fromCharCode(0x7a - i)}${i % 3}`);
        // Inserted in descending order (and, for the big ones, shuffled): the copy must sort them.
        const shuffled = n > 16 ? keys.map((k, i) => [k, (i * 7) % n] as const).sort((a, b) => a[1] - b[1]).map(([k]) => k) : keys;
        expect(shuffled).to.not.deep.equal([...keys].sort());
        expect(keysOf(Object.fromEntries(shuffled.map((k) => [k, 1])))).to.deep.equal([...keys].sort());
      });
    }
    it('by code unit, not by code point or locale', () => {
      // U+FF61 is one code unit above U+E000; U+1F600 is a surrogate pair starting at 0xD83D, below both.
      expect(keysOf({ '\uff61': 1, '\ue000': 2, '😀': 3, B: 4, a: 5 })).to.deep.equal(['B', 'a', '😀', '\ue000', '\uff61']);
    });
  });

  describe('reports integer-like keys, which JS enumerates before every other key', () => {
    const cases: [string, boolean][] = [
      ['0', true],
      ['9', true],
      ['10', true],
      ['9999999999', true],
      ['99999999999', false],
      ['01', false],
      ['1a', false],
      ['-1', false],
      ['/', false],
      [':', false],
      ['a', false],
    ];
    for (const [key, indexLike] of cases) {
      it(`'${key}': ${indexLike}`, () => {
        expect(copyJsonData({ z: 1, [key]: 1 }).hasIndexKeys).to.equal(indexLike);
        expect(copyJsonData({ deep: [{ z: 1, [key]: 1 }] }).hasIndexKeys).to.equal(indexLike);
      });
    }
    it('not for an excluded key', () => {
      expect(copyJsonData({ a: 1, '7': 1 }, 'input', [parsePath('7')]).hasIndexKeys).to.equal(false);
    });
  });

  describe('leaves out what is excluded, unchecked', () => {
    it('the whole input, for an empty path', () => {
      expect(copyJsonData(new Date(), 'input', [[]])).to.deep.equal({ value: null, hasIndexKeys: false });
    });

    it('array items by index or all, keeping the rest in order', () => {
      const input = { a: [new Date(), 1, , 3], b: [{ t: new Date(), k: 1 }, { t: 1n, k: 2 }] };
      expect(copyJsonData(input, 'input', ['a[0]', 'a[2]', 'b[*].t'].map(parsePath)).value).to.deep.equal({ a: [1, 3], b: [{ k: 1 }, { k: 2 }] });
    });

    it('still checks what is not excluded, naming its original index', () => {
      expect(rejection({ a: [new Date(), 1, 2n] }, 'a[0]').path).to.equal('input.a[2]');
      expect(rejection({ a: [new Date(), , 2] }, 'a[0]').reason).to.equal('array hole is not JSON data');
      expect(rejection({ a: [new Date(), , 2] }, 'a[0]').path).to.equal('input.a[1]');
      expect(rejection({ o: { skip: 1n, keep: 1n } }, 'o.skip').path).to.equal('input.o.keep');
    });

    it('a path below a value excludes only that part of it', () => {
      expect(copyJsonData({ o: { a: 1, b: { c: 2, d: 3 } } }, 'input', [parsePath('o.b.c')]).value).to.deep.equal({ o: { a: 1, b: { d: 3 } } });
    });
  });
});
