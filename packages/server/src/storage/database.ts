// Opens the database named by a URL: `sqlite:PATH` (embedded default, WAL) or `postgres://…`.
//
// Both drivers are wrapped so that a database that is down, slow, locked or refusing connections
// costs a request a bounded wait and then a StorageUnavailableError (→ 503), never a hang, a 500 or a
// crashed process (SECURITY-CHECKLIST R1, R6, R7):
// - PostgreSQL: every pooled client has an 'error' listener for its whole life (pg emits 'error' on a
//   checked-out client whose connection dies, and an unheard 'error' event ends the process); a client
//   that saw a connection-level failure or a client-side timeout is destroyed on release, never reused;
//   a failed ROLLBACK never replaces the error that caused it; statements have a server-side
//   statement_timeout and a client-side read timeout; acquiring a connection has a timeout and the
//   queue of waiters is bounded. The pool replaces lost connections by itself.
// - SQLite: one connection behind a bounded, timed queue; write transactions are BEGIN IMMEDIATE
//   (taken before anything is read, so a transaction never has to upgrade its lock); while another
//   process holds the write lock, the wait is a short synchronous busy_timeout plus asynchronous
//   retries that free the event loop (and the connection, when no transaction is open), bounded by
//   the acquire timeout.
// Migrations and other once-per-cluster decisions run under one database lock (`exclusively`).
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  PostgresDriver,
  SqliteDialect,
  sql,
  type DatabaseConnection,
  type Driver,
  type PostgresPool,
  type PostgresPoolClient,
  type QueryResult,
  type Transaction,
} from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider, migrations } from './migrations.js';
import { breaksConnection, StorageUnavailableError } from './errors.js';

export type Dialect = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
  /** PostgreSQL: the pool's connections (total, idle) and the requests waiting for one; SQLite: none. */
  poolStats?: () => { total: number; idle: number; waiting: number };
}

export interface DatabaseOptions {
  /** Longest a statement may run (PostgreSQL statement_timeout; the client gives up a second later). */
  statementTimeout: number;
  /** Longest a request waits for a connection (pool checkout, connect, or SQLite's write lock). */
  acquireTimeout: number;
  /** PostgreSQL pool size per process. */
  poolSize: number;
  /** Requests allowed to wait for a connection at once; beyond that, StorageUnavailableError at once. */
  maxWaiting: number;
  /** Told about connection errors that were handled (for logging). */
  onConnectionError?: (error: unknown) => void;
}

/** Defaults in milliseconds; the server passes its configuration (databaseStatementTimeout, …). */
export const DEFAULT_DATABASE_OPTIONS: Readonly<DatabaseOptions> = Object.freeze({
  statementTimeout: 5000,
  acquireTimeout: 3000,
  poolSize: 10,
  maxWaiting: 200,
});

// PostgreSQL returns int8 as strings by default; our epoch-second columns fit a JS number exactly.
pg.types.setTypeParser(20, (value: string) => Number(value));

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// A request's deadline for the database. Per-statement and per-acquire timeouts bound one wait;
// a request makes several round trips, so the HTTP layer also gives each request a deadline
// (runWithDatabaseDeadline, health/request-deadline.ts) and every wait inside it is cut to what is
// left: a database that answers every round trip slowly costs a request at most its deadline.

const requestScope = new AsyncLocalStorage<{ deadline: number }>();

/** Runs fn (and everything it starts) with a deadline (epoch ms) for every database wait. */
export function runWithDatabaseDeadline<T>(deadline: number, fn: () => T): T {
  return requestScope.run({ deadline }, fn);
}

/** Milliseconds left for the current request, or undefined outside a request; throws when none are left. */
function timeLeft(): number | undefined {
  const scope = requestScope.getStore();
  if (!scope) return undefined;
  const left = scope.deadline - Date.now();
  if (left <= 0) throw new StorageUnavailableError('the request ran out of time waiting for the database');
  return left;
}

/** The smaller of `ms` and the time left to the current request. */
function bounded(ms: number): number {
  const left = timeLeft();
  return left === undefined ? ms : Math.max(1, Math.min(ms, left));
}

/**
 * KP-01: the database URL as it may be logged or printed: the scheme, host (and port) and database
 * name only — never a user, password or query parameter (`?password=`, `sslkey=` …). The URL is parsed,
 * not pattern-matched; what does not parse is not echoed at all.
 */
