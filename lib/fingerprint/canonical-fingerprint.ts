/**
 * The default fingerprint: SHA-256 (hex) of the input's RFC 8785 canonical JSON.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError, UnfingerprintableInputError } from '../errors';
import type { FingerprintStrategy } from './fingerprint-strategy';
import { omitPaths, parsePath, pickPaths, type PathSegment } from './fingerprint-path';
import { toJsonData } from './json-data';

// canonicalize@5 is an ES module; Node >= 20.19 loads it with require(), and `.default` is the function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const canonicalize: (value: unknown) => string | undefined = require('canonicalize').default;

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
    let data = toJsonData(input);
    if (this.include) data = pickPaths(data, this.include) ?? null;
    if (this.exclude.length > 0) data = omitPaths(data, this.exclude) ?? null;
    const text = canonicalize(data);
    if (text === undefined) throw new UnfingerprintableInputError('input', 'canonical JSON is empty');
    return createHash('sha256').update(text, 'utf8').digest('hex');
  }
}
