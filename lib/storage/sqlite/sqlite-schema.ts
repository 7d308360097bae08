/**
 * SqliteStorage's tables, and the versioned migrations that create them (SQLite's `user_version`
 * says which ran). Each runs in one `BEGIN IMMEDIATE` transaction, so processes opening one database
 * at once apply it exactly once; a database migrated by a newer waymark is refused.
 */
import { InvalidOptionError, StorageError } from '../../errors';

/** The part of `node:sqlite`'s DatabaseSync this store uses (so its types come from no package). */
export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
}

/** A prepared statement of `node:sqlite`. */
export interface SqliteStatement {
  run(...values: unknown[]): { changes: number | bigint };
  get(...values: unknown[]): Record<string, unknown> | undefined;
  all(...values: unknown[]): Record<string, unknown>[];
}

/** The schema version this waymark writes and reads. */
export const SQLITE_SCHEMA_VERSION = 1;

/**
 * Each migration, by the version it brings the schema to. Tables (text keys compare byte-wise, as
 * SQLite's default BINARY collation does):
 * - `workflows`: one row per workflow, its record as JSON text and the version a conditional write compares;
 * - `checkpoints`: one row per committed step; `events`: one row per event id of a workflow;
 * - `leases`: one row per workflow someone holds, with its owner's process identity (a dead owner on this host is seen at once);
 * - `wakes` and `ended`: the wake index and the index of ended workflows, ordered by time by their primary keys.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE workflows (workflow_id TEXT PRIMARY KEY, record TEXT NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE checkpoints (workflow_id TEXT NOT NULL, step TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (workflow_id, step)) WITHOUT ROWID;
   CREATE TABLE events (workflow_id TEXT NOT NULL, event_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (workflow_id, event_id)) WITHOUT ROWID;
   CREATE TABLE leases (workflow_id TEXT PRIMARY KEY, owner TEXT NOT NULL, token TEXT NOT NULL, expires_at INTEGER NOT NULL, process TEXT NOT NULL) WITHOUT ROWID;
   CREATE TABLE wakes (wake_at INTEGER NOT NULL, workflow_id TEXT NOT NULL, PRIMARY KEY (wake_at, workflow_id)) WITHOUT ROWID;
   CREATE TABLE ended (status TEXT NOT NULL, ended_at INTEGER NOT NULL, workflow_id TEXT NOT NULL, PRIMARY KEY (status, ended_at, workflow_id)) WITHOUT ROWID;`,
];

/** Runs the migrations `db` has not seen; refuses a database of a newer schema. */
export function migrate(db: SqliteDatabase, path: string): void {
  const version = () => Number(db.prepare('PRAGMA user_version').get()!.user_version);
  if (version() >= MIGRATIONS.length) {
    if (version() > SQLITE_SCHEMA_VERSION) throw new InvalidOptionError('SqliteStorage path', path, `a database of schema version ${SQLITE_SCHEMA_VERSION} or older; it has version ${version()}, written by a newer waymark`);
    return;
  }
  db.exec('BEGIN IMMEDIATE');
  try {
    // Read again under the write lock: another process may have migrated meanwhile.
    for (let v = version(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    }
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw new StorageError('(schema)', 'migrate', error, undefined, path);
  }
}
