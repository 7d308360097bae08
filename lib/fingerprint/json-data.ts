/**
 * Checks that a value is plain JSON data and returns a plain copy of it.
 *
 * Fingerprints must never depend on `String()` or `inspect()` of a value: anything JSON cannot
 * say exactly is rejected, naming the path.
 */
import { setOwn } from '../own-property';
import { UnfingerprintableInputError } from '../errors';

/** A plain JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Plain copy of `value`, or {@link UnfingerprintableInputError} naming the first offending path.
 *
 * Accepted: null, booleans, strings, finite numbers, arrays, and objects (plain or class instances)
 * through their own enumerable string keys. An object property that is `undefined` counts as absent,
 * as in JSON. Rejected: top-level undefined, undefined in arrays, NaN, ±Infinity, BigInt, functions,
 * symbols, symbol keys, Date, Map, Set, typed arrays and any other built-in object, objects with a
 * `toJSON` method, and cycles.
 */
export function toJsonData(value: unknown, root = 'input'): JsonValue {
  return copy(value, root, new Set());
}

function copy(value: unknown, path: string, ancestors: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new UnfingerprintableInputError(path, `${value} is not a JSON number`);
      return value;
    case 'undefined':
      throw new UnfingerprintableInputError(path, 'undefined is not JSON data');
    case 'bigint':
      throw new UnfingerprintableInputError(path, 'BigInt is not JSON data (pass it as a string)');
    case 'symbol':
      throw new UnfingerprintableInputError(path, 'a symbol is not JSON data');
    case 'function':
      throw new UnfingerprintableInputError(path, 'a function is not JSON data');
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) throw new UnfingerprintableInputError(path, 'circular reference');
  ancestors.add(object);
  try {
    if (Array.isArray(object)) {
      const out: JsonValue[] = [];
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) throw new UnfingerprintableInputError(`${path}[${i}]`, 'array hole is not JSON data');
        out.push(copy(object[i], `${path}[${i}]`, ancestors));
      }
      return out;
    }
    const tag = Object.prototype.toString.call(object);
    if (tag !== '[object Object]') {
      const kind = tag.slice(8, -1);
      const hint = kind === 'Date' ? ' (pass date.toISOString(), or exclude the field)' : '';
      throw new UnfingerprintableInputError(path, `${kind} is not JSON data${hint}`);
    }
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function') {
      throw new UnfingerprintableInputError(path, 'an object with a toJSON method is not plain data (pass what toJSON returns)');
    }
    if (Object.getOwnPropertySymbols(object).some((s) => Object.prototype.propertyIsEnumerable.call(object, s))) {
      throw new UnfingerprintableInputError(path, 'symbol-keyed properties are not JSON data');
    }
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(object)) {
      const child = (object as Record<string, unknown>)[key];
      if (child === undefined) continue;
      setOwn(out, key, copy(child, childPath(path, key), ancestors));
    }
    return out;
  } finally {
    ancestors.delete(object);
  }
}

/** `a.b` for identifier keys, `a["x y"]` otherwise. */
export function childPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
