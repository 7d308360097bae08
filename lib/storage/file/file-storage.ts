/**
 * Checkpoints as files under one directory, safe against crashes and against ids that try to escape it.
 *
 * Layout (every name encoded with `encodeSegment`, so it is one safe path segment):
 * ```
 * <directory>/workflows/<workflow id>/record.<revision>.json  (see record-files.ts)
 * <directory>/workflows/<workflow id>/steps@<lease token>/<step>.json
 * <directory>/workflows/<workflow id>/events/<event id>.json   (created once, never replaced)
 * <directory>/wakes/<day>/<hour>/<epoch ms>~<workflow id>       (see wake-files.ts)
 * <directory>/ended/<status>/<day>/<hour>/<epoch ms>~<workflow id>  (the index of ended workflows, laid out like wakes)
 * <directory>/locks/<workflow id>/<generation>.lock
 * <directory>/trash/                      (cleared workflows, deleted at once)
 * ```
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CheckpointCorruptedError, InvalidOptionError, InvalidWorkflowIdError, LeaseLostError, RecordConflictError, StorageError } from '../../errors';
import { assertWorkflowId, decodeSegment, encodeSegment } from '../../workflow-id';
import type { CheckpointStorage, ClearOptions } from '../checkpoint-storage';
import type { Checkpoint, EndedEntry, Lease, LeaseAttempt, LeaseHolder, StoredEvent, StoredRecord, StoredWorkflow, WakeEntry, WorkflowRecord, WorkflowStatus } from '../records';
import { parseCheckpoint, parseEvent, parseRecordFile, sendOrder, type RecordFile } from '../record-format';
import { createFileExclusive, errno, makeDirectory, readdirIfExists, removeStaleTemps } from './atomic-file';
import { stepWrites } from './commit-thread';
import { addWakeFile, dueWakeFiles, removeWakeFile } from './wake-files';
import { createRecordRevision, readCurrentRecord } from './record-files';
import { FileLock } from './file-lock';

/**
 * Checkpoints live in a directory named by the lease that last took the workflow (`steps@<token>`;
 * `steps` from waymark 0.1, or `steps@open` for commits made without a lease). Taking the lease
 * renames it to the new token: one atomic step, after which a former owner that passed its fence
 * just before, and then stalled, finds its directory gone, and its late write fails without writing.
 */
const STEPS_DIR = /^steps(@[^/]+)?$/;
const UNLEASED_STEPS = 'steps@open';

/** Options of {@link FileStorage}. */
export interface FileStorageOptions {
  /** Root directory; created on first write. */
  readonly directory: string;
}

/** How long before its expiry a lease is checked against the lock files instead of the clock alone. */
const FENCE_MARGIN_MS = 2_000;

/**
 * Longest encoded workflow id: every file name made of it fits 255 bytes, the longest being a wake
 * or ended entry (16 digits and `~` before it, so 17 bytes) and a cleared workflow in the trash
 * (`.` and 12 hex digits after it). An id is refused at its first use, never accepted and then
 * found unclearable.
 */
const MAX_SEGMENT = 255 - 17;
/** Longest encoded step name or event id: its file is `<name>.json`. */
const MAX_FILE_SEGMENT = 255 - '.json'.length;

/** Stores each workflow in its own directory; writes are atomic (temp file, fsync, rename, directory fsync). */
export class FileStorage implements CheckpointStorage {
  /** Absolute root directory. */
  readonly directory: string;
  private readonly locks: FileLock;

  constructor(options: FileStorageOptions) {
    if (typeof options?.directory !== 'string' || options.directory.length === 0) {
      throw new InvalidOptionError('FileStorage directory', options?.directory, 'a non-empty path');
    }
    this.directory = resolve(options.directory);
    this.locks = new FileLock((id) => join(this.directory, 'locks', this.segment(id)));
  }

