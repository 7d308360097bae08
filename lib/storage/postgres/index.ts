/**
 * `waymark/postgres`: PostgreSQL storage. Import it only where you use it. `pg` is an optional peer
 * dependency: the storage takes your Pool, and never loads `pg` itself.
 */
import { assertSupportedNode } from '../../node-version';

// Loading waymark on a Node.js it does not support fails here, saying which it needs.
assertSupportedNode();

export { PostgresStorage, type PostgresRetryOptions, type PostgresStorageOptions } from './postgres-storage';
export { SCHEMA_VERSION, type PgPool, type PgQueryable } from './postgres-schema';
