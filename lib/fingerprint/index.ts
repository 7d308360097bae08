export type { FingerprintStrategy } from './fingerprint-strategy';
export { CanonicalFingerprint, type CanonicalFingerprintOptions } from './canonical-fingerprint';
export { toJsonData, type JsonValue } from './json-data';
