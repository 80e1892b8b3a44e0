// The storage facade: repositories returning domain records, plus an explicit transaction(fn).
import type { Kysely } from 'kysely';
import { migrate, openDatabase, type DatabaseOptions } from './database.js';
import { createRepositories, type Repositories } from './repositories/index.js';
import type { Database } from './schema.js';

export * from './repositories/index.js';
export type * from './records.js';
export { isUniqueViolation } from './errors.js';
export { describeDatabaseUrl } from './database.js';

export interface Storage extends Repositories {
  /** The query builder, for maintenance code and tests that need SQL of their own. */
  readonly db: Kysely<Database>;
  /** Runs fn in one database transaction; it commits when fn resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens (and, unless told not to, migrates) the database; `options` are the pool's timeouts and size. */
export async function openStorage(url: string, options: Partial<DatabaseOptions> & { migrate?: boolean } = {}): Promise<Storage> {
  const { migrate: runMigrations, ...databaseOptions } = options;
  const opened = openDatabase(url, databaseOptions);
  try {
    if (runMigrations !== false) await migrate(opened.db);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return {
    ...createRepositories(opened.db),
    db: opened.db,
    transaction: (fn) => opened.db.transaction().execute((trx) => fn(createRepositories(trx))),
    close: opened.close,
  };
}
