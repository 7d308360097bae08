/**
 * The one-machine store: one SQLite database file (WAL, `synchronous=FULL`) through the SQLite built
 * into Node (`node:sqlite`, Node 22.13+), shared by every process of the host. A commit, its fencing
 * check and its record change are one transaction: one append and one fsync. Commits that arrive
 * while one is being written go together in the next transaction (group commit); each caller
 * resolves once the fsync that covers its commit is done.
 */
import { realpathSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidOptionError, LeaseLostError, RecordConflictError, StorageError } from '../../errors';
import { assertWorkflowId } from '../../workflow-id';
import type { CheckpointStorage, ClearOptions } from '../checkpoint-storage';
import { isDeadAtOnce, thisProcess, type ProcessIdentity } from '../file/process-identity';
import { newLeaseToken } from '../lease-owner';
import { parseCheckpoint, parseEvent, parseRecordText, sendOrder } from '../record-format';
import type { Checkpoint, EndedEntry, Lease, LeaseAttempt, LeaseHolder, StoredEvent, StoredRecord, StoredWorkflow, WakeEntry, WorkflowRecord, WorkflowStatus } from '../records';
import { migrate, type SqliteDatabase, type SqliteStatement } from './sqlite-schema';

/** Options of {@link SqliteStorage}. */
export interface SqliteStorageOptions {
  /** The database file (created with its tables if missing), e.g. `./waymark.db`. Its directory must exist. */
  readonly path: string;
  /** How long a write waits for another process's transaction before it fails (ms); default 10,000. */
  readonly busyTimeoutMs?: number;
}

