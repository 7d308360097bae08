/**
 * FileStorage's wake index: one empty file per entry, named so that names sort by time, in one
 * directory per hour of wake time, under one per day:
 * ```
 * <directory>/wakes/<days since 1970, 8 digits>/<hour, 2 digits>/<epoch ms, 16 digits>~<encoded workflow id>
 * ```
 * A due scan lists the day directories (one name per day that has entries, not one per entry),
 * the hours of the days that have begun, and the entries of the hours that have begun, stopping
 * once it has enough: its cost follows the due entries, not the number of waiting workflows.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { decodeSegment, encodeSegment } from '../../workflow-id';
import { parseWakeName, wakeName } from '../record-format';
import type { WakeEntry } from '../records';
import { errno, makeDirectory, readdirIfExists, removeStaleTemps, syncDirectory, TEMP_PREFIX, writeFileAtomic } from './atomic-file';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The day and hour directory names of a time. */
function bucket(wakeAt: number): { day: string; hour: string } {
  const t = Math.max(0, wakeAt);
  return { day: String(Math.floor(t / DAY_MS)).padStart(8, '0'), hour: String(Math.floor((t % DAY_MS) / HOUR_MS)).padStart(2, '0') };
}

/** The file of `entry` under the index directory `wakes`. */
function entryPath(wakes: string, entry: WakeEntry): string {
  const { day, hour } = bucket(entry.wakeAt);
  return join(wakes, day, hour, wakeName(entry, encodeSegment(entry.workflowId)));
}

/** Creates the entry's file durably; an entry that exists is left as it is. */
export async function addWakeFile(wakes: string, entry: WakeEntry): Promise<void> {
  const path = entryPath(wakes, entry);
  // A removal may take the emptied hour directory away between making it and writing: a few rounds.
  for (let round = 0; ; round++) {
    try {
      await makeDirectory(join(path, '..'));
      await writeFileAtomic(path, '');
      return;
    } catch (error) {
      if (errno(error) !== 'ENOENT' || round === 5) throw error;
    }
  }
}

/** Removes the entry's file, and its hour directory once that is empty. */
export async function removeWakeFile(wakes: string, entry: WakeEntry): Promise<void> {
  const path = entryPath(wakes, entry);
  try {
    await fs.unlink(path);
  } catch (error) {
    if (errno(error) === 'ENOENT') return;
    throw error;
  }
  const hour = join(path, '..');
  await syncDirectory(hour).catch(() => undefined);
  // A writer killed mid-add left its temp file here: gone once its owner is provably dead.
  const names = await readdirIfExists(hour);
  if (names.some((n) => n.startsWith(TEMP_PREFIX))) await removeStaleTemps(hour, names);
  // Empty buckets go, so a scan does not list days long past; one being filled again stays.
  if (await removeIfEmpty(hour)) await removeIfEmpty(join(hour, '..'));
}

async function removeIfEmpty(dir: string): Promise<boolean> {
  try {
    await fs.rmdir(dir);
    return true;
  } catch (error) {
    if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'EEXIST' && errno(error) !== 'ENOENT') throw error;
    return false;
  }
}

/** Entries due at `now`, earliest first, at most `limit`. Names that are not entries (temp files) are skipped. */
export async function dueWakeFiles(wakes: string, now: number, limit: number): Promise<WakeEntry[]> {
  const last = bucket(now);
  const due: WakeEntry[] = [];
  const days = (await readdirIfExists(wakes)).filter((d) => /^\d{8}$/.test(d) && d <= last.day).sort();
  for (const day of days) {
    const hours = (await readdirIfExists(join(wakes, day))).filter((h) => /^\d{2}$/.test(h) && (day < last.day || h <= last.hour)).sort();
    for (const hour of hours) {
      if (await readHour(join(wakes, day, hour), now, limit, due)) return due;
    }
  }
  return due;
}

/**
 * Appends the hour's entries due at `now` to `due`, in order; true once `due` holds `limit`. A writer
 * killed mid-add left its temp file here: the scan removes it once its owner is provably dead (or it
 * is old). The index of ended workflows needs this: its entries stay for as long as their workflows
 * are kept, so no removal ever passes their hours; its scan (prune's) does.
 */
async function readHour(dir: string, now: number, limit: number, due: WakeEntry[]): Promise<boolean> {
  const names = await readdirIfExists(dir);
  if (names.some((n) => n.startsWith(TEMP_PREFIX))) await removeStaleTemps(dir, names);
  const entries = names
    .flatMap((name) => {
      const parsed = parseWakeName(name);
      const workflowId = parsed === undefined ? undefined : decodeSegment(parsed.encodedId);
      return parsed === undefined || workflowId === undefined || parsed.wakeAt > now ? [] : [{ name, entry: { workflowId, wakeAt: parsed.wakeAt } }];
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const { entry } of entries) {
    due.push(entry);
    if (due.length === limit) return true;
  }
  return false;
}
