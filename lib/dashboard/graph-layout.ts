/**
 * Where each step of a stored graph goes in the picture: laid out by dagre (layered, edges
 * pointing one way) on the server, so the page only draws boxes and lines and needs no script of
 * anyone else's, nor any network.
 */
import dagre from '@dagrejs/dagre';

/** A step's box, centred on (x, y). */
export interface LaidOutNode {
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A dependency, drawn from the step it runs after to the step, through `points`. */
export interface LaidOutEdge {
  readonly from: string;
  readonly to: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** The picture's size and what is in it. */
export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly LaidOutNode[];
  readonly edges: readonly LaidOutEdge[];
}

const NODE_HEIGHT = 52;
const MIN_NODE_WIDTH = 132;
/** Roughly the width of one character of the step's label at the page's font size. */
const CHAR_WIDTH = 8;

/** Lays out `steps` (name and the steps it runs after) left to right; an `after` naming no step is left out. */
export function layoutGraph(steps: readonly { readonly name: string; readonly after: readonly string[] }[]): GraphLayout {
  const graph = new dagre.graphlib.Graph();
  graph.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 48, marginx: 8, marginy: 8 });
  graph.setDefaultEdgeLabel(() => ({}));
  const names = new Set(steps.map((s) => s.name));
  for (const step of steps) graph.setNode(step.name, { width: Math.max(MIN_NODE_WIDTH, step.name.length * CHAR_WIDTH + 32), height: NODE_HEIGHT });
  for (const step of steps) for (const before of step.after) if (names.has(before)) graph.setEdge(before, step.name);
  // dagre sizes an empty graph -Infinity wide: a workflow with no stored steps is an empty picture.
  if (steps.length === 0) return { width: 0, height: 0, nodes: [], edges: [] };
  dagre.layout(graph);
  const size = graph.graph();
  return {
    width: Math.ceil(size.width!),
    height: Math.ceil(size.height!),
    nodes: steps.map((s) => {
      const node = graph.node(s.name);
      return { name: s.name, x: node.x, y: node.y, width: node.width, height: node.height };
    }),
    edges: graph.edges().map((e) => ({ from: e.v, to: e.w, points: graph.edge(e).points! })),
  };
}
