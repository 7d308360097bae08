/**
 * A per-item fan-out (`@Step({ forEach })`): the step's method run once per item of a list that is
 * computed once and committed before any item runs. Each item has the step's retries and timeout and
 * commits its own checkpoint; the step commits the array of the items' outputs when every item has
 * settled. A resume runs only the items that are not committed, and reads the outputs of those that
 * are once, at the end.
 *
 * Called by the runner for a step that has a `forEach`, after its branch and its timers; it keeps no
 * per-item state beyond the outputs array the step's output is made of.
 */
import { encodeValue, UnencodableValue } from '../../checkpoint-codec';
import { CheckpointSerializationError, FanOutFailedError, type ItemFailureInfo } from '../../errors';
import type { StepNode } from '../../graph';
import { isoAt, isoNow } from '../../iso-now';
import { itemKey, listKey } from '../../item-keys';
import type { Attempt } from '../attempt';
import { createStepContext, type StepContext, type StepContextInit } from '../step-context';
import { runAttempts } from '../step-attempts';
import type { StepShapeRun } from '../step-shape';
import { ItemCommits } from './item-commits';
import { itemList } from './item-list';
import { readItemOutputs } from './item-outputs';

/** What a fan-out needs of its run. */
export interface FanOutRun extends StepShapeRun {
  /** The tolerated item failures of the dependencies, as the step's context has them. */
  readonly failures: StepContextInit['failures'];
  /** Checkpoint names committed when the run began (the list's and the items' among them). */
  readonly committed: ReadonlySet<string>;
  /** The run's concurrency: items never run more at once. */
  readonly concurrency: number;
  /** Calls the step's method with one item's context. */
  readonly call: (ctx: StepContext) => unknown;
}

/** How the fan-out went: committed, stopped with the run, or failed (too many items, the list, storage). */
export type FanOutOutcome = 'done' | 'cancelled' | { readonly error: unknown; readonly attempts: number };

/** How many failures a fan-out of `count` items tolerates. */
export function toleratedCount(node: StepNode, count: number): number {
  const { tolerated } = node.fanOut!;
  return 'count' in tolerated ? tolerated.count : Math.floor(tolerated.fraction * count);
}

/** Runs fan-out step `f.node` to its commit; never rejects. */
export async function runFanOut(f: FanOutRun): Promise<FanOutOutcome> {
  const { workflowId, node, state, inFlight, events, storage } = f;
  const startedAt = Date.now();
  const context = (attempt: number, signal: StepContextInit['signal'], item?: StepContextInit['item']): StepContext =>
    createStepContext({ workflowId, step: node.name, attempt, signal, input: f.input, after: node.after, outputs: f.outputs, skipped: f.skipped, failures: f.failures, item });
  let items: readonly unknown[];
  try {
    if (inFlight.stopped) return 'cancelled';
    if (!f.record.isRunning) await f.record.markRunning(f.recoverAt());
    if (events.listens('step:started')) events.emit('step:started', { step: node.name, attempt: 1 });
    items = await itemList({ workflowId, node, storage, record: f.record, lease: f.lease, committed: f.committed.has(listKey(node.name)), context: () => context(0, inFlight.signal) });
  } catch (error) {
    return { error, attempts: 1 };
  }
  const count = items.length;
  const allowed = toleratedCount(node, count);
  const outputs = new Array<unknown>(count).fill(undefined);
  const earlier: number[] = [];
  const todo: number[] = [];
  for (let i = 0; i < count; i++) (f.committed.has(itemKey(node.name, i)) ? earlier : todo).push(i);

  const failures: ItemFailureInfo[] = [];
  const commits = new ItemCommits(storage, workflowId, f.lease);
  let stepError: { error: unknown } | undefined;
  let attempts = 1;
  const runItem = async (index: number): Promise<void> => {
    const target = { name: node.name, retry: node.retry, timeoutMs: node.timeoutMs, item: index };
    let tries = 0;
    try {
      const outcome = await runAttempts(workflowId, target, inFlight, events, (attempt: Attempt) => f.call(context(attempt.number, attempt, { value: items[index], index })));
      tries = outcome.attempts;
      if (outcome.kind === 'cancelled') return;
      // Run without maxInlineWaitMs, an item's attempts never end 'later': a RetryLater fails them like any error.
      if (outcome.kind !== 'succeeded') return void failures.push(itemFailure(index, outcome.kind === 'failed' ? outcome.error : new Error('internal: an item cannot wait'), tries));
      if (tries > attempts) attempts = tries;
      let output;
      try {
        output = encodeValue(outcome.output);
      } catch (error) {
        const reason = error instanceof UnencodableValue ? new CheckpointSerializationError(workflowId, node.name, error.path.replace(/^output/, `items[${index}]`), error.reason) : error;
        return void failures.push(itemFailure(index, reason, tries));
      }
      try {
        await commits.commit({ formatVersion: 1, step: itemKey(node.name, index), status: 'completed', attempts: tries, committedAt: isoNow(), output });
      } catch (error) {
        // Not the item's failure: the store's (or the lease is lost). The step fails with it.
        stepError ??= { error };
        return;
      }
      outputs[index] = outcome.output;
    } catch (error) {
      failures.push(itemFailure(index, error, tries));
    }
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < todo.length && stepError === undefined && failures.length <= allowed && !inFlight.stopped) await runItem(todo[next++]!);
  };
  const limit = Math.min(node.fanOut!.concurrency ?? f.concurrency, f.concurrency, todo.length);
  await Promise.all(Array.from({ length: limit }, worker));

  if (stepError !== undefined) return { error: stepError.error, attempts };
  if (failures.length > allowed) return { error: new FanOutFailedError(workflowId, node.name, count, allowed, failures), attempts };
  if (next < todo.length || inFlight.stopped) return 'cancelled';
  failures.sort((a, b) => a.index - b.index);
  const committedMs = Date.now();
  try {
    await readItemOutputs(storage, workflowId, node.name, earlier, outputs);
    const items = failures.length === 0 ? { count } : { count, failed: failures };
    await storage.commit(workflowId, { formatVersion: 1, step: node.name, status: 'completed', attempts, committedAt: isoAt(committedMs), output: encodeValue(outputs), items }, f.lease());
  } catch (error) {
    return { error, attempts };
  }
  state.complete(node.index, outputs, attempts, committedMs);
  state.setItemFailures(node.index, failures);
  if (events.listens('step:committed')) events.emit('step:committed', { step: node.name, attempts, durationMs: Date.now() - startedAt });
  return 'done';
}

/** An item's failure as it is reported and stored: its error's own code where it has one. */
function itemFailure(index: number, error: unknown, attempts: number): ItemFailureInfo {
  const code = (error as { code?: unknown } | null)?.code;
  return { index, code: typeof code === 'string' && code.length > 0 ? code : 'WAYMARK_STEP_FAILED', message: error instanceof Error ? error.message : String(error), attempts };
}
