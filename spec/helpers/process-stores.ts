/**
 * The durable stores of the specs that run workers in processes of their own (kill rounds): each
 * opened fresh for one spec, with the STORE string those processes open it from (see
 * spec/fixtures/open-store.ts) and the spec's own handle on it. MemoryStorage lives in one process,
 * so it is not among them.
 */
import { join } from 'node:path';
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { S3Storage } from '../../lib/storage/s3';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { startRgw } from './ceph-rgw';
import { freshSchema, PG_URL } from './postgres';
import { startS3, type S3Fixture } from './s3-server';
import { tempDir } from './temp-dir';

/** A store for worker processes, opened for one spec. */
export interface ProcessStore {
  /** What a worker process's STORE says. */
  readonly store: string;
  readonly storage: CheckpointStorage;
  /** An S3 server, slow on two cores: rounds may run fewer workflows there. */
  readonly s3: 's3rver' | 'rgw' | undefined;
  teardown(): Promise<void>;
}

/** The five providers by name (`label` names their directories, prefixes and buckets), and `close` for the s3rver they share. */
export function processStores(label: string): { readonly providers: readonly (readonly [string, () => Promise<ProcessStore>])[]; close(): Promise<void> } {
  let s3: S3Fixture | undefined;
  const providers: (readonly [string, () => Promise<ProcessStore>])[] = [
    [
      'FileStorage',
      async () => {
        const dir = await tempDir(`waymark-${label}-`);
        const root = join(dir.path, 'store');
        return { store: `file:${root}`, storage: new FileStorage({ directory: root }), s3: undefined, teardown: dir.remove };
      },
    ],
    [
      'SqliteStorage',
      async () => {
        const dir = await tempDir(`waymark-${label}-`);
        const path = join(dir.path, 'waymark.db');
        const storage = new SqliteStorage({ path });
        const teardown = async () => {
          await storage.close();
          await dir.remove();
        };
        return { store: `sqlite:${path}`, storage, s3: undefined, teardown };
      },
    ],
    [
      'S3Storage',
      async () => {
        s3 ??= await startS3();
        const prefix = `${label}-${Date.now()}`;
        return { store: `s3:${s3.endpoint}|${s3.bucket}|${prefix}`, storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix }), s3: 's3rver', teardown: async () => undefined };
      },
    ],
    [
      'S3Storage on Ceph',
      async () => {
        const rgw = await startRgw();
        const bucket = await rgw.bucket();
        return { store: `s3:${rgw.endpoint}|${bucket}|${label}|rgw`, storage: new S3Storage({ client: rgw.client(), bucket, prefix: label }), s3: 'rgw', teardown: async () => undefined };
      },
    ],
    [
      'PostgresStorage',
      async () => {
        const pg = await freshSchema();
        return { store: `postgres:${PG_URL}|${pg.schema}`, storage: pg.storage, s3: undefined, teardown: pg.drop };
      },
    ],
  ];
  return { providers, close: async () => s3?.close() };
}