  async load(workflowId: string): Promise<StoredWorkflow | undefined> {
    const dir = this.workflowDir(workflowId);
    const [found, names] = await Promise.all([
      this.io(workflowId, 'load', dir, () => readCurrentRecord(dir)),
      this.io(workflowId, 'load', dir, async () => {
        const steps = await this.stepsDirOf(workflowId);
        return steps === undefined ? [] : readdirIfExists(steps);
      }),
    ]);
    const committedSteps = names.filter((n) => n.endsWith('.json')).flatMap((n) => decodeSegment(n.slice(0, -5)) ?? []);
    if (found === undefined && committedSteps.length === 0) return undefined;
    const file = found === undefined ? undefined : parseRecordFile(workflowId, found.path, found.text);
    return { record: file?.record, recordVersion: file === undefined ? undefined : String(file.revision), committedSteps };
  }

  async readRecord(workflowId: string): Promise<StoredRecord | undefined> {
    const dir = this.workflowDir(workflowId);
    const found = await this.io(workflowId, 'read record', dir, () => readCurrentRecord(dir));
    if (found === undefined) return undefined;
    const file = parseRecordFile(workflowId, found.path, found.text);
    return { record: file.record, version: String(file.revision) };
  }

  async readCheckpoint(workflowId: string, step: string): Promise<Checkpoint> {
    let path = join(this.workflowDir(workflowId), 'steps', stepFile(step));
    let text: string | undefined;
    try {
      // A run taking the lease renames the checkpoints' directory: a reader without the lease (a
      // status query beside running workers) that loses that race looks again in the new one.
      for (let tries = 0; text === undefined; tries++) {
        const steps = await this.stepsDirOf(workflowId);
        if (steps !== undefined) path = join(steps, stepFile(step));
        try {
          text = await fs.readFile(path, 'utf8');
        } catch (error) {
          const moved = (error as NodeJS.ErrnoException).code === 'ENOENT' && tries < 5 && (await this.stepsDirOf(workflowId)) !== steps;
          if (!moved) throw error;
        }
      }
    } catch (error) {
      throw new StorageError(workflowId, 'read checkpoint', error, step, path);
    }
    return parseCheckpoint(workflowId, step, path, text);
  }

  async writeRecord(workflowId: string, record: WorkflowRecord, expectedVersion: string | null, lease?: Lease): Promise<string> {
    const dir = this.workflowDir(workflowId);
    // Every step must be able to commit: refused here, when the run starts, not after a step ran.
    for (const step of record.steps) jsonFile('step name', workflowId, step.name);
    await this.fence(workflowId, lease);
    const revision = expectedVersion === null ? 1 : Number(expectedVersion) + 1;
    if (!Number.isSafeInteger(revision) || revision < 1) throw new RecordConflictError(workflowId, join(dir, `record.${expectedVersion}.json`));
    return this.io(workflowId, 'write record', dir, async () => {
      await makeDirectory(dir);
      const file: RecordFile = { revision, record };
      // Compare-and-swap: of all writers expecting the same revision, exactly one creates the next.
      if (!(await createRecordRevision(dir, revision, JSON.stringify(file)))) throw new RecordConflictError(workflowId, join(dir, `record.${revision}.json`));
      return String(revision);
    });
  }

  async commit(workflowId: string, checkpoint: Checkpoint, lease?: Lease): Promise<void> {
    const data = JSON.stringify(checkpoint);
    await this.fence(workflowId, lease, checkpoint.step);
    if (lease !== undefined) {
      // The lease's own directory, made when the lease was taken. If it is gone, a takeover renamed
      // it (or a clear removed it) after the fence: the lease is lost and nothing is written.
      // Each step is a new file name: renaming over an existing file frees its old blocks, which on a
      // filesystem mounted with `discard` costs a disk discard per commit (measured: issue 11).
      const path = join(this.workflowDir(workflowId), `steps@${lease.token}`, jsonFile('step name', workflowId, checkpoint.step));
      try {
        await stepWrites.write(path, data);
      } catch (error) {
        if (errno(error) === 'ENOENT') throw new LeaseLostError(workflowId, checkpoint.step);
        throw new StorageError(workflowId, 'commit', error, checkpoint.step, path);
      }
      return;
    }
    const dir = this.workflowDir(workflowId);
    await this.io(
      workflowId,
      'commit',
      dir,
      async () => {
        const steps = (await this.stepsDirOf(workflowId)) ?? join(dir, UNLEASED_STEPS);
        await writeCreatingDirectory(join(steps, jsonFile('step name', workflowId, checkpoint.step)), data);
      },
      checkpoint.step,
    );
  }

