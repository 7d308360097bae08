import { expect } from 'chai';
import { OUTPUT_PREVIEW_CHARS, toJsonData, valueText } from '../../lib/dashboard/json-view';

describe('json-view', () => {
  it('makes any decoded value plain JSON data', () => {
    const circular: Record<string, unknown> = { name: 'loop' };
    circular.self = circular;
    const shared = { x: 1 };
    expect(
      toJsonData({
        big: 12n,
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

  it('indents the text, and cuts it at the preview length, saying how long the whole is', () => {
    expect(valueText({ a: 1 })).to.deep.equal({ text: '{\n  "a": 1\n}', length: 12, truncated: false });
    expect(valueText(undefined)).to.deep.equal({ text: 'undefined', length: 9, truncated: false });
    const exact = 'x'.repeat(OUTPUT_PREVIEW_CHARS - 2);
    expect(valueText(exact)).to.deep.equal({ text: JSON.stringify(exact), length: OUTPUT_PREVIEW_CHARS, truncated: false });
    const over = valueText(`${exact}y`);
    expect(over).to.deep.equal({ text: JSON.stringify(`${exact}y`).slice(0, OUTPUT_PREVIEW_CHARS), length: OUTPUT_PREVIEW_CHARS + 1, truncated: true });
    expect(valueText('abc', Infinity).truncated).to.equal(false);
  });
});
