// R4: one clock for expiry across nodes. Each node measures its offset from the database's clock
// (health/clock-skew.ts); beyond the one deployment-wide leeway (oauth/clock-leeway.ts, 60 s) it logs
// a warning and fails /readyz until it is back. The clock offset is injected with the test clock.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_LEEWAY_SECONDS, MAX_LEEWAY_SECONDS } from '@gatehouse/resource-server';
import { CLOCK_LEEWAY } from '../src/oauth/clock-leeway.js';
import { JWKS_MAX_AGE } from '../src/oauth/keys/key-store.js';
import { KEY_RELOAD_INTERVAL, PUBLISH_DELAY } from '../src/oauth/keys/rotation.js';
import { ClockSkewMonitor } from '../src/health/clock-skew.js';
import { checkClockNow } from '../src/health/health.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { openStorage } from '../src/storage/index.js';
import { startServer } from './helpers.js';

interface ReadyBody {
  checks: { clock: string };
}

test('R4 one leeway everywhere: the resource-server default, the key publish delay and the readiness tolerance agree on 60 s', () => {
  assert.equal(CLOCK_LEEWAY, 60);
  assert.equal(DEFAULT_LEEWAY_SECONDS, CLOCK_LEEWAY);
  assert.ok(MAX_LEEWAY_SECONDS >= CLOCK_LEEWAY);
  // A node whose clock runs CLOCK_LEEWAY ahead still promotes a key only after every cached JWKS expired and every node reloaded.
  assert.equal(PUBLISH_DELAY, JWKS_MAX_AGE + KEY_RELOAD_INTERVAL + CLOCK_LEEWAY);
});

test('R4 SQLite has no clock of its own: /readyz reports one clock and stays ready whatever the node clock says', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  server.clock.advance(300);
  await checkClockNow(server.app);
  const ready = await server.app.inject({ method: 'GET', url: '/readyz' });
  assert.equal(ready.statusCode, 200);
  assert.equal((ready.json() as ReadyBody).checks.clock, 'ok (one clock: SQLite)');
});

const pgUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
describe(
  'R4 PostgreSQL: a node measures its offset from the database clock',
  { skip: pgUrl ? false : 'GATEHOUSE_TEST_POSTGRES_URL is not set' },
  () => {
    async function database(t: { after(fn: () => Promise<void>): void }): Promise<string> {
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
      return u.href;
    }

    test('R4 a node 45 s off stays ready; 120 s or 5 min off fails /readyz (503) until its clock is back', async (t) => {
      const server = await startServer({ GATEHOUSE_DATABASE_URL: await database(t) });
      t.after(() => server.close());
      // The node's clock counts whole seconds, so a measured offset is within a second of the injected one.
      const readyz = async () => {
        const res = await server.app.inject({ method: 'GET', url: '/readyz' });
        return { status: res.statusCode, clock: (res.json() as ReadyBody).checks.clock, retryAfter: res.headers['retry-after'] };
      };
      assert.deepEqual(await readyz(), { status: 200, clock: 'ok', retryAfter: undefined });

      server.clock.advance(45);
      await checkClockNow(server.app);
      assert.equal((await readyz()).status, 200, 'within the leeway');

      server.clock.advance(75); // 120 s ahead
      await checkClockNow(server.app);
      const ahead = await readyz();
      assert.equal(ahead.status, 503);
      assert.match(ahead.clock, /^off: 1(19|20|21) s ahead of the database \(tolerance 60 s\)$/);
      assert.ok(ahead.retryAfter);

      server.clock.advance(-420); // 5 minutes behind
      await checkClockNow(server.app);
      const behind = await readyz();
      assert.equal(behind.status, 503);
      assert.match(behind.clock, /^off: (299|300|301) s behind the database/);

      server.clock.advance(300); // back
      await checkClockNow(server.app);
      assert.deepEqual(await readyz(), { status: 200, clock: 'ok', retryAfter: undefined });
    });

    test('R4 a node more than 60 s off the database logs a warning on each check, and says so once it is back', async (t) => {
      const storage = await openStorage(await database(t));
      t.after(() => storage.close());
      let skew = 90;
      const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
      const log = {
        warn: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'warn', obj, msg }),
        info: (obj: Record<string, unknown>, msg: string) => lines.push({ level: 'info', obj, msg }),
      };
      const monitor = new ClockSkewMonitor({ db: storage.db, clock: () => nowSeconds() + skew, log, timeoutMs: 2000 });
      await monitor.check();
      assert.equal(monitor.off, true);
      assert.ok(Math.abs(monitor.offset! + 90) <= 1, `offset ${monitor.offset}`);
      await monitor.check();
      assert.deepEqual(
        lines.map((l) => l.level),
        ['warn', 'warn'],
      );
      assert.match(lines[0]!.msg, /(89|90|91) s ahead of the database's/);
      skew = 30;
      await monitor.check();
      assert.equal(monitor.off, false);
      assert.equal(lines[2]?.level, 'info');
      await monitor.check();
      assert.equal(lines.length, 3, 'nothing more is logged while the clock agrees');
    });
  },
);
