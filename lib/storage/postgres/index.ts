/**
 * `waymark/postgres`: PostgreSQL storage. Import it only where you use it. `pg` is an optional peer
 * dependency: the storage takes your Pool, and never loads `pg` itself.
 */
export { PostgresStorage, type PostgresRetryOptions, type PostgresStorageOptions } from './postgres-storage';
export { SCHEMA_VERSION, type PgPool, type PgQueryable } from './postgres-schema';
