/**
 * The current time as an ISO string, formatted once per millisecond: `toISOString()` costs far more
 * than a commit's other bookkeeping, and commits in the same millisecond share one string.
 */
let lastMs = -1;
let lastIso = '';

/** The current time as an ISO string. */
export function isoNow(): string {
  return isoAt(Date.now());
}

/** `ms` (epoch milliseconds, an integer) as an ISO string, from the same one-entry cache. */
export function isoAt(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

let lastUnique = 0;

/**
 * A time strictly later than the one before it in this process, ISO: what tells apart two things
 * made in one millisecond (events sent in a row keep their order; a workflow created again right
 * after it was cleared has another creation time than the one it replaced).
 */
export function isoUnique(): string {
  lastUnique = Math.max(Date.now(), lastUnique + 1);
  return new Date(lastUnique).toISOString();
}
