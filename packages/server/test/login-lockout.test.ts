// DS-03: lockout that cannot lock the owner out — per-account delays that decay, hard locks per
// account and network, known devices, login.locked / login.unlocked events and `gatehouse users unlock`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import { Browser, pkce, postAs, startInteraction, startServer, type TestServer } from './helpers.js';
import { KNOWN_DEVICE_FAILURES, LoginThrottle, networkOf, type Stored, type ThrottleStore } from '../src/interaction/login-throttle.js';

const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const C1 = 'https://c1.example/cb';
/** Interactions are started freely (the per-IP limits of DS-01 are tested elsewhere). */
const NO_RATE_LIMITS = { GATEHOUSE_RATE_LIMIT_AUTHORIZE: '0', GATEHOUSE_RATE_LIMIT_LOGIN: '0' };

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer({ ...NO_RATE_LIMITS, ...env });
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser();
  return { server, client, user };
}

/** One sign-in attempt on a fresh interaction of `browser`, from `ip`. */
async function attempt(
  server: TestServer,
  browser: Browser,
  clientId: string,
  ip: string,
  username: string,
  password: string,
): Promise<LightMyRequestResponse> {
  browser.cookies.delete('gatehouse.session');
  const { form } = await startInteraction(browser, { clientId, redirectUri: C1, state: 'S', challenge: pkce().challenge });
  return postAs(server.app, browser, form.action, { ...form.fields, username, password }, { remoteAddress: ip });
}

/** A wrong password counted as a failure: waits out the account's delay (not a lock) when there is one. */
async function failOnce(server: TestServer, browser: Browser, clientId: string, ip: string, username: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const res = await attempt(server, browser, clientId, ip, username, `wrong ${i}`);
    if (res.statusCode === 401) return;
    assert.equal(res.statusCode, 429, res.body.slice(0, 200));
    const wait = Number(res.headers['retry-after']);
    assert.ok(wait <= server.config.loginMaxDelay, `a delay of the account, not a lock (${wait} s)`);
    server.clock.advance(wait);
  }
  assert.fail('the failure was never counted');
}

test('DS-03 failures from many networks do not lock the right password out of a known device', async (t) => {
  const { server, client, user } = await setup(t);
  const owner = new Browser(server.app);
  const first = await attempt(server, owner, client.clientId, '192.0.2.10', user.username, user.password);
  assert.equal(first.statusCode, 303, 'the owner signs in once: the browser becomes a known device');
  assert.ok(owner.cookies.has('gatehouse.known'), 'a known-device cookie was set');

  // An attacker fails on the account from 12 networks, the owner's own /24 among them, until each is locked.
  const attacker = new Browser(server.app);
  const networks = ['192.0.2.66', ...Array.from({ length: 11 }, (_, i) => `10.${i + 1}.0.7`)];
  for (const ip of networks)
    for (let k = 0; k < server.config.loginMaxFailures; k++) await failOnce(server, attacker, client.clientId, ip, 'alice');

  const stranger = await attempt(server, new Browser(server.app), client.clientId, '192.0.2.10', user.username, user.password);
  assert.equal(stranger.statusCode, 429, "the owner's network is locked for browsers the account has never seen");
  const known = await attempt(server, owner, client.clientId, '192.0.2.10', user.username, user.password);
  assert.equal(known.statusCode, 303, 'the known device with the right password gets in');
  const wrongOnKnown = await attempt(server, owner, client.clientId, '192.0.2.10', user.username, 'still wrong');
  assert.equal(wrongOnKnown.statusCode, 401, 'a known device is not told the password is right when it is not');
});

