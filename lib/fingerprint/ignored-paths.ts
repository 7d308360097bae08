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

/** An array or object with something in it is walked; anything else (a Date, a Map, `{}`) is a leaf. */
function hasChildren(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.keys(value).length > 0;
}

function collectLeaves(value: unknown, path: Segment[], out: Segment[][]): void {
  if (out.length > MAX_PROBED_LEAVES) return;
  if (hasChildren(value)) for (const key of Object.keys(value)) collectLeaves(value[key], [...path, Array.isArray(value) ? Number(key) : key], out);
  else if (path.length > 0) out.push(path);
}

/**
 * A copy of `value` with the leaf at `path` wrapped in an object: JSON data unlike any leaf value
 * (a string, number, boolean, null, empty object or array), so a strategy that looks at the leaf sees a change.
 */
function replaceAt(value: unknown, path: readonly Segment[], depth: number): unknown {
  if (depth === path.length) return { changed: value };
  const segment = path[depth]!;
  if (Array.isArray(value)) return value.map((item, i) => (i === segment ? replaceAt(item, path, depth + 1) : item));
  return { ...(value as Record<string, unknown>), [segment]: replaceAt((value as Record<string, unknown>)[segment], path, depth + 1) };
}

function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
