export type { FingerprintStrategy } from './fingerprint-strategy';
export { CanonicalFingerprint, type CanonicalFingerprintOptions } from './canonical-fingerprint';
export type { JsonValue } from './json-data';
