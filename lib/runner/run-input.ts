/**
 * A run's input as the record keeps it: encoded, and fingerprinted by the workflow's strategy.
 */
import { encodeValue, UnencodableValue, type EncodedValue } from '../checkpoint-codec';
import { InputSerializationError, InvalidOptionError } from '../errors';
import type { FingerprintStrategy } from '../fingerprint/fingerprint-strategy';
import type { Constructor } from '../metadata';
import { resolveRun, type WorkflowRunnerOptions } from './runner-options';

/** The input as the record stores it, or `InputSerializationError` naming the path that cannot be stored. */
export function encodeInput(workflowId: string, input: unknown): EncodedValue {
  try {
    return encodeValue(input, 'input');
  } catch (error) {
    // A getter that throws is the caller's error, as it is for the fingerprint.
    if (!(error instanceof UnencodableValue)) throw error;
    throw new InputSerializationError(workflowId, error.path, error.reason);
  }
}

/** A run without input (undefined) is fingerprinted as `null`: both mean "no input". */
export async function computeFingerprint(strategy: FingerprintStrategy, input: unknown, workflowId: string): Promise<string> {
  const fingerprint: unknown = await strategy.fingerprint(input === undefined ? null : input);
  if (typeof fingerprint !== 'string' || fingerprint.length === 0) {
    throw new InvalidOptionError(`fingerprint strategy result for workflow '${workflowId}'`, fingerprint, 'a non-empty string');
  }
  return fingerprint;
}

/** The fingerprint a run of `target` with `input` stores, by the strategy the class and the runner options choose. */
export async function fingerprintOf(target: Constructor, options: WorkflowRunnerOptions, workflowId: string, input: unknown): Promise<string> {
  const resolved = resolveRun(target, options, { workflowId, input });
  return typeof resolved.fingerprint === 'string' ? resolved.fingerprint : computeFingerprint(resolved.fingerprint, input, workflowId);
}
