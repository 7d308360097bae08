/** The step graph as a Mermaid flowchart or as plain text, optionally marked with stored status. */
import type { StepGraph } from '../graph';

/** Status of each step in a store, when known. */
export type StepMarks = ReadonlyMap<string, 'committed' | 'pending'>;

function label(text: string): string {
  return text.replace(/"/g, '#quot;');
}

/** `flowchart TD` with one node per step, an edge per dependency, and status classes when marked. */
export function toMermaid(graph: StepGraph, marks?: StepMarks): string {
  const id = new Map(graph.steps.map((s, i) => [s.name, `s${i}`]));
  const lines = ['flowchart TD'];
  for (const step of graph.steps) {
    const mark = marks?.get(step.name);
    lines.push(`  ${id.get(step.name)}["${label(step.name)}${mark === 'committed' ? ' ✓' : ''}"]${mark ? `:::${mark}` : ''}`);
  }
  for (const step of graph.steps) for (const dep of step.after) lines.push(`  ${id.get(dep)} --> ${id.get(step.name)}`);
  if (marks) {
    lines.push('  classDef committed fill:#d4edda,stroke:#2e7d32,color:#1b5e20');
    lines.push('  classDef pending fill:#f5f5f5,stroke:#9e9e9e,color:#424242');
  }
  return lines.join('\n');
}

/** One line per step: name, dependencies, and status when marked. */
export function toText(graph: StepGraph, marks?: StepMarks): string {
  const afters = graph.steps.map((s) => (s.after.length === 0 ? '(root)' : `after ${s.after.join(', ')}`));
  const nameWidth = Math.max(...graph.steps.map((s) => s.name.length));
  const afterWidth = Math.max(...afters.map((a) => a.length));
  const lines = [`${graph.workflowName} (${graph.className})`];
  graph.steps.forEach((step, i) => {
    const mark = marks?.get(step.name);
    lines.push(`  ${step.name.padEnd(nameWidth)}  ${mark ? `${afters[i].padEnd(afterWidth)}  [${mark}]` : afters[i]}`);
  });
  return lines.join('\n');
}
