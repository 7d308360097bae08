import { expect } from 'chai';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { InvalidFingerprintPathError, InvalidOptionError, UnfingerprintableInputError } from '../../lib/errors';
import { assertFingerprintRecord, resolveFingerprintStrategy } from '../../lib/fingerprint/fingerprint-options';
import { CanonicalFingerprint } from '../../lib/fingerprint';
import { TS_REGISTER } from '../helpers/child';

const plain = new CanonicalFingerprint();

function shuffleKeys(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const shuffled = entries.map((e, i) => [((i + 1) * 7919 * (seed + 3)) % 104729, e] as const).sort((a, b) => a[0] - b[0]).map(([, e]) => e);
    return Object.fromEntries(shuffled.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]));
  }
  return value;
}

const json = fc.jsonValue().filter((v) => v !== undefined);

describe('CanonicalFingerprint', () => {
  it('is SHA-256 hex of the RFC 8785 canonical form', () => {
    const expected = createHash('sha256').update('{"10":1,"2":[1e+21,0.1,"€"],"a":true}').digest('hex');
    expect(plain.fingerprint({ a: true, 2: [1e21, 0.1, '€'], 10: 1 })).to.equal(expected);
  });

  it('does not depend on key order (property)', () => {
    fc.assert(fc.property(json, fc.nat(1000), (value, seed) => {
          expect(plain.fingerprint(shuffleKeys(value, seed))).to.equal(plain.fingerprint(value));
        }), { numRuns: 300 });
  });

  it('sees every change of a leaf (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), fc.string(), fc.integer(), (obj, key, delta) => {
        fc.pre(delta !== 0);
        const changed = { ...obj, [key]: (obj[key] ?? 0) + delta };
        expect(plain.fingerprint(changed)).not.to.equal(plain.fingerprint(obj));
      }),
      { numRuns: 300 },
    );
  });

  it('ignores excluded paths and nothing else (property)', () => {
    const strategy = new CanonicalFingerprint({ exclude: ['requestId', 'meta.receivedAt', 'items[*].ts'] });
    const input = fc.record({
      customerId: fc.string(),
      requestId: fc.uuid(),
      meta: fc.record({ receivedAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), source: fc.string() }),
      items: fc.array(fc.record({ sku: fc.string(), ts: fc.integer() })),
    });
    fc.assert(
      fc.property(input, input, (a, b) => {
        const volatileOnly = { ...a, requestId: b.requestId, meta: { ...a.meta, receivedAt: b.meta.receivedAt }, items: a.items.map((it, i) => ({ ...it, ts: i })) };
        expect(strategy.fingerprint(volatileOnly)).to.equal(strategy.fingerprint(a));
        const realChange = { ...a, customerId: a.customerId + 'x' };
        expect(strategy.fingerprint(realChange)).not.to.equal(strategy.fingerprint(a));
        const sourceChange = { ...a, meta: { ...a.meta, source: a.meta.source + 'x' } };
        expect(strategy.fingerprint(sourceChange)).not.to.equal(strategy.fingerprint(a));
      }),
      { numRuns: 200 },
    );
  });

  it('excludes exactly the paths named: not a sibling sharing a prefix, not the other items of an array', () => {
    const strategy = new CanonicalFingerprint({ exclude: ['a.b', 'items[0]', 'x', 'rows[*].t'] });
    const base = { a: { b: 1, bc: 1 }, items: [1, 2], x: 1, xy: 1, rows: [{ t: 1, tt: 1 }] };
    const fp = strategy.fingerprint(base);
    expect(strategy.fingerprint({ ...base, a: { b: 2, bc: 1 }, items: [9, 2], x: 2, rows: [{ t: 2, tt: 1 }] }), 'only excluded parts changed').to.equal(fp);
    const counted: [string, unknown][] = [
      ['a.bc', { ...base, a: { b: 1, bc: 2 } }],
      ['items[1]', { ...base, items: [1, 3] }],
      ['xy', { ...base, xy: 2 }],
      ['rows[0].tt', { ...base, rows: [{ t: 1, tt: 2 }] }],
    ];
    for (const [path, changed] of counted) expect(strategy.fingerprint(changed), `a change at ${path} counts`).not.to.equal(fp);
    // Excluded parts are not checked, and nothing else escapes the check.
    expect(() => strategy.fingerprint({ ...base, xy: new Date(0) })).to.throw(UnfingerprintableInputError, 'input.xy');
    expect(() => strategy.fingerprint({ ...base, items: [1, new Date(0)] })).to.throw(UnfingerprintableInputError, 'input.items[1]');
    expect(() => strategy.fingerprint({ ...base, items: [new Date(0), 2] })).not.to.throw();
  });

  it('includes exactly the paths named: not a sibling sharing a prefix, not the other items of an array', () => {
    const strategy = new CanonicalFingerprint({ include: ['a.b', 'items[0]'] });
    const base = { a: { b: 1, bc: 1 }, items: [1, 2] };
    const fp = strategy.fingerprint(base);
    expect(strategy.fingerprint({ a: { b: 1, bc: 2 }, items: [1, 3] }), 'parts not included').to.equal(fp);
    expect(strategy.fingerprint({ a: { b: 2, bc: 1 }, items: [1, 2] })).not.to.equal(fp);
    expect(strategy.fingerprint({ a: { b: 1, bc: 1 }, items: [0, 2] })).not.to.equal(fp);
  });

  it('applies exclude inside what include keeps', () => {
    const strategy = new CanonicalFingerprint({ include: ['order'], exclude: ['order.receivedAt'] });
    const a = { order: { id: 1, receivedAt: 't1' }, note: 'x' };
    expect(strategy.fingerprint({ order: { id: 1, receivedAt: 't2' }, note: 'y' })).to.equal(strategy.fingerprint(a));
    expect(strategy.fingerprint({ order: { id: 2, receivedAt: 't1' }, note: 'x' })).not.to.equal(strategy.fingerprint(a));
  });

  it('does not check excluded parts, so a volatile Date field can simply be excluded', () => {
    const strategy = new CanonicalFingerprint({ exclude: ['receivedAt', 'items[*].seenAt'] });
    const a = strategy.fingerprint({ id: 1, receivedAt: new Date(1), items: [{ sku: 'a', seenAt: new Date(2) }] });
    expect(strategy.fingerprint({ id: 1, receivedAt: new Date(9), items: [{ sku: 'a', seenAt: new Map() }] })).to.equal(a);
    expect(strategy.fingerprint({ id: 2, receivedAt: new Date(1), items: [{ sku: 'a', seenAt: new Date(2) }] })).not.to.equal(a);
    expect(() => strategy.fingerprint({ id: 1, other: new Date(1) })).to.throw(UnfingerprintableInputError, 'input.other');
  });

  it('include keeps only the named paths', () => {
    const strategy = new CanonicalFingerprint({ include: ['customerId', 'items[*].sku'] });
    const a = { customerId: 'c', note: 'x', items: [{ sku: 's', qty: 1 }] };
    expect(strategy.fingerprint({ ...a, note: 'y', items: [{ sku: 's', qty: 9 }] })).to.equal(strategy.fingerprint(a));
    expect(strategy.fingerprint({ ...a, items: [{ sku: 't', qty: 1 }] })).not.to.equal(strategy.fingerprint(a));
  });

  it("keeps a '__proto__' key (as JSON.parse makes it) in the fingerprint", () => {
    const withProto = JSON.parse('{"a":1,"__proto__":{"b":2}}');
    expect(plain.fingerprint(withProto)).not.to.equal(plain.fingerprint({ a: 1 }));
    expect(plain.fingerprint(withProto)).not.to.equal(plain.fingerprint(JSON.parse('{"a":1,"__proto__":{"b":3}}')));
  });

  it('treats an undefined property as absent, as JSON does', () => {
    expect(plain.fingerprint({ a: 1, b: undefined })).to.equal(plain.fingerprint({ a: 1 }));
  });

  const bad: [string, unknown, string][] = [
    ['a Map', { m: new Map() }, 'input.m'],
    ['a Set', { s: [new Set()] }, 'input.s[0]'],
    ['a BigInt', { n: 1n }, 'input.n'],
    ['a function', { f: () => 1 }, 'input.f'],
    ['a symbol', { s: Symbol('x') }, 'input.s'],
    ['NaN', { x: NaN }, 'input.x'],
    ['Infinity', { deep: { x: Infinity } }, 'input.deep.x'],
    ['a top-level undefined', undefined, 'input'],
    ['undefined in an array', { a: [1, undefined] }, 'input.a[1]'],
    ['a Date', { at: new Date(0) }, 'input.at'],
    ['a typed array', { b: new Uint8Array(1) }, 'input.b'],
    ['an object with toJSON', { v: { toJSON: () => 1 } }, 'input.v'],
    ['a key needing quotes', { 'odd key': { x: 1n } }, 'input["odd key"].x'],
    ['a lone surrogate', { list: ['ok', 'bad \ud800'] }, 'input.list[1]'],
  ];
  for (const [what, input, path] of bad) {
    it(`rejects ${what} with UnfingerprintableInputError naming ${path}`, () => {
      try {
        plain.fingerprint(input);
        expect.fail('should throw');
      } catch (error) {
        expect(error).to.be.instanceOf(UnfingerprintableInputError);
        expect((error as UnfingerprintableInputError).path).to.equal(path);
      }
    });
  }

  it('rejects a circular input', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.again = a;
    expect(() => plain.fingerprint(a)).to.throw(UnfingerprintableInputError, 'circular');
  });

  it('rejects malformed paths when constructed', () => {
    for (const path of ['', 'a..b', 'a[', 'a[x]', '.a']) expect(() => new CanonicalFingerprint({ exclude: [path] })).to.throw(InvalidFingerprintPathError);
  });

  it('is identical in another process', function () {
    this.timeout(30_000);
    const input = { z: [1, 2.5, 'ü'], a: { y: null, b: true }, '10': 'x', '9': 'y' };
    const script = `require('reflect-metadata');const {CanonicalFingerprint}=require('./lib/fingerprint');process.stdout.write(new CanonicalFingerprint().fingerprint(${JSON.stringify(input)}))`;
    const other = execFileSync(process.execPath, ['-r', TS_REGISTER, '-e', script], { encoding: 'utf8' });
    expect(other).to.equal(plain.fingerprint(input)).and.to.match(/^[0-9a-f]{64}$/);
  });

  it('refuses exclude or include that is not a list, naming which', () => {
    for (const key of ['exclude', 'include'] as const) {
      try {
        new CanonicalFingerprint({ [key]: 'a.b' } as never);
        expect.fail('accepted');
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidOptionError);
        expect(error).to.include({ option: `fingerprint ${key}`, expected: 'an array of dotted paths' });
      }
    }
  });

  it('include alone leaves everything it keeps in, and what include keeps but exclude drops is gone', () => {
    const picked = new CanonicalFingerprint({ include: ['a'] });
    expect(picked.fingerprint({ a: { x: 1, y: 2 }, b: 3 })).to.equal(plain.fingerprint({ a: { x: 1, y: 2 } }));
    expect(new CanonicalFingerprint({ include: ['zz'] }).fingerprint({ a: 1 })).to.equal(plain.fingerprint({}));
    expect(new CanonicalFingerprint({ include: ['a'], exclude: ['a'] }).fingerprint({ a: 1 })).to.equal(plain.fingerprint({}));
    expect(new CanonicalFingerprint({ include: ['[0]'], exclude: ['[0]'] }).fingerprint([1])).to.equal(plain.fingerprint([]));
  });

  it('orders integer-like keys as RFC 8785 does, also through include', () => {
    const withIndexKeys = { '10': 'x', '9': 'y', b: 1 };
    const expected = createHash('sha256').update('{"10":"x","9":"y","b":1}').digest('hex');
    expect(plain.fingerprint(withIndexKeys)).to.equal(expected);
    expect(new CanonicalFingerprint({ include: ['10', '9', 'b'] }).fingerprint(withIndexKeys)).to.equal(expected);
  });
});

describe('fingerprint options', () => {
  it('takes a strategy as it is, path options as a CanonicalFingerprint, and refuses anything else naming where', () => {
    const strategy = { fingerprint: () => 'x' };
    expect(resolveFingerprintStrategy(strategy, 'here')).to.equal(strategy);
    expect(resolveFingerprintStrategy({ exclude: ['a'] }, 'here')).to.be.instanceOf(CanonicalFingerprint);
    for (const bad of [null, 'sha256', 5, undefined]) {
      try {
        assertFingerprintRecord(bad, '@Fingerprint of Etl');
        expect.fail('accepted');
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidOptionError);
        expect(error).to.include({ option: '@Fingerprint of Etl', expected: 'a FingerprintStrategy or { exclude?, include? }' });
      }
    }
  });
});
