/**
 * The compensation of a workflow whose step failed for good: each committed step that declares
 * `compensate` is undone once, in reverse dependency order (a step's compensation starts only after
 * the compensations of every step that depends on it, directly or not), independent ones
 * concurrently within the run's concurrency.
 *
 * Orchestration only: it walks the reversed graph with the same scheduler as the steps, runs
 * attempts with the same retry code, and leaves loading outputs and committing to the runner.
 */
import { CompensationFailedError, type StepFailedError } from '../errors';
import type { StepGraph, StepNode } from '../graph';
import type { AttemptsInFlight } from './attempt';
import { createCompensationContext } from './compensation-context';
import type { CompensationResult } from './run-result';
import type { RunEmitter } from './run-events';
import type { RunState } from './run-state';
import { scheduleGraph, type StepOutcome } from './schedule-graph';
import { runAttempts } from './step-attempts';

/** What one compensation run needs. */
export interface CompensationRun {
  readonly graph: StepGraph;
  readonly workflow: object;
  readonly workflowId: string;
  readonly input: unknown;
  /** Which steps are committed (completed or restored). */
  readonly state: RunState;
  /** The failure that started the compensation. */
  readonly cause: StepFailedError;
  /** Compensations committed by earlier runs, by step. */
  readonly done: Readonly<Record<string, unknown>>;
  readonly concurrency: number;
  readonly inFlight: AttemptsInFlight;
  readonly events: RunEmitter;
  /** The step's committed output, decoded (read from storage when the run does not hold it). */
  readonly output: (node: StepNode) => Promise<unknown>;
  /** A fan-out's committed items, with their outputs (read from storage): each is undone on its own. */
  readonly items: (node: StepNode) => Promise<readonly CommittedItem[]>;
  /** Commits one compensation, fenced by the run's lease. */
  readonly commit: (step: string, attempts: number) => Promise<void>;
}

/** A fan-out's committed item: its index, the item and its output. */
export interface CommittedItem {
  readonly index: number;
  readonly item: unknown;
  readonly output: unknown;
}

/** How the compensation went. */
export interface CompensationOutcome {
  /** By step, for each committed step that declares a compensation. */
  readonly results: ReadonlyMap<string, CompensationResult>;
  /** Compensations that failed for good, in the order they failed. */
  readonly errors: readonly CompensationFailedError[];
  /** True when the run stopped (cancel, lease loss) before every compensation settled. */
  readonly interrupted: boolean;
}

const reversedCache = new WeakMap<StepGraph, Pick<StepGraph, 'steps' | 'dependentNodes'>>();

/**
 * The graph with every edge turned around: a step "depends on" the steps that depended on it. The
 * last declared step comes first, so among ready compensations the latest step's runs first.
 */
export function reversedGraph(graph: StepGraph): Pick<StepGraph, 'steps' | 'dependentNodes'> {
  let reversed = reversedCache.get(graph);
  // Stryker disable next-line ConditionalExpression: equivalent, the cache only saves building it again
  if (reversed !== undefined) return reversed;
  const n = graph.steps.length;
  const steps: StepNode[] = graph.steps.map((_, j) => {
    const node = graph.steps[n - 1 - j]!;
    // Stryker disable next-line ArrayDeclaration: equivalent, the scheduler reads names, not afterIndexes
    return { ...node, index: j, after: graph.dependents.get(node.name)!, afterIndexes: [] };
  });
  const dependentNodes = steps.map((node) => graph.byName.get(node.name)!.after.map((name) => steps[n - 1 - graph.byName.get(name)!.index]!));
  reversed = { steps, dependentNodes };
  reversedCache.set(graph, reversed);
  return reversed;
}

