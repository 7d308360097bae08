/**
 * Per-workflow leases on a local file system.
 *
 * A workflow's lock directory holds numbered lock files `<generation>.lock`; the highest generation is
 * the current lease. Taking a lease means creating generation top+1 exclusively (temp file + hard
 * link), so of several processes that all judged the current one stale, exactly one wins: takeover
 * is as race-free as the first acquisition. A lock is stale when it expired, or at once when its
 * owner provably died (see {@link isDeadAtOnce}: same host, boot and pid namespace, pid gone or
 * reused), so a SIGKILLed run is resumable immediately while a live owner in another container is
 * never taken over. Release deletes the file and the then-empty directory: nothing is left behind.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { newLeaseToken } from '../lease-owner';
import type { Lease, LeaseAttempt } from '../records';
import { createFileExclusive, errno, makeDirectory, readdirIfExists, removeStaleTemps, TEMP_PREFIX, writeFileAtomic } from './atomic-file';
import { isDeadAtOnce, thisProcess, type ProcessIdentity } from './process-identity';

interface LockFile extends ProcessIdentity {
  readonly workflowId: string;
  readonly owner: string;
  readonly token: string;
  readonly expiresAt: number;
}

/** What an acquisition did: the attempt, and whether it took over a lock left by another owner. */
export interface LockAcquisition {
  readonly attempt: LeaseAttempt;
  /** True when an expired or dead owner's lock was replaced: what that owner left half-written may be swept. */
  readonly tookOver: boolean;
}

const LOCK_NAME = /^(\d+)\.lock$/;

/** Rounds an acquisition may start over because the lock directory changed under it. */
const MAX_ROUNDS = 1_000;
/** How often, and how far apart, a higher generation is looked at again before it counts as a takeover. */
const PASSING_LOOKS = 5;
const PASSING_PAUSE_MS = 4;

/** Leases kept as lock files under one directory. */
export class FileLock {
  /** `directoryOf(id)`: the lock directory of a workflow. */
  constructor(readonly directoryOf: (workflowId: string) => string) {}

  async acquire(workflowId: string, owner: string, ttlMs: number): Promise<LockAcquisition> {
    const directory = this.directoryOf(workflowId);
    // A release removes the lock directory once empty, so a concurrent acquirer can find it vanishing
    // under a step below; each such round starts over, a bounded number of times.
    for (let round = 0; ; round++) {
      if (round === MAX_ROUNDS) throw new Error(`lock directory ${directory} kept disappearing; gave up after ${MAX_ROUNDS} tries`);
      await makeDirectory(directory);
      const names = await readdirIfExists(directory);
      if (names.some((name) => name.startsWith(TEMP_PREFIX))) await removeStaleTemps(directory, names);
      const generations = generationsIn(names);
      const top = generations.at(-1);
      // What each lock seen looked like: a takeover replaces exactly these, or nothing.
      const judged = new Map<number, string>();
      for (const g of generations) {
        const text = await this.readText(directory, g);
        if (text !== undefined) judged.set(g, text);
      }
      if (top !== undefined) {
        const current = parseLock(judged.get(top));
        if (current === 'gone') continue;
        if (current !== 'unreadable' && (await this.isLive(current))) return { attempt: { acquired: false, holder: current.owner, expiresAt: current.expiresAt }, tookOver: false };
      }
      const generation = (top ?? 0) + 1;
      const token = `${generation}.${newLeaseToken()}`;
      const lock: LockFile = { ...thisProcess(), workflowId, owner, token, expiresAt: Date.now() + ttlMs };
      let created: boolean;
      try {
        created = await createFileExclusive(join(directory, `${generation}.lock`), JSON.stringify(lock));
      } catch (error) {
        if (errno(error) === 'ENOENT') continue; // the directory was removed by a release in between
        throw error;
      }
      if (!created) {
        const winner = await this.read(directory, generation);
        if (winner !== 'gone' && winner !== 'unreadable') return { attempt: { acquired: false, holder: winner.owner, expiresAt: winner.expiresAt }, tookOver: false };
        continue;
      }
      // Generation numbers restart once a release removes the directory, so the stale lock judged
      // above may meanwhile have given way to a new holder's lock under a name seen or not seen: the
      // takeover stands only if every other lock is still exactly one judged stale. Once our lock
      // exists, the directory cannot be removed and nobody can create a lower generation, so what
      // this check sees cannot change under it.
      const rival = await this.rival(directory, generation, judged);
      if (rival !== undefined) {
        await fs.rm(join(directory, `${generation}.lock`), { force: true });
        return { attempt: { acquired: false, holder: rival.owner, expiresAt: rival.expiresAt }, tookOver: false };
      }
      await Promise.all([...judged.keys()].map((g) => fs.rm(join(directory, `${g}.lock`), { force: true })));
      return { attempt: { acquired: true, lease: { workflowId, owner, token, expiresAt: lock.expiresAt } }, tookOver: top !== undefined };
    }
  }

  /** A lock other than `ours` that is not one of the `judged` stale ones, as they were read. */
  private async rival(directory: string, ours: number, judged: ReadonlyMap<number, string>): Promise<{ owner: string; expiresAt: number } | undefined> {
    for (const g of await this.generations(directory)) {
      if (g === ours) continue;
      const text = await this.readText(directory, g);
      if (text === undefined || text === judged.get(g)) continue;
      const lock = parseLock(text);
      return typeof lock === 'object' ? lock : { owner: `an unreadable lock (${g}.lock)`, expiresAt: Number.NaN };
    }
    return undefined;
  }

