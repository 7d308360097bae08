/**
 * Durations as people write them in options and on the command line: `'30d'`, `'12h'`, `'90min'`,
 * `'45s'`, `'500ms'`, or a number of milliseconds.
 */
import { InvalidOptionError } from './errors';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of `value`, or `InvalidOptionError` naming `option`. */
export function parseDuration(option: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)\s*$/.exec(value) : null;
  if (match === null) throw new InvalidOptionError(option, value, "a duration: a number of ms >= 0, or a string such as '30d', '12h', '90min', '45s', '500ms'");
  return Number(match[1]) * UNITS[match[2]!]!;
}
