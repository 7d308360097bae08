/**
 * Dotted paths that select parts of an input: `requestId`, `meta.receivedAt`, `items[*].ts`, `rows[0]`.
 */
import { setOwn } from '../own-property';
import { InvalidFingerprintPathError } from '../errors';
import type { JsonValue } from './json-data';

/** One step of a path: an object key, every array item, or one array index. */
export type PathSegment = { readonly key: string } | { readonly all: true } | { readonly index: number };

const SEGMENT = /^([^[\]]*)((?:\[(?:\*|\d+)\])*)$/;

/** Parses a dotted path, or throws {@link InvalidFingerprintPathError}. */
export function parsePath(path: string): PathSegment[] {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidFingerprintPathError(String(path), 'a path must be a non-empty string');
  const segments: PathSegment[] = [];
  path.split('.').forEach((part, i) => {
    const match = SEGMENT.exec(part);
    if (!match) throw new InvalidFingerprintPathError(path, `cannot parse '${part}' (use name, name[*] or name[0])`);
    const [, name, brackets] = match;
    if (name === '' && (brackets === '' || i > 0)) throw new InvalidFingerprintPathError(path, 'empty segment');
    if (name !== '') segments.push({ key: name });
    for (const b of brackets.match(/\[(\*|\d+)\]/g) ?? []) {
      const inner = b.slice(1, -1);
      segments.push(inner === '*' ? { all: true } : { index: Number(inner) });
    }
  });
  return segments;
}

/** A set of parsed paths. */
export type Paths = readonly (readonly PathSegment[])[];

/** The rests of the paths whose first segment selects `key` (an object key or an array index). */
export function matching(paths: Paths, key: string | number): PathSegment[][] {
  const out: PathSegment[][] = [];
  for (const [head, ...rest] of paths) {
    if (typeof key === 'string' ? 'key' in head && head.key === key : 'all' in head || ('index' in head && head.index === key)) {
      out.push(rest);
    }
  }
  return out;
}

const OMIT = Symbol('omit');

/** `value` without the parts the paths select. Paths that select nothing are ignored. */
export function omitPaths(value: JsonValue, paths: Paths): JsonValue | undefined {
  const out = omit(value, paths);
  return out === OMIT ? undefined : out;
}

function omit(value: JsonValue, paths: Paths): JsonValue | typeof OMIT {
  if (paths.length === 0) return value;
  if (paths.some((p) => p.length === 0)) return OMIT;
  if (Array.isArray(value)) {
    const out: JsonValue[] = [];
    value.forEach((item, i) => {
      const kept = omit(item, matching(paths, i));
      if (kept !== OMIT) out.push(kept);
    });
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, child] of Object.entries(value)) {
      const kept = omit(child, matching(paths, key));
      if (kept !== OMIT) setOwn(out, key, kept);
    }
    return out;
  }
  return value;
}

/** Only the parts of `value` the paths select (array items keep their order). */
export function pickPaths(value: JsonValue, paths: Paths): JsonValue | undefined {
  if (paths.some((p) => p.length === 0)) return value;
  if (Array.isArray(value)) {
    const out: JsonValue[] = [];
    value.forEach((item, i) => {
      const sub = matching(paths, i);
      if (sub.length > 0) {
        const picked = pickPaths(item, sub);
        if (picked !== undefined) out.push(picked);
      }
    });
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const [key, child] of Object.entries(value)) {
      const sub = matching(paths, key);
      if (sub.length === 0) continue;
      const picked = pickPaths(child, sub);
      if (picked !== undefined) setOwn(out, key, picked);
    }
    return out;
  }
  return undefined;
}
