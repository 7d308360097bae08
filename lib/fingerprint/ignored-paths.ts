/**
 * Which parts of an input a fingerprint strategy ignores, found by asking the strategy itself: a
 * leaf whose change leaves the fingerprint as it was is ignored. It works for any strategy (paths
 * given to `exclude`, an `include` list, a hand-written one), so what a reader is shown is what the
 * strategy does, not what its options say.
 */
import type { FingerprintStrategy } from './fingerprint-strategy';

/** Leaves looked at, at most: a larger input is answered with undefined (not known), never a guess. */
export const MAX_PROBED_LEAVES = 500;

type Segment = string | number;

/**
 * The dotted paths (`meta.requestId`, `items[0].ts`) of the leaves of `input` whose change does not
 * change its fingerprint under `strategy`; undefined when the input has more than
 * {@link MAX_PROBED_LEAVES} leaves or the strategy cannot fingerprint it.
 */
export async function ignoredInputPaths(strategy: FingerprintStrategy, input: unknown): Promise<string[] | undefined> {
  const leaves: Segment[][] = [];
  collectLeaves(input, [], leaves);
  if (leaves.length > MAX_PROBED_LEAVES) return undefined;
  let original: string;
  try {
    original = await strategy.fingerprint(input);
  } catch {
    return undefined;
  }
  const ignored: string[] = [];
  for (const path of leaves) {
    let changed: string;
    try {
      changed = await strategy.fingerprint(replaceAt(input, path, 0));
    } catch {
      continue; // a change the strategy refuses is one it looks at
    }
    if (changed === original) ignored.push(formatPath(path));
  }
  return ignored;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Leaves are what is not a plain object or array with something in it. */
function collectLeaves(value: unknown, path: Segment[], out: Segment[][]): void {
  if (out.length > MAX_PROBED_LEAVES) return;
  if (Array.isArray(value) && value.length > 0) value.forEach((item, i) => collectLeaves(item, [...path, i], out));
  else if (isPlainObject(value) && Object.keys(value).length > 0) for (const [key, item] of Object.entries(value)) collectLeaves(item, [...path, key], out);
  else if (path.length > 0) out.push(path);
}

/** A copy of `value` with the leaf at `path` replaced by a value of another kind than it had. */
function replaceAt(value: unknown, path: readonly Segment[], depth: number): unknown {
  if (depth === path.length) return different(value);
  const segment = path[depth]!;
  if (Array.isArray(value)) return value.map((item, i) => (i === segment ? replaceAt(item, path, depth + 1) : item));
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  copy[segment as string] = replaceAt(copy[segment as string], path, depth + 1);
  return copy;
}

function different(value: unknown): unknown {
  if (typeof value === 'string') return `${value}\u0000changed`;
  if (typeof value === 'number') return value === 0 ? 1 : -value; // value + 1 could round back to value
  if (typeof value === 'boolean') return !value;
  if (value === null) return 'changed';
  if (Array.isArray(value)) return ['changed'];
  if (isPlainObject(value)) return { changed: true };
  return 'changed';
}

function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