export function describeDatabaseUrl(url: string): string {
  if (url.startsWith('sqlite:')) return url.split('?')[0]!;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(a database URL that does not parse)';
  }
  const name = decodeURIComponent(parsed.pathname.replace(/^\/+/, '').split('/')[0] ?? '');
  const host = parsed.host || '(default host)';
  return `${parsed.protocol}//${host}/${name}`;
}

export function openDatabase(url: string, options: Partial<DatabaseOptions> = {}): OpenedDatabase {
  const opts: DatabaseOptions = { ...DEFAULT_DATABASE_OPTIONS, ...options };
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), opts);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgres(url, opts);
  throw new Error(`unsupported database URL ${describeDatabaseUrl(url)}: use sqlite:PATH or postgres://…`);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/** A checked-out client that remembers whether its connection can still be trusted. */
class GuardedClient {
  private broken: unknown;
  private released = false;
  constructor(
    private readonly client: pg.PoolClient,
    private readonly brokenClients: WeakSet<pg.PoolClient>,
    private readonly readTimeout: number,
  ) {}

  query(text: string, parameters: readonly unknown[]): Promise<pg.QueryResult> {
    let timeout: number;
    try {
      timeout = bounded(this.readTimeout);
    } catch (error) {
      // Out of time: nothing is sent. The session may be inside a transaction (this may be its
      // COMMIT or ROLLBACK), so it is destroyed on release and PostgreSQL rolls back.
      this.broken = error;
      return Promise.reject(error);
    }
    return this.client.query({ text, values: [...parameters], query_timeout: timeout } as pg.QueryConfig).catch((error: unknown) => {
      // A failed ROLLBACK leaves the session in an unknown state: never hand it out again.
      if (breaksConnection(error) || /^\s*rollback\b/i.test(text)) this.broken = error;
      throw error;
    });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const destroy = this.broken !== undefined || this.brokenClients.has(this.client);
    // pg-pool destroys a client released with an error instead of returning it to the idle list.
    this.client.release(destroy ? (this.broken instanceof Error ? this.broken : true) : undefined);
  }
}

/** Kysely's driver with one change: a ROLLBACK that fails (the connection is gone) never hides the original error. */
class GuardedPostgresDriver extends PostgresDriver {
  override async rollbackTransaction(connection: Parameters<PostgresDriver['rollbackTransaction']>[0]): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } catch {
      // The session is unusable (GuardedClient destroys it on release) and PostgreSQL rolls back the
      // open transaction of a session that ends. The caller sees the error that made us roll back.
    }
  }
}

class GuardedPostgresDialect extends PostgresDialect {
  constructor(private readonly guardedPool: PostgresPool) {
    super({ pool: guardedPool });
  }
  override createDriver(): Driver {
    return new GuardedPostgresDriver({ pool: this.guardedPool });
  }
}

function openPostgres(url: string, opts: DatabaseOptions): OpenedDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize,
    // pg-pool applies this both to waiting in its queue and to establishing a new connection.
    connectionTimeoutMillis: opts.acquireTimeout,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: 'gatehouse',
    // Server side: a statement running longer is cancelled (the connection stays usable).
    statement_timeout: opts.statementTimeout,
    // A transaction left open by a client that went silent (a paused network) releases its locks.
    idle_in_transaction_session_timeout: Math.max(opts.statementTimeout * 2, 10_000),
    // Client side: a server that does not answer at all (paused, black-holed) still ends the wait.
    query_timeout: opts.statementTimeout + 1000,
  });
  const brokenClients = new WeakSet<pg.PoolClient>();
  // An idle client that loses its connection: pg-pool removes it and re-emits the error on the pool,
  // which must have a listener (the client's own listener below reports it).
  pool.on('error', () => undefined);
  // A checked-out client that loses its connection emits 'error' too, and pg-pool listens only while
  // the client is idle: without this listener that event ends the process (issue 12, item 1).
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      brokenClients.add(client);
      opts.onConnectionError?.(error);
    });
  });
  const guarded: PostgresPool = {
    async connect() {
      if (pool.waitingCount >= opts.maxWaiting) {
        throw new StorageUnavailableError(`${pool.waitingCount} requests are already waiting for a database connection`);
      }
      const wait = bounded(opts.acquireTimeout);
      const connecting = pool.connect();
      let timer: NodeJS.Timeout | undefined;
      const client =
        wait >= opts.acquireTimeout
          ? await connecting
          : await Promise.race([
              connecting,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => {
                  // The request gives up; the connection, when it comes, goes back to the pool.
                  connecting.then(
                    (c) => c.release(),
                    () => undefined,
                  );
                  reject(new StorageUnavailableError('the request ran out of time waiting for a database connection'));
                }, wait);
              }),
            ]).finally(() => clearTimeout(timer));
      return new GuardedClient(client, brokenClients, opts.statementTimeout + 1000) as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
  const db = new Kysely<Database>({ dialect: new GuardedPostgresDialect(guarded) });
  return {
    db,
    dialect: 'postgres',
    close: () => db.destroy(),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
  };
}

