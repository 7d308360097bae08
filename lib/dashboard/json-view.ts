/**
 * Stored values (inputs, outputs, payloads) as the page shows them: plain JSON, whatever the
 * checkpoint codec decoded (a Date, a BigInt, a Map), and capped in size so one large output does
 * not make the page slow.
 */

/** Characters of a value's text the workflow page gets at first; the rest comes on request. */
export const OUTPUT_PREVIEW_CHARS = 2000;

/** A value's text as the page shows it. */
export interface ValueText {
  /** Indented JSON, at most {@link OUTPUT_PREVIEW_CHARS} characters unless the whole was asked for. */
  readonly text: string;
  /** Characters of the whole text. */
  readonly length: number;
  readonly truncated: boolean;
}

/** `value` as JSON data: Dates as ISO strings, BigInts as `"12n"`, Maps as objects, Sets as arrays, undefined as null. */
export function toJsonData(value: unknown, seen = new Set<object>()): unknown {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return null;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (Array.isArray(value)) return value.map((item) => toJsonData(item, seen));
    if (value instanceof Set) return [...value].map((item) => toJsonData(item, seen));
    if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(toJsonData(k, seen)), toJsonData(v, seen)]));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonData(v, seen)]));
  } finally {
    seen.delete(value);
  }
}

/** `value`'s indented JSON text, cut at `limit` characters. */
export function valueText(value: unknown, limit = OUTPUT_PREVIEW_CHARS): ValueText {
  const text = value === undefined ? 'undefined' : JSON.stringify(toJsonData(value), null, 2);
  return text.length <= limit ? { text, length: text.length, truncated: false } : { text: text.slice(0, limit), length: text.length, truncated: true };
}
