/**
 * PostgreSQL storage: the store most backend teams already run. One statement per durable step: a
 * commit is an upsert fenced, in the same statement, by the lease row and the database's own clock,
 * so no client's clock and no check-then-write gap can let a lost owner write.
 *
 * Every statement is parameterised; `pg` is never imported here: the caller's Pool is used through
 * the few methods {@link PgPool} names.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError, LeaseLostError, RecordConflictError, StorageError, WaymarkError } from '../../errors';
import { assertWorkflowId } from '../../workflow-id';
import type { CheckpointStorage, ClearOptions } from '../checkpoint-storage';
import { newLeaseToken } from '../lease-owner';
import { parseCheckpoint, parseEvent, parseRecordText, sendOrder } from '../record-format';
import type { Checkpoint, EndedEntry, Lease, LeaseAttempt, LeaseHolder, StoredEvent, StoredRecord, StoredWorkflow, WakeEntry, WorkflowRecord, WorkflowStatus } from '../records';
import { migrate, quoteSchema, wakeChannel, type PgClient, type PgPool, type PgQueryable } from './postgres-schema';
import { ownerGone, Presence } from './postgres-presence';

/** Options of {@link PostgresStorage}. */
export interface PostgresStorageOptions {
  /** A `pg` Pool (or anything with its `query` and `connect`). The storage never ends it: the caller owns it. */
  readonly pool: PgPool;
  /** The schema holding waymark's tables; a lowercase identifier. Default `'waymark'`. */
  readonly schema?: string;
  /** How statements that failed transiently (a connection lost, a server restarting) are tried again. */
  readonly retry?: PostgresRetryOptions;
}

/** Tries of a statement that failed transiently, with exponential backoff. */
export interface PostgresRetryOptions {
  /** Total tries per statement, the first included; default 8 (with the default waits, about 5 s: a server restart). */
  readonly attempts?: number;
  /** The first wait in ms, doubled at each try; default 50. */
  readonly baseDelayMs?: number;
  /** The longest single wait in ms; default 2,000. */
  readonly maxDelayMs?: number;
}