// ---------------------------------------------------------------------------------------------
// SQLite

/**
 * SQLite's own busy wait is synchronous: it would stop the whole process for as long as another
 * process holds the lock (and a dozen waiting requests multiply that). So SQLite never waits
 * (busy_timeout 0); a busy statement is retried asynchronously with a short backoff instead.
 */
const SQLITE_BUSY_TIMEOUT = 0;

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** The one SQLite connection is handed out to one user at a time; waiting is bounded in time and count. */
class ConnectionGate {
  private held = false;
  private readonly waiters: { resolve: () => void; timer: NodeJS.Timeout }[] = [];
  constructor(
    private readonly timeoutMs: number,
    private readonly maxWaiting: number,
  ) {}

  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.maxWaiting) {
      return Promise.reject(new StorageUnavailableError(`${this.waiters.length} requests are already waiting for the database`));
    }
    let wait: number;
    try {
      wait = bounded(this.timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new StorageUnavailableError(`no database connection within ${wait} ms`));
        }, wait),
      };
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.resolve();
    } else {
      this.held = false;
    }
  }
}

interface SqliteHandle {
  sqlite: SQLite.Database;
  prepare(sql: string): SQLite.Statement;
}

/**
 * Kysely's SQLite driver prepares every query anew; the hot paths run the same few statements, so
 * each SQL text is prepared once and its statement reused (better-sqlite3 statements are reusable,
 * and every call runs to completion synchronously). Bounded, so generated SQL cannot grow it forever.
 */
function withStatementCache(sqlite: SQLite.Database, limit = 500): SqliteHandle {
  const cache = new Map<string, SQLite.Statement>();
  return {
    sqlite,
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = sqlite.prepare(text);
        if (cache.size >= limit) cache.delete(cache.keys().next().value as string);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** One use of the connection (Kysely acquires, queries, releases); it may let go of the gate while it waits. */
class SqliteLease implements DatabaseConnection {
  holdsGate = true;
  constructor(
    private readonly handle: SqliteHandle,
    private readonly gate: ConnectionGate,
    private readonly opts: DatabaseOptions,
  ) {}

  private runOnce(query: CompiledQuery): QueryResult<unknown> {
    const stmt = this.handle.prepare(query.sql);
    const parameters = query.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(parameters) };
    const { changes, lastInsertRowid } = stmt.run(parameters);
    return {
      numAffectedRows: changes === undefined || changes === null ? undefined : BigInt(changes),
      insertId: lastInsertRowid === undefined || lastInsertRowid === null ? undefined : BigInt(lastInsertRowid),
      rows: [],
    };
  }

  /** Runs a statement; while the database is locked by another process, retries asynchronously until `budget` ms. */
  async run(query: CompiledQuery, budget: number): Promise<QueryResult<unknown>> {
    // Inside a transaction statements run to the end (they are synchronous and short, and a ROLLBACK
    // must never be skipped); the request's deadline bounds the waits before one: BEGIN, autocommit.
    const deadline = Date.now() + (this.handle.sqlite.inTransaction ? budget : bounded(budget));
    for (let attempt = 0; ; attempt++) {
      try {
        return this.runOnce(query);
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (Date.now() >= deadline) throw new StorageUnavailableError('the SQLite database is locked by another process', { cause: error });
        // Outside a transaction nothing ties us to the connection: let other requests use it meanwhile.
        const letGo = !this.handle.sqlite.inTransaction;
        if (letGo) {
          this.holdsGate = false;
          this.gate.release();
        }
        await sleep(Math.min(2 * 2 ** attempt, 50) * (0.5 + Math.random() / 2));
        if (letGo) {
          await this.gate.acquire();
          this.holdsGate = true;
        }
      }
    }
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.run(query, this.opts.acquireTimeout) as Promise<QueryResult<R>>;
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not used by Gatehouse');
  }
}

class GatehouseSqliteDriver implements Driver {
  private readonly gate: ConnectionGate;
  constructor(
    private readonly handle: SqliteHandle,
    private readonly opts: DatabaseOptions,
  ) {
    this.gate = new ConnectionGate(opts.acquireTimeout, opts.maxWaiting);
  }
  async init(): Promise<void> {}
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.gate.acquire();
    return new SqliteLease(this.handle, this.gate, this.opts);
  }
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // IMMEDIATE: the write lock is taken now, before anything is read, so two transactions never
    // deadlock on upgrading their locks and a locked database is found out before any work is done.
    await (connection as SqliteLease).run(CompiledQuery.raw('begin immediate'), this.opts.acquireTimeout);
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // SQLite may already have rolled back by itself (SQLITE_FULL, SQLITE_IOERR, …); a failed
    // ROLLBACK must not replace the error that caused it.
    if (!this.handle.sqlite.inTransaction) return;
    try {
      await connection.executeQuery(CompiledQuery.raw('rollback'));
    } catch {
      // nothing more to do: the caller sees the original error
    }
  }
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const lease = connection as SqliteLease;
    if (lease.holdsGate) {
      lease.holdsGate = false;
      this.gate.release();
    }
  }
  async destroy(): Promise<void> {
    this.handle.sqlite.close();
  }
}