  /** True while `lease` is the current, unexpired generation. */
  async holds(lease: Lease): Promise<boolean> {
    const directory = this.directoryOf(lease.workflowId);
    const generation = generationOf(lease);
    if ((await this.settledTop(directory, generation)) !== generation) return false;
    const current = await this.read(directory, generation);
    return typeof current === 'object' && current.token === lease.token && current.expiresAt > Date.now();
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const directory = this.directoryOf(lease.workflowId);
    const generation = generationOf(lease);
    if (!(await this.isCurrent(directory, lease, true))) return undefined;
    const current = (await this.read(directory, generation)) as LockFile;
    const renewed: LockFile = { ...current, expiresAt: Date.now() + ttlMs };
    await writeFileAtomic(join(directory, `${generation}.lock`), JSON.stringify(renewed));
    // A takeover between the check and the write leaves a higher generation: the lease is lost then.
    // Looked at once, strictly: a taker may have removed our lock just before this write put it back.
    if (!(await this.isCurrent(directory, lease, false))) return undefined;
    return { ...lease, expiresAt: renewed.expiresAt };
  }

  /** Gives `lease` up; false when it was not held (any more), and nothing was done. */
  async release(lease: Lease): Promise<boolean> {
    const directory = this.directoryOf(lease.workflowId);
    const generation = generationOf(lease);
    const current = await this.read(directory, generation);
    if (typeof current !== 'object' || current.token !== lease.token) return false;
    await fs.rm(join(directory, `${generation}.lock`), { force: true });
    try {
      await fs.rmdir(directory);
    } catch (error) {
      if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'ENOENT' && errno(error) !== 'EEXIST') throw error;
    }
    return true;
  }

  /** True when the workflow's current lock belongs to an owner that provably died (see {@link isDeadAtOnce}). */
  async heldByDead(workflowId: string): Promise<boolean> {
    const directory = this.directoryOf(workflowId);
    const top = (await this.generations(directory)).at(-1);
    if (top === undefined) return false;
    const lock = await this.read(directory, top);
    return typeof lock === 'object' && (await isDeadAtOnce(lock));
  }

  /** The live holder of the workflow's lock, if any (an expired lock or a dead owner's holds nothing). */
  async holder(workflowId: string): Promise<{ owner: string; expiresAt: number } | undefined> {
    const directory = this.directoryOf(workflowId);
    const top = (await this.generations(directory)).at(-1);
    if (top === undefined) return undefined;
    const lock = await this.read(directory, top);
    return typeof lock === 'object' && (await this.isLive(lock)) ? { owner: lock.owner, expiresAt: lock.expiresAt } : undefined;
  }

  /** True while `lease` is the top generation; `settle`: a passing higher one is waited out ({@link settledTop}), which is safe only before our own write. */
  private async isCurrent(directory: string, lease: Lease, settle: boolean): Promise<boolean> {
    const generation = generationOf(lease);
    const top = settle ? await this.settledTop(directory, generation) : (await this.generations(directory)).at(-1);
    if (top !== generation) return false;
    const current = await this.read(directory, generation);
    return typeof current === 'object' && current.token === lease.token;
  }

  private async isLive(lock: LockFile): Promise<boolean> {
    if (lock.expiresAt <= Date.now()) return false;
    return !(await isDeadAtOnce(lock));
  }

  /**
   * The top generation, as far as `ours` is concerned. An acquirer that judged our lock stale creates
   * the next generation and removes it again when it finds the lock renewed meanwhile: a renewal or a
   * fence that saw that passing file would call a lease lost that nobody took. So a higher generation
   * is looked at again a few times, a few ms apart; one that stays is a takeover (a real one never
   * removes its own lock). Only before reading our lock again: a taker that came and went removed it.
   */
  private async settledTop(directory: string, ours: number): Promise<number | undefined> {
    let top = (await this.generations(directory)).at(-1);
    for (let look = 0; top !== undefined && top > ours && look < PASSING_LOOKS; look++) {
      await new Promise((resolve) => setTimeout(resolve, PASSING_PAUSE_MS));
      top = (await this.generations(directory)).at(-1);
    }
    return top;
  }

  private async generations(directory: string): Promise<number[]> {
    return generationsIn(await readdirIfExists(directory));
  }


  private async read(directory: string, generation: number): Promise<LockFile | 'gone' | 'unreadable'> {
    return parseLock(await this.readText(directory, generation));
  }

  private async readText(directory: string, generation: number): Promise<string | undefined> {
    try {
      return await fs.readFile(join(directory, `${generation}.lock`), 'utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') return undefined;
      throw error;
    }
  }
}

function parseLock(text: string | undefined): LockFile | 'gone' | 'unreadable' {
  if (text === undefined) return 'gone';
  try {
    const lock = JSON.parse(text) as LockFile;
    return typeof lock.token === 'string' && typeof lock.expiresAt === 'number' ? lock : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function generationsIn(names: readonly string[]): number[] {
  return names
    .map((name) => LOCK_NAME.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function generationOf(lease: Lease): number {
  return Number(lease.token.split('.', 1)[0]);
}
