// R8: expired rows are swept in small batches; authorization codes outlive their expiry and use by
// 30 minutes so that a replayed code is still recognised (AC-01). Time is driven by passing `now`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { nowSeconds, sha256 } from '../src/oauth/crypto.js';
import { generateSigningKey, KeyStore } from '../src/oauth/keys/key-store.js';
import { createNextKey, keyPolicy, KeyRotationError, PUBLISH_DELAY, retireKey, runKeySchedule } from '../src/oauth/keys/rotation.js';
import { loadConfig } from '../src/config/config.js';
import { CLOCK_SKEW_MARGIN, CODE_REUSE_WINDOW, codeRetention, startSweeper, sweepExpiredRows } from '../src/storage/cleanup.js';
import { openStorage, type Storage } from '../src/storage/index.js';
import { Browser, getCode, startServer, tokenRequest } from './helpers.js';

const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

async function count(storage: Storage, table: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(storage.db);
  return Number(r.rows[0]!.n);
}

/** One expired and one live row of every kind the sweep handles. */
async function seed(storage: Storage, now: number): Promise<void> {
  for (const [id, expires] of [
    ['i-dead', now - 1],
    ['i-live', now + 600],
  ] as const) {
    await storage.interactions.create({
      id,
      clientId: 'c',
      request: {
        clientId: 'c',
        redirectUri: 'https://c.example/cb',
        redirectUriProvided: true,
        scopes: ['openid'],
        resources: [],
        prompt: [],
      },
      browserHash: 'h',
      userId: null,
      authTime: null,
      sid: null,
      createdAt: now - 700,
      expiresAt: expires,
      consumedAt: null,
    });
  }
  for (const [id, expires] of [
    ['s-dead', now - 1],
    ['s-live', now + 600],
  ] as const) {
    await storage.sessions.create({ idHash: sha256(id), sid: id, userId: 'u', authTime: now, createdAt: now - 700, expiresAt: expires });
  }
  await storage.revokedAccessTokens.add([
    { jti: 'j-dead', expiresAt: now - CLOCK_SKEW_MARGIN - 1 },
    { jti: 'j-recent', expiresAt: now - 10 }, // expired, but kept a little longer for skewed clocks
    { jti: 'j-live', expiresAt: now + 600 },
  ]);
  for (const [hash, expires] of [
    ['rt-dead', now - 1],
    ['rt-live', now + 600],
  ] as const) {
    await storage.refreshTokens.create({
      tokenHash: hash,
      familyId: `f-${hash}`,
      clientId: 'c',
      userId: 'u',
      scopes: ['openid'],
      resources: [],
      authTime: now,
      sid: null,
      createdAt: now - 700,
      expiresAt: expires,
      idleExpiresAt: Math.min(expires, now + 60),
      rotatedAt: null,
      revokedAt: null,
      accessToken: null,
      successor: null,
    });
  }
  // A rotated, still live token whose grace window is over: its sealed successor response goes, the row stays.
  await storage.refreshTokens.create({
    tokenHash: 'rt-graced',
    familyId: 'f-graced',
    clientId: 'c',
    userId: 'u',
    scopes: ['openid'],
    resources: [],
    authTime: now,
    sid: null,
    createdAt: now - 700,
    expiresAt: now + 600,
    idleExpiresAt: now + 60,
    rotatedAt: now - 20,
    revokedAt: null,
    accessToken: null,
    successor: { hash: 'rt-successor', sealed: 'sealed-response', expiresAt: now - 10 },
  });
  const code = (hash: string, expiresAt: number, consumedAt: number | null) =>
    storage.codes.create({
      codeHash: hash,
      familyId: `f-${hash}`,
      clientId: 'c',
      userId: 'u',
      redirectUri: 'https://c.example/cb',
      redirectUriProvided: true,
      scopes: ['openid'],
      resources: [],
      codeChallenge: null,
      codeChallengeMethod: null,
      nonce: null,
      authTime: now,
      sid: null,
      createdAt: expiresAt - 60,
      expiresAt: expiresAt,
      consumedAt: consumedAt,
      accessToken: null,
    });
  await code('code-old', now - CODE_REUSE_WINDOW - 1, null); // expired more than 30 min ago, never used
  await code('code-used-old', now - CODE_REUSE_WINDOW - 61, now - CODE_REUSE_WINDOW - 100);
  await code('code-expired-recently', now - 600, null);
  await code('code-used-recently', now - 600, now - 630);
  await code('code-live', now + 60, null);
  const device = (hash: string, expiresAt: number, consumedAt: number | null) =>
    storage.deviceCodes.create({
      deviceCodeHash: hash,
      userCodeHash: `u-${hash}`,
      clientId: 'c',
      scopes: ['openid'],
      status: consumedAt === null ? 'pending' : 'approved',
      userId: consumedAt === null ? null : 'u',
      authTime: null,
      sid: null,
      interval: 5,
      lastPolledAt: null,
      createdAt: expiresAt - 600,
      expiresAt,
      decidedAt: null,
      consumedAt,
      familyId: `f-${hash}`,
      accessToken: null,
      resources: [],
    });
  await device('device-old', now - CODE_REUSE_WINDOW - 1, null);
  await device('device-used-recently', now - 600, now - 630); // a replay must still be recognised
  await device('device-live', now + 60, null);
  const dead = await generateSigningKey('ES256', 'active', now - 90_000);
  await storage.signingKeys.create({ ...dead, kid: 'k-dead', status: 'retired', retiredAt: now - 7200, removeAfter: now - 1 });
  const published = await generateSigningKey('ES256', 'active', now - 90_000);
  await storage.signingKeys.create({ ...published, kid: 'k-published', status: 'retired', retiredAt: now - 60, removeAfter: now + 3600 });
  await storage.clientAssertionJtis.record(sha256('jti-dead'), now - CLOCK_SKEW_MARGIN - 1);
  await storage.clientAssertionJtis.record(sha256('jti-recent'), now - 10); // expired, kept for skewed clocks
  await storage.dpopJtis.record(sha256('dpop-jti-dead'), now - CLOCK_SKEW_MARGIN - 1);
  await storage.dpopJtis.record(sha256('dpop-jti-recent'), now - 10);
  for (const [hash, expires] of [
    ['par-dead', now - 1],
    ['par-live', now + 60],
  ] as const) {
    await storage.pushedRequests.create({
      idHash: hash,
      clientId: 'c',
      params: [['scope', ['openid']]],
      createdAt: expires - 60,
      expiresAt: expires,
      consumedAt: null,
    });
  }
  // RFC 7591 initial access tokens: expired, used up, live.
  await storage.registrationTokens.create({ tokenHash: 'iat-expired', usesLeft: 3, createdAt: now - 700, expiresAt: now - 1 });
  await storage.registrationTokens.create({ tokenHash: 'iat-used-up', usesLeft: 0, createdAt: now - 700, expiresAt: now + 600 });
  await storage.registrationTokens.create({ tokenHash: 'iat-live', usesLeft: 1, createdAt: now - 700, expiresAt: now + 600 });
  // Security events: one past the default retention (90 days), one within it.
  for (const [id, age] of [
    ['ev-old', 91 * 86400],
    ['ev-recent', 86400],
  ] as const) {
    await storage.securityEvents.insert({
      id,
      type: 'login.failed',
      createdAt: now - age,
      userId: null,
      username: 'someone',
      clientId: null,
      ip: null,
      details: {},
    });
  }
  // DS-03 login throttle entries: expired, live.
  await storage.loginLocks.compareAndSet('n:expired', 'acct', 0, { score: 1 }, now - 1);
  await storage.loginLocks.compareAndSet('n:live', 'acct', 0, { score: 1 }, now + 600);
  // WebAuthn challenges: expired, live.
  for (const [hash, expiresAt] of [
    ['wc-dead', now - 1],
    ['wc-live', now + 300],
  ] as const) {
    await storage.webauthnChallenges.create({ challengeHash: hash, purpose: 'authenticate', bindingHash: 'b', userId: null, expiresAt });
  }
}

