/** The step graph as a Mermaid flowchart or as plain text, optionally marked with stored status. */
import type { StepGraph } from '../graph';
import { forEachText, waitText, whenText } from '../step-text';


/** Status of each step in a store, when known. */
export type StepMarks = ReadonlyMap<string, 'committed' | 'skipped' | 'waiting' | 'pending' | 'failed' | 'compensated'>;

/** What a mark adds to a step's name in the Mermaid chart. */
const MARK_SUFFIX: Readonly<Record<string, string>> = { committed: ' ✓', skipped: ' (skipped)', failed: ' ✗ failed', compensated: ' ↩ compensated' };

function label(text: string): string {
  return text.replace(/"/g, '#quot;');
}

/** `flowchart TD` with one node per step, an edge per dependency, and status classes when marked. */
export function toMermaid(graph: StepGraph, marks?: StepMarks): string {
  const id = new Map(graph.steps.map((s, i) => [s.name, `s${i}`]));
  const lines = ['flowchart TD'];
  for (const step of graph.steps) {
    const mark = marks?.get(step.name);
    const wait = waitText(step);
    const condition = whenText(step);
    const items = forEachText(step);
    const text = `${label(step.name)}${mark === undefined ? '' : (MARK_SUFFIX[mark] ?? '')}${condition === undefined ? '' : `<br/><i>if ${label(condition)}</i>`}${items === undefined ? '' : `<br/><i>${label(items)}</i>`}${wait === undefined ? '' : `<br/><i>${label(wait)}</i>`}`;
    // A step with a branch is a hexagon: it may not run. A fan-out is a double-edged box: one step, many items.
    const shape = condition !== undefined ? `{{"${text}"}}` : items !== undefined ? `[["${text}"]]` : `["${text}"]`;
    lines.push(`  ${id.get(step.name)}${shape}${mark ? `:::${mark}` : ''}`);
  }
  for (const step of graph.steps) for (const dep of step.after) lines.push(`  ${id.get(dep)} --> ${id.get(step.name)}`);
  // Each compensation hangs off its step by a dotted edge: it runs only when a later step fails for good.
  const compensated = graph.steps.filter((s) => s.compensation !== undefined);
  for (const step of compensated) lines.push(`  ${id.get(step.name)}c(["↩ ${label(step.compensation!.method)}"]):::compensation`, `  ${id.get(step.name)} -.->|undo| ${id.get(step.name)}c`);
  if (compensated.length > 0) lines.push('  classDef compensation fill:#fdecea,stroke:#c62828,color:#7f1d1d,stroke-dasharray:4 3');
  if (marks) {
    lines.push('  classDef committed fill:#d4edda,stroke:#2e7d32,color:#1b5e20');
    lines.push('  classDef pending fill:#f5f5f5,stroke:#9e9e9e,color:#424242');
    lines.push('  classDef waiting fill:#fff3cd,stroke:#b8860b,color:#5d4200');
    lines.push('  classDef skipped fill:#fafafa,stroke:#bdbdbd,color:#9e9e9e,stroke-dasharray:3 3');
    lines.push('  classDef failed fill:#ffebe9,stroke:#c62828,color:#7f1d1d');
    lines.push('  classDef compensated fill:#fff1e5,stroke:#e65100,color:#6d2c00');
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
    const wait = waitText(step);
    const undo = step.compensation === undefined ? '' : `  (compensate: ${step.compensation.method})`;
    const condition = whenText(step);
    const items = forEachText(step);
    const line = `  ${step.name.padEnd(nameWidth)}  ${mark ? `${afters[i].padEnd(afterWidth)}  [${mark}]` : afters[i]}${condition === undefined ? '' : `  (when: ${condition})`}${items === undefined ? '' : `  (${items})`}${wait === undefined ? '' : `  (${wait})`}${undo}`;
    lines.push(line);
  });
  return lines.join('\n');
}
