/**
 * A step's branch (`@Step({ when })`): whether it runs, decided once and committed before it acts.
 * A no is the step's checkpoint, status `'skipped'`; a yes is stored in the workflow record
 * (`branches`) before the step runs, so a resume reads the answer and never asks again.
 */
import { encodeValue } from '../checkpoint-codec';
import { WorkflowDefinitionError } from '../errors';
import type { StepNode } from '../graph';
import { isoAt } from '../iso-now';
import type { RunState } from './run-state';
import type { StepShapeRun } from './step-shape';
import { createStepContext } from './step-context';
import { runAttempts } from './step-attempts';

/** How the branch went: the step runs, was skipped (and that is committed), the run stopped, or the `when` failed for good. */
export type BranchOutcome = 'run' | 'skipped' | 'cancelled' | { readonly error: unknown; readonly attempts: number };

export interface BranchInput extends StepShapeRun {
  readonly className: string;
}

/** Which of `node`'s dependencies were skipped, in `after` order; undefined when none was (the usual case, allocating nothing). */
export function skippedDependencies(node: StepNode, state: RunState): boolean[] | undefined {
  const { afterIndexes } = node;
  for (let i = 0; i < afterIndexes.length; i++) if (state.isSkipped(afterIndexes[i]!)) return afterIndexes.map((dep) => state.isSkipped(dep));
  return undefined;
}

/**
 * Skipped when every dependency was skipped (without asking `when`); otherwise runs when the step has
 * no `when` or an earlier run stored its yes; otherwise asks `when`, with the step's retry policy and
 * timeout, and stores the answer before acting on it.
 */
export async function passBranch(b: BranchInput): Promise<BranchOutcome> {
  const { node, record } = b;
  if (b.skipped?.every((skipped) => skipped) === true) return skip(b, 'dependencies', 0);
  const when = node.when;
  if (when === undefined || record.current.branches?.[node.name] === true) return 'run';
  const outcome = await runAttempts(b.workflowId, { name: node.name, retry: node.retry, timeoutMs: node.timeoutMs, branch: true }, b.inFlight, b.events, async (attempt) => {
    const answer = await when(createStepContext({ workflowId: b.workflowId, step: node.name, attempt: attempt.number, signal: attempt, input: b.input, after: node.after, outputs: b.outputs, skipped: b.skipped }));
    if (typeof answer !== 'boolean') {
      throw new WorkflowDefinitionError(`when returned ${answer === null ? 'null' : typeof answer}; it must return true or false (or a promise of one)`, b.className, node.name);
    }
    return answer;
  });
  if (outcome.kind === 'cancelled') return 'cancelled';
  if (outcome.kind === 'failed') return outcome;
  // Its attempts run without maxInlineWaitMs: they never end 'later'.
  if (outcome.kind === 'later') return { error: new Error('internal: a when cannot wait'), attempts: outcome.attempts };
  if (outcome.output === false) return skip(b, 'when', outcome.attempts);
  try {
    if (!record.isRunning) await record.markRunning(b.recoverAt());
    await record.takeBranch(node.name);
  } catch (error) {
    return { error, attempts: outcome.attempts };
  }
  return 'run';
}

/** Commits the step as skipped: its checkpoint says `'skipped'`, with an `undefined` output. */
async function skip(b: BranchInput, reason: 'when' | 'dependencies', attempts: number): Promise<BranchOutcome> {
  const { node, record } = b;
  const committedMs = Date.now();
  try {
    if (!record.isRunning) await record.markRunning(b.recoverAt());
    await b.storage.commit(b.workflowId, { formatVersion: 1, step: node.name, status: 'skipped', attempts, committedAt: isoAt(committedMs), output: encodeValue(undefined) }, b.lease());
  } catch (error) {
    return { error, attempts };
  }
  b.state.skip(node.index, attempts, committedMs);
  b.events.emit('step:skipped', { step: node.name, reason });
  return 'skipped';
}
