/**
 * How PostgreSQL tells that a lease's owner died: while a PostgresStorage holds leases, it keeps one
 * session of its own holding a session-level advisory lock on a random key, and stamps that key on
 * each lease it takes. A process that dies loses its session, the database drops the lock with it,
 * and any other process sees at once that the lease's owner is gone (`pg_locks`), long before the
 * lease expires. The session is a connection of its own, outside the pool (so the pool's `max` and
 * `end()` are untouched); it closes a few seconds after the last lease is given back.
 */
import { randomInt } from 'node:crypto';
import type { PgPool } from './postgres-schema';

/** The session's key: the two int4 halves of a `pg_advisory_lock(int4, int4)`. */
export type PresenceKey = readonly [number, number];

/** What a standalone connection needs: a `pg` Client made from the pool's own class and options. */
interface PgSession {
  connect(): Promise<unknown>;
  query(text: string, values?: readonly unknown[]): Promise<unknown>;
  end(): Promise<void>;
  on(event: 'error' | 'end', listener: () => void): unknown;
  readonly connection?: { readonly stream?: { unref?: () => void } };
}

/** How soon a lost session is opened again while leases are held. */
const REOPEN_MS = 250;
/** How long the session stays open after the last lease was given back. */
const IDLE_CLOSE_MS = 5_000;

/**
 * SQL: true when the session of key (`a`, `b`) no longer holds its advisory lock (the owner died).
 * A lease without a key (taken by a pool that cannot open sessions, or by waymark 0.2) is never dead
 * by this test: it waits for its expiry.
 */
export function ownerGone(a: string, b: string): string {
  return `(${a} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_locks p WHERE p.locktype = 'advisory' AND p.objsubid = 2 AND p.granted AND p.classid = ${a}::oid AND p.objid = ${b}::oid))`;
}

/** The presence session of one PostgresStorage. */
export class Presence {
  private session?: Promise<{ client: PgSession; key: PresenceKey } | undefined>;
  private readonly leases = new Set<string>();
  private idle?: NodeJS.Timeout;
  /** Counts sessions opened: a session that ends forgets itself only if it is still the current one. */
  private generation = 0;

  /**
   * `restamp` writes a new key on the leases (by token) still held when a session was lost and a new
   * one opened: until then others may take them over (a database restart); after, they are ours again.
   */
  constructor(
    private readonly pool: PgPool,
    private readonly restamp: (key: PresenceKey, tokens: readonly string[]) => Promise<void>,
  ) {}

  /**
   * The key to stamp on a lease about to be taken, opening the session if needed; undefined where
   * the pool cannot open a connection of its own or the session cannot be had (the lease then
   * waits for its expiry, as before).
   */
  async key(): Promise<PresenceKey | undefined> {
    clearTimeout(this.idle);
    this.session ??= this.open();
    return (await this.session)?.key;
  }

  /** A lease stamped with the key is held now. */
  held(token: string): void {
    this.leases.add(token);
  }

  /** A lease was given back (or lost): the session closes once none is held for a while. */
  released(token: string): void {
    this.leases.delete(token);
    if (this.leases.size > 0 || this.session === undefined) return;
    clearTimeout(this.idle);
    this.idle = setTimeout(() => void this.close(), IDLE_CLOSE_MS);
    this.idle.unref();
  }

  /** Closes the session now (its leases then read as their owner's: gone). */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    const session = this.session;
    this.session = undefined;
    this.generation++;
    const open = await session;
    await open?.client.end().catch(() => undefined);
  }

  private reopenSoon(): void {
    const timer = setTimeout(() => {
      if (this.leases.size === 0 || this.session !== undefined) return;
      void this.key().then(
        async (key) => {
          if (key === undefined) return this.reopenSoon();
          await this.restamp(key, [...this.leases]).catch(() => undefined);
        },
        () => this.reopenSoon(),
      );
    }, REOPEN_MS);
    timer.unref();
  }

  private async open(): Promise<{ client: PgSession; key: PresenceKey } | undefined> {
    const { Client, options } = this.pool as unknown as { Client?: new (options: unknown) => PgSession; options?: unknown };
    if (typeof Client !== 'function') return undefined;
    const client = new Client(options);
    const generation = ++this.generation;
    const gone = () => {
      // A session lost (the network, a restart) makes every lease stamped with its key read as
      // dead. A new session is opened at once for the leases still held, and they are stamped with
      // its key; meanwhile others may take them over (the runs holding them are then fenced).
      if (this.generation !== generation) return;
      this.session = undefined;
      if (this.leases.size > 0) this.reopenSoon();
    };
    client.on('error', gone);
    client.on('end', gone);
    try {
      await client.connect();
      const key: PresenceKey = [randomInt(-2_147_483_648, 2_147_483_647), randomInt(-2_147_483_648, 2_147_483_647)];
      await client.query('SELECT pg_advisory_lock($1::int4, $2::int4)', [key[0], key[1]]);
      // Idle from now on: an open session must not keep the process alive once its work is done.
      client.connection?.stream?.unref?.();
      return { client, key };
    } catch {
      gone();
      await client.end().catch(() => undefined);
      return undefined;
    }
  }
}
