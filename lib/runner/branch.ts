/**
 * A step's branch (`@Step({ when })`): whether it runs, decided once. Writes nothing itself: the
 * runner commits a `'skipped'` checkpoint for a no, and stores a yes (`takeBranch`) before the step acts.
 */
import { WorkflowDefinitionError } from '../errors';
import type { StepNode } from '../graph';
import type { AttemptsInFlight } from './attempt';
import type { RunEmitter } from './run-events';
import type { RunState } from './run-state';
import { createStepContext } from './step-context';
import { runAttempts } from './step-attempts';

/** What the branch decided. */
export type BranchDecision =
  | { readonly kind: 'run' }
  | { readonly kind: 'skip'; readonly reason: 'when' | 'dependencies'; readonly attempts: number }
  | { readonly kind: 'failed'; readonly error: unknown; readonly attempts: number }
  | { readonly kind: 'cancelled' };

export interface BranchInput {
  readonly workflowId: string;
  readonly className: string;
  readonly node: StepNode;
  readonly state: RunState;
  readonly input: unknown;
  readonly outputs: readonly unknown[];
  readonly skipped: readonly boolean[] | undefined;
  readonly inFlight: AttemptsInFlight;
  readonly events: RunEmitter;
  /** True when an earlier run stored that this step's `when` answered yes. */
  readonly taken: boolean;
  /** Stores a yes, before the step acts. */
  readonly takeBranch: () => Promise<void>;
}

const RUN: BranchDecision = { kind: 'run' };

/**
 * Skipped when every dependency was skipped (without asking `when`); otherwise runs when the step has
 * no `when` or an earlier run stored its yes; otherwise asks `when`, with the step's retry policy and
 * timeout, and stores a yes before answering.
 */
export async function decideBranch(b: BranchInput): Promise<BranchDecision> {
  const { node, state } = b;
  if (node.after.length > 0 && node.afterIndexes.every((dep) => state.isSkipped(dep))) return { kind: 'skip', reason: 'dependencies', attempts: 0 };
  const when = node.when;
  if (when === undefined || b.taken) return RUN;
  const outcome = await runAttempts(b.workflowId, { name: node.name, retry: node.retry, timeoutMs: node.timeoutMs, branch: true }, b.inFlight, b.events, async (attempt) => {
    const answer = await when(createStepContext({ workflowId: b.workflowId, step: node.name, attempt: attempt.number, signal: attempt, input: b.input, after: node.after, outputs: b.outputs, skipped: b.skipped }));
    if (typeof answer !== 'boolean') {
      throw new WorkflowDefinitionError(`when returned ${answer === null ? 'null' : typeof answer}; it must return true or false (or a promise of one)`, b.className, node.name);
    }
    return answer;
  });
  if (outcome.kind === 'cancelled') return { kind: 'cancelled' };
  if (outcome.kind === 'failed') return outcome;
  // Its attempts run without maxInlineWaitMs: they never end 'later'.
  if (outcome.kind === 'later') return { kind: 'failed', error: new Error('internal: a when cannot wait'), attempts: outcome.attempts };
  if (outcome.output === false) return { kind: 'skip', reason: 'when', attempts: outcome.attempts };
  try {
    await b.takeBranch();
  } catch (error) {
    return { kind: 'failed', error, attempts: outcome.attempts };
  }
  return RUN;
}