test('DS-03 the hard lock is per account and network: another network of the owner still signs in', async (t) => {
  const { server, client, user } = await setup(t);
  const attacker = new Browser(server.app);
  for (let k = 0; k < server.config.loginMaxFailures; k++) await failOnce(server, attacker, client.clientId, '203.0.113.5', 'alice');
  const sameNetwork = await attempt(server, new Browser(server.app), client.clientId, '203.0.113.200', user.username, user.password);
  assert.equal(sameNetwork.statusCode, 429, 'the /24 that failed is locked, the right password included');
  assert.ok(Number(sameNetwork.headers['retry-after']) >= server.config.loginLockSeconds - 2);
  const elsewhere = await attempt(server, new Browser(server.app), client.clientId, '198.51.100.9', user.username, user.password);
  assert.equal(elsewhere.statusCode, 303, 'another network is not locked');
});

test('DS-03 failures from many networks slow the account down for unknown browsers, by at most --login-max-delay', async (t) => {
  const { server, client, user } = await setup(t, { GATEHOUSE_LOGIN_MAX_DELAY: '120' });
  const attacker = new Browser(server.app);
  let longest = 0;
  for (let i = 0; i < 40; i++) {
    const res = await attempt(server, attacker, client.clientId, `10.${i}.1.1`, 'alice', 'guess');
    if (res.statusCode === 429) {
      const wait = Number(res.headers['retry-after']);
      longest = Math.max(longest, wait);
      server.clock.advance(wait);
    } else assert.equal(res.statusCode, 401);
  }
  assert.ok(longest > 1, `the delay grew (${longest} s)`);
  assert.ok(longest <= 120, `the delay is capped (${longest} s)`);
  const right = await attempt(server, new Browser(server.app), client.clientId, '198.51.100.9', user.username, user.password);
  if (right.statusCode === 429) {
    assert.ok(Number(right.headers['retry-after']) <= 120);
    server.clock.advance(Number(right.headers['retry-after']));
  }
  const after = await attempt(server, new Browser(server.app), client.clientId, '198.51.100.9', user.username, user.password);
  assert.equal(after.statusCode, 303, 'after the delay, the right password from a fresh network gets in');
});

test('DS-03 locks decay: a lock ends by itself, doubles when repeated, and after quiet days the next lock is short again', async (t) => {
  const { server, client, user } = await setup(t, { GATEHOUSE_LOGIN_MAX_DELAY: '1' });
  const browser = new Browser(server.app);
  const lockOnce = async () => {
    for (let k = 0; k < server.config.loginMaxFailures; k++) await failOnce(server, browser, client.clientId, '203.0.113.5', 'alice');
    const res = await attempt(server, browser, client.clientId, '203.0.113.5', user.username, user.password);
    assert.equal(res.statusCode, 429);
    return Number(res.headers['retry-after']);
  };
  const lock = server.config.loginLockSeconds;
  // Retry-After counts down in real time too: a second may pass between the lock and the answer.
  const about = (actual: number, expected: number, message: string) =>
    assert.ok(actual <= expected && actual >= expected - 2, `${message}: ${actual} s, expected ${expected} s`);
  about(await lockOnce(), lock, 'the first lock');
  server.clock.advance(lock);
  about(await lockOnce(), 2 * lock, 'a lock soon after the last one lasts twice as long');
  server.clock.advance(2 * lock + 3 * 86400);
  about(await lockOnce(), lock, 'after quiet days the lock level has decayed');
  server.clock.advance(lock);
  const right = await attempt(server, browser, client.clientId, '203.0.113.5', user.username, user.password);
  assert.equal(right.statusCode, 303, 'once the lock has ended the right password gets in');
});

test('DS-03 a known device tolerates its own failures up to a limit, then is throttled like any browser', async (t) => {
  const { server, client, user } = await setup(t);
  const owner = new Browser(server.app);
  assert.equal((await attempt(server, owner, client.clientId, '192.0.2.10', user.username, user.password)).statusCode, 303);
  for (let k = 0; k < KNOWN_DEVICE_FAILURES; k++) {
    const res = await attempt(server, owner, client.clientId, '192.0.2.10', user.username, `typo ${k}`);
    assert.equal(res.statusCode, 401, `failure ${k + 1} on the known device is checked, not delayed`);
  }
  const right = await attempt(server, owner, client.clientId, '192.0.2.10', user.username, user.password);
  assert.equal(right.statusCode, 429, 'past its own limit the device meets the network lock');
});

