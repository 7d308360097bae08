import { expect } from 'chai';
import { layoutGraph } from '../../lib/dashboard/graph-layout';

describe('layoutGraph', () => {
  it('lays a diamond out left to right, sized to its labels, with an edge per dependency', () => {
    const layout = layoutGraph([
      { name: 'a', after: [] },
      { name: 'b', after: ['a'] },
      { name: 'a-rather-long-step-name', after: ['a'] },
      { name: 'd', after: ['b', 'a-rather-long-step-name', 'gone'] },
    ]);
    const node = Object.fromEntries(layout.nodes.map((n) => [n.name, n]));
    expect(layout.nodes.map((n) => n.name)).to.deep.equal(['a', 'b', 'a-rather-long-step-name', 'd']);
    expect(node.a!.width).to.equal(132, 'a short name gets the least width');
    expect(node['a-rather-long-step-name']!.width).to.equal(23 * 8 + 32);
    expect(node.a!.height).to.equal(52);
    expect(node.a!.x).to.be.below(node.b!.x);
    expect(node.b!.x).to.equal(node['a-rather-long-step-name']!.x);
    expect(node.d!.x).to.be.above(node.b!.x);
    expect(layout.edges.map((e) => `${e.from}>${e.to}`).sort()).to.deep.equal(['a-rather-long-step-name>d', 'a>a-rather-long-step-name', 'a>b', 'b>d'], "'gone' names no step: no edge");
    for (const edge of layout.edges) expect(edge.points.length).to.be.at.least(2);
    for (const n of layout.nodes) {
      expect(n.x + n.width / 2).to.be.at.most(layout.width);
      expect(n.y + n.height / 2).to.be.at.most(layout.height);
    }
  });

  it('lays out an empty graph as an empty picture', () => {
    expect(layoutGraph([])).to.deep.equal({ width: 0, height: 0, nodes: [], edges: [] });
  });
});
