/**
 * Stored values (inputs, outputs, event payloads) as people read them, never in the store's own
 * encoding (`{"$wm":"date",…}`): as text in their own types for the dashboard, and as JSON data
 * for `--json` output and the dashboard's API.
 */

/** One line of a value's text; a line that shows one leaf (or an empty object or array) names its path. */
export interface ShownLine {
  readonly text: string;
  /** `customer.email`, `items[2]`: the path `@Fingerprint({ exclude })` names it by. */
  readonly path?: string;
}

/** Bytes of a Buffer (or any typed array) shown in full; longer ones are shown up to this and counted. */
const BYTES_SHOWN = 64;

/**
 * `value` as lines of text in its own types, indented by two spaces: strings quoted, `12n`, `undefined`,
 * `Date(2026-12-01T00:00:00.000Z)`, `Map(2) {…}` with `key => value` entries, `Set(2) […]`,
 * `Buffer(5) hex 68656c6c6f`, `[circular]` for a value inside itself.
 */
export function shownLines(value: unknown): ShownLine[] {
  const lines: ShownLine[] = [];
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, indent: string, head: string, comma: string): void => {
    const leaf = (text: string): void => void lines.push({ text: `${indent}${head}${text}${comma}`, path });
    if (v === null || typeof v !== 'object') return leaf(scalarText(v));
    if (seen.has(v)) return leaf('[circular]');
    if (v instanceof Date) return leaf(Number.isNaN(v.getTime()) ? 'Invalid Date' : `Date(${v.toISOString()})`);
    if (ArrayBuffer.isView(v)) return leaf(bytesText(v));
    const entries = entriesOf(v, path);
    const [open, close] = Array.isArray(v) ? ['[', ']'] : v instanceof Set ? [`Set(${v.size}) [`, ']'] : v instanceof Map ? [`Map(${v.size}) {`, '}'] : ['{', '}'];
    if (entries.length === 0) return leaf(`${open}${close}`);
    seen.add(v);
    lines.push({ text: `${indent}${head}${open}` });
    entries.forEach(([key, child, childPath], i) => walk(child, childPath, `${indent}  `, key, i === entries.length - 1 ? '' : ','));
    lines.push({ text: `${indent}${close}${comma}` });
    seen.delete(v);
  };
  walk(value, '', '', '', '');
  return lines;
}

/** `value` as text in its own types (the lines of {@link shownLines}, joined). */
export function shownText(value: unknown): string {
  return shownLines(value)
    .map((line) => line.text)
    .join('\n');
}

/**
 * `value` as JSON data, for machines: what `JSON.stringify` would give for your own value where
 * JSON can say it (a Date as its ISO string, a Map as an object, a Set as an array), and where it
 * cannot, a string that says what it was (`"12n"`, `"NaN"`), bytes as `{ bytes, base64 }`, and
 * `undefined` as `null` (in an object, the key stays, so it is seen).
 */
export function toJsonData(value: unknown, seen = new Set<object>()): unknown {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return null;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (ArrayBuffer.isView(value)) return { bytes: value.byteLength, base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
    if (Array.isArray(value)) return value.map((item) => toJsonData(item, seen));
    if (value instanceof Set) return [...value].map((item) => toJsonData(item, seen));
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(toJsonData(k, seen)), toJsonData(v, seen)]));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonData(v, seen)]));
  } finally {
    seen.delete(value);
  }
}

function scalarText(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'function') return '[function]';
  if (typeof v === 'symbol') return v.toString();
  return Object.is(v, -0) ? '-0' : String(v);
}

function bytesText(view: ArrayBufferView): string {
  const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  const kind = Buffer.isBuffer(view) ? 'Buffer' : view.constructor.name;
  const shown = bytes.subarray(0, BYTES_SHOWN).toString('hex');
  return `${kind}(${bytes.length}) hex ${shown}${bytes.length > BYTES_SHOWN ? `… (${bytes.length - BYTES_SHOWN} more bytes)` : ''}`;
}

/** The entries of an array, Set, Map or object: how each is headed, its value, and its path. */
function entriesOf(v: object, path: string): [string, unknown, string][] {
  const join = (key: string) => (path === '' ? key : `${path}.${key}`);
  if (Array.isArray(v)) return v.map((item, i) => ['', item, `${path}[${i}]`]);
  if (v instanceof Set) return [...v].map((item, i) => ['', item, `${path}[${i}]`]);
  if (v instanceof Map) return [...v].map(([key, item]) => [`${scalarOrShort(key)} => `, item, join(String(key))]);
  return Object.entries(v).map(([key, item]) => [`${JSON.stringify(key)}: `, item, join(key)]);
}

/** A Map key on one line. */
function scalarOrShort(key: unknown): string {
  if (key === null || typeof key !== 'object') return scalarText(key);
  if (key instanceof Date) return `Date(${Number.isNaN(key.getTime()) ? 'Invalid Date' : key.toISOString()})`;
  return Array.isArray(key) ? `[Array(${key.length})]` : '[object]';
}