test('R8: one sweep deletes the expired rows of every kind and leaves every live one', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage } = server.deps;
  const now = nowSeconds();
  const keysBefore = await count(storage, 'signing_keys');
  await seed(storage, now);

  const counts = await sweepExpiredRows(storage, now, { codeRetention: codeRetention(server.config), pauseMs: 0 });
  assert.deepEqual(counts, {
    interactions: 1,
    sessions: 1,
    revokedAccessTokens: 1,
    refreshTokens: 1,
    refreshSuccessors: 1,
    authorizationCodes: 2,
    signingKeys: 1,
    deviceCodes: 1,
    clientAssertionJtis: 1,
    dpopJtis: 1,
    pushedRequests: 1,
    registrationTokens: 2,
    securityEvents: 1,
    loginLocks: 1,
    webauthnChallenges: 1,
  });
  assert.ok(await storage.interactions.findActive('i-live', now));
  assert.ok(await storage.sessions.findActive(sha256('s-live'), now));
  assert.ok(await storage.revokedAccessTokens.isRevoked('j-recent'));
  assert.ok(await storage.revokedAccessTokens.isRevoked('j-live'));
  assert.equal(await storage.revokedAccessTokens.isRevoked('j-dead'), false);
  assert.ok(await storage.refreshTokens.findByHash('rt-live'));
  assert.equal(await storage.refreshTokens.findByHash('rt-dead'), undefined);
  assert.equal(
    (await storage.refreshTokens.findByHash('rt-graced'))?.successor,
    null,
    'the successor response is kept for the grace window only',
  );
  for (const kept of ['code-expired-recently', 'code-used-recently', 'code-live']) assert.ok(await storage.codes.findByHash(kept), kept);
  for (const gone of ['code-old', 'code-used-old']) assert.equal(await storage.codes.findByHash(gone), undefined, gone);
  assert.equal(await storage.signingKeys.find('k-dead'), undefined);
  assert.ok(await storage.signingKeys.find('k-published'));
  assert.equal(await count(storage, 'signing_keys'), keysBefore + 1, 'active keys are never swept');
  assert.deepEqual(
    (await storage.securityEvents.list()).map((e) => e.id),
    ['ev-recent'],
  );
  assert.deepEqual(
    (await storage.loginLocks.findMany(['n:expired', 'n:live'])).map((l) => l.key),
    ['n:live'],
  );

  const again = await sweepExpiredRows(storage, now, { codeRetention: codeRetention(server.config), pauseMs: 0 });
  assert.equal(
    Object.values(again).reduce((a, b) => a + b, 0),
    0,
    'a second sweep finds nothing',
  );
});

