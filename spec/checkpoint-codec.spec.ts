import { expect } from 'chai';
import fc from 'fast-check';
import { decodeValue, encodeValue, UnencodableValue } from '../lib/checkpoint-codec';

function roundTrip(value: unknown): unknown {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));
}

describe('checkpoint codec', () => {
  it('round-trips Date, Map, Set, BigInt, Buffer, Uint8Array, undefined and nested values through JSON text', () => {
    const value = {
      when: new Date('2024-01-02T03:04:05.678Z'),
      invalidDate: new Date(NaN),
      byId: new Map<unknown, unknown>([[1, { a: new Set(['x']) }], ['k', undefined]]),
      tags: new Set([1n, 'two']),
      big: 12345678901234567890n,
      buf: Buffer.from('héllo'),
      bytes: new Uint8Array([0, 255, 7]),
      missing: undefined,
      list: [undefined, null, -0, NaN, Infinity, -Infinity, 1.5],
      nested: { deeper: { $wm: 'not a tag', v: 1 } },
    };
    const back = roundTrip(value) as typeof value;
    expect(back).to.deep.equal(value);
    expect(Buffer.isBuffer(back.buf)).to.equal(true);
    expect(Buffer.isBuffer(back.bytes)).to.equal(false);
    expect(back.bytes).to.be.instanceOf(Uint8Array);
    expect(Object.is(back.list[2], -0)).to.equal(true);
    expect('missing' in back).to.equal(true);
  });

  it('round-trips a top-level undefined (a step that returned nothing)', () => {
    expect(encodeValue(undefined)).to.deep.equal({ $wm: 'undefined' });
    expect(roundTrip(undefined)).to.equal(undefined);
  });

  it('round-trips keys named like Object.prototype members (toString, valueOf, __proto__)', () => {
    const value = new Set([false, { toString: new Set([1]), valueOf: 2, constructor: 'c' }, JSON.parse('{"__proto__":{"x":1}}')]);
    const back = roundTrip(value) as Set<unknown>;
    // chai's deep equality sorts Set members by string conversion, which such objects break: compare encodings.
    expect(JSON.stringify(encodeValue(back))).to.equal(JSON.stringify(encodeValue(value)));
    expect(Object.keys([...back][2] as object)).to.deep.equal(['__proto__']);
  });

  it('round-trips any JSON-like value built from the supported types (property)', () => {
    // Keys that are not Object.prototype names: chai's Set comparison cannot order objects whose
    // toString or valueOf is data (covered by the test above).
    const ordinaryKey = fc.string().filter((k) => !(k in Object.prototype));
    const leaf = fc.oneof(
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.date(),
      fc.uint8Array().map((a) => Buffer.from(a)),
      fc.uint8Array(),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node')), fc.dictionary(ordinaryKey, tie('node'), { noNullPrototype: true }), fc.array(tie('node')).map((a) => new Set(a)), fc.array(fc.tuple(leaf, tie('node'))).map((e) => new Map(e))),
    })).node;
    fc.assert(fc.property(tree, (value) => {
          expect(roundTrip(value)).to.deep.equal(value);
        }), { numRuns: 300 });
  });

  const rejected: [string, unknown, string, string][] = [
    ['a function', { a: { f: () => 1 } }, 'output.a.f', 'function'],
    ['a symbol', [1, Symbol('s')], 'output[1]', 'symbol'],
    ['a class instance', { user: new (class User { name = 'x'; })() }, 'output.user', 'instance of User'],
    ['a RegExp', { r: /x/ }, 'output.r', 'RegExp'],
    ['a Promise', { p: Promise.resolve(1) }, 'output.p', 'Promise'],
    ['a Map value', new Map([['k', () => 1]]), 'output.<value 0>', 'function'],
    ['a Map key', { m: new Map<unknown, number>([[1, 1], [Symbol('k'), 2]]) }, 'output.m.<key 1>', 'a symbol cannot be stored'],
    ['a Set item', { s: new Set([1, () => 2]) }, 'output.s.<item 1>', 'a function cannot be stored'],
    ['another typed array', { t: new Uint16Array(2) }, 'output.t', 'an instance of Uint16Array cannot be stored (return plain data: objects, arrays, Date, Map, Set, BigInt, Buffer, Uint8Array)'],
    ['a subclass of Uint8Array (it would come back as a plain Uint8Array)', { t: new (class Bytes extends Uint8Array {})(2) }, 'output.t', 'an instance of Bytes cannot be stored'],
    ['an object whose prototype has no constructor', { o: Object.create(Object.create(null)) }, 'output.o', 'an instance of Object cannot be stored'],
    ['symbol-keyed properties', { o: { [Symbol('k')]: 1 } }, 'output.o', 'symbol-keyed properties cannot be stored'],
  ];
  for (const [what, value, path, reason] of rejected) {
    it(`rejects ${what}, naming the path ${path}`, () => {
      try {
        encodeValue(value);
        expect.fail('should throw');
      } catch (error) {
        expect(error).to.be.instanceOf(UnencodableValue);
        expect((error as UnencodableValue).path).to.equal(path);
        expect((error as UnencodableValue).reason).to.contain(reason);
      }
    });
  }

  it('rejects a cycle instead of recursing forever', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => encodeValue(a)).to.throw(UnencodableValue, 'circular');
  });

  it('rejects an unknown tag when decoding', () => {
    expect(() => decodeValue({ $wm: 'alien' })).to.throw(UnencodableValue, 'unknown tag');
  });

  it('accepts the same object twice when neither contains the other', () => {
    const shared = { v: 1 };
    expect(roundTrip({ a: shared, b: [shared, shared], m: new Map([[shared, shared]]) })).to.deep.equal({ a: { v: 1 }, b: [{ v: 1 }, { v: 1 }], m: new Map([[{ v: 1 }, { v: 1 }]]) });
  });

  it('round-trips a null-prototype object as a plain object, and -0 as -0', () => {
    const bare = Object.assign(Object.create(null), { a: 1 });
    expect(roundTrip({ bare })).to.deep.equal({ bare: { a: 1 } });
    expect(Object.is(roundTrip(-0), -0)).to.equal(true);
    expect(Object.is((roundTrip([0]) as number[])[0], 0)).to.equal(true);
    expect(roundTrip([NaN, Infinity, -Infinity])).to.deep.equal([NaN, Infinity, -Infinity]);
  });

  it('names where an unknown tag sits when decoding', () => {
    const where = (encoded: unknown, path?: string) => {
      try {
        decodeValue(encoded as never, path);
      } catch (error) {
        expect(error).to.be.instanceOf(UnencodableValue);
        return [(error as UnencodableValue).path, (error as UnencodableValue).reason];
      }
      return expect.fail('decoded');
    };
    const alien = { $wm: 'alien' };
    expect(where(alien)).to.deep.equal(['output', 'unknown tag "alien"']);
    expect(where(alien, 'checkpoint')).to.deep.equal(['checkpoint', 'unknown tag "alien"']);
    expect(where([1, alien])[0]).to.equal('output[1]');
    expect(where({ a: { b: alien } })[0]).to.equal('output.a.b');
    expect(where({ $wm: 'map', v: [[1, 2], [alien, 3]] })[0]).to.equal('output.<key 1>');
    expect(where({ $wm: 'map', v: [[1, alien]] })[0]).to.equal('output.<value 0>');
    expect(where({ $wm: 'set', v: [1, 2, alien] })[0]).to.equal('output.<item 2>');
    expect(where({ $wm: 'object', v: { $wm: alien } })[0]).to.equal('output.$wm');
  });
});