  async clear(workflowId: string, options: ClearOptions = {}): Promise<void> {
    const dir = this.workflowDir(workflowId);
    await this.fence(workflowId, options.lease);
    // The wake entry the record names goes too; a record that cannot be read names none (a stale
    // entry is harmless: a worker finds nothing stored and drops it).
    const wakeAt = (await this.readRecord(workflowId).catch(() => undefined))?.record.wakeAt;
    if (wakeAt !== undefined) await this.removeWake({ workflowId, wakeAt: Date.parse(wakeAt) });
    // Renaming the directory away is one atomic step: a concurrent writer either lands before it
    // (and is cleared) or fails on the vanished directory; there is no check-then-delete window.
    const trash = join(this.directory, 'trash', `${this.segment(workflowId)}.${randomBytes(6).toString('hex')}`);
    await this.io(workflowId, 'clear', dir, async () => {
      await makeDirectory(join(this.directory, 'trash'));
      let renamed = true;
      try {
        await fs.rename(dir, trash);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error;
        renamed = false;
      }
      if (renamed) await removeWithProgress(trash, options.onProgress);
      // The clearing run goes on committing under its lease: give it its directory back.
      if (options.lease !== undefined) await makeDirectory(join(dir, `steps@${options.lease.token}`));
      // The lock directory goes too once nobody holds or is taking the lease (else release removes it).
      else await removeIfEmpty(this.locks.directoryOf(workflowId));
    });
  }

  async list(): Promise<string[]> {
    const names = await this.io('*', 'list', this.directory, () => readdirIfExists(join(this.directory, 'workflows')));
    return names.flatMap((n) => decodeSegment(n) ?? []).sort();
  }

  async addWake(entry: WakeEntry): Promise<void> {
    this.segment(entry.workflowId);
    await this.io(entry.workflowId, 'add wake', join(this.directory, 'wakes'), () => addWakeFile(join(this.directory, 'wakes'), entry));
  }

  async removeWake(entry: WakeEntry): Promise<void> {
    this.segment(entry.workflowId);
    await this.io(entry.workflowId, 'remove wake', join(this.directory, 'wakes'), () => removeWakeFile(join(this.directory, 'wakes'), entry));
  }

  async dueWakes(now: number, limit: number): Promise<WakeEntry[]> {
    return this.io('*', 'scan wakes', join(this.directory, 'wakes'), () => dueWakeFiles(join(this.directory, 'wakes'), now, limit));
  }

  // The index of ended workflows is a wake index per status: the same files, the same time-ordered scan.
  async addEnded(entry: EndedEntry): Promise<void> {
    this.segment(entry.workflowId);
    const dir = this.endedDir(entry.status);
    await this.io(entry.workflowId, 'add ended entry', dir, () => addWakeFile(dir, { workflowId: entry.workflowId, wakeAt: entry.endedAt }));
  }

  async removeEnded(entry: EndedEntry): Promise<void> {
    this.segment(entry.workflowId);
    const dir = this.endedDir(entry.status);
    await this.io(entry.workflowId, 'remove ended entry', dir, () => removeWakeFile(dir, { workflowId: entry.workflowId, wakeAt: entry.endedAt }));
  }

  async endedBefore(status: WorkflowStatus, before: number, limit: number): Promise<EndedEntry[]> {
    const dir = this.endedDir(status);
    const entries = await this.io('*', 'scan ended', dir, () => dueWakeFiles(dir, before, limit));
    return entries.map((e) => ({ workflowId: e.workflowId, status, endedAt: e.wakeAt }));
  }

  private endedDir(status: WorkflowStatus): string {
    return join(this.directory, 'ended', encodeSegment(status));
  }

  async putEvent(workflowId: string, event: StoredEvent): Promise<boolean> {
    const events = join(this.workflowDir(workflowId), 'events');
    const path = join(events, jsonFile('event id', workflowId, event.eventId));
    return this.io(workflowId, 'store event', path, async () => {
      // A clear may take the workflow's directory away meanwhile: then the event goes with it.
      await makeDirectory(events);
      return createFileExclusive(path, JSON.stringify(event));
    });
  }

