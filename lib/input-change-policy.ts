/**
 * What a resumed run does when its input fingerprint differs from the stored one.
 */
import { InvalidInputChangePolicyError } from './errors';

/** A fixed policy. */
export type InputChangePolicyName =
  /** Keep the checkpoints and go on with the new input (the default). */
  | 'reuse'
  /** Clear this workflow's checkpoints and run every step again. */
  | 'reset'
  /** Throw `InputChangedError` before any step runs, writing nothing. */
  | 'raise';

/** What a policy function is told about a changed input. */
export interface InputChange {
  readonly workflowId: string;
  readonly storedFingerprint: string;
  readonly currentFingerprint: string;
  /** Names of the steps committed under the stored input. */
  readonly committedSteps: readonly string[];
}

/** A fixed policy, or a function (sync or async) that decides per case. */
export type InputChangePolicy = InputChangePolicyName | ((change: InputChange) => InputChangePolicyName | Promise<InputChangePolicyName>);

const NAMES: readonly string[] = ['reuse', 'reset', 'raise'];

/** Throws {@link InvalidInputChangePolicyError} unless `policy` is a policy name or a function. */
export function assertInputChangePolicy(policy: unknown, where: string): asserts policy is InputChangePolicy {
  if (typeof policy === 'function') return;
  if (typeof policy === 'string' && NAMES.includes(policy)) return;
  throw new InvalidInputChangePolicyError(policy, where);
}

/** Resolves a policy for one change: a function's answer is checked like any policy. */
export async function decideInputChange(policy: InputChangePolicy, change: InputChange, where: string): Promise<InputChangePolicyName> {
  if (typeof policy !== 'function') return policy;
  const decided: unknown = await policy(change);
  if (typeof decided === 'string' && NAMES.includes(decided)) return decided as InputChangePolicyName;
  throw new InvalidInputChangePolicyError(decided, `${where} (value returned by the policy function for workflow '${change.workflowId}')`);
}