class GatehouseSqliteDialect extends SqliteDialect {
  constructor(
    private readonly handle: SqliteHandle,
    private readonly opts: DatabaseOptions,
  ) {
    super({ database: { close: () => handle.sqlite.close(), prepare: (s: string) => handle.prepare(s) } });
  }
  override createDriver(): Driver {
    return new GatehouseSqliteDriver(this.handle, this.opts);
  }
}

/** KP-01: creates the directory (0700) and the empty database file (0600) before SQLite opens it. */
export function prepareSqliteFile(path: string): void {
  mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, fsConstants.O_CREAT | fsConstants.O_RDWR, 0o600));
  // The umask may only have removed bits; an existing file may have been wider.
  chmodSync(path, 0o600);
}

function openSqlite(path: string, opts: DatabaseOptions): OpenedDatabase {
  if (path.length === 0) throw new Error('the database URL sqlite: needs a path, e.g. sqlite:./data/gatehouse.db or sqlite::memory:');
  const memory = path === ':memory:';
  // KP-01: the file holds password hashes and signing keys, so it is owner-only from its first byte:
  // directories we create are 0700, and the file is created empty with mode 0600 before SQLite opens
  // it (SQLite gives -wal and -shm the mode of the database file). A file that already exists is
  // set to 0600 as well; an existing directory is the operator's and is left as it is.
  if (!memory) prepareSqliteFile(path);
  const sqlite = new SQLite(memory ? ':memory:' : path, { timeout: SQLITE_BUSY_TIMEOUT });
  // Another process may hold the lock while we switch to WAL (nodes started together): retry briefly.
  const deadline = Date.now() + Math.max(opts.acquireTimeout, 10_000);
  for (;;) {
    try {
      sqlite.pragma('journal_mode = WAL');
      break;
    } catch (error) {
      if (!isBusy(error) || Date.now() > deadline) throw error;
      // Startup only, before anything else runs: a short synchronous pause before the next attempt.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT}`);
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new GatehouseSqliteDialect(withStatementCache(sqlite), opts) });
  return { db, dialect: 'sqlite', close: () => db.destroy() };
}

// ---------------------------------------------------------------------------------------------
// Decisions taken once for the cluster

