/**
 * A real Redis for the specs: `REDIS_URL`, else the machine's server at 127.0.0.1:6379, else a
 * `redis-server` from the PATH started on a free port (stopped when the specs' process exits).
 * When none of these answers the specs fail, saying what to install; they never skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';

/** Where the specs' Redis is. */
export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
let found: Promise<RedisTarget> | undefined;
let own: ChildProcess | undefined;

function parse(url: string): RedisTarget {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
}

async function answers(target: RedisTarget): Promise<boolean> {
  const client = new IORedis({ ...target, lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function startOwn(): Promise<RedisTarget> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(new Error(`no Redis answered at ${process.env.REDIS_URL ?? DEFAULT_URL}, and redis-server could not be started (${error.message}): install Redis (Debian: apt-get install redis-server) or set REDIS_URL`)),
    ),
  );
  own = child;
  process.once('exit', () => own?.kill('SIGKILL'));
  const target = { host: '127.0.0.1', port, db: 0 };
  for (let i = 0; i < 100; i++) {
    if (await Promise.race([answers(target), failed])) return target;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server started on port ${port} but did not answer PING in 5 s`);
}

/** The specs' Redis: found (or started) once per process. */
export function redisTarget(): Promise<RedisTarget> {
  return (found ??= (async () => {
    const url = process.env.REDIS_URL;
    const target = parse(url ?? DEFAULT_URL);
    if (await answers(target)) return target;
    if (url !== undefined) throw new Error(`no Redis answered at REDIS_URL=${url}: start it, or unset REDIS_URL to use 127.0.0.1:6379 or a redis-server of the specs' own`);
    return startOwn();
  })());
}

/** A queue name of the spec's own (BullMQ names take no ':'). */
export function queueName(what: string): string {
  return `wm-${what}-${randomBytes(4).toString('hex')}`;
}

/** Removes every key of a spec's queue. */
export async function dropQueue(target: RedisTarget, name: string): Promise<void> {
  const queue = new Queue(name, { connection: target });
  await queue.obliterate({ force: true });
  await queue.close();
}
