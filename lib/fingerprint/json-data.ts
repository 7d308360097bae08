/**
 * Checks that a value is plain JSON data and returns a plain copy of it.
 *
 * Fingerprints must never depend on `String()` or `inspect()` of a value: anything JSON cannot
 * say exactly is rejected, naming the path.
 */
import { UnfingerprintableInputError } from '../errors';
import { setOwn } from '../own-property';
import { matching, type Paths } from './fingerprint-path';

const NONE: Paths = [];

/** A plain JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A copy of the input, and what the canonical serialiser needs to know about it. */
export interface JsonCopy {
  /** The copy; each object's keys are inserted in UTF-16 code-unit order (RFC 8785 order). */
  readonly value: JsonValue;
  /** True when some object has an integer-like key, which JS enumerates before all others whatever the insertion order. */
  readonly hasIndexKeys: boolean;
}

/** A path built only when an error needs it: the parent path and this step. */
interface Path {
  readonly parent?: Path;
  readonly key?: string;
  readonly index?: number;
}

function render(path: Path | undefined, root: string): string {
  const steps: string[] = [];
  for (let p = path; p !== undefined; p = p.parent) {
    steps.push(p.index !== undefined ? `[${p.index}]` : /^[A-Za-z_$][\w$]*$/.test(p.key!) ? `.${p.key}` : `[${JSON.stringify(p.key)}]`);
  }
  return root + steps.reverse().join('');
}

/** Integer-like keys: what JS orders numerically before every other key of an object. */
const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

/**
 * Plain copy of `value`, or {@link UnfingerprintableInputError} naming the first offending path.
 *
 * Accepted: null, booleans, well-formed strings, finite numbers, arrays, and objects (plain or class
 * instances) through their own enumerable string keys. An object property that is `undefined` counts
 * as absent, as in JSON. Rejected: top-level undefined, undefined in arrays, NaN, ±Infinity, BigInt,
 * functions, symbols, symbol keys, strings with lone surrogates, Date, Map, Set, typed arrays and any
 * other built-in object, objects with a `toJSON` method, and cycles.
 */
export function copyJsonData(value: unknown, root = 'input', exclude: Paths = []): JsonCopy {
  const state: WalkState = { root, ancestors: [], hasIndexKeys: false };
  if (exclude.some((p) => p.length === 0)) return { value: null, hasIndexKeys: false };
  return { value: copy(value, undefined, undefined, state, exclude), hasIndexKeys: state.hasIndexKeys };
}

interface WalkState {
  readonly root: string;
  /** Objects being copied, outermost first. */
  readonly ancestors: object[];
  hasIndexKeys: boolean;
}

/** Below this depth a cycle cannot hide for long: the walk scans for one only deeper than this. */
const CYCLE_SCAN_DEPTH = 100;

/** The Path of the value at `step` under `parent`: made only for containers and for errors. */
function pathOf(parent: Path | undefined, step: string | number | undefined): Path | undefined {
  return step === undefined ? parent : typeof step === 'number' ? { parent, index: step } : { parent, key: step };
}

function fail(state: WalkState, path: Path | undefined, reason: string): never {
  throw new UnfingerprintableInputError(render(path, state.root), reason);
}

/**
 * Copies `v`. `exclude` holds the rests of the excluded paths that reach below `v`; a child they
 * select entirely is left out (and not checked: excluded data need not be JSON data).
 */
function copy(v: unknown, parent: Path | undefined, step: string | number | undefined, state: WalkState, exclude: Paths): JsonValue {
  switch (typeof v) {
    case 'string':
      if (!v.isWellFormed()) fail(state, pathOf(parent, step), 'a string with a lone surrogate is not valid Unicode');
      return v;
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) fail(state, pathOf(parent, step), `${v} is not a JSON number`);
      return v;
    case 'undefined':
      return fail(state, pathOf(parent, step), 'undefined is not JSON data');
    case 'bigint':
      return fail(state, pathOf(parent, step), 'BigInt is not JSON data (pass it as a string)');
    case 'symbol':
      return fail(state, pathOf(parent, step), 'a symbol is not JSON data');
    case 'function':
      return fail(state, pathOf(parent, step), 'a function is not JSON data');
  }
  if (v === null) return null;
  const object = v as object;
  const path = pathOf(parent, step);
  // A cycle makes the walk descend forever, so scanning the ancestors only past a fixed depth still
  // catches every one, without the cost of a lookup per object in ordinary data.
  // Stryker disable next-line EqualityOperator: equivalent, scanning from depth 100 instead of 101 finds the same cycles
  if (state.ancestors.length > CYCLE_SCAN_DEPTH && state.ancestors.includes(object)) fail(state, firstRepeat(state.ancestors, path), 'circular reference');
  state.ancestors.push(object);
  const out = Array.isArray(object) ? copyArray(object, path, state, exclude) : copyObject(object, path, state, exclude);
  state.ancestors.pop();
  return out;
}

