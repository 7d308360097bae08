/**
 * `--store file:<dir>`, `--store sqlite:<file>`, `--store s3://<bucket>/<prefix>` or `--store postgres://...` to a storage
 * provider. The S3 client is configured by the standard AWS environment (region, credentials,
 * `AWS_ENDPOINT_URL_S3`); a custom endpoint implies path-style addressing, as S3-compatible servers
 * expect. A PostgreSQL URL is a `pg` connection string; its `schema` parameter names waymark's schema
 * (default `waymark`), and `pg` must be installed.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidOptionError } from '../errors';
import type { CheckpointStorage } from '../storage/checkpoint-storage';
import { FileStorage } from '../storage/file/file-storage';
import { UsageError } from './args';

/** Opens the store `spec` names. A `file:` directory must exist: a typo is an error, never an empty store. */
export async function openStore(spec: string | undefined): Promise<CheckpointStorage> {
  if (spec === undefined) throw new UsageError('--store is required (file:<dir>, sqlite:<file>, s3://<bucket>/<prefix> or postgres://<user>@<host>/<database>[?schema=<name>])');
  if (spec.startsWith('file:')) {
    const directory = spec.slice('file:'.length);
    if (directory === '') throw new UsageError('--store file: needs a directory, e.g. file:.waymark');
    const found = await stat(directory).catch(() => undefined);
    if (!found?.isDirectory()) throw new InvalidOptionError('--store', spec, `an existing directory (${resolve(directory)} ${found ? 'is not a directory' : 'does not exist'})`);
    return new FileStorage({ directory });
  }
  if (spec.startsWith('sqlite:')) {
    const path = spec.slice('sqlite:'.length);
    if (path === '') throw new UsageError('--store sqlite: needs a database file, e.g. sqlite:./waymark.db');
    // An existing database only: a typo is an error, never an empty store.
    const found = await stat(path).catch(() => undefined);
    if (!found?.isFile()) throw new InvalidOptionError('--store', spec, `an existing SQLite database file (${resolve(path)} ${found ? 'is not a file' : 'does not exist'})`);
    const { SqliteStorage } = await import('../storage/sqlite');
    return new SqliteStorage({ path });
  }
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(spec);
  if (s3) {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const { S3Storage } = await import('../storage/s3');
    const customEndpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    const client = new S3Client(customEndpoint ? { forcePathStyle: true } : {});
    return new S3Storage({ client, bucket: s3[1], prefix: s3[2] });
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    const url = new URL(spec);
    const schema = url.searchParams.get('schema') ?? undefined;
    url.searchParams.delete('schema');
    const { Pool } = await loadPg();
    const { PostgresStorage } = await import('../storage/postgres');
    // The command's process ends when its work does: idle connections do not hold it open.
    const pool = new Pool({ connectionString: url.toString(), max: 4, allowExitOnIdle: true });
    pool.on('error', () => undefined);
    return new PostgresStorage({ pool, schema });
  }
  throw new UsageError(`--store '${spec}' is not file:<dir>, sqlite:<file>, s3://<bucket>/<prefix> or postgres://<user>@<host>/<database>[?schema=<name>]`);
}

/** `pg`, an optional peer dependency: a clear error when it is not installed. */
async function loadPg(): Promise<typeof import('pg')> {
  try {
    return await import('pg');
  } catch {
    throw new UsageError('--store postgres:// needs the pg package: npm install pg');
  }
}
