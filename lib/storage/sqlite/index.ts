/** `SqliteStorage`: the one-machine store, on the SQLite built into Node. */
export { SqliteStorage, type SqliteStorageOptions } from './sqlite-storage';
