import { assertFingerprintRecord } from '../lib/fingerprint/fingerprint-options';
import { recordFingerprint, type Constructor, type FingerprintRecord } from '../lib/metadata';
import type { WorkflowClassDecorator } from './decorator-mode';

/**
 * Sets how this workflow's input is fingerprinted: a {@link FingerprintStrategy}, or dotted
 * `exclude`/`include` paths (`[*]` for array items) for the default SHA-256 / RFC 8785 strategy.
 * Malformed paths throw at decoration.
 */
export function Fingerprint(strategyOrOptions: FingerprintRecord): WorkflowClassDecorator {
  return (target) => {
    assertFingerprintRecord(strategyOrOptions, `@Fingerprint on ${(target as { name?: string }).name ?? 'a class'}`);
    recordFingerprint(target as unknown as Constructor, strategyOrOptions);
  };
}
