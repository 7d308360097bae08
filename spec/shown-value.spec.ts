import { expect } from 'chai';
import fc from 'fast-check';
import { decodeValue, encodeValue } from '../lib/checkpoint-codec';
import { shownLines, shownText, toJsonData } from '../lib/shown-value';

describe('stored values as people read them', () => {
  describe('shownText: in their own types', () => {
    it('shows a Date as a date, a BigInt with its n, Map and Set as such, bytes as hex with their length, undefined as undefined', () => {
      const value = {
        at: new Date('2026-12-01T00:00:00.000Z'),
        big: 12n,
        none: undefined,
        map: new Map<unknown, unknown>([['a', 1], [2, new Set(['b'])]]),
        set: new Set([1, 2]),
        bytes: Buffer.from('hello'),
        list: [null, 'x', true, -0, Number.NaN],
        empty: {},
        nothing: [],
      };
      expect(shownText(value)).to.equal(
        [
          '{',
          '  "at": Date(2026-12-01T00:00:00.000Z),',
          '  "big": 12n,',
          '  "none": undefined,',
          '  "map": Map(2) {',
          '    "a" => 1,',
          '    2 => Set(1) [',
          '      "b"',
          '    ]',
          '  },',
          '  "set": Set(2) [',
          '    1,',
          '    2',
          '  ],',
          '  "bytes": Buffer(5) hex 68656c6c6f,',
          '  "list": [',
          '    null,',
          '    "x",',
          '    true,',
          '    -0,',
          '    NaN',
          '  ],',
          '  "empty": {},',
          '  "nothing": []',
          '}',
        ].join('\n'),
      );
      expect(shownText(undefined)).to.equal('undefined');
      expect(shownText(new Date(Number.NaN))).to.equal('Invalid Date');
      expect(shownText(new Uint8Array([1, 255]))).to.equal('Uint8Array(2) hex 01ff');
      expect(shownText(Buffer.alloc(100, 1))).to.equal(`Buffer(100) hex ${'01'.repeat(64)}… (36 more bytes)`);
    });

    it('names the path of every leaf, as @Fingerprint({ exclude }) names it', () => {
      const lines = shownLines({ meta: { requestId: 'r-1' }, items: [{ sku: 'a' }] });
      expect(lines.filter((l) => l.path !== undefined).map((l) => [l.path, l.text.trim()])).to.deep.equal([
        ['meta.requestId', '"requestId": "r-1"'],
        ['items[0].sku', '"sku": "a"'],
      ]);
    });

    it('shows a value inside itself as [circular], and the same value twice in full', () => {
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      const shared = { x: 1 };
      expect(shownText({ circular, twice: [shared, shared] })).to.equal(
        ['{', '  "circular": {', '    "name": "loop",', '    "self": [circular]', '  },', '  "twice": [', '    {', '      "x": 1', '    },', '    {', '      "x": 1', '    }', '  ]', '}'].join('\n'),
      );
    });

    it('shows what the store kept exactly as the value it was given, never the store\'s encoding', () => {
      const stored = fc.letrec((tie) => ({
        leaf: fc.oneof(fc.string(), fc.double(), fc.bigInt(), fc.date(), fc.constant(undefined), fc.constant(null), fc.boolean(), fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b))),
        value: fc.oneof({ depthSize: 'small' }, tie('leaf'), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.string(), tie('value'), { maxKeys: 3 }), fc.array(tie('leaf'), { maxLength: 3 }).map((l) => new Set(l))),
      })).value;
      fc.assert(
        fc.property(stored, (value) => {
          const text = shownText(decodeValue(encodeValue(value)));
          expect(text).to.equal(shownText(value));
          expect(text).not.to.contain('"$wm"');
        }),
        { numRuns: 200 },
      );
    });
  });

  describe('toJsonData: JSON for machines', () => {
    it('makes any decoded value plain JSON data', () => {
      const circular: Record<string, unknown> = { name: 'loop' };
      circular.self = circular;
      const shared = { x: 1 };
      expect(
        toJsonData({
          big: 12n,
          bytes: Buffer.from('hello'),
          at: new Date('2026-12-01T00:00:00.000Z'),
          bad: new Date(Number.NaN),
          inf: Infinity,
          nan: Number.NaN,
          none: undefined,
          fn: () => 1,
          sym: Symbol('s'),
          set: new Set([1, 2]),
          map: new Map<unknown, unknown>([['a', 1], [2, new Set(['b'])]]),
          list: [undefined, null, 'x', true],
          circular,
          twice: [shared, shared],
        }),
      ).to.deep.equal({
        big: '12n',
        bytes: { bytes: 5, base64: 'aGVsbG8=' },
        at: '2026-12-01T00:00:00.000Z',
        bad: 'Invalid Date',
        inf: 'Infinity',
        nan: 'NaN',
        none: null,
        fn: null,
        sym: null,
        set: [1, 2],
        map: { a: 1, '2': ['b'] },
        list: [null, null, 'x', true],
        circular: { name: 'loop', self: '[circular]' },
        twice: [{ x: 1 }, { x: 1 }],
      });
      expect(toJsonData(null)).to.equal(null);
      expect(toJsonData(0)).to.equal(0);
    });
  });
});
