/**
 * Crash-safe file writes: a reader (or a process after a crash) sees the old bytes or the new ones,
 * never a torn file.
 */
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeadAtOnce, thisProcess, type ProcessIdentity } from './process-identity';

/** Prefix of temp files; never the prefix of an encoded name (encodings have no dot). */
export const TEMP_PREFIX = '.tmp-';

/** A temp file whose writer cannot be proven dead is removed only once it is this old: far beyond any write. */
export const STALE_TEMP_MS = 10 * 60_000;

/** Host, boot and pid namespace, hashed short: temp names carry it so a sweep can tell its own machine's writers. */
function machineKey(identity: Partial<ProcessIdentity>): string {
  return createHash('sha256').update(`${identity.host}\u0000${identity.boot}\u0000${identity.pidns}`).digest('hex').slice(0, 12);
}

let tempTag: string | undefined;

/** `<machine key>.<pid>.<start time>`: who wrote a temp file, so a sweep can remove a dead writer's at once. */
export function ownTempTag(): string {
  if (tempTag === undefined) {
    const me = thisProcess();
    tempTag = `${machineKey(me)}.${me.pid}.${me.started ?? 'x'}`;
  }
  return tempTag;
}

/** A new temp file name in `directory`, tagged with this process (see {@link ownTempTag}). */
export function tempPathIn(directory: string): string {
  return join(directory, `${TEMP_PREFIX}${ownTempTag()}-${randomUUID()}`);
}

async function writeTemp(directory: string, data: string): Promise<string> {
  const temp = tempPathIn(directory);
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/**
 * Per directory, the fsync running now and the one queued behind it. An fsync covers every rename or
 * link that landed in the directory before it *started*: a caller that arrives while one runs waits
 * for the next, which every caller arriving meanwhile shares (group commit: 100 commits landing
 * together cost a few directory fsyncs, not 100).
 */
const directorySyncs = new Map<string, { readonly running: Promise<void>; next?: Promise<void> }>();

/** fsync a directory so a rename or link in it survives a power loss; resolves once an fsync that started after the call has finished. */
export function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return Promise.resolve();
  const group = directorySyncs.get(directory);
  if (group === undefined) return startDirectorySync(directory);
  return (group.next ??= group.running.then(
    () => startDirectorySync(directory),
    () => startDirectorySync(directory),
  ));
}

function startDirectorySync(directory: string): Promise<void> {
  const running: Promise<void> = fsyncDirectory(directory).finally(() => {
    const group = directorySyncs.get(directory);
    if (group?.running === running && group.next === undefined) directorySyncs.delete(directory);
  });
  directorySyncs.set(directory, { running });
  return running;
}

async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await fs.open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Replaces `path` with `data` atomically: temp file, fsync, rename, directory fsync. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const directory = dirname(path);
  const temp = await writeTemp(directory, data);
  try {
    await fs.rename(temp, path);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

/**
 * Creates `path` with `data` only if it does not exist, atomically and whole (temp file, then a
 * hard link, which fails if the name exists). Returns false when it existed.
 */
export async function createFileExclusive(path: string, data: string): Promise<boolean> {
  const directory = dirname(path);
  const temp = await writeTemp(directory, data);
  try {
    await fs.link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
  await syncDirectory(directory);
  return true;
}

/** The error's errno code, if any. */
export function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * Removes the temp files a killed writer left in `directory`: at once when its writer provably died
 * (same machine, pid gone or reused), else once older than {@link STALE_TEMP_MS}. A live writer's temp
 * file is never removed under it. Returns how many were removed.
 */
export async function removeStaleTemps(directory: string, names?: readonly string[]): Promise<number> {
  let entries = names;
  if (entries === undefined) {
    try {
      entries = await fs.readdir(directory);
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return 0;
      throw error;
    }
  }
  let removed = 0;
  for (const name of entries) {
    if (!name.startsWith(TEMP_PREFIX) || !(await isStaleTemp(join(directory, name), name))) continue;
    await fs.rm(join(directory, name), { force: true });
    removed++;
  }
  return removed;
}

async function isStaleTemp(path: string, name: string): Promise<boolean> {
  const tag = /^\.tmp-([0-9a-f]{12})\.(\d+)\.(\d+)-/.exec(name);
  const me = thisProcess();
  if (tag && tag[1] === machineKey(me) && (await isDeadAtOnce({ host: me.host, boot: me.boot, pidns: me.pidns, pid: Number(tag[2]), started: tag[3] }))) return true;
  try {
    return Date.now() - (await fs.stat(path)).mtimeMs > STALE_TEMP_MS;
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Creates `path` and any missing parents. `fs.mkdir({ recursive: true })` is not used: where creating
 * a directory keeps failing with ENOENT (under /proc, say) it loops forever. Here every step is tried
 * once, and a directory that cannot be made rejects with the error that says why.
 */
export async function makeDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  for (let dir = path; ; dir = dirname(dir)) {
    try {
      await fs.mkdir(dir);
      break;
    } catch (error) {
      if (errno(error) === 'EEXIST') break;
      if (errno(error) !== 'ENOENT' || dirname(dir) === dir) throw error;
      missing.push(dir);
    }
  }
  for (const dir of missing.reverse()) {
    try {
      await fs.mkdir(dir);
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw error;
    }
  }
}

/** The names in `dir`, or none when it does not exist. */
export async function readdirIfExists(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (error) {
    if (errno(error) === 'ENOENT') return [];
    throw error;
  }
}