/**
 * Where the cycle through `path` first closes: the shallowest path whose object is one of its own
 * ancestors (`input.self`, not the 100-level path at which the walk noticed). `ancestors[k]` sits
 * k steps below the root; the object at `path` is one step below the last of them.
 */
function firstRepeat(ancestors: readonly object[], path: Path | undefined): Path | undefined {
  const seen = new Set<object>();
  let depth = 0;
  while (depth < ancestors.length && !seen.has(ancestors[depth])) seen.add(ancestors[depth++]);
  let at = path;
  for (let steps = ancestors.length; steps > depth; steps--) at = at?.parent;
  return at;
}

/**
 * Keys in UTF-16 code-unit order (RFC 8785's; `<` on strings compares code units). Objects usually
 * have a handful of keys, where an insertion sort is much cheaper than Array.prototype.sort's setup.
 */
function sortKeys(keys: string[]): string[] {
  // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent, both branches sort by UTF-16 code units; the threshold only picks the faster one
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i];
    let j = i - 1;
    // Stryker disable next-line EqualityOperator: equivalent for `keys[j] >= key`, an object's keys are distinct
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

function copyArray(array: unknown[], path: Path | undefined, state: WalkState, exclude: Paths): JsonValue[] {
  if (exclude.length === 0) {
    const out: JsonValue[] = new Array(array.length);
    for (let i = 0; i < array.length; i++) {
      if (!(i in array)) fail(state, { parent: path, index: i }, 'array hole is not JSON data');
      out[i] = copy(array[i], path, i, state, NONE);
    }
    return out;
  }
  const out: JsonValue[] = [];
  for (let i = 0; i < array.length; i++) {
    const below = matching(exclude, i);
    if (below.some((p) => p.length === 0)) continue;
    if (!(i in array)) fail(state, { parent: path, index: i }, 'array hole is not JSON data');
    out.push(copy(array[i], path, i, state, below));
  }
  return out;
}

function copyObject(object: object, path: Path | undefined, state: WalkState, exclude: Paths): { [key: string]: JsonValue } {
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const tag = Object.prototype.toString.call(object);
    if (tag !== '[object Object]') {
      const kind = tag.slice(8, -1);
      fail(state, path, `${kind} is not JSON data${kind === 'Date' ? ' (pass date.toISOString(), or exclude the field)' : ''}`);
    }
  }
  if (typeof (object as { toJSON?: unknown }).toJSON === 'function') fail(state, path, 'an object with a toJSON method is not plain data (pass what toJSON returns)');
  const symbols = Object.getOwnPropertySymbols(object);
  if (symbols.length > 0 && symbols.some((s) => Object.prototype.propertyIsEnumerable.call(object, s))) fail(state, path, 'symbol-keyed properties are not JSON data');
  const keys = sortKeys(Object.keys(object));
  const out: { [key: string]: JsonValue } = {};
  for (const key of keys) {
    const child = (object as Record<string, unknown>)[key];
    if (child === undefined) continue;
    const below = exclude.length === 0 ? NONE : matching(exclude, key);
    // Stryker disable next-line EqualityOperator: equivalent, `some` over no paths is false; the length test only skips the call
    if (below.length > 0 && below.some((p) => p.length === 0)) continue;
    if (!key.isWellFormed()) fail(state, { parent: path, key }, 'a key with a lone surrogate is not valid Unicode');
    if (!state.hasIndexKeys) {
      const first = key.charCodeAt(0);
      if (first >= 48 && first <= 57 && INDEX_KEY.test(key)) state.hasIndexKeys = true;
    }
    if (key === '__proto__') setOwn(out, key, copy(child, path, key, state, below));
    else out[key] = copy(child, path, key, state, below);
  }
  return out;
}