/** Error codes of a connection or transaction that failed on its own, worth one more try. */
const TRANSIENT = new Set(['57P01', '57P02', '57P03', '08000', '08003', '08006', '08001', '40001', '40P01', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

/** Expiry of a lease row as epoch ms, in SQL. */
const EXPIRES_MS = 'floor(extract(epoch FROM expires_at) * 1000)::float8 AS expires_ms';

/** Stores workflows in PostgreSQL tables (see README "PostgreSQL"). Run {@link PostgresStorage.migrate} once before use. */
export class PostgresStorage implements CheckpointStorage {
  private readonly pool: PgPool;
  private readonly schema: string;
  /** The quoted schema, for SQL text. */
  private readonly s: string;
  private readonly retry: Required<PostgresRetryOptions>;
  /** Statement names by SQL text: every statement is prepared once per connection. */
  private readonly names = new Map<string, string>();
  /** The session that tells other processes this one is alive while it holds leases. */
  private readonly presence: Presence;

  constructor(options: PostgresStorageOptions) {
    this.pool = options.pool;
    this.schema = options.schema ?? 'waymark';
    this.s = quoteSchema(this.schema);
    const { attempts = 8, baseDelayMs = 50, maxDelayMs = 2_000 } = options.retry ?? {};
    if (!(Number.isInteger(attempts) && attempts >= 1)) throw new InvalidOptionError('PostgresStorage retry.attempts', attempts, 'an integer >= 1');
    if (!(typeof baseDelayMs === 'number' && baseDelayMs >= 0)) throw new InvalidOptionError('PostgresStorage retry.baseDelayMs', baseDelayMs, 'a number of ms >= 0');
    if (!(typeof maxDelayMs === 'number' && maxDelayMs >= 0)) throw new InvalidOptionError('PostgresStorage retry.maxDelayMs', maxDelayMs, 'a number of ms >= 0');
    this.retry = { attempts, baseDelayMs, maxDelayMs };
    this.presence = new Presence(this.pool, async ([a, b], tokens) => {
      await this.query('(all)', 'restamp leases', `UPDATE ${this.s}.leases SET presence_a = $1, presence_b = $2 WHERE token = ANY($3::text[])`, [a, b, [...tokens]]);
    });
  }

  /** Creates or upgrades the tables; safe to run from many processes at once, and again. */
  migrate(): Promise<void> {
    return migrate(this.pool, this.schema);
  }

  async load(workflowId: string): Promise<StoredWorkflow | undefined> {
    assertWorkflowId(workflowId);
    const { rows } = await this.query(
      workflowId,
      'load',
      `SELECT w.record, w.version::text AS version, ARRAY(SELECT step FROM ${this.s}.checkpoints WHERE workflow_id = $1) AS steps
         FROM (VALUES (1)) AS one LEFT JOIN ${this.s}.workflows w ON w.workflow_id = $1`,
      [workflowId],
    );
    const row = rows[0]!;
    const steps = row.steps as string[];
    if (row.record === null && steps.length === 0) return undefined;
    return {
      record: row.record === null ? undefined : parseRecordText(workflowId, this.where('record'), row.record as string),
      recordVersion: row.record === null ? undefined : (row.version as string),
      committedSteps: steps,
    };
  }

  async readRecord(workflowId: string): Promise<StoredRecord | undefined> {
    assertWorkflowId(workflowId);
    const { rows } = await this.query(workflowId, 'read record', `SELECT record, version::text AS version FROM ${this.s}.workflows WHERE workflow_id = $1`, [workflowId]);
    if (rows.length === 0) return undefined;
    return { record: parseRecordText(workflowId, this.where('record'), rows[0]!.record as string), version: rows[0]!.version as string };
  }

  async readCheckpoint(workflowId: string, step: string): Promise<Checkpoint> {
    assertWorkflowId(workflowId);
    const { rows } = await this.query(workflowId, 'read checkpoint', `SELECT data FROM ${this.s}.checkpoints WHERE workflow_id = $1 AND step = $2`, [workflowId, step], step);
    if (rows.length === 0) throw new StorageError(workflowId, 'read checkpoint', new Error('no such checkpoint'), step, this.where(`checkpoint ${step}`));
    return parseCheckpoint(workflowId, step, this.where(`checkpoint ${step}`), rows[0]!.data as string);
  }

  /** The checkpoints of `steps`, in that order, in one query; a missing one is a `StorageError` naming it. */
  async readCheckpoints(workflowId: string, steps: readonly string[]): Promise<Checkpoint[]> {
    assertWorkflowId(workflowId);
    const { rows } = await this.query(workflowId, 'read checkpoints', `SELECT step, data FROM ${this.s}.checkpoints WHERE workflow_id = $1 AND step = ANY($2::text[])`, [workflowId, [...steps]]);
    const byStep = new Map(rows.map((r) => [r.step as string, r.data as string]));
    return steps.map((step) => {
      const data = byStep.get(step);
      if (data === undefined) throw new StorageError(workflowId, 'read checkpoint', new Error('no such checkpoint'), step, this.where(`checkpoint ${step}`));
      return parseCheckpoint(workflowId, step, this.where(`checkpoint ${step}`), data);
    });
  }

  async writeRecord(workflowId: string, record: WorkflowRecord, expectedVersion: string | null, lease?: Lease): Promise<string> {
    assertWorkflowId(workflowId);
    const text = JSON.stringify(record);
    const extra = lease === undefined ? [] : [lease.token];
    const { rows } =
      expectedVersion === null
        ? await this.query(
            workflowId,
            'write record',
            `${lease === undefined ? '' : this.heldCte(3)} INSERT INTO ${this.s}.workflows (workflow_id, record, version) SELECT $1, $2, 1 ${lease === undefined ? '' : 'FROM held'}
               ON CONFLICT (workflow_id) DO NOTHING RETURNING version::text AS version`,
            [workflowId, text, ...extra],
          )
        : await this.query(
            workflowId,
            'write record',
            `${lease === undefined ? '' : this.heldCte(4)} UPDATE ${this.s}.workflows SET record = $2, version = version + 1
               WHERE workflow_id = $1 AND version = $3::bigint ${lease === undefined ? '' : 'AND EXISTS (SELECT 1 FROM held)'} RETURNING version::text AS version`,
            [workflowId, text, expectedVersion, ...extra],
          );
    if (rows.length === 1) return rows[0]!.version as string;
    // Nothing written: the lease is gone, the version moved, or an earlier try of this very write
    // landed before its connection failed (then the stored record is ours, one version on).
    if (lease !== undefined && !(await this.holds(lease))) throw new LeaseLostError(workflowId);
    const stored = await this.query(workflowId, 'write record', `SELECT record, version::text AS version FROM ${this.s}.workflows WHERE workflow_id = $1`, [workflowId]);
    const now = stored.rows[0];
    const ours = now !== undefined && now.record === text && (expectedVersion === null ? now.version === '1' : BigInt(now.version as string) === BigInt(expectedVersion) + 1n);
    if (ours) return now.version as string;
    throw new RecordConflictError(workflowId, this.where('record'));
  }

  async commit(workflowId: string, checkpoint: Checkpoint, lease?: Lease): Promise<void> {
    assertWorkflowId(workflowId);
    const data = JSON.stringify(checkpoint);
    if (lease === undefined) {
      await this.query(
        workflowId,
        'commit',
        `INSERT INTO ${this.s}.checkpoints (workflow_id, step, data) VALUES ($1, $2, $3) ON CONFLICT (workflow_id, step) DO UPDATE SET data = EXCLUDED.data`,
        [workflowId, checkpoint.step, data],
        checkpoint.step,
      );
      return;
    }
    // One statement: the lease row is share-locked while the checkpoint is written, so a takeover
    // either happened before (nothing is written) or waits for this commit.
    const { rows } = await this.query(
      workflowId,
      'commit',
      `${this.heldCte(4)} INSERT INTO ${this.s}.checkpoints (workflow_id, step, data) SELECT $1, $2, $3 FROM held
         ON CONFLICT (workflow_id, step) DO UPDATE SET data = EXCLUDED.data RETURNING 1 AS written`,
      [workflowId, checkpoint.step, data, lease.token],
      checkpoint.step,
    );
    if (rows.length === 0) throw new LeaseLostError(workflowId, checkpoint.step);
  }

  /** Several checkpoints in one statement: all or none, fenced like {@link commit}. */
  async commitMany(workflowId: string, checkpoints: readonly Checkpoint[], lease?: Lease): Promise<void> {
    assertWorkflowId(workflowId);
    if (checkpoints.length === 0) return;
    const steps = checkpoints.map((c) => c.step);
    const data = checkpoints.map((c) => JSON.stringify(c));
    // A step named twice keeps its last checkpoint, as two commits one after the other would.
    const rows = `SELECT DISTINCT ON (step) step, data FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS c(step, data, n) ORDER BY step, n DESC`;
    if (lease === undefined) {
      await this.query(workflowId, 'commit', `INSERT INTO ${this.s}.checkpoints (workflow_id, step, data) SELECT $1, step, data FROM (${rows}) c ON CONFLICT (workflow_id, step) DO UPDATE SET data = EXCLUDED.data`, [workflowId, steps, data], steps[0]);
      return;
    }
    const { rows: written } = await this.query(
      workflowId,
      'commit',
      `${this.heldCte(4)} INSERT INTO ${this.s}.checkpoints (workflow_id, step, data) SELECT $1, c.step, c.data FROM (${rows}) c, held
         ON CONFLICT (workflow_id, step) DO UPDATE SET data = EXCLUDED.data RETURNING 1 AS written`,
      [workflowId, steps, data, lease.token],
      steps[0],
    );
    if (written.length === 0) throw new LeaseLostError(workflowId, steps[0]);
  }

  async clear(workflowId: string, options: ClearOptions = {}): Promise<void> {
    assertWorkflowId(workflowId);
    const { lease } = options;
    const total = await this.transaction(workflowId, 'clear', async (client) => {
      if (lease !== undefined) {
        const held = await client.query(`SELECT 1 FROM ${this.s}.leases WHERE workflow_id = $1 AND token = $2 AND expires_at > clock_timestamp() FOR SHARE`, [workflowId, lease.token]);
        if (held.rows.length === 0) throw new LeaseLostError(workflowId);
      }
      const removed = await client.query(`DELETE FROM ${this.s}.workflows WHERE workflow_id = $1 RETURNING record`, [workflowId]);
      const checkpoints = await client.query(`DELETE FROM ${this.s}.checkpoints WHERE workflow_id = $1`, [workflowId]);
      const events = await client.query(`DELETE FROM ${this.s}.events WHERE workflow_id = $1`, [workflowId]);
      const record = removed.rows[0]?.record as string | undefined;
      const wakeAt = record === undefined ? undefined : (JSON.parse(record) as WorkflowRecord).wakeAt;
      if (wakeAt !== undefined) await client.query(`DELETE FROM ${this.s}.wakes WHERE wake_at = $1 AND workflow_id = $2`, [Math.max(0, Math.floor(Date.parse(wakeAt))), workflowId]);
      return (removed.rowCount ?? 0) + (checkpoints.rowCount ?? 0) + (events.rowCount ?? 0);
    });
    if (total > 0) options.onProgress?.(total, total);
  }

  async list(): Promise<string[]> {
    const { rows } = await this.query('(all)', 'list', `SELECT workflow_id FROM ${this.s}.workflows UNION SELECT workflow_id FROM ${this.s}.checkpoints`, []);
    // Sorted here, in JavaScript's order, as every provider sorts.
    return rows.map((r) => r.workflow_id as string).sort();
  }

  async acquireLease(workflowId: string, owner: string, ttlMs: number): Promise<LeaseAttempt> {
    assertWorkflowId(workflowId);
    const token = newLeaseToken();
    const [a, b] = (await this.presence.key()) ?? [null, null];
    for (;;) {
      // Taken when there is no row, its expiry (by the database's clock) has passed, or its owner's
      // session is gone (the process died: the database dropped its advisory lock).
      const taken = await this.query(
        workflowId,
        'acquire lease',
        `INSERT INTO ${this.s}.leases AS l (workflow_id, owner, token, expires_at, presence_a, presence_b)
           VALUES ($1, $2, $3, clock_timestamp() + make_interval(secs => $4::float8 / 1000), $5, $6)
           ON CONFLICT (workflow_id) DO UPDATE SET owner = EXCLUDED.owner, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at, presence_a = EXCLUDED.presence_a, presence_b = EXCLUDED.presence_b
             WHERE l.expires_at <= clock_timestamp() OR ${ownerGone('l.presence_a', 'l.presence_b')}
           RETURNING ${EXPIRES_MS}`,
        [workflowId, owner, token, ttlMs, a, b],
      );
      if (taken.rows.length === 1) return this.taken({ workflowId, owner, token, expiresAt: Number(taken.rows[0]!.expires_ms) });
      const held = await this.query(workflowId, 'acquire lease', `SELECT owner, token, ${EXPIRES_MS} FROM ${this.s}.leases WHERE workflow_id = $1`, [workflowId]);
      const row = held.rows[0];
      // Released between the two statements: try again.
      if (row === undefined) continue;
      // An earlier try of this very statement took it before its connection failed.
      if (row.token === token) return this.taken({ workflowId, owner, token, expiresAt: Number(row.expires_ms) });
      return { acquired: false, holder: row.owner as string, expiresAt: Number(row.expires_ms) };
    }
  }

  private taken(lease: Lease): LeaseAttempt {
    this.presence.held(lease.token);
    return { acquired: true, lease };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    // An expired lease nobody took over is still ours to renew; one taken over has another token.
    const { rows } = await this.query(
      lease.workflowId,
      'renew lease',
      `UPDATE ${this.s}.leases SET expires_at = clock_timestamp() + make_interval(secs => $3::float8 / 1000) WHERE workflow_id = $1 AND token = $2 RETURNING ${EXPIRES_MS}`,
      [lease.workflowId, lease.token, ttlMs],
    );
    if (rows.length === 0) this.presence.released(lease.token);
    return rows.length === 0 ? undefined : { ...lease, expiresAt: Number(rows[0]!.expires_ms) };
  }

  async releaseLease(lease: Lease): Promise<void> {
    try {
      await this.query(lease.workflowId, 'release lease', `DELETE FROM ${this.s}.leases WHERE workflow_id = $1 AND token = $2`, [lease.workflowId, lease.token]);
    } finally {
      this.presence.released(lease.token);
    }
  }

  async readLease(workflowId: string): Promise<LeaseHolder | undefined> {
    assertWorkflowId(workflowId);
    const { rows } = await this.query(
      workflowId,
      'read lease',
      `SELECT owner, ${EXPIRES_MS} FROM ${this.s}.leases l WHERE workflow_id = $1 AND expires_at > clock_timestamp() AND NOT ${ownerGone('l.presence_a', 'l.presence_b')}`,
      [workflowId],
    );
    return rows.length === 0 ? undefined : { owner: rows[0]!.owner as string, expiresAt: Number(rows[0]!.expires_ms) };
  }

  /** Workflows whose lease is unexpired but whose owner's session is gone: one query. */
  async deadLeases(limit: number): Promise<string[]> {
    const { rows } = await this.query(
      '(all)',
      'find dead leases',
      `SELECT workflow_id FROM ${this.s}.leases l WHERE expires_at > clock_timestamp() AND ${ownerGone('l.presence_a', 'l.presence_b')} ORDER BY workflow_id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.workflow_id as string);
  }

  /**
   * Closes the session that tells other processes this one is alive (see README "PostgreSQL"). It
   * closes by itself a few seconds after the last lease is given back; call this to close it now,
   * e.g. before `pool.end()` in a test. Leases still held then read as their owner's: gone.
   */
  async close(): Promise<void> {
    await this.presence.close();
  }

  async addWake(entry: WakeEntry): Promise<void> {
    assertWorkflowId(entry.workflowId);
    await this.query(entry.workflowId, 'add wake', `INSERT INTO ${this.s}.wakes (wake_at, workflow_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [wakeMs(entry), entry.workflowId]);
  }

  async removeWake(entry: WakeEntry): Promise<void> {
    await this.query(entry.workflowId, 'remove wake', `DELETE FROM ${this.s}.wakes WHERE wake_at = $1 AND workflow_id = $2`, [wakeMs(entry), entry.workflowId]);
  }

  async addEnded(entry: EndedEntry): Promise<void> {
    assertWorkflowId(entry.workflowId);
    await this.query(entry.workflowId, 'add ended entry', `INSERT INTO ${this.s}.ended (status, ended_at, workflow_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [entry.status, endedMs(entry), entry.workflowId]);
  }

  async removeEnded(entry: EndedEntry): Promise<void> {
    await this.query(entry.workflowId, 'remove ended entry', `DELETE FROM ${this.s}.ended WHERE status = $1 AND ended_at = $2 AND workflow_id = $3`, [entry.status, endedMs(entry), entry.workflowId]);
  }

  async endedBefore(status: WorkflowStatus, before: number, limit: number): Promise<EndedEntry[]> {
    // An index range scan on the primary key (status, ended_at, workflow_id): cost in proportion to what it returns.
    const { rows } = await this.query('(all)', 'scan ended', `SELECT ended_at::float8 AS ended_at, workflow_id FROM ${this.s}.ended WHERE status = $1 AND ended_at <= $2 ORDER BY ended_at, workflow_id LIMIT $3`, [status, Math.floor(before), limit]);
    return rows.map((r) => ({ workflowId: r.workflow_id as string, status, endedAt: Number(r.ended_at) }));
  }

  async dueWakes(now: number, limit: number): Promise<WakeEntry[]> {
    // An index range scan on the primary key (wake_at, workflow_id): cost in proportion to what is due.
    const { rows } = await this.query('(all)', 'scan wakes', `SELECT wake_at::float8 AS wake_at, workflow_id FROM ${this.s}.wakes WHERE wake_at <= $1 ORDER BY wake_at, workflow_id LIMIT $2`, [Math.floor(now), limit]);
    return rows.map((r) => ({ workflowId: r.workflow_id as string, wakeAt: Number(r.wake_at) }));
  }

  async putEvent(workflowId: string, event: StoredEvent): Promise<boolean> {
    assertWorkflowId(workflowId);
    const data = JSON.stringify(event);
    const { rows } = await this.query(
      workflowId,
      'put event',
      `INSERT INTO ${this.s}.events (workflow_id, event_id, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1 AS stored`,
      [workflowId, event.eventId, data],
    );
    if (rows.length === 1) return true;
    // Stored already: by another sender, or by an earlier try of this very insert whose connection
    // failed after it landed (then the stored event is this one, to its send time).
    const stored = await this.query(workflowId, 'put event', `SELECT data FROM ${this.s}.events WHERE workflow_id = $1 AND event_id = $2`, [workflowId, event.eventId]);
    return stored.rows[0]?.data === data;
  }

  async listEvents(workflowId: string): Promise<StoredEvent[]> {
    assertWorkflowId(workflowId);
    const { rows } = await this.query(workflowId, 'list events', `SELECT data FROM ${this.s}.events WHERE workflow_id = $1`, [workflowId]);
    return rows.map((r) => parseEvent(workflowId, this.where('event'), r.data as string)).sort(sendOrder);
  }

  /** Tells every process listening on this schema (LISTEN) that `workflowId` is due now: one NOTIFY. */
  async notifyWake(workflowId: string): Promise<void> {
    await this.query(workflowId, 'notify wake', 'SELECT pg_notify($1, $2)', [wakeChannel(this.schema), workflowId]);
  }

  /**
   * Listens for wake notices on a client of the pool's own, held until the returned function is
   * called (it counts against the pool's `max`). A connection that drops is replaced after a pause;
   * notices sent meanwhile are lost, which only delays those wakes to the worker's next scan.
   */
  async listenWakes(listener: (workflowId: string) => void): Promise<() => Promise<void>> {
    const channel = wakeChannel(this.schema);
    let stopped = false;
    let client: PgClient | undefined;
    let retry: NodeJS.Timeout | undefined;
    // Each listening client is given up once (its 'error' and 'end' may both fire), and a failed
    // reconnect only schedules the next one: never a second release of a client already given back,
    // which pg-pool throws where no caller catches it.
    const reconnectLater = (): void => {
      if (stopped) return;
      clearTimeout(retry);
      retry = setTimeout(() => void connect().catch(reconnectLater), 1_000);
    };
    const connect = async (): Promise<void> => {
      const next = await this.pool.connect();
      let given = false;
      const giveUp = (): boolean => {
        if (given) return false;
        given = true;
        next.removeAllListeners('notification');
        next.removeAllListeners('error');
        next.removeAllListeners('end');
        next.on('error', () => undefined);
        next.release(true);
        if (client === next) client = undefined;
        return true;
      };
      next.on('notification', (message) => {
        if (message.channel === channel && message.payload !== undefined) listener(message.payload);
      });
      const lost = () => {
        if (giveUp()) reconnectLater();
      };
      next.on('error', lost);
      next.on('end', lost);
      try {
        await next.query(`LISTEN "${channel}"`);
      } catch (error) {
        giveUp();
        throw error;
      }
      if (given) throw new Error('the listening connection ended before LISTEN answered');
      if (stopped) {
        // Stopped while this connection was being made: it goes back at once.
        giveUp();
        return;
      }
      client = next;
    };
    try {
      await connect();
    } catch (error) {
      stopped = true;
      clearTimeout(retry);
      throw this.storageError('(all)', 'listen for wakes', error);
    }
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const held = client;
      client = undefined;
      if (held === undefined) return;
      held.removeAllListeners('notification');
      held.removeAllListeners('end');
      held.removeAllListeners('error');
      held.on('error', () => undefined);
      try {
        await held.query(`UNLISTEN "${channel}"`);
        held.release();
      } catch {
        held.release(true);
      }
    };
  }

  /** A CTE naming the lease row when `$1`'s lease with token `$n` is live, share-locked for the statement. */
  private heldCte(tokenParam: number): string {
    return `WITH held AS (SELECT 1 FROM ${this.s}.leases WHERE workflow_id = $1 AND token = $${tokenParam} AND expires_at > clock_timestamp() FOR SHARE)`;
  }

  private async holds(lease: Lease): Promise<boolean> {
    const { rows } = await this.query(lease.workflowId, 'check lease', `SELECT 1 FROM ${this.s}.leases WHERE workflow_id = $1 AND token = $2 AND expires_at > clock_timestamp()`, [lease.workflowId, lease.token]);
    return rows.length === 1;
  }

  private where(what?: string): string {
    return what === undefined ? `postgres:${this.schema}` : `postgres:${this.schema} ${what}`;
  }

  /** A prepared statement's name for `sql` (the same text, the same name, on every connection). */
  private statementName(sql: string): string {
    let name = this.names.get(sql);
    if (name === undefined) this.names.set(sql, (name = `waymark_${createHash('sha256').update(sql).digest('hex').slice(0, 40)}`));
    return name;
  }

  /** Runs one statement, trying again after a transient failure; any other failure is a {@link StorageError}. */
  private async query(workflowId: string, operation: string, sql: string, values: readonly unknown[], step?: string): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }> {
    for (let tryNumber = 1; ; tryNumber++) {
      try {
        return await this.pool.query({ name: this.statementName(sql), text: sql, values });
      } catch (error) {
        if (tryNumber < this.retry.attempts && isTransient(error)) {
          await this.pause(tryNumber);
          continue;
        }
        throw this.storageError(workflowId, operation, error, step);
      }
    }
  }

  /** Runs `work` in one transaction on a client of its own; a transient failure runs it again from the start. */
  private async transaction<T>(workflowId: string, operation: string, work: (client: PgQueryable) => Promise<T>): Promise<T> {
    for (let tryNumber = 1; ; tryNumber++) {
      let client: PgClient | undefined;
      let broken = false;
      try {
        client = await this.pool.connect();
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A refusal of ours (a lost lease) leaves the connection sound; anything else may not have.
        broken = !(error instanceof WaymarkError);
        await client?.query('ROLLBACK').catch(() => undefined);
        if (error instanceof WaymarkError) throw error;
        if (tryNumber < this.retry.attempts && isTransient(error)) {
          await this.pause(tryNumber);
          continue;
        }
        throw this.storageError(workflowId, operation, error);
      } finally {
        client?.release(broken);
      }
    }
  }

  /** The wait after failed try `tryNumber`. */
  private pause(tryNumber: number): Promise<void> {
    const ms = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (tryNumber - 1));
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private storageError(workflowId: string, operation: string, error: unknown, step?: string): StorageError {
    const code = (error as { code?: unknown } | null)?.code;
    // No tables (42P01) or no schema (3F000): the database was never migrated.
    const cause =
      code === '42P01' || code === '3F000'
        ? new Error(`the schema "${this.schema}" has no waymark tables, or not all of this version's: run \`await storage.migrate()\` once (${error instanceof Error ? error.message : String(error)})`, { cause: error })
        : error;
    return new StorageError(workflowId, operation, cause, step, this.where());
  }
}

/** An ended entry's time as the index stores it: whole epoch ms, never negative. */
function endedMs(entry: EndedEntry): number {
  return Math.max(0, Math.floor(entry.endedAt));
}

/** A wake entry's time as the index stores it: whole epoch ms, never negative. */
function wakeMs(entry: WakeEntry): number {
  return Math.max(0, Math.floor(entry.wakeAt));
}

function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT.has(code)) return true;
  // pg reports a connection that ended under a query without a code.
  return error instanceof Error && /Connection terminated|connection ended|terminating connection/i.test(error.message);
}
