/**
 * Crash-safe file writes: a reader (or a process after a crash) sees the old bytes or the new ones,
 * never a torn file.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';

/** Prefix of temp files; never the prefix of an encoded name (encodings have no dot). */
export const TEMP_PREFIX = '.tmp-';

async function writeTemp(directory: string, data: string): Promise<string> {
  const temp = join(directory, `${TEMP_PREFIX}${randomUUID()}`);
  const handle = await fs.open(temp, 'wx');
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** fsync a directory so a rename or link in it survives a power loss. */
export async function syncDirectory(directory: string): Promise<void> {
  if (process.platform === 'win32') return;
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
