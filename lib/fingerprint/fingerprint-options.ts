/**
 * Resolving `@Fingerprint(...)` / runner / run values to one strategy.
 */
import { InvalidOptionError } from '../errors';
import type { FingerprintRecord } from '../metadata';
import { CanonicalFingerprint } from './canonical-fingerprint';
import type { FingerprintStrategy } from './fingerprint-strategy';

function isStrategy(value: unknown): value is FingerprintStrategy {
  return typeof (value as FingerprintStrategy | undefined)?.fingerprint === 'function';
}

/** Checks a strategy or path options (paths are parsed now, so a bad one fails early). */
export function assertFingerprintRecord(record: unknown, where: string): asserts record is FingerprintRecord {
  resolveFingerprintStrategy(record as FingerprintRecord, where);
}

/** The strategy a record stands for. */
export function resolveFingerprintStrategy(record: FingerprintRecord, where: string): FingerprintStrategy {
  if (isStrategy(record)) return record;
  if (record === null || typeof record !== 'object') {
    throw new InvalidOptionError(`${where}`, record, 'a FingerprintStrategy or { exclude?, include? }');
  }
  return new CanonicalFingerprint(record);
}
