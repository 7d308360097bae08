/**
 * Stored values (inputs, outputs, payloads) as the page shows them: in their own types (a Date, a
 * BigInt, a Map, a Buffer; see lib/shown-value.ts), and capped in size so one large output does not
 * make the page slow.
 */
import { shownText } from '../shown-value';

/** Characters of a value's text the workflow page gets at first; the rest comes on request. */
export const OUTPUT_PREVIEW_CHARS = 2000;

/** A value's text as the page shows it. */
export interface ValueText {
  /** The value's text, at most {@link OUTPUT_PREVIEW_CHARS} characters unless the whole was asked for. */
  readonly text: string;
  /** Characters of the whole text. */
  readonly length: number;
  readonly truncated: boolean;
}

/** `value`'s text in its own types, cut at `limit` characters. */
export function valueText(value: unknown, limit = OUTPUT_PREVIEW_CHARS): ValueText {
  const text = shownText(value);
  return text.length <= limit ? { text, length: text.length, truncated: false } : { text: text.slice(0, limit), length: text.length, truncated: true };
}