/** Runs every compensation still owed; never rejects (a failure is a result). */
export async function compensate(c: CompensationRun): Promise<CompensationOutcome> {
  const { graph, state } = c;
  const results = new Map<string, CompensationResult>();
  const errors: CompensationFailedError[] = [];
  // A skipped step did nothing: nothing to undo. A fan-out may have committed items even when the
  // step did not complete: it is owed when any is (found when its turn comes).
  const nothingDone = new Set<string>();
  const owed = (node: StepNode): boolean =>
    node.compensation !== undefined && !state.isSkipped(node.index) && (state.isDone(node.index) || (node.fanOut !== undefined && !nothingDone.has(node.name)));

  const compensateStep = async (reversed: StepNode): Promise<StepOutcome> => {
    const node = graph.byName.get(reversed.name)!;
    if (!owed(node)) return 'done';
    if (Object.hasOwn(c.done, node.name)) {
      results.set(node.name, { status: 'restored', attempts: 0 });
      return 'done';
    }
    let attempts = 0;
    const fail = (error: unknown): 'failed' => {
      errors.push(new CompensationFailedError(c.workflowId, node.name, attempts, error));
      results.set(node.name, { status: 'failed', attempts, error });
      return 'failed';
    };
    try {
      const method = (c.workflow as Record<string, (ctx: unknown) => unknown>)[node.compensation!.method]!;
      const startedAt = Date.now();
      const undo = (output: unknown, item?: CommittedItem) =>
        runAttempts(c.workflowId, { name: node.name, retry: node.compensation!.retry, timeoutMs: node.timeoutMs, compensating: true, ...(item === undefined ? {} : { item: item.index }) }, c.inFlight, c.events, (attempt) =>
          method.call(c.workflow, createCompensationContext({ input: c.input, output, error: c.cause, workflowId: c.workflowId, step: node.name, attempt: attempt.number, signal: attempt, ...(item === undefined ? {} : { item: { value: item.item, index: item.index } }) })),
        );
      let outcome: Awaited<ReturnType<typeof undo>>;
      if (node.fanOut === undefined) outcome = await undo(await c.output(node));
      else {
        const items = await c.items(node);
        if (items.length === 0 && !state.isDone(node.index)) {
          nothingDone.add(node.name);
          return 'done';
        }
        outcome = await undoItems(items, c.concurrency, undo);
      }
      attempts = outcome.attempts;
      if (outcome.kind === 'cancelled') {
        // The run stopped (its signal is aborted: `interrupted` below).
        results.set(node.name, { status: 'not-run', attempts });
        return 'cancelled';
      }
      if (outcome.kind === 'failed') return fail(outcome.error);
      await c.commit(node.name, attempts);
      results.set(node.name, { status: 'compensated', attempts });
      c.events.emit('step:compensated', { step: node.name, attempts, durationMs: Date.now() - startedAt });
      return 'done';
    } catch (error) {
      // Loading the output or committing failed: the compensation did not commit.
      return fail(error);
    }
  };
  await scheduleGraph({
    graph: reversedGraph(graph),
    done: new Set(),
    concurrency: c.concurrency,
    failFast: false,
    signal: c.inFlight.signal,
    runStep: async (reversed, settle) => settle(reversed, await compensateStep(reversed)),
  });
  const interrupted = c.inFlight.signal.aborted;
  // Compensations that never started: one they wait for failed, or the run stopped.
  for (const node of graph.steps) if (owed(node) && !results.has(node.name)) results.set(node.name, { status: 'not-run', attempts: 0 });
  return { results, errors, interrupted };
}

/**
 * Undoes each committed item of a fan-out, at most `concurrency` at once; every item is tried even
 * when one fails. Succeeds when all did (attempts: the most any took); else fails with the first
 * failure. Nothing is committed per item: a run that stops half-way undoes them all again.
 */
async function undoItems(
  items: readonly CommittedItem[],
  concurrency: number,
  undo: (output: unknown, item: CommittedItem) => ReturnType<typeof runAttempts>,
): ReturnType<typeof runAttempts> {
  let attempts = 0;
  let failed: { error: unknown; attempts: number } | undefined;
  let cancelled = false;
  let next = 0;
  const work = async (): Promise<void> => {
    for (let i = next++; i < items.length && !cancelled; i = next++) {
      const outcome = await undo(items[i]!.output, items[i]!);
      attempts = Math.max(attempts, outcome.attempts);
      if (outcome.kind === 'cancelled') cancelled = true;
      else if (outcome.kind === 'failed') failed ??= { error: outcome.error, attempts: outcome.attempts };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, work));
  if (cancelled) return { kind: 'cancelled', attempts };
  if (failed !== undefined) return { kind: 'failed', error: failed.error, attempts: failed.attempts };
  return { kind: 'succeeded', output: undefined, attempts };
}
