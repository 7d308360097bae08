import { expect } from 'chai';
import { OUTPUT_PREVIEW_CHARS, valueText } from '../../lib/dashboard/json-view';

describe('json-view', () => {
  it('indents the text, and cuts it at the preview length, saying how long the whole is', () => {
    expect(valueText({ a: 1 })).to.deep.equal({ text: '{\n  "a": 1\n}', length: 12, truncated: false });
    expect(valueText(undefined)).to.deep.equal({ text: 'undefined', length: 9, truncated: false });
    const exact = 'x'.repeat(OUTPUT_PREVIEW_CHARS - 2);
    expect(valueText(exact)).to.deep.equal({ text: JSON.stringify(exact), length: OUTPUT_PREVIEW_CHARS, truncated: false });
    const over = valueText(`${exact}y`);
    expect(over).to.deep.equal({ text: JSON.stringify(`${exact}y`).slice(0, OUTPUT_PREVIEW_CHARS), length: OUTPUT_PREVIEW_CHARS + 1, truncated: true });
    expect(valueText('abc', Infinity).truncated).to.equal(false);
  });

  it('shows a value in its own types, not in the store\'s encoding', () => {
    expect(valueText({ at: new Date('2026-12-01T00:00:00.000Z'), n: 12n }).text).to.equal('{\n  "at": Date(2026-12-01T00:00:00.000Z),\n  "n": 12n\n}');
    expect(valueText({ at: new Date(0) }).text).not.to.contain('$wm');
  });
});
