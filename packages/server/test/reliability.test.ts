// Reliability in-process (issue 12; SECURITY-CHECKLIST R1, R6, R7, I5): what counts as "the database
// is unavailable", 503 instead of 500 for it (also when it is wrapped or hidden behind a failed
// ROLLBACK), the health probes, draining, the SQLite lock wait, and the new options. The multi-process
// scenarios are in test/faults (npm run test:faults).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../src/storage/schema.js';
import { isUnavailable, originalError, StorageUnavailableError } from '../src/storage/errors.js';
import { migrate, openDatabase, runWithDatabaseDeadline } from '../src/storage/database.js';
import { openStorage } from '../src/storage/index.js';
import { OAuthError } from '../src/oauth/errors.js';
import { loadConfig } from '../src/config/config.js';
import { startDraining } from '../src/health/health.js';
import { startServer, basic } from './helpers.js';

const err = (code: string | undefined, message = 'x') => Object.assign(new Error(message), code === undefined ? {} : { code });

describe('storage/errors.ts: what is "unavailable"', () => {
  const unavailable: [string, unknown][] = [
    ['53300 too many connections (CONNECTION LIMIT)', err('53300', 'too many connections for database "x"')],
    ['57P01 admin shutdown (pg_terminate_backend)', err('57P01', 'terminating connection due to administrator command')],
    ['57P02 crash shutdown', err('57P02')],
    ['57P03 cannot connect now (starting up)', err('57P03', 'the database system is starting up')],
    ['55000 not accepting connections', err('55000', 'database "x" is not currently accepting connections')],
    ['57014 statement timeout', err('57014', 'canceling statement due to statement timeout')],
    ['08006 connection failure', err('08006')],
    ['08001 cannot establish', err('08001')],
    ['08P01 protocol violation', err('08P01')],
    ['ECONNREFUSED', err('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432')],
    ['ECONNRESET', err('ECONNRESET')],
    ['ETIMEDOUT', err('ETIMEDOUT')],
    ['pg: Connection terminated unexpectedly', err(undefined, 'Connection terminated unexpectedly')],
    ['pg: not queryable (ROLLBACK on a dead client)', err(undefined, 'Client has encountered a connection error and is not queryable')],
    ['pg-pool: acquire timeout', err(undefined, 'timeout exceeded when trying to connect')],
    ['pg: Query read timeout', err(undefined, 'Query read timeout')],
    ['SQLITE_BUSY', err('SQLITE_BUSY', 'database is locked')],
    ['SQLITE_BUSY_SNAPSHOT', err('SQLITE_BUSY_SNAPSHOT')],
    ['SQLITE_LOCKED', err('SQLITE_LOCKED')],
    ['SQLITE_IOERR_WRITE', err('SQLITE_IOERR_WRITE', 'disk I/O error')],
    ['SQLITE_FULL', err('SQLITE_FULL')],
    ['StorageUnavailableError', new StorageUnavailableError('queue full')],
    ['wrapped in cause', new Error('request failed', { cause: err('57P01') })],
    ['wrapped twice', new Error('a', { cause: new Error('b', { cause: err('ECONNREFUSED') }) })],
    ['inside an AggregateError', new AggregateError([err('ECONNREFUSED'), err('ECONNREFUSED')], 'all addresses failed')],
  ];
  const notUnavailable: [string, unknown][] = [
    ['23505 unique violation', err('23505', 'duplicate key value')],
    ['42P01 undefined table', err('42P01', 'relation "x" does not exist')],
    ['22P02 invalid text representation', err('22P02')],
    ['SQLITE_CONSTRAINT_UNIQUE', err('SQLITE_CONSTRAINT_UNIQUE')],
    ['SQLITE_ERROR (a bug)', err('SQLITE_ERROR', 'no such column')],
    ['TypeError', new TypeError('x is undefined')],
    ['an OAuthError', new OAuthError('invalid_grant', 'nope')],
    ['null', null],
    ['a string', 'ECONNREFUSED'],
  ];
  for (const [name, e] of unavailable) test(`R1 unavailable: ${name}`, () => assert.equal(isUnavailable(e), true));
  for (const [name, e] of notUnavailable)
    test(`R1 not unavailable (stays a 500 or its own error): ${name}`, () => assert.equal(isUnavailable(e), false));

  test('originalError follows cause to the innermost error, and survives a cycle', () => {
    const inner = err('57P01');
    assert.equal(originalError(new Error('outer', { cause: new Error('mid', { cause: inner }) })), inner);
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    assert.ok(originalError(a) === a || originalError(a) === b);
    const plain = new Error('plain');
    assert.equal(originalError(plain), plain);
  });
});