test('DS-03 every lock is a login.locked security event naming the scope and the network, without a password', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  for (let k = 0; k < server.config.loginMaxFailures; k++) await failOnce(server, browser, client.clientId, '203.0.113.5', 'alice');
  const locked = await server.deps.storage.securityEvents.list({ types: ['login.locked'] });
  const network = locked.find((e) => e.details.scope === 'network');
  assert.ok(network, JSON.stringify(locked));
  assert.equal(network.userId, user.id);
  assert.equal(network.details.network, '203.0.113.0/24');
  assert.equal(network.details.seconds, server.config.loginLockSeconds);
  assert.ok(
    locked.some((e) => e.details.scope === 'ip' && e.details.network === '203.0.113.5/32'),
    'the IP failing on accounts is locked too',
  );
  assert.ok(!JSON.stringify(locked).includes('wrong'), 'no password in the events');
});

test('DS-03 gatehouse users unlock clears the locks of a running server; login.unlocked is recorded', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-unlock-'));
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const { server, client, user } = await setup(t, { GATEHOUSE_DATABASE_URL: database });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const browser = new Browser(server.app);
  for (let k = 0; k < server.config.loginMaxFailures; k++) await failOnce(server, browser, client.clientId, '203.0.113.5', 'alice');
  assert.equal((await attempt(server, browser, client.clientId, '203.0.113.5', user.username, user.password)).statusCode, 429);

  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [GATEHOUSE_BIN, 'users', ...args],
        { env: { ...process.env, GATEHOUSE_DATABASE_URL: database, GATEHOUSE_REDIS_URL: '' }, timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  const result = await run(['unlock', 'ALICE', '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.ok((JSON.parse(result.stdout) as { cleared: number }).cleared >= 2, result.stdout);
  // The IP's own lock (across accounts) is not the account's: another address of that network signs in.
  const right = await attempt(server, browser, client.clientId, '203.0.113.6', user.username, user.password);
  assert.equal(right.statusCode, 303, 'the account is unlocked on the running server');
  const unlocked = await server.deps.storage.securityEvents.list({ types: ['login.unlocked'] });
  assert.equal(unlocked.length, 1);
  assert.equal(unlocked[0]!.userId, user.id);
  assert.equal((await run(['unlock'])).code, 2, 'a username is required');
});

test('DS-03 networks are IPv4 /24 and IPv6 /64; concurrent failures on a shared store are all counted', async () => {
  assert.equal(networkOf('203.0.113.77'), '203.0.113.0/24');
  assert.equal(networkOf('::ffff:203.0.113.77'), '203.0.113.0/24');
  assert.equal(networkOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(networkOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(networkOf('203.0.113.77', 32), '203.0.113.77/32');

  // A store that lets a second writer in between a read and a write, the way two nodes do.
  const rows = new Map<string, { entry: Stored['entry']; version: number }>();
  const store: ThrottleStore = {
    async read(keys) {
      await new Promise((r) => setImmediate(r));
      return new Map(keys.flatMap((k) => (rows.has(k) ? [[k, { ...rows.get(k)! }] as const] : [])));
    },
    async write(key, _account, previous, next) {
      await new Promise((r) => setImmediate(r));
      if ((rows.get(key)?.version ?? 0) !== ((previous?.version as number | undefined) ?? 0)) return false;
      rows.set(key, { entry: next, version: (rows.get(key)?.version ?? 0) + 1 });
      return true;
    },
    async clearAccount() {
      return 0;
    },
  };
  const throttle = new LoginThrottle(store, { maxFailures: 100, lockSeconds: 60, maxDelay: 900 });
  const keys = throttle.keys('alice', '203.0.113.5', undefined);
  await Promise.all(Array.from({ length: 6 }, () => throttle.recordFailure(keys, false, 1_700_000_000)));
  assert.equal(Math.round(rows.get(keys.accountKey)!.entry.score), 6, 'no failure was lost to a concurrent writer');
});
