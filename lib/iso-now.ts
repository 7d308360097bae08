/**
 * The current time as an ISO string, formatted once per millisecond: `toISOString()` costs far more
 * than a commit's other bookkeeping, and commits in the same millisecond share one string.
 */
let lastMs = -1;
let lastIso = '';

export function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
