/**
 * RFC 8785 (JCS) canonical JSON of data already checked and copied by `copyJsonData`.
 *
 * `canonicalize` is the reference. When no object has an integer-like key, the copy's keys are
 * already in JCS order and native JSON.stringify writes exactly the JCS bytes (ES number formatting
 * and JSON string escaping are what JCS specifies), several times faster; otherwise, since JS would
 * enumerate those keys numerically first, `canonicalize` does the job. A spec checks both agree.
 */
import type { JsonCopy } from './json-data';

// canonicalize@5 is an ES module; Node >= 20.19 loads it with require(), and `.default` is the function.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const canonicalize: (value: unknown) => string | undefined = require('canonicalize').default;

/** The canonical JSON text of a checked copy. */
export function canonicalJson(copy: JsonCopy): string {
  if (!copy.hasIndexKeys) return JSON.stringify(copy.value);
  return canonicalize(copy.value) ?? 'null';
}

/** The reference implementation, for specs. */
export function referenceCanonicalJson(value: unknown): string | undefined {
  return canonicalize(value);
}
