/**
 * Walks a step graph: starts each step once all its dependencies are done, at most `concurrency` at a
 * time, in declaration order among those ready. Knows nothing of storage or attempts.
 *
 * Per step it does array work only (open-dependency counts by step index, a binary heap of ready
 * steps by declaration index): a 10,000-step chain spends its time in the steps, and 10,000
 * independent steps under a small concurrency pick each next one in log time, not by a scan.
 */
import type { StepGraph, StepNode } from '../graph';

/** How one step ended, as the scheduler needs to know it. */
export type StepOutcome = 'done' | 'failed' | 'cancelled' | 'waiting';

declare const settledBrand: unique symbol;
/** Proof that a step reported its outcome: only {@link Settle} makes one, so a step's code cannot forget to. */
export type Settled = { readonly [settledBrand]: true };
/** How a step reports that it ended: exactly once. */
export type Settle = (node: StepNode, outcome: StepOutcome) => Settled;

export interface ScheduleOptions {
  /** The steps, and who depends on each (the compensation walks the graph reversed). */
  readonly graph: Pick<StepGraph, 'steps' | 'dependentNodes'>;
  /** Steps already done before the walk (restored). */
  readonly done: ReadonlySet<string>;
  readonly concurrency: number;
  /** After a failure start nothing more (true), or keep running steps that do not depend on it (false). */
  readonly failFast: boolean;
  readonly signal: AbortSignal;
  /**
   * Runs one step and reports how it ended with `settle(node, outcome)`, once; must not reject. A
   * callback rather than a returned outcome: one promise and one reaction less per step. What it
   * returns only proves that it settles (the scheduler does not await it).
   */
  readonly runStep: (node: StepNode, settle: Settle) => Promise<Settled>;
}

/** Ready steps, the lowest declaration index on top. */
class ReadyHeap {
  private readonly nodes: StepNode[] = [];

  get size(): number {
    return this.nodes.length;
  }

  push(node: StepNode): void {
    const { nodes } = this;
    let i = nodes.push(node) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (nodes[parent]!.index <= node.index) break;
      nodes[i] = nodes[parent]!;
      i = parent;
    }
    nodes[i] = node;
  }

  pop(): StepNode {
    const { nodes } = this;
    const top = nodes[0]!;
    const last = nodes.pop()!;
    if (nodes.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= nodes.length) break;
        const right = left + 1;
        const child = right < nodes.length && nodes[right]!.index < nodes[left]!.index ? right : left;
        if (nodes[child]!.index >= last.index) break;
        nodes[i] = nodes[child]!;
        i = child;
      }
      nodes[i] = last;
    }
    return top;
  }
}

/** Resolves when no step runs and none can start. Steps never started stay untouched. */
export function scheduleGraph(o: ScheduleOptions): Promise<void> {
  const { graph, done } = o;
  // Dependencies not yet done, by step index; a done step is never counted down to zero again.
  const open = new Int32Array(graph.steps.length);
  const ready = new ReadyHeap();
  for (const node of graph.steps) {
    if (done.has(node.name)) continue;
    let count = 0;
    for (const dep of node.after) if (!done.has(dep)) count++;
    open[node.index] = count;
    if (count === 0) ready.push(node);
  }
  let running = 0;
  let stopped = false;
  // `signal.aborted` is a costly getter to read before every step: a listener keeps it in a local.
  let aborted = o.signal.aborted;
  const onAbort = (): void => {
    aborted = true;
  };
  // Removed when the walk ends: a run's signal outlives its walks (a compensation walks again).
  o.signal.addEventListener('abort', onAbort);

  return new Promise((resolve) => {
    const settle: Settle = (node, outcome) => {
      running--;
      if (outcome === 'done') {
        const dependents = graph.dependentNodes[node.index]!;
        for (let i = 0; i < dependents.length; i++) {
          const dependent = dependents[i]!;
          if (--open[dependent.index] === 0) ready.push(dependent);
        }
      } else if (outcome === 'failed' && o.failFast) stopped = true;
      pump();
      return undefined as unknown as Settled;
    };
    // A step that settles synchronously (before its first await) settles inside the loop below: the
    // loop then picks up what it made ready, instead of a nested pump per step deepening the stack.
    let pumping = false;
    const pump = (): void => {
      if (pumping) return;
      pumping = true;
      while (!stopped && !aborted && running < o.concurrency && ready.size > 0) {
        const node = ready.pop();
        running++;
        o.runStep(node, settle);
      }
      pumping = false;
      if (running === 0) {
        o.signal.removeEventListener('abort', onAbort);
        resolve();
      }
    };
    pump();
  });
}
