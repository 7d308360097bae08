/**
 * PostgresStorage's tables, and the versioned migrations that create them. `migrate()` runs every
 * migration the database has not seen, in one transaction under an advisory lock, so running it
 * from many processes at once applies each migration exactly once; a database migrated by a newer
 * waymark than this one is refused.
 */
import { createHash } from 'node:crypto';
import { InvalidOptionError, StorageError } from '../../errors';

/** The part of a `pg` Pool or Client that PostgresStorage uses (so `pg` itself is never imported). */
export interface PgQueryable {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
  /** A named statement: the server parses and plans it once per connection. */
  query(config: { readonly name: string; readonly text: string; readonly values: readonly unknown[] }): Promise<{ rows: Record<string, unknown>[]; rowCount: number | null }>;
}

/** A client of a `pg` Pool, checked out for a transaction or for LISTEN. */
export interface PgClient extends PgQueryable {
  release(error?: Error | boolean): void;
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown;
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** A `pg` Pool: queries, and a client of its own for a transaction or for LISTEN. */
export interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>;
}

/** The schema version this waymark writes and reads. */
export const SCHEMA_VERSION = 3;

/** A schema name PostgresStorage accepts: a lowercase SQL identifier, so it never needs escaping beyond quotes. */
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema name, checked and quoted for SQL text. */
export function quoteSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema)) {
    throw new InvalidOptionError('PostgresStorage schema', schema, 'a lowercase identifier of 1-63 characters (letters, digits, _; not starting with a digit)');
  }
  return `"${schema}"`;
}

/**
 * Each migration, by the version it brings the schema to. Tables:
 * - `workflows`: one row per workflow, its record as JSON text and the version a conditional write compares;
 * - `checkpoints`: one row per committed step;
 * - `leases`: one row per workflow someone holds or held; expiry is the database's clock;
 * - `wakes`: the wake index, ordered by time (its primary key is the due scan's index);
 * - `events`: events sent to workflows, one row per event id;
 * - `ended` (version 2): the index of ended workflows, by status and time (its primary key is prune's index);
 * - `leases.presence_a`, `presence_b` (version 3): the advisory-lock key of the session of the
 *   lease's owner (see postgres-presence.ts): a lease whose owner's session is gone is dead at once;
 * - `schema_version`: the version migrations reached.
 * Text keys use the "C" collation: byte-wise equality and order, whatever the database's locale.
 */
function migrations(s: string): readonly string[] {
  return [
    `CREATE TABLE ${s}.workflows (workflow_id text COLLATE "C" PRIMARY KEY, record text NOT NULL, version bigint NOT NULL);
     CREATE TABLE ${s}.checkpoints (workflow_id text COLLATE "C" NOT NULL, step text COLLATE "C" NOT NULL, data text NOT NULL, PRIMARY KEY (workflow_id, step));
     CREATE TABLE ${s}.leases (workflow_id text COLLATE "C" PRIMARY KEY, owner text NOT NULL, token text NOT NULL, expires_at timestamptz NOT NULL);
     CREATE TABLE ${s}.wakes (wake_at bigint NOT NULL, workflow_id text COLLATE "C" NOT NULL, PRIMARY KEY (wake_at, workflow_id));
     CREATE TABLE ${s}.events (workflow_id text COLLATE "C" NOT NULL, event_id text COLLATE "C" NOT NULL, data text NOT NULL, PRIMARY KEY (workflow_id, event_id));`,
    `CREATE TABLE ${s}.ended (status text COLLATE "C" NOT NULL, ended_at bigint NOT NULL, workflow_id text COLLATE "C" NOT NULL, PRIMARY KEY (status, ended_at, workflow_id));`,
    `ALTER TABLE ${s}.leases ADD COLUMN presence_a integer, ADD COLUMN presence_b integer;`,
  ];
}

/** The NOTIFY channel of one schema's wake notices: a short identifier, whatever the schema's length. */
export function wakeChannel(schema: string): string {
  return `waymark_wake_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

/** The advisory lock key of one schema's migrations (any 64-bit number both sides agree on). */
function lockKey(schema: string): string {
  let hash = 0n;
  for (const byte of Buffer.from(`waymark:${schema}`)) hash = (hash * 131n + BigInt(byte)) % 9223372036854775783n;
  return hash.toString();
}

/** Brings `schema` to {@link SCHEMA_VERSION}; safe to run from many processes at once. */
export async function migrate(pool: PgPool, schema: string): Promise<void> {
  const s = quoteSchema(schema);
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(schema)]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_version (version integer NOT NULL)`);
    const { rows } = await client.query(`SELECT version FROM ${s}.schema_version`);
    const current = rows.length === 0 ? 0 : Number(rows[0]!.version);
    if (current > SCHEMA_VERSION) {
      throw new StorageError('(all)', 'migrate', new Error(`schema ${s} is at version ${current}, newer than this waymark knows (${SCHEMA_VERSION}): upgrade waymark, or use another schema`), undefined, `postgres:${schema}`);
    }
    const all = migrations(s);
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) await client.query(all[version - 1]!);
    if (rows.length === 0) await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [SCHEMA_VERSION]);
    else if (current < SCHEMA_VERSION) await client.query(`UPDATE ${s}.schema_version SET version = $1`, [SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (error) {
    failed = true;
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof StorageError) throw error;
    throw new StorageError('(all)', 'migrate', error, undefined, `postgres:${schema}`);
  } finally {
    client.release(failed);
  }
}