test('R8, AC-01: a used code younger than 30 minutes survives the sweep, so its reuse still gets invalid_grant and revokes what it issued', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient();
  const user = await server.createUser();
  const { code, verifier } = await getCode(
    server,
    new Browser(server.app),
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid offline_access' },
    user,
  );
  const redeem = () =>
    tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }, client);
  const first = await redeem();
  assert.equal(first.statusCode, 200, first.body);
  const { refresh_token: refreshToken } = first.json() as { refresh_token: string };
  const { storage } = server.deps;
  const retention = codeRetention(server.config);
  assert.ok(retention >= 30 * 60);

  // Twenty minutes later the code is long expired (TTL 60 s) but still on file.
  const now = nowSeconds();
  const early = await sweepExpiredRows(storage, now + 20 * 60, { codeRetention: retention, pauseMs: 0 });
  assert.equal(early.authorizationCodes, 0);
  assert.ok(await storage.codes.findByHash(sha256(code)));
  const replay = await redeem();
  assert.equal(replay.statusCode, 400);
  assert.equal(replay.json().error, 'invalid_grant');
  const refreshed = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
  assert.equal(refreshed.json().error, 'invalid_grant', 'the replay revoked the tokens issued from the code');

  // Past the retention the row goes; a replay is then simply an unknown code.
  const late = await sweepExpiredRows(storage, now + 60 + retention + 1, { codeRetention: retention, pauseMs: 0 });
  assert.equal(late.authorizationCodes, 1);
  assert.equal(await storage.codes.findByHash(sha256(code)), undefined);
  assert.equal((await redeem()).json().error, 'invalid_grant');
});

