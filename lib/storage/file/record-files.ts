/**
 * A workflow's record as numbered revision files, `record.<revision>.json`, so that replacing it is a
 * true compare-and-swap on a file system: a writer that expects revision `n` creates `n + 1`
 * exclusively (temp file + hard link), and of any number of such writers exactly one succeeds. The
 * current record is the highest revision; older ones are removed after each successful write.
 *
 * A `record.json` written by waymark 0.1 is read as its stored revision until the next write
 * replaces it.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createFileExclusive, errno, readdirIfExists } from './atomic-file';

const REVISION = /^record\.(\d+)\.json$/;
const LEGACY = 'record.json';

/** Rounds a read may start over because a writer removed the revision it was about to read. */
const MAX_READS = 20;

/** The file that holds the current record of the workflow in `dir`, and its text; undefined when there is none. */
export async function readCurrentRecord(dir: string): Promise<{ path: string; text: string } | undefined> {
  for (let round = 0; round < MAX_READS; round++) {
    const name = currentName(await readdirIfExists(dir));
    if (name === undefined) return undefined;
    try {
      return { path: join(dir, name), text: await fs.readFile(join(dir, name), 'utf8') };
    } catch (error) {
      // A newer revision replaced it between the listing and the read: list again.
      if (errno(error) !== 'ENOENT') throw error;
    }
  }
  throw new Error(`the record in ${dir} kept being replaced while it was read; gave up after ${MAX_READS} tries`);
}

/**
 * Creates revision `revision` with `text` unless it, or any later revision, exists (then false: the
 * caller's expected revision is stale). On success, removes the older revisions.
 */
export async function createRecordRevision(dir: string, revision: number, text: string): Promise<boolean> {
  const names = await readdirIfExists(dir);
  if (revision === 1 && names.includes(LEGACY)) return false;
  const ours = `record.${revision}.json`;
  if (!(await createFileExclusive(join(dir, ours), text))) return false;
  // Created, but a later revision may exist already: a writer that expected a long-gone revision
  // recreated its removed successor. Then ours is stale and goes.
  const after = await readdirIfExists(dir);
  if (after.some((name) => (revisionOf(name) ?? 0) > revision)) {
    await fs.rm(join(dir, ours), { force: true });
    return false;
  }
  await Promise.all(after.filter((name) => name === LEGACY || (revisionOf(name) ?? Infinity) < revision).map((name) => fs.rm(join(dir, name), { force: true })));
  return true;
}

/** The record file name among `names`: the highest revision, else a 0.1 `record.json`. */
function currentName(names: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const name of names) if ((revisionOf(name) ?? -1) > (best === undefined ? -1 : revisionOf(best)!)) best = name;
  return best ?? (names.includes(LEGACY) ? LEGACY : undefined);
}

function revisionOf(name: string): number | undefined {
  const match = REVISION.exec(name);
  return match ? Number(match[1]) : undefined;
}
