/** The step graph as a Mermaid flowchart or as plain text, optionally marked with stored status. */
import type { StepGraph, StepNode } from '../graph';

/** Status of each step in a store, when known. */
export type StepMarks = ReadonlyMap<string, 'committed' | 'skipped' | 'waiting' | 'pending'>;

/** Longest condition drawn; a longer one ends in an ellipsis. */
const MAX_CONDITION = 60;

/**
 * A step's branch in words: the `when` function's expression (an arrow function's body, or the
 * body's return), whitespace collapsed, at most {@link MAX_CONDITION} characters.
 */
export function whenText(step: StepNode): string | undefined {
  return step.when === undefined ? undefined : expressionOf(step.when, 'when(ctx)');
}

/**
 * A fan-out in words: the items its `forEach` lists (its expression, as for {@link whenText}), the
 * step's own concurrency and the failures it tolerates.
 */
export function forEachText(step: StepNode): string | undefined {
  const fanOut = step.fanOut;
  if (fanOut === undefined) return undefined;
  const tolerated = 'count' in fanOut.tolerated ? (fanOut.tolerated.count === 0 ? '' : `, tolerates ${fanOut.tolerated.count} failed`) : `, tolerates ${fanOut.tolerated.fraction * 100}% failed`;
  return `for each of ${expressionOf(fanOut.forEach, 'forEach(ctx)')}${fanOut.concurrency === undefined ? '' : `, ${fanOut.concurrency} at once`}${tolerated}`;
}

/** A function's expression: an arrow function's body, or the body's one return; `fallback` for anything longer. */
function expressionOf(fn: (ctx: never) => unknown, fallback: string): string {
  const source = Function.prototype.toString.call(fn).replace(/\s+/g, ' ').trim();
  const arrow = /^(?:async\s*)?(?:\([^)]*\)|[\w$]+)\s*=>\s*(.*)$/.exec(source)?.[1];
  let body = arrow ?? source;
  const returned = /^\{\s*(?:[^{}]*;\s*)?return\s+([^;{}]*);?\s*\}$/.exec(body)?.[1];
  if (returned !== undefined) body = returned;
  else if (body.startsWith('{') || arrow === undefined) body = fallback;
  return body.length > MAX_CONDITION ? `${body.slice(0, MAX_CONDITION - 1)}…` : body;
}

/** A duration in the largest whole unit that fits (d, h, min, s, ms). */
function duration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['min', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/** What a step waits for before it starts, in words: its timers and its event. */
export function waitText(step: StepNode): string | undefined {
  const wait = step.wait;
  if (wait === undefined) return undefined;
  const parts: string[] = [];
  if (wait.delayMs !== undefined) parts.push(`timer: ${duration(wait.delayMs)} after its dependencies`);
  if (wait.startAt !== undefined) parts.push('timer: startAt');
  if (wait.event !== undefined) {
    const timeout = wait.event.timeoutMs === undefined ? '' : `, timeout ${duration(wait.event.timeoutMs)} then ${wait.event.onTimeout}`;
    parts.push(`event: ${wait.event.name}${timeout}`);
  }
  return parts.join('; ');
}

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
    const text = `${label(step.name)}${mark === 'committed' ? ' ✓' : mark === 'skipped' ? ' (skipped)' : ''}${condition === undefined ? '' : `<br/><i>if ${label(condition)}</i>`}${items === undefined ? '' : `<br/><i>${label(items)}</i>`}${wait === undefined ? '' : `<br/><i>${label(wait)}</i>`}`;
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
