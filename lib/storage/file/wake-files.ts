/**
 * FileStorage's wake index: one empty file per entry, named so that names sort by time, in one
 * directory per hour of wake time:
 * ```
 * <directory>/wakes/<hours since 1970, 12 digits>/<epoch ms, 16 digits>~<encoded workflow id>
 * ```
 * A due scan lists the hour directories (one name per hour that has entries, not one per entry) and
 * reads only the hours that have begun: its cost follows the due entries, plus the rest of the
 * current hour, not the number of waiting workflows.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { decodeSegment, encodeSegment } from '../../workflow-id';
import { parseWakeName, wakeName } from '../record-format';
import type { WakeEntry } from '../records';
import { errno, makeDirectory, readdirIfExists, syncDirectory, writeFileAtomic } from './atomic-file';

const HOUR_MS = 3_600_000;

function hourName(wakeAt: number): string {
  return String(Math.floor(Math.max(0, wakeAt) / HOUR_MS)).padStart(12, '0');
}

/** The file of `entry` under the index directory `wakes`. */
function entryPath(wakes: string, entry: WakeEntry): string {
  return join(wakes, hourName(entry.wakeAt), wakeName(entry, encodeSegment(entry.workflowId)));
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
  try {
    await fs.rmdir(hour);
  } catch (error) {
    if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'EEXIST' && errno(error) !== 'ENOENT') throw error;
  }
}

/** Entries due at `now`, earliest first, at most `limit`. Names that are not entries (temp files) are skipped. */
export async function dueWakeFiles(wakes: string, now: number, limit: number): Promise<WakeEntry[]> {
  const last = hourName(now);
  const hours = (await readdirIfExists(wakes)).filter((h) => /^\d{12}$/.test(h) && h <= last).sort();
  const due: WakeEntry[] = [];
  for (const hour of hours) {
    const entries = (await readdirIfExists(join(wakes, hour)))
      .flatMap((name) => {
        const parsed = parseWakeName(name);
        const workflowId = parsed === undefined ? undefined : decodeSegment(parsed.encodedId);
        return parsed === undefined || workflowId === undefined || parsed.wakeAt > now ? [] : [{ name, entry: { workflowId, wakeAt: parsed.wakeAt } }];
      })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const { entry } of entries) {
      due.push(entry);
      if (due.length === limit) return due;
    }
  }
  return due;
}
