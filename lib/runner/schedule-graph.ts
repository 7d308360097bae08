/**
 * Walks a step graph: starts each step once all its dependencies are done, at most `concurrency` at a
 * time, in declaration order among those ready. Knows nothing of storage or attempts.
 */
import type { StepGraph, StepNode } from '../graph';

/** How one step ended, as the scheduler needs to know it. */
export type StepOutcome = 'done' | 'failed' | 'cancelled' | 'waiting';

export interface ScheduleOptions {
  readonly graph: StepGraph;
  /** Steps already done before the walk (restored). */
  readonly done: ReadonlySet<string>;
  readonly concurrency: number;
  /** After a failure start nothing more (true), or keep running steps that do not depend on it (false). */
  readonly failFast: boolean;
  readonly signal: AbortSignal;
  /** Runs one step; must not reject. */
  readonly runStep: (node: StepNode) => Promise<StepOutcome>;
}

/** Resolves when no step runs and none can start. Steps never started stay untouched. */
export function scheduleGraph(o: ScheduleOptions): Promise<void> {
  const { graph } = o;
  const remaining = new Map<string, number>();
  const ready: StepNode[] = [];
  for (const node of graph.steps) {
    if (o.done.has(node.name)) continue;
    const open = node.after.filter((d) => !o.done.has(d)).length;
    if (open === 0) ready.push(node);
    else remaining.set(node.name, open);
  }
  let running = 0;
  let stopped = false;

  return new Promise((resolve) => {
    const takeNext = (): StepNode => {
      let best = 0;
      for (let i = 1; i < ready.length; i++) if (ready[i].index < ready[best].index) best = i;
      const next = ready[best];
      ready[best] = ready[ready.length - 1];
      ready.pop();
      return next;
    };
    const settle = (node: StepNode, outcome: StepOutcome): void => {
      running--;
      if (outcome === 'done') {
        for (const dependent of graph.dependents.get(node.name) ?? []) {
          const open = remaining.get(dependent);
          if (open === undefined) continue;
          if (open === 1) {
            remaining.delete(dependent);
            ready.push(graph.byName.get(dependent)!);
          } else remaining.set(dependent, open - 1);
        }
      } else if (outcome === 'failed' && o.failFast) stopped = true;
      pump();
    };
    const pump = (): void => {
      while (!stopped && !o.signal.aborted && running < o.concurrency && ready.length > 0) {
        const node = takeNext();
        running++;
        o.runStep(node).then((outcome) => settle(node, outcome));
      }
      if (running === 0) resolve();
    };
    pump();
  });
}