  async listEvents(workflowId: string): Promise<StoredEvent[]> {
    const events = join(this.workflowDir(workflowId), 'events');
    const names = (await this.io(workflowId, 'list events', events, () => readdirIfExists(events))).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    const read = await Promise.all(
      names.map(async (name) => {
        const path = join(events, name);
        return parseEvent(workflowId, path, await this.io(workflowId, 'read event', path, () => fs.readFile(path, 'utf8')));
      }),
    );
    return read.sort(sendOrder);
  }

  async acquireLease(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    const segment = this.segment(workflowId);
    return this.io(workflowId, 'acquire lease', join(this.directory, 'locks'), async () => {
      const { attempt, tookOver } = await this.locks.acquire(workflowId, owner, ttlMs);
      if (!attempt.acquired) return attempt;
      try {
        await this.takeCheckpoints(workflowId, attempt.lease.token);
        // The previous owner expired or died: sweep what it may have left half-written. Its temp files
        // are removed only when provably dead (or long stale), so a live writer's are never touched.
        if (tookOver) await this.sweep(workflowId, segment, attempt.lease.token);
      } catch (error) {
        await this.locks.release(attempt.lease).catch(() => undefined);
        throw error;
      }
      return attempt;
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    return this.io(lease.workflowId, 'renew lease', join(this.directory, 'locks'), () => this.locks.renew(lease, ttlMs));
  }

  /** Workflows whose lock a process of this host that is gone still holds: one look at each lock held. */
  async deadLeases(limit: number): Promise<string[]> {
    const root = join(this.directory, 'locks');
    const names = await this.io('*', 'find dead leases', root, () => readdirIfExists(root));
    const dead: string[] = [];
    for (const name of names) {
      if (dead.length >= limit) break;
      const workflowId = decodeSegment(name);
      if (workflowId === undefined) continue;
      if (await this.io(workflowId, 'find dead leases', root, () => this.locks.heldByDead(workflowId))) dead.push(workflowId);
    }
    return dead;
  }

  async readLease(workflowId: string): Promise<LeaseHolder | undefined> {
    this.segment(workflowId);
    return this.io(workflowId, 'read lease', join(this.directory, 'locks'), () => this.locks.holder(workflowId));
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.io(lease.workflowId, 'release lease', join(this.directory, 'locks'), async () => {
      const held = await this.locks.release(lease);
      if (!held) return;
      // A run that wrote nothing leaves nothing: its empty checkpoint directory, then an empty workflow directory.
      const dir = this.workflowDir(lease.workflowId);
      await removeIfEmpty(join(dir, `steps@${lease.token}`));
      await removeIfEmpty(dir);
    });
  }

  /**
   * Throws LeaseLostError unless `lease` is still held. On one host a lease can be taken over only
   * once it has expired by this same clock (or its holder's pid is dead, and then nobody commits with
   * it), and a lease object's expiry is never later than its lock file's (renewal writes the file
   * first). So while well before expiry the lease is provably held; near expiry the lock files decide.
   */
  private async fence(workflowId: string, lease: Lease | undefined, step?: string): Promise<void> {
    if (lease === undefined) return;
    if (lease.expiresAt - Date.now() > FENCE_MARGIN_MS) return;
    const held = await this.io(workflowId, 'check lease', join(this.directory, 'locks'), () => this.locks.holds(lease), step);
    if (!held) throw new LeaseLostError(workflowId, step);
  }

  /**
   * Makes the workflow's checkpoints this lease's: renames their directory to `steps@<token>` (one
   * atomic step that cuts off any former owner still about to write), or creates it.
   */
  private async takeCheckpoints(workflowId: string, token: string): Promise<void> {
    const dir = this.workflowDir(workflowId);
    const ours = join(dir, `steps@${token}`);
    // A release of an empty workflow may remove its directory just as we make it: a few rounds.
    for (let round = 0; ; round++) {
      try {
        await makeDirectory(dir);
        const current = await this.stepsDirOf(workflowId);
        if (current === undefined) await fs.mkdir(ours);
        else await fs.rename(current, ours);
        return;
      } catch (error) {
        if (errno(error) === 'EEXIST') return;
        if (errno(error) !== 'ENOENT' || round === 10) throw error;
      }
    }
  }

  /** The directory holding the workflow's checkpoints, if there is one. */
  private async stepsDirOf(workflowId: string): Promise<string | undefined> {
    const dir = this.workflowDir(workflowId);
    const name = (await readdirIfExists(dir)).filter((n) => STEPS_DIR.test(n)).sort()[0];
    return name === undefined ? undefined : join(dir, name);
  }

  /** Removes a previous owner's leftovers: stale temp files, and the trash of a clear it did not finish. */
  private async sweep(workflowId: string, segment: string, token: string): Promise<void> {
    const dir = this.workflowDir(workflowId);
    await removeStaleTemps(dir);
    await removeStaleTemps(join(dir, `steps@${token}`));
    const trash = join(this.directory, 'trash');
    const unfinished = (await readdirIfExists(trash)).filter((name) => name.startsWith(`${segment}.`));
    await Promise.all(unfinished.map((name) => fs.rm(join(trash, name), { recursive: true, force: true })));
  }

  private segment(name: string): string {
    assertWorkflowId(name);
    const segment = encodeSegment(name);
    if (segment.length > MAX_SEGMENT) throw new InvalidWorkflowIdError(name, `its file-name encoding is ${segment.length} bytes; FileStorage allows ${MAX_SEGMENT}`);
    return segment;
  }

  private workflowDir(workflowId: string): string {
    return join(this.directory, 'workflows', this.segment(workflowId));
  }


  /** Runs an fs operation, wrapping unexpected errors in StorageError; waymark errors pass through. */
  private async io<T>(workflowId: string, operation: string, location: string, run: () => Promise<T>, step?: string): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof RecordConflictError || error instanceof CheckpointCorruptedError || error instanceof LeaseLostError) throw error;
      throw new StorageError(workflowId, operation, error, step, location);
    }
  }
}