describe('I5 the HTTP layer: database failures are 503 temporarily_unavailable with Retry-After, never 500', () => {
  const cases: [string, () => unknown, number][] = [
    ['a refused connection', () => err('ECONNREFUSED', 'connect ECONNREFUSED'), 503],
    ['too many connections', () => err('53300', 'too many connections for database'), 503],
    ['55000 not accepting connections', () => err('55000', 'database is not currently accepting connections'), 503],
    ['the ROLLBACK error of a dead client', () => err(undefined, 'Client has encountered a connection error and is not queryable'), 503],
    ['a wrapper whose cause is a terminated connection', () => new Error('something failed', { cause: err('57P01') }), 503],
    ['a bug', () => new TypeError('boom'), 500],
  ];
  for (const [name, make, status] of cases) {
    test(`I5 ${name} → ${status}`, async (t) => {
      const server = await startServer();
      t.after(() => server.close());
      const client = await server.createClient();
      server.deps.storage.clients.find = async () => {
        throw make();
      };
      const res = await server.app.inject({
        method: 'POST',
        url: '/token',
        payload: 'grant_type=client_credentials',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
      });
      assert.equal(res.statusCode, status);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = res.json() as { error: string };
      assert.equal(body.error, status === 503 ? 'temporarily_unavailable' : 'server_error');
      if (status === 503) assert.ok(res.headers['retry-after']);
      assert.doesNotMatch(res.body, /at .*\.js|ECONN|57P01|queryable/);
    });
  }
});

describe('health probes and draining', () => {
  test('/healthz answers 200 without the database; /readyz 200 with every check ok', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const live = await server.app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(live.statusCode, 200);
    assert.deepEqual(live.json(), { status: 'ok' });
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual((ready.json() as { checks: unknown }).checks, {
      draining: false,
      database: 'ok',
      migrations: 'ok',
      keys: 'ok',
      clock: 'ok (one clock: SQLite)',
    });
    assert.equal(ready.headers['cache-control'], 'no-store');
  });

  test('R1 /readyz fails (503, Retry-After) while a migration is missing and while the database is unreachable; /healthz still 200', async (t) => {
    const server = await startServer();
    t.after(() => server.close().catch(() => undefined));
    await sql`delete from gatehouse_migrations`.execute(server.deps.storage.db);
    const pending = await server.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(pending.statusCode, 503);
    assert.match((pending.json() as { checks: { migrations: string } }).checks.migrations, /^pending: 0001_initial/);
    await server.deps.storage.close();
    const down = await server.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(down.statusCode, 503);
    assert.equal((down.json() as { error: string }).error, 'temporarily_unavailable');
    assert.ok(down.headers['retry-after']);
    assert.equal((down.json() as { checks: { database: string } }).checks.database, 'unreachable');
    assert.equal((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });

  test('R1 the account, two-factor and admin pages answer a 503 page while the database is unreachable; the admin API refuses a bad token before asking it', async (t) => {
    const server = await startServer();
    t.after(() => server.close().catch(() => undefined));
    await server.deps.storage.close();
    const session = { cookie: `gatehouse.session=${randomBytes(32).toString('base64url')}` };
    for (const [url, headers] of [
      ['/account', session],
      ['/account/sign-in?return_to=/account', {}],
      ['/account/security', session],
      ['/admin', session],
      ['/admin/users', session],
    ] as const) {
      const res = await server.app.inject({ method: 'GET', url, headers });
      assert.equal(res.statusCode, 503, `${url}: ${res.body.slice(0, 200)}`);
      assert.match(String(res.headers['content-type']), /^text\/html/, url);
      assert.ok(res.headers['retry-after'], url);
    }
    const api = await server.app.inject({ method: 'GET', url: '/admin/api/users', headers: { authorization: 'Bearer not-a-token' } });
    assert.equal(api.statusCode, 401, api.body);
  });

  test('R6 while draining: requests get 503 temporarily_unavailable with Retry-After and Connection: close; /readyz 503; /healthz 200', async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    startDraining(server.app);
    const res = await server.app.inject({
      method: 'POST',
      url: '/token',
      payload: 'grant_type=client_credentials',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.statusCode, 503);
    assert.equal((res.json() as { error: string }).error, 'temporarily_unavailable');
    assert.ok(res.headers['retry-after']);
    assert.equal(res.headers.connection, 'close');
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.equal((ready.json() as { checks: { draining: boolean } }).checks.draining, true);
    assert.equal((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  });
});

describe('SQLite under a lock held by another process', () => {
  test('R1 R7 a write waits at most the acquire timeout, asynchronously (the event loop stays free), then StorageUnavailableError; reads go on', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'g.db');
    const opened = openDatabase(`sqlite:${file}`, { acquireTimeout: 400 });
    t.after(() => opened.close());
    await migrate(opened.db);
    const holder = new SQLite(file);
    holder.exec('BEGIN EXCLUSIVE');
    holder.prepare('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)').run('held', 1);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    const started = Date.now();
    const write = opened.db
      .transaction()
      .execute((trx) => trx.insertInto('revoked_access_tokens').values({ jti: 'mine', expires_at: 2 }).execute());
    const read = opened.db.selectFrom('revoked_access_tokens').selectAll().execute();
    await assert.rejects(write, (e: unknown) => e instanceof StorageUnavailableError && isUnavailable(e));
    const waited = Date.now() - started;
    clearInterval(ticker);
    assert.deepEqual(await read, []);
    holder.exec('ROLLBACK');
    holder.close();
    assert.ok(waited >= 350 && waited < 1500, `waited ${waited} ms`);
    assert.ok(ticks >= Math.floor(waited / 20) / 2, `only ${ticks} timer ticks in ${waited} ms: the event loop was blocked`);
    await opened.db
      .transaction()
      .execute((trx) => trx.insertInto('revoked_access_tokens').values({ jti: 'after', expires_at: 2 }).execute());
  });

  test("R7 a request's database deadline cuts the wait short of the acquire timeout", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'g.db');
    const opened = openDatabase(`sqlite:${file}`, { acquireTimeout: 3000 });
    t.after(() => opened.close());
    await migrate(opened.db);
    const holder = new SQLite(file);
    t.after(() => holder.close());
    holder.exec('BEGIN EXCLUSIVE');
    const started = Date.now();
    await assert.rejects(
      runWithDatabaseDeadline(Date.now() + 200, () =>
        opened.db.transaction().execute((trx) => trx.insertInto('revoked_access_tokens').values({ jti: 'x', expires_at: 2 }).execute()),
      ),
      StorageUnavailableError,
    );
    const waited = Date.now() - started;
    assert.ok(waited < 1000, `waited ${waited} ms with a 200 ms deadline`);
    holder.exec('ROLLBACK');
    // out of time before the first statement: nothing is tried at all
    await assert.rejects(
      runWithDatabaseDeadline(Date.now() - 1, () => opened.db.selectFrom('clients').selectAll().execute()),
      StorageUnavailableError,
    );
    assert.deepEqual(await opened.db.selectFrom('clients').selectAll().execute(), []);
  });
});

const pgUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
describe('PostgreSQL: a connection terminated inside a transaction', () => {
  test(
    'R1 item 10: after a connection loss the caller sees its own error, not the failed ROLLBACK\'s; queries on the dead connection are "unavailable"; the process lives on and the pool reconnects',
    { skip: pgUrl ? false : 'GATEHOUSE_TEST_POSTGRES_URL is not set' },
    async (t) => {
      const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      t.after(async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      });
      const u = new URL(pgUrl!);
      u.pathname = `/${name}`;
      const storage = await openStorage(u.href);
      t.after(() => storage.close());
      const terminateOwnSession = async (trx: Transaction<Database>) => {
        const pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]!.pid;
        await admin.query('select pg_terminate_backend($1)', [pid]);
        await new Promise((r) => setTimeout(r, 100));
      };
      for (let i = 0; i < 3; i++) {
        // The callback fails for its own reason after the connection died: the ROLLBACK fails too, and
        // the caller must see the callback's error, not "Client … is not queryable".
        await assert.rejects(
          storage.db.transaction().execute(async (trx) => {
            await terminateOwnSession(trx);
            throw new Error('the original error');
          }),
          /^Error: the original error$/,
        );
        // A query on the dead connection: an "unavailable" error (→ 503), and the process lives on.
        await assert.rejects(
          storage.db.transaction().execute(async (trx) => {
            await terminateOwnSession(trx);
            await sql`select 2`.execute(trx);
          }),
          (e: unknown) => isUnavailable(e),
        );
        assert.equal((await storage.clients.list()).length, 0, 'the pool serves again');
      }
    },
  );
});

test('the new options: defaults, environment and flags', () => {
  const d = loadConfig({});
  assert.equal(d.databaseStatementTimeout, 5000);
  assert.equal(d.databaseAcquireTimeout, 3000);
  assert.equal(d.databasePoolSize, 10);
  assert.equal(d.shutdownGrace, 10_000);
  assert.equal(d.databaseRequestTimeout, 6000);
  const c = loadConfig(
    { GATEHOUSE_DATABASE_STATEMENT_TIMEOUT: '2000', GATEHOUSE_SHUTDOWN_GRACE: '0' },
    { 'database-acquire-timeout': '1500', 'database-pool-size': '4' },
  );
  assert.deepEqual([c.databaseStatementTimeout, c.databaseAcquireTimeout, c.databasePoolSize, c.shutdownGrace], [2000, 1500, 4, 0]);
  assert.throws(() => loadConfig({ GATEHOUSE_DATABASE_ACQUIRE_TIMEOUT: '5' }), /database-acquire-timeout/);
});
