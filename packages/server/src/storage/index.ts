// The storage facade: repositories returning domain records, plus an explicit transaction(fn).
import type { Kysely } from 'kysely';
import { migrate, openDatabase, type DatabaseOptions } from './database.js';
import { createRepositories, type Repositories, type RepositoryOptions } from './repositories/index.js';
import type { Database } from './schema.js';

export * from './repositories/index.js';
export type * from './records.js';
export { isUniqueViolation } from './errors.js';
export { describeDatabaseUrl } from './database.js';

export interface Storage extends Repositories {
  /** The query builder, for maintenance code and tests that need SQL of their own. */
  readonly db: Kysely<Database>;
  /** What createRepositories needs for another executor of this database (the sealer). */
  readonly repositoryOptions: RepositoryOptions;
  /** Runs fn in one database transaction; it commits when fn resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** PostgreSQL pool connections and waiting requests, for the metrics; undefined on SQLite. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined;
}

/** Opens (and, unless told not to, migrates) the database; `options` are the pool's timeouts and size,
 * and the sealer of secrets at rest. */
export async function openStorage(
  url: string,
  options: Partial<DatabaseOptions> & RepositoryOptions & { migrate?: boolean } = {},
): Promise<Storage> {
  const { migrate: runMigrations, sealer, ...databaseOptions } = options;
  const repositoryOptions: RepositoryOptions = { sealer };
  const opened = openDatabase(url, databaseOptions);
  try {
    if (runMigrations !== false) await migrate(opened.db);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return {
    ...createRepositories(opened.db, repositoryOptions),
    db: opened.db,
    repositoryOptions,
    transaction: (fn) => opened.db.transaction().execute((trx) => fn(createRepositories(trx, repositoryOptions))),
    close: opened.close,
    poolStats: () => opened.poolStats?.(),
  };
}