test('R8: the sweep works in batches, and maxBatches bounds one sweep (the rest waits for the next)', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage } = server.deps;
  const now = nowSeconds();
  await storage.db.transaction().execute(async (trx) => {
    for (let i = 0; i < 1234; i++) {
      await trx
        .insertInto('sessions')
        .values({ id_hash: `dead-${i}`, sid: `sid-${i}`, user_id: 'u', auth_time: now, created_at: now - 10, expires_at: now - 1 })
        .execute();
    }
  });
  let statements = 0;
  const counting = {
    ...storage,
    sessions: Object.assign(Object.create(storage.sessions) as typeof storage.sessions, {
      deleteExpired: (before: number, limit: number) => {
        statements += 1;
        return storage.sessions.deleteExpired(before, limit);
      },
    }),
  };
  const first = await sweepExpiredRows(counting, now, { codeRetention: 1800, batchSize: 500, maxBatches: 2, pauseMs: 1 });
  assert.equal(first.sessions, 1000);
  assert.equal(statements, 2);
  const second = await sweepExpiredRows(counting, now, { codeRetention: 1800, batchSize: 500, pauseMs: 1 });
  assert.equal(second.sessions, 234);
  assert.equal(statements, 3, 'a short batch ends the table');
  assert.equal(await count(storage, 'sessions'), 0);
});

test('R8: the background sweeper runs off the request path and stops cleanly', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage } = server.deps;
  const now = nowSeconds();
  await storage.sessions.create({ idHash: 'dead', sid: 'dead', userId: 'u', authTime: now, createdAt: now - 10, expiresAt: now - 1 });
  let swept: (counts: Record<string, unknown>) => void = () => undefined;
  const done = new Promise<Record<string, unknown>>((resolve) => (swept = resolve));
  const sweeper = startSweeper(
    storage,
    { codeRetention: 1800, now: nowSeconds, firstDelayMs: 0, intervalMs: 3_600_000 },
    {
      info: (obj) => swept(obj),
      warn: (obj) => swept(obj),
    },
  );
  // The sweeper's timers are unref'd (a listening server keeps a process alive); this guard does here.
  let guard: NodeJS.Timeout | undefined;
  const logged = await Promise.race([
    done,
    new Promise<never>((_, reject) => (guard = setTimeout(() => reject(new Error('the sweeper never ran')), 10_000))),
  ]);
  clearTimeout(guard);
  await sweeper.stop();
  assert.deepEqual((logged.deleted as Record<string, number>).sessions, 1);
  await sweeper.stop(); // idempotent
  // An aborted sweep stops between batches.
  const controller = new AbortController();
  controller.abort();
  assert.equal((await sweepExpiredRows(storage, now, { codeRetention: 1800, signal: controller.signal })).sessions, 0);
});

test('CLI: gatehouse cleanup deletes expired rows and prints the counts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cleanup-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const storage = await openStorage(database);
  const now = nowSeconds();
  await seed(storage, now);
  await storage.close();

  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [GATEHOUSE_BIN, 'cleanup', ...args],
        { env: { ...process.env, GATEHOUSE_DATABASE_URL: database }, timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
        },
      );
    });
  const json = await run(['--json', '--batch-size', '1']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), {
    interactions: 1,
    sessions: 1,
    revokedAccessTokens: 1,
    refreshTokens: 1,
    refreshSuccessors: 1,
    authorizationCodes: 2,
    signingKeys: 1,
    deviceCodes: 1,
    clientAssertionJtis: 1,
    dpopJtis: 1,
    pushedRequests: 1,
    registrationTokens: 2,
    securityEvents: 1,
    loginLocks: 1,
    webauthnChallenges: 1,
  });
  const text = await run([]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /authorization codes:\s+0/);
  assert.equal((await run(['--batch-size', '0'])).code, 2);

  const check = await openStorage(database);
  t.after(() => check.close());
  assert.ok(await check.codes.findByHash('code-used-recently'), 'a recently used code is kept');
  assert.ok(await check.sessions.findActive(sha256('s-live'), nowSeconds()));
});

