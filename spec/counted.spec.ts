import { expect } from 'chai';
import { counted } from '../lib/counted';

describe('counted', () => {
  it('says a count with its noun as the number asks, never "(s)"', () => {
    expect([0, 1, 2, 300].map((n) => counted(n, 'workflow'))).to.deep.equal(['0 workflows', '1 workflow', '2 workflows', '300 workflows']);
    expect(counted(1, 'child', 'children')).to.equal('1 child');
    expect(counted(3, 'child', 'children')).to.equal('3 children');
  });
});