/** The file of a step's checkpoint, or of an event: `<encoded name>.json`, or a typed refusal naming what is too long. */
function jsonFile(what: 'step name' | 'event id', workflowId: string, name: string): string {
  const segment = encodeSegment(name);
  if (segment.length > MAX_FILE_SEGMENT) {
    const reason = `its ${what} ${JSON.stringify(name.length > 40 ? name.slice(0, 40) + '…' : name)} encodes to ${segment.length} bytes of file name; FileStorage allows ${MAX_FILE_SEGMENT} (each byte that is not a-z, 0-9, - or _ takes 3): use a shorter one`;
    if (what === 'event id') throw new InvalidOptionError('eventId', name, `at most ${MAX_FILE_SEGMENT} bytes once encoded for a file name (workflow '${workflowId}')`);
    throw new InvalidWorkflowIdError(workflowId, reason);
  }
  return `${segment}.json`;
}

function stepFile(step: string): string {
  return `${encodeSegment(step)}.json`;
}

/** Writes atomically, creating the directory only when the first try finds it missing (most commits go straight through). */
async function writeCreatingDirectory(path: string, data: string): Promise<void> {
  try {
    await stepWrites.write(path, data);
  } catch (error) {
    if (errno(error) !== 'ENOENT') throw error;
    await makeDirectory(dirname(path));
    await stepWrites.write(path, data);
  }
}

/** Deletes a cleared workflow's directory, step files in chunks so a long clear can report progress. */
async function removeWithProgress(dir: string, onProgress: ClearOptions['onProgress']): Promise<void> {
  if (onProgress) {
    const stepsDirs = (await readdirIfExists(dir)).filter((n) => STEPS_DIR.test(n)).map((n) => join(dir, n));
    const files = (await Promise.all(stepsDirs.map(async (d) => (await readdirIfExists(d)).map((name) => join(d, name))))).flat();
    const total = files.length + 1;
    for (let i = 0; i < files.length; i += 200) {
      await Promise.all(files.slice(i, i + 200).map((file) => fs.rm(file, { force: true })));
      onProgress(Math.min(i + 200, files.length), total);
    }
    await fs.rm(dir, { recursive: true, force: true });
    onProgress(total, total);
    return;
  }
  await fs.rm(dir, { recursive: true, force: true });
}

async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await fs.rmdir(dir);
  } catch (error) {
    if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'EEXIST' && errno(error) !== 'ENOENT') throw error;
  }
}
