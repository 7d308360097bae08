/**
 * A real PostgreSQL for the specs: `WAYMARK_PG_URL`, else the machine's server at 127.0.0.1:5432
 * (user postgres, database test). Each caller gets a schema of its own, dropped at teardown. When
 * nothing answers the specs fail, saying what to start or set; they never skip.
 */
import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { PostgresStorage } from '../../lib/storage/postgres';

export const PG_URL = process.env.WAYMARK_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A pool on the specs' server and a fresh, migrated schema in it. */
export interface PgFixture {
  readonly pool: Pool;
  readonly schema: string;
  readonly storage: PostgresStorage;
  /** Another storage on the same schema, as a second process would open it. */
  open(): PostgresStorage;
  drop(): Promise<void>;
}

let checked: Promise<void> | undefined;

async function reachable(): Promise<void> {
  const probe = new Pool({ connectionString: PG_URL, max: 1, connectionTimeoutMillis: 5_000 });
  try {
    await probe.query('SELECT 1');
  } catch (error) {
    throw new Error(
      `no PostgreSQL answered at ${PG_URL} (${error instanceof Error ? error.message : String(error)}). ` +
        'Start one (Debian: apt-get install postgresql; trust auth for user postgres, database test) or set WAYMARK_PG_URL to a server the specs may create schemas in.',
    );
  } finally {
    await probe.end();
  }
}

/** A fresh schema `wm_<random>` on the specs' server, migrated. */
export async function freshSchema(max = 10): Promise<PgFixture> {
  await (checked ??= reachable());
  const pool = new Pool({ connectionString: PG_URL, max });
  // pg emits 'error' for an idle client whose connection died (the fault specs kill some): the pool drops it.
  pool.on('error', () => undefined);
  const schema = `wm_${randomBytes(6).toString('hex')}`;
  const storage = new PostgresStorage({ pool, schema });
  await storage.migrate();
  // Each storage that held leases keeps a session of its own for a few seconds: closed at drop.
  const opened = [storage];
  return {
    pool,
    schema,
    storage,
    open: () => {
      const another = new PostgresStorage({ pool, schema });
      opened.push(another);
      return another;
    },
    drop: async () => {
      await Promise.all(opened.map((s) => s.close()));
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}
