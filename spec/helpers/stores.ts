/**
 * Every durable store and MemoryStorage, each opened fresh for one spec and closed after: for specs
 * that prove one behaviour on every provider.
 */
import type { CheckpointStorage } from '../../lib/storage/checkpoint-storage';
import { FileStorage } from '../../lib/storage/file/file-storage';
import { MemoryStorage } from '../../lib/storage/memory-storage';
import { S3Storage } from '../../lib/storage/s3';
import { SqliteStorage } from '../../lib/storage/sqlite';
import { join } from 'node:path';
import { freshSchema } from './postgres';
import { startS3 } from './s3-server';
import { tempDir } from './temp-dir';

/** A store opened for one spec, and how to close it. */
export interface OpenStore {
  readonly storage: CheckpointStorage;
  close(): Promise<void>;
}

/** The four providers by name, each opening a store of its own (a temp directory, an S3 prefix, a PostgreSQL schema) named after `label`. */
export function everyStore(label: string): readonly (readonly [string, () => Promise<OpenStore>])[] {
  return [
    ['MemoryStorage', async () => ({ storage: new MemoryStorage(), close: async () => undefined })],
    [
      'FileStorage',
      async () => {
        const dir = await tempDir(`waymark-${label}-`);
        return { storage: new FileStorage({ directory: dir.path }), close: dir.remove };
      },
    ],
    [
      'SqliteStorage',
      async () => {
        const dir = await tempDir(`waymark-${label}-`);
        const storage = new SqliteStorage({ path: join(dir.path, 'waymark.db') });
        return {
          storage,
          close: async () => {
            await storage.close();
            await dir.remove();
          },
        };
      },
    ],
    [
      'S3Storage',
      async () => {
        const s3 = await startS3();
        return { storage: new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix: label }), close: s3.close };
      },
    ],
    [
      'PostgresStorage',
      async () => {
        const pg = await freshSchema();
        return { storage: pg.storage, close: pg.drop };
      },
    ],
  ];
}
