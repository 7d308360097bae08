/**
 * Per-workflow leases on a local file system.
 *
 * A workflow's lock directory holds numbered lock files `<generation>.lock`; the highest generation is
 * the current lease. Taking a lease means creating generation top+1 exclusively (temp file + hard
 * link), so of several processes that all judged the current one stale, exactly one wins: takeover
 * is as race-free as the first acquisition. A lock is stale when it expired, or at once when its
 * owner ran on this host and its pid is dead (a SIGKILLed run is resumable immediately). Release
 * deletes the file and the then-empty directory: nothing is left behind.
 */
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { newLeaseToken } from '../lease-owner';
import type { Lease, LeaseAttempt } from '../records';
import { createFileExclusive, errno, writeFileAtomic } from './atomic-file';

interface LockFile {
  readonly workflowId: string;
  readonly owner: string;
  readonly token: string;
  readonly host: string;
  readonly pid: number;
  readonly expiresAt: number;
}

const LOCK_NAME = /^(\d+)\.lock$/;

/** Rounds an acquisition may start over because the lock directory changed under it. */
const MAX_ROUNDS = 1_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === 'EPERM';
  }
}

/** Leases kept as lock files under one directory. */
export class FileLock {
  constructor(private readonly directoryOf: (workflowId: string) => string) {}

  async acquire(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    const directory = this.directoryOf(workflowId);
    // A release removes the lock directory once empty, so a concurrent acquirer can find it vanishing
    // under any step below (even inside a recursive mkdir, which stats what it found existing); each
    // such round starts over. The bound only stops a directory that can never be created.
    for (let round = 0; ; round++) {
      if (round === MAX_ROUNDS) throw new Error(`lock directory ${directory} kept disappearing; gave up after ${MAX_ROUNDS} tries`);
      try {
        await fs.mkdir(directory, { recursive: true });
      } catch (error) {
        if (errno(error) === 'ENOENT') continue;
        throw error;
      }
      const generations = await this.generations(directory);
      const top = generations.at(-1);
      if (top !== undefined) {
        const current = await this.read(directory, top);
        if (current === 'gone') continue;
        if (current !== 'unreadable' && this.isLive(current)) return { acquired: false, holder: current.owner, expiresAt: current.expiresAt };
      }
      const generation = (top ?? 0) + 1;
      const token = `${generation}.${newLeaseToken()}`;
      const lock: LockFile = { workflowId, owner, token, host: hostname(), pid: process.pid, expiresAt: Date.now() + ttlMs };
      let created: boolean;
      try {
        created = await createFileExclusive(join(directory, `${generation}.lock`), JSON.stringify(lock));
      } catch (error) {
        if (errno(error) === 'ENOENT') continue; // the directory was removed by a release in between
        throw error;
      }
      if (!created) {
        const winner = await this.read(directory, generation);
        if (winner !== 'gone' && winner !== 'unreadable') return { acquired: false, holder: winner.owner, expiresAt: winner.expiresAt };
        continue;
      }
      await Promise.all(generations.map((g) => fs.rm(join(directory, `${g}.lock`), { force: true })));
      return { acquired: true, lease: { workflowId, owner, token, expiresAt: lock.expiresAt } };
    }
  }

  /** True while `lease` is the current, unexpired generation. */
  async holds(lease: Lease): Promise<boolean> {
    const directory = this.directoryOf(lease.workflowId);
    const generation = generationOf(lease);
    const top = (await this.generations(directory)).at(-1);
    if (top !== generation) return false;
    const current = await this.read(directory, generation);
    return typeof current === 'object' && current.token === lease.token && current.expiresAt > Date.now();
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const directory = this.directoryOf(lease.workflowId);
    const generation = generationOf(lease);
    if (!(await this.isCurrent(directory, lease))) return undefined;
    const current = (await this.read(directory, generation)) as LockFile;
    const renewed: LockFile = { ...current, expiresAt: Date.now() + ttlMs };
    await writeFileAtomic(join(directory, `${generation}.lock`), JSON.stringify(renewed));
    // A takeover between the check and the write leaves a higher generation: the lease is lost then.
    if (!(await this.isCurrent(directory, lease))) return undefined;
    return { ...lease, expiresAt: renewed.expiresAt };
  }

  async release(lease: Lease): Promise<void> {
    const directory = this.directoryOf(lease.workflowId);
    const generation = generationOf(lease);
    const current = await this.read(directory, generation);
    if (typeof current !== 'object' || current.token !== lease.token) return;
    await fs.rm(join(directory, `${generation}.lock`), { force: true });
    try {
      await fs.rmdir(directory);
    } catch (error) {
      if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'ENOENT' && errno(error) !== 'EEXIST') throw error;
    }
  }

  private async isCurrent(directory: string, lease: Lease): Promise<boolean> {
    const generation = generationOf(lease);
    if ((await this.generations(directory)).at(-1) !== generation) return false;
    const current = await this.read(directory, generation);
    return typeof current === 'object' && current.token === lease.token;
  }

  private isLive(lock: LockFile): boolean {
    if (lock.expiresAt <= Date.now()) return false;
    if (lock.host === hostname() && !isAlive(lock.pid)) return false;
    return true;
  }

  private async generations(directory: string): Promise<number[]> {
    let names: string[];
    try {
      names = await fs.readdir(directory);
    } catch (error) {
      if (errno(error) === 'ENOENT') return [];
      throw error;
    }
    return names
      .map((name) => LOCK_NAME.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private async read(directory: string, generation: number): Promise<LockFile | 'gone' | 'unreadable'> {
    let text: string;
    try {
      text = await fs.readFile(join(directory, `${generation}.lock`), 'utf8');
    } catch (error) {
      if (errno(error) === 'ENOENT') return 'gone';
      throw error;
    }
    try {
      const lock = JSON.parse(text) as LockFile;
      return typeof lock.token === 'string' && typeof lock.expiresAt === 'number' ? lock : 'unreadable';
    } catch {
      return 'unreadable';
    }
  }
}

function generationOf(lease: Lease): number {
  return Number(lease.token.split('.', 1)[0]);
}