function isPostgres(db: Kysely<Database>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** A stable 64-bit advisory lock key for a name. */
function lockKey(name: string): string {
  const hex = createHash('sha256').update(`gatehouse:${name}`).digest('hex').slice(0, 16);
  return BigInt.asIntN(64, BigInt(`0x${hex}`)).toString();
}

/** How long a node waits for another node's once-per-cluster decision (a migration, the first keys). */
const DECISION_WAIT = 60_000;

/**
 * Runs fn in one transaction that no other node runs at the same time: PostgreSQL takes a
 * transaction-scoped advisory lock (released by COMMIT or ROLLBACK, so it also works through
 * PgBouncer in transaction pooling); SQLite's BEGIN IMMEDIATE is already exclusive among writers.
 * A node that finds the lock taken waits (up to a minute) and then sees the winner's rows.
 */
export async function exclusively<T>(db: Kysely<Database>, name: string, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  const deadline = Date.now() + DECISION_WAIT;
  for (;;) {
    try {
      return await db.transaction().execute(async (trx) => {
        if (isPostgres(db)) {
          await sql`select set_config('statement_timeout', ${String(DECISION_WAIT)}, true)`.execute(trx);
          await sql`select pg_advisory_xact_lock(${lockKey(name)}::bigint)`.execute(trx);
        }
        return fn(trx);
      });
    } catch (error) {
      // SQLite: BEGIN IMMEDIATE gave up after the acquire timeout while another node held the lock.
      if (!(error instanceof StorageUnavailableError && isBusy(error.cause)) || Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

const MIGRATION_TABLE = 'gatehouse_migrations';

/**
 * Applies pending migrations, once for the cluster: the whole run is one transaction under the
 * cluster lock (PostgreSQL: advisory lock + transactional DDL; SQLite: BEGIN IMMEDIATE), so nodes
 * started together migrate once and the others find the schema current. Kysely's own migration
 * lock is taken inside that transaction too.
 */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const postgres = isPostgres(db);
  const deadline = Date.now() + DECISION_WAIT;
  const outcome = await db.connection().execute(async (conn) => {
    if (postgres) {
      await sql`begin`.execute(conn);
      await sql`select set_config('statement_timeout', ${String(DECISION_WAIT)}, true)`.execute(conn);
      await sql`select pg_advisory_xact_lock(${lockKey('migrations')}::bigint)`.execute(conn);
    } else {
      for (;;) {
        try {
          await sql`begin immediate`.execute(conn);
          break;
        } catch (error) {
          if (!(error instanceof StorageUnavailableError) || Date.now() > deadline) throw error;
        }
      }
    }
    let committed = false;
    try {
      const migrator = new Migrator({
        db: conn,
        provider: migrationProvider,
        disableTransactions: true,
        // Migrations are named by feature and touch separate tables; a development database that
        // applied a later-numbered one first still takes the others.
        allowUnorderedMigrations: true,
        migrationTableName: MIGRATION_TABLE,
        migrationLockTableName: 'gatehouse_migrations_lock',
      });
      const result = await migrator.migrateToLatest();
      if (!result.error) {
        await sql`commit`.execute(conn);
        committed = true;
      }
      return result;
    } finally {
      if (!committed) await sql`rollback`.execute(conn).catch(() => undefined);
    }
  });
  if (outcome.error) {
    const failed = outcome.results?.find((r) => r.status === 'Error');
    const error = outcome.error as Error;
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error.message ?? error)}`, { cause: error });
  }
}

/** Migrations this code knows that the database has not applied (readiness: "migrations current"). */
export async function pendingMigrations(db: Kysely<Database>): Promise<string[]> {
  const rows = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(db);
  const applied = new Set(rows.rows.map((r) => r.name));
  return Object.keys(migrations).filter((name) => !applied.has(name));
}

/** `probe`, or StorageUnavailableError after `timeoutMs` whatever the pool is doing. */
async function within<T>(probe: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StorageUnavailableError(`the database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  probe.catch(() => undefined);
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A round trip to the database, bounded by `timeoutMs` whatever the pool is doing. */
export async function ping(db: Kysely<Database>, timeoutMs: number): Promise<void> {
  await within(sql`select 1 as ok`.execute(db), timeoutMs);
}

/**
 * The database server's clock in epoch seconds (PostgreSQL `clock_timestamp()`, the time of the
 * statement itself), bounded by `timeoutMs`. null on SQLite: an embedded database has no clock of its
 * own (its date functions read this machine's clock), so there is nothing to disagree with.
 */
export async function databaseClock(db: Kysely<Database>, timeoutMs: number): Promise<number | null> {
  if (!isPostgres(db)) return null;
  const result = await within(sql<{ now: string | number }>`select extract(epoch from clock_timestamp()) as now`.execute(db), timeoutMs);
  const now = Number(result.rows[0]?.now);
  if (!Number.isFinite(now)) throw new Error('the database did not say what time it is');
  return now;
}
