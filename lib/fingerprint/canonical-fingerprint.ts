/**
 * The default fingerprint: SHA-256 (hex) of the input's RFC 8785 canonical JSON.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../errors';
import type { FingerprintStrategy } from './fingerprint-strategy';
import { omitPaths, parsePath, pickPaths, type PathSegment } from './fingerprint-path';
import { canonicalJson } from './canonical-json';
import { copyJsonData } from './json-data';


/** Paths for the default strategy: `include` keeps only those parts, then `exclude` drops parts. */
export interface CanonicalFingerprintOptions {
  /** Dotted paths (`[*]` for every array item) left out of the fingerprint: request ids, timestamps. */
  readonly exclude?: readonly string[];
  /** Dotted paths that alone make up the fingerprint; default: the whole input. */
  readonly include?: readonly string[];
}

/**
 * SHA-256 of RFC 8785 (JCS) canonical JSON: key order, whitespace and number spelling do not matter,
 * and the same data gives the same fingerprint in any process. Input that is not plain JSON data
 * throws {@link UnfingerprintableInputError}.
 */
export class CanonicalFingerprint implements FingerprintStrategy {
  private readonly exclude: PathSegment[][];
  private readonly include?: PathSegment[][];

  constructor(options: CanonicalFingerprintOptions = {}) {
    for (const key of ['exclude', 'include'] as const) {
      const paths = options[key];
      if (paths !== undefined && !Array.isArray(paths)) throw new InvalidOptionError(`fingerprint ${key}`, paths, 'an array of dotted paths');
    }
    this.exclude = (options.exclude ?? []).map(parsePath);
    this.include = options.include?.map(parsePath);
  }

  fingerprint(input: unknown): string {
    // Excluded parts are left out during the one walk that checks and copies the input (so they need
    // not be JSON data); `include` is a second pass over the copy. Both keep each object's key order,
    // so the data stays in canonical order.
    let copy = copyJsonData(input, 'input', this.include ? [] : this.exclude);
    if (this.include) {
      let data = pickPaths(copy.value, this.include) ?? null;
      // Stryker disable next-line EqualityOperator: equivalent, omitPaths with no paths returns the value itself
      if (this.exclude.length > 0) data = omitPaths(data, this.exclude) ?? null;
      copy = { value: data, hasIndexKeys: copy.hasIndexKeys };
    }
    return createHash('sha256').update(canonicalJson(copy), 'utf8').digest('hex');
  }

}
