/**
 * Step outputs as JSON that round-trips: what a resumed run hands the next step deep-equals what a
 * fresh run handed it.
 *
 * Plain JSON values are stored as they are. Other supported values are tagged objects
 * `{ "$wm": kind, "v": ... }`: undefined, NaN/±Infinity/-0, BigInt, Date, Map, Set, Buffer,
 * Uint8Array. A plain object that itself has a `$wm` key is wrapped (`{ "$wm": "object" }`) so it
 * cannot be mistaken for a tag. Anything else (functions, symbols, class instances, other built-ins,
 * cycles) is rejected with the path to it: a value that would come back different is never stored.
 */

import { setOwn } from './own-property';

/** JSON text-safe encoding of a step output. */
export type EncodedValue = null | boolean | number | string | EncodedValue[] | { [key: string]: EncodedValue };

/** Why a value cannot be encoded, and where. */
export class UnencodableValue extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

const TAG = '$wm';

/** Encodes `value`, or throws {@link UnencodableValue} naming the path (rooted at `output`). */
export function encodeValue(value: unknown, root = 'output'): EncodedValue {
  return encode(value, root, new Set());
}

function tagged(kind: string, v?: EncodedValue): EncodedValue {
  return v === undefined ? { [TAG]: kind } : { [TAG]: kind, v };
}

function encode(value: unknown, path: string, ancestors: Set<object>): EncodedValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value) || !Number.isFinite(value) || Object.is(value, -0)) return tagged('number', String(Object.is(value, -0) ? '-0' : value));
      return value;
    case 'undefined':
      return tagged('undefined');
    case 'bigint':
      return tagged('bigint', value.toString());
    case 'symbol':
      throw new UnencodableValue(path, 'a symbol cannot be stored');
    case 'function':
      throw new UnencodableValue(path, 'a function cannot be stored');
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) throw new UnencodableValue(path, 'circular reference');
  ancestors.add(object);
  try {
    return encodeObject(object, path, ancestors);
  } finally {
    ancestors.delete(object);
  }
}

function encodeObject(object: object, path: string, ancestors: Set<object>): EncodedValue {
  if (Array.isArray(object)) {
    const out: EncodedValue[] = [];
    for (let i = 0; i < object.length; i++) out.push(encode(object[i], `${path}[${i}]`, ancestors));
    return out;
  }
  if (object instanceof Date) return tagged('date', Number.isNaN(object.getTime()) ? null : object.toISOString());
  if (Buffer.isBuffer(object)) return tagged('buffer', object.toString('base64'));
  if (object instanceof Uint8Array && object.constructor === Uint8Array) {
    return tagged('bytes', Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64'));
  }
  if (object instanceof Map) {
    return tagged('map', [...object].map(([k, v], i) => [encode(k, `${path}.<key ${i}>`, ancestors), encode(v, `${path}.<value ${i}>`, ancestors)]));
  }
  if (object instanceof Set) return tagged('set', [...object].map((v, i) => encode(v, `${path}.<item ${i}>`, ancestors)));
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const kind = proto?.constructor?.name ?? Object.prototype.toString.call(object).slice(8, -1);
    throw new UnencodableValue(path, `an instance of ${kind} cannot be stored (return plain data: objects, arrays, Date, Map, Set, BigInt, Buffer, Uint8Array)`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) throw new UnencodableValue(path, 'symbol-keyed properties cannot be stored');
  const out: { [key: string]: EncodedValue } = {};
  for (const key of Object.keys(object)) {
    setOwn(out, key, encode((object as Record<string, unknown>)[key], `${path}.${key}`, ancestors));
  }
  return TAG in out ? tagged('object', out) : out;
}

/** Decodes what {@link encodeValue} produced. Throws {@link UnencodableValue} on an unknown tag. */
export function decodeValue(encoded: EncodedValue, path = 'output'): unknown {
  if (encoded === null || typeof encoded !== 'object') return encoded;
  if (Array.isArray(encoded)) return encoded.map((item, i) => decodeValue(item, `${path}[${i}]`));
  if (!(TAG in encoded)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(encoded)) setOwn(out, key, decodeValue(child, `${path}.${key}`));
    return out;
  }
  const v = encoded.v;
  switch (encoded[TAG]) {
    case 'undefined':
      return undefined;
    case 'number':
      return v === '-0' ? -0 : Number(v);
    case 'bigint':
      return BigInt(v as string);
    case 'date':
      return new Date(v === null ? NaN : (v as string));
    case 'buffer':
      return Buffer.from(v as string, 'base64');
    case 'bytes':
      return new Uint8Array(Buffer.from(v as string, 'base64'));
    case 'map':
      return new Map((v as EncodedValue[][]).map(([k, val], i) => [decodeValue(k, `${path}.<key ${i}>`), decodeValue(val, `${path}.<value ${i}>`)]));
    case 'set':
      return new Set((v as EncodedValue[]).map((item, i) => decodeValue(item, `${path}.<item ${i}>`)));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(v as Record<string, EncodedValue>)) setOwn(out, key, decodeValue(child, `${path}.${key}`));
      return out;
    }
    default:
      throw new UnencodableValue(path, `unknown tag ${JSON.stringify(encoded[TAG])}`);
  }
}
