/**
 * A step's run-time shape in words, for people reading a graph: its branch's condition, what its
 * fan-out runs for, what it waits for. Read from the step's functions' source, never by calling them.
 */
import type { StepNode } from './graph';

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