/** File systems SQLite's own documentation says its locking is not safe on. */
export const NETWORK_FILE_SYSTEMS: ReadonlySet<string> = new Set(['nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'fuse.sshfs', '9p', 'afs', 'ceph', 'glusterfs', 'fuse.glusterfs', 'lustre']);

/** One write waiting for the next group transaction. */
interface Pending {
  readonly workflowId: string;
  readonly operation: string;
  readonly step?: string;
  readonly body: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Stores workflows in one SQLite database file; see the module's comment. Close it with {@link close}. */
export class SqliteStorage implements CheckpointStorage {
  private readonly db: SqliteDatabase;
  private readonly path: string;
  private readonly statements = new Map<string, SqliteStatement>();
  private pending: Pending[] = [];
  private flushing = false;
  private readonly me: string = JSON.stringify(thisProcess());

  constructor(options: SqliteStorageOptions) {
    if (options === null || typeof options !== 'object' || typeof options.path !== 'string' || options.path.length === 0) throw new InvalidOptionError('SqliteStorage options', options, '{ path: the database file, busyTimeoutMs? }');
    const busy = options.busyTimeoutMs ?? 10_000;
    if (!Number.isInteger(busy) || busy < 0) throw new InvalidOptionError('busyTimeoutMs', busy, 'an integer >= 0 (ms)');
    this.path = resolve(options.path);
    refuseNetworkFileSystem(this.path);
    // Loaded here, not with the package: Node 22 warns once when node:sqlite is loaded, and only users of this store should see it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { DatabaseSync } = require('node:sqlite') as { DatabaseSync: new (path: string) => SqliteDatabase };
    try {
      this.db = new DatabaseSync(this.path);
      this.db.exec(`PRAGMA busy_timeout = ${busy}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;`);
    } catch (error) {
      throw new StorageError('(database)', 'open', error, undefined, this.path);
    }
    migrate(this.db, this.path);
  }

  /** Closes the database; pending commits are written first. */
  async close(): Promise<void> {
    while (this.pending.length > 0 || this.flushing) await new Promise((r) => setImmediate(r));
    this.db.close();
  }

  async load(workflowId: string): Promise<StoredWorkflow | undefined> {
    assertWorkflowId(workflowId);
    return this.read(workflowId, 'load', () => {
      const row = this.sql('SELECT record, version FROM workflows WHERE workflow_id = ?').get(workflowId);
      const steps = this.sql('SELECT step FROM checkpoints WHERE workflow_id = ?').all(workflowId).map((r) => r.step as string);
      if (row === undefined && steps.length === 0) return undefined;
      return {
        record: row === undefined ? undefined : parseRecordText(workflowId, this.where(workflowId), row.record as string),
        recordVersion: row === undefined ? undefined : String(row.version),
        committedSteps: steps,
      };
    });
  }

  async readRecord(workflowId: string): Promise<StoredRecord | undefined> {
    assertWorkflowId(workflowId);
    return this.read(workflowId, 'read record', () => {
      const row = this.sql('SELECT record, version FROM workflows WHERE workflow_id = ?').get(workflowId);
      return row === undefined ? undefined : { record: parseRecordText(workflowId, this.where(workflowId), row.record as string), version: String(row.version) };
    });
  }

  async readCheckpoint(workflowId: string, step: string): Promise<Checkpoint> {
    assertWorkflowId(workflowId);
    const row = this.read(workflowId, 'read checkpoint', () => this.sql('SELECT data FROM checkpoints WHERE workflow_id = ? AND step = ?').get(workflowId, step), step);
    if (row === undefined) throw new StorageError(workflowId, 'read checkpoint', new Error('no such checkpoint'), step, this.where(workflowId, step));
    return parseCheckpoint(workflowId, step, this.where(workflowId, step), row.data as string);
  }

  async readCheckpoints(workflowId: string, steps: readonly string[]): Promise<Checkpoint[]> {
    const checkpoints: Checkpoint[] = [];
    for (const step of steps) checkpoints.push(await this.readCheckpoint(workflowId, step));
    return checkpoints;
  }

  async writeRecord(workflowId: string, record: WorkflowRecord, expectedVersion: string | null, lease?: Lease): Promise<string> {
    assertWorkflowId(workflowId);
    return this.write(workflowId, 'write record', () => {
      this.fence(workflowId, lease);
      const text = JSON.stringify(record);
      if (expectedVersion === null) {
        if (this.sql('INSERT INTO workflows (workflow_id, record, version) VALUES (?, ?, 1) ON CONFLICT DO NOTHING').run(workflowId, text).changes === 0) throw new RecordConflictError(workflowId, this.where(workflowId));
        return '1';
      }
      const next = Number(expectedVersion) + 1;
      if (this.sql('UPDATE workflows SET record = ?, version = ? WHERE workflow_id = ? AND version = ?').run(text, next, workflowId, Number(expectedVersion)).changes === 0) throw new RecordConflictError(workflowId, this.where(workflowId));
      return String(next);
    });
  }

  commit(workflowId: string, checkpoint: Checkpoint, lease?: Lease): Promise<void> {
    return this.commitMany(workflowId, [checkpoint], lease);
  }

  async commitMany(workflowId: string, checkpoints: readonly Checkpoint[], lease?: Lease): Promise<void> {
    assertWorkflowId(workflowId);
    const step = checkpoints[0]?.step;
    await this.write(
      workflowId,
      'commit',
      () => {
        this.fence(workflowId, lease, step);
        for (const checkpoint of checkpoints) this.sql('INSERT INTO checkpoints (workflow_id, step, data) VALUES (?, ?, ?) ON CONFLICT (workflow_id, step) DO UPDATE SET data = excluded.data').run(workflowId, checkpoint.step, JSON.stringify(checkpoint));
      },
      step,
    );
  }

  async clear(workflowId: string, options: ClearOptions = {}): Promise<void> {
    assertWorkflowId(workflowId);
    const total = await this.write(workflowId, 'clear', () => {
      this.fence(workflowId, options.lease);
      const row = this.sql('SELECT record FROM workflows WHERE workflow_id = ?').get(workflowId);
      let deleted = 0;
      if (row !== undefined) {
        const wakeAt = (JSON.parse(row.record as string) as WorkflowRecord).wakeAt;
        if (wakeAt !== undefined) this.sql('DELETE FROM wakes WHERE wake_at = ? AND workflow_id = ?').run(Date.parse(wakeAt), workflowId);
      }
      for (const table of ['workflows', 'checkpoints', 'events']) deleted += Number(this.sql(`DELETE FROM ${table} WHERE workflow_id = ?`).run(workflowId).changes);
      return deleted;
    });
    if (total > 0) options.onProgress?.(total, total);
  }

  async list(): Promise<string[]> {
    return this.read('(all)', 'list', () => this.sql('SELECT workflow_id FROM workflows UNION SELECT workflow_id FROM checkpoints ORDER BY workflow_id').all().map((r) => r.workflow_id as string));
  }

  async acquireLease(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    assertWorkflowId(workflowId);
    const held = this.read(workflowId, 'read lease', () => this.sql('SELECT owner, token, expires_at, process FROM leases WHERE workflow_id = ?').get(workflowId));
    // A live holder on this host whose process is gone is taken over at once (checked outside the transaction: it reads /proc).
    const dead = held !== undefined && Number(held.expires_at) > Date.now() ? await isDeadAtOnce(JSON.parse(held.process as string) as Partial<ProcessIdentity>) : false;
    return this.write(workflowId, 'acquire lease', () => {
      const now = this.sql('SELECT owner, token, expires_at FROM leases WHERE workflow_id = ?').get(workflowId);
      const live = now !== undefined && Number(now.expires_at) > Date.now() && !(dead && now.token === held!.token);
      if (live) return { acquired: false as const, holder: now.owner as string, expiresAt: Number(now.expires_at) };
      const lease: Lease = { workflowId, owner, token: newLeaseToken(), expiresAt: Date.now() + ttlMs };
      this.sql('INSERT INTO leases (workflow_id, owner, token, expires_at, process) VALUES (?, ?, ?, ?, ?) ON CONFLICT (workflow_id) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at, process = excluded.process').run(workflowId, owner, lease.token, lease.expiresAt, this.me);
      return { acquired: true as const, lease };
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    return this.write(lease.workflowId, 'renew lease', () => {
      const expiresAt = Date.now() + ttlMs;
      // An expired lease nobody took over is still ours to renew; one taken over is lost.
      if (this.sql('UPDATE leases SET expires_at = ? WHERE workflow_id = ? AND token = ?').run(expiresAt, lease.workflowId, lease.token).changes === 0) return undefined;
      return { ...lease, expiresAt };
    });
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.write(lease.workflowId, 'release lease', () => this.sql('DELETE FROM leases WHERE workflow_id = ? AND token = ?').run(lease.workflowId, lease.token));
  }

  async readLease(workflowId: string): Promise<LeaseHolder | undefined> {
    assertWorkflowId(workflowId);
    const held = this.read(workflowId, 'read lease', () => this.sql('SELECT owner, expires_at, process FROM leases WHERE workflow_id = ?').get(workflowId));
    if (held === undefined || Number(held.expires_at) <= Date.now()) return undefined;
    if (await isDeadAtOnce(JSON.parse(held.process as string) as Partial<ProcessIdentity>)) return undefined;
    return { owner: held.owner as string, expiresAt: Number(held.expires_at) };
  }

  async deadLeases(limit: number): Promise<string[]> {
    const held = this.read('(all)', 'read leases', () => this.sql('SELECT workflow_id, process FROM leases WHERE expires_at > ?').all(Date.now()));
    const dead: string[] = [];
    for (const row of held) {
      if (dead.length >= limit) break;
      if (await isDeadAtOnce(JSON.parse(row.process as string) as Partial<ProcessIdentity>)) dead.push(row.workflow_id as string);
    }
    return dead;
  }

  async addWake(entry: WakeEntry): Promise<void> {
    assertWorkflowId(entry.workflowId);
    await this.write(entry.workflowId, 'add wake', () => this.sql('INSERT INTO wakes (wake_at, workflow_id) VALUES (?, ?) ON CONFLICT DO NOTHING').run(Math.max(0, Math.floor(entry.wakeAt)), entry.workflowId));
  }

  async removeWake(entry: WakeEntry): Promise<void> {
    await this.write(entry.workflowId, 'remove wake', () => this.sql('DELETE FROM wakes WHERE wake_at = ? AND workflow_id = ?').run(Math.max(0, Math.floor(entry.wakeAt)), entry.workflowId));
  }

  async dueWakes(now: number, limit: number): Promise<WakeEntry[]> {
    return this.read('(all)', 'due wakes', () => this.sql('SELECT wake_at, workflow_id FROM wakes WHERE wake_at <= ? ORDER BY wake_at, workflow_id LIMIT ?').all(Math.floor(now), limit).map((r) => ({ workflowId: r.workflow_id as string, wakeAt: Number(r.wake_at) })));
  }

  async addEnded(entry: EndedEntry): Promise<void> {
    assertWorkflowId(entry.workflowId);
    await this.write(entry.workflowId, 'add ended', () => this.sql('INSERT INTO ended (status, ended_at, workflow_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(entry.status, Math.max(0, Math.floor(entry.endedAt)), entry.workflowId));
  }

  async removeEnded(entry: EndedEntry): Promise<void> {
    await this.write(entry.workflowId, 'remove ended', () => this.sql('DELETE FROM ended WHERE status = ? AND ended_at = ? AND workflow_id = ?').run(entry.status, Math.max(0, Math.floor(entry.endedAt)), entry.workflowId));
  }

  async endedBefore(status: WorkflowStatus, before: number, limit: number): Promise<EndedEntry[]> {
    return this.read('(all)', 'ended before', () =>
      this.sql('SELECT ended_at, workflow_id FROM ended WHERE status = ? AND ended_at <= ? ORDER BY ended_at, workflow_id LIMIT ?').all(status, Math.floor(before), limit).map((r) => ({ workflowId: r.workflow_id as string, status, endedAt: Number(r.ended_at) })),
    );
  }

  async putEvent(workflowId: string, event: StoredEvent): Promise<boolean> {
    assertWorkflowId(workflowId);
    return this.write(workflowId, 'put event', () => Number(this.sql('INSERT INTO events (workflow_id, event_id, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(workflowId, event.eventId, JSON.stringify(event)).changes) === 1);
  }

  async listEvents(workflowId: string): Promise<StoredEvent[]> {
    assertWorkflowId(workflowId);
    const rows = this.read(workflowId, 'list events', () => this.sql('SELECT event_id, data FROM events WHERE workflow_id = ?').all(workflowId));
    return rows.map((r) => parseEvent(workflowId, this.where(workflowId, `event ${String(r.event_id)}`), r.data as string)).sort(sendOrder);
  }

  /**
   * Writes every pending write in one transaction, each in a savepoint of its own: one that fails
   * (fenced out, a conflict) is undone and rejected alone; the others resolve once the transaction,
   * and so the fsync that covers them, is committed.
   */
  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const outcomes: { ok: boolean; value: unknown }[] = [];
    try {
      this.transaction(() => {
        for (const p of batch) {
          this.db.exec('SAVEPOINT one');
          try {
            const value = p.body();
            this.db.exec('RELEASE one');
            outcomes.push({ ok: true, value });
          } catch (error) {
            this.db.exec('ROLLBACK TO one');
            this.db.exec('RELEASE one');
            const own = error instanceof LeaseLostError || error instanceof RecordConflictError;
            outcomes.push({ ok: false, value: own ? error : new StorageError(p.workflowId, p.operation, error, p.step, this.where(p.workflowId)) });
          }
        }
      });
      batch.forEach((p, i) => (outcomes[i]!.ok ? p.resolve(outcomes[i]!.value) : p.reject(outcomes[i]!.value)));
    } catch (error) {
      for (const p of batch) p.reject(new StorageError(p.workflowId, p.operation, error, p.step, this.where(p.workflowId)));
    }
    if (this.pending.length > 0) setImmediate(() => this.flush());
    else this.flushing = false;
  }

  /** Throws `LeaseLostError` unless `lease` is the workflow's live lease (read inside the caller's transaction). */
  private fence(workflowId: string, lease: Lease | undefined, step?: string): void {
    if (lease === undefined) return;
    const held = this.sql('SELECT token, expires_at FROM leases WHERE workflow_id = ?').get(workflowId);
    if (held === undefined || held.token !== lease.token || Number(held.expires_at) <= Date.now()) throw new LeaseLostError(workflowId, step);
  }

  /** Runs `body` in a `BEGIN IMMEDIATE` transaction (the write lock first: no deadlock between two upgrading readers). */
  private transaction<T>(body: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    let result: T;
    try {
      result = body();
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    this.db.exec('COMMIT');
    return result;
  }

  /**
   * A write: `body` runs in the next group transaction (group commit), in a savepoint of its own;
   * waymark's own errors pass, SQLite's become `StorageError`. Resolves once it is durable.
   */
  private write<T>(workflowId: string, operation: string, body: () => T, step?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ workflowId, operation, ...(step === undefined ? {} : { step }), body, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** A read (one statement, or several of one snapshot); SQLite's errors become `StorageError`. */
  private read<T>(workflowId: string, operation: string, body: () => T, step?: string): T {
    try {
      return body();
    } catch (error) {
      if (error instanceof StorageError || (error as { code?: string }).code === 'WAYMARK_CHECKPOINT_CORRUPTED') throw error;
      throw new StorageError(workflowId, operation, error, step, this.where(workflowId));
    }
  }

  private sql(text: string): SqliteStatement {
    let statement = this.statements.get(text);
    if (statement === undefined) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  private where(workflowId: string, step?: string): string {
    return `sqlite:${this.path}#${workflowId}${step === undefined ? '' : `/${step}`}`;
  }
}

/** Refuses a database on a network file system, where SQLite's locks do not hold (SQLite's own advice). */
function refuseNetworkFileSystem(path: string): void {
  let mounts: string;
  let directory: string;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8');
    directory = realpathSync(dirname(path));
  } catch {
    // No /proc (macOS, Windows), or no directory yet (SQLite says so when it opens): nothing to check.
    return;
  }
  const mount = mountOf(directory, mounts);
  if (mount !== undefined && NETWORK_FILE_SYSTEMS.has(mount.type)) {
    throw new InvalidOptionError('SqliteStorage path', path, `a file on a local disk: ${mount.point} is ${mount.type}, a network file system, where SQLite's locking is not safe (use PostgresStorage or S3Storage to share a store between machines)`);
  }
}

/** The mount (as /proc/mounts lists them) that holds `directory`: the longest mount point above it. */
export function mountOf(directory: string, mounts: string): { readonly point: string; readonly type: string } | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of mounts.split('\n')) {
    const [, raw, type] = line.split(' ');
    if (raw === undefined || type === undefined) continue;
    const point = raw.replace(/\\040/g, ' ');
    const inside = directory === point || directory.startsWith(point.endsWith('/') ? point : `${point}/`);
    if (inside && (best === undefined || point.length >= best.point.length)) best = { point, type };
  }
  return best;
}