// The same statements on PostgreSQL (CI sets GATEHOUSE_TEST_POSTGRES_URL): a database of its own, dropped afterwards.
const pgUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
test(
  'R8, KR-02 on PostgreSQL: the sweep, key promotion under a race, retire guards and the logout queries',
  { skip: pgUrl ? false : 'GATEHOUSE_TEST_POSTGRES_URL is not set' },
  async (t) => {
    const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
    const admin = async (query: string) => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      try {
        await c.query(query);
      } finally {
        await c.end();
      }
    };
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(pgUrl!);
    url.pathname = `/${name}`;
    const storage = await openStorage(url.href);
    t.after(async () => {
      await storage.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });
    const now = nowSeconds();

    await seed(storage, now);
    const counts = await sweepExpiredRows(storage, now, { codeRetention: CODE_REUSE_WINDOW, pauseMs: 0 });
    assert.deepEqual(counts, {
      interactions: 1,
      sessions: 1,
      revokedAccessTokens: 1,
      refreshTokens: 1,
      refreshSuccessors: 1,
      authorizationCodes: 2,
      signingKeys: 1,
      deviceCodes: 1,
      clientAssertionJtis: 1,
      dpopJtis: 1,
      pushedRequests: 1,
      registrationTokens: 2,
      securityEvents: 1,
      loginLocks: 1,
      webauthnChallenges: 1,
    });

    const policy = keyPolicy(loadConfig({}));
    await new KeyStore(storage.signingKeys).initialise(now);
    await Promise.all([createNextKey(storage, 'ES256', now), createNextKey(storage, 'ES256', now)]);
    assert.equal((await storage.signingKeys.list()).filter((r) => r.alg === 'ES256' && r.status === 'next').length, 1);
    const runs = await Promise.all([1, 2, 3].map(() => runKeySchedule(storage, policy, now + PUBLISH_DELAY)));
    assert.equal(
      runs.reduce((n, r) => n + r.promoted.length, 0),
      1,
      'promoted exactly once',
    );
    const es = (await storage.signingKeys.list()).filter((r) => r.alg === 'ES256');
    assert.equal(es.filter((r) => r.status === 'active').length, 1);
    const active = es.find((r) => r.status === 'active')!;
    await assert.rejects(retireKey(storage, active.kid, policy, now), KeyRotationError);
    const old = es.find((r) => r.status === 'retired' && r.kid !== 'k-published')!;
    assert.equal((await retireKey(storage, old.kid, policy, now + PUBLISH_DELAY)).removeAfter, now + PUBLISH_DELAY);

    await storage.grants.save('u', 'c-grant', ['openid'], now);
    await storage.refreshTokens.create({
      tokenHash: 'rt-s',
      familyId: 'fam-s',
      clientId: 'c-rt',
      userId: 'u',
      scopes: ['openid'],
      resources: [],
      authTime: now,
      sid: 'sid-1',
      createdAt: now,
      expiresAt: now + 600,
      idleExpiresAt: now + 600,
      rotatedAt: null,
      revokedAt: null,
      accessToken: { jti: 'jti-rt', expiresAt: now + 600 },
      successor: null,
    });
    assert.deepEqual(await storage.grants.clientsOf('u'), ['c-grant']);
    assert.deepEqual((await storage.refreshTokens.clientsOf('u', now)).sort(), ['c', 'c-rt']);
    assert.deepEqual(await storage.refreshTokens.familiesOfSession('u', 'sid-1'), ['fam-s']);
    await storage.codes.create({
      codeHash: 'code-at',
      familyId: 'fam-c',
      clientId: 'c',
      userId: 'u',
      redirectUri: 'https://c.example/cb',
      redirectUriProvided: true,
      scopes: ['openid'],
      resources: [],
      codeChallenge: null,
      codeChallengeMethod: null,
      nonce: null,
      authTime: now,
      sid: null,
      createdAt: now,
      expiresAt: now + 60,
      consumedAt: now,
      accessToken: { jti: 'jti-code', expiresAt: now + 600 },
    });
    assert.deepEqual(await storage.codes.liveAccessTokensOf('u', now), [{ jti: 'jti-code', expiresAt: now + 600 }]);
  },
);
