// Secrets at rest (CR-01, CR-02, CR-04) and the repositories' atomic operations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Browser, getCode, pkce, startServer, tokenRequest, dumpDatabase, refresh, tableNames, type TokenBody } from './helpers.js';
import { randomToken, sha256 } from '../src/oauth/crypto.js';

const C1 = 'https://c1.example/cb';
const TOKEN_43 = /^[A-Za-z0-9_-]{43}$/;

test('CR-02 after a full flow no raw code, token, secret, password or cookie value is in any table', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser('alice', 'a very secret password 1');
  const browser = new Browser(server.app);
  const interactionCookies = new Set<string>();
  const p = pkce();
  const { code } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid profile offline_access', challenge: p.challenge },
    user,
  );
  const t1 = (
    await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: p.verifier }, client)
  ).json() as TokenBody;
  const t2 = (await refresh(server, client, t1.refresh_token!)).json() as TokenBody;
  const cc = (await tokenRequest(server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, client)).json() as TokenBody;
  // an interaction left open, to have a live binding cookie
  const started = await browser.get(
    `/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(C1)}&scope=openid&prompt=login&code_challenge=${pkce().challenge}&code_challenge_method=S256`,
  );
  for (const [name, value] of browser.cookies) if (name.endsWith('gatehouse.browser')) interactionCookies.add(value);
  assert.equal(started.statusCode, 303);
  assert.ok(interactionCookies.size >= 1);
  const session = browser.cookies.get('gatehouse.session');
  assert.ok(session);

  const secrets: [string, string][] = [
    ['authorization code', code],
    ['code_verifier', p.verifier],
    ['refresh token 1', t1.refresh_token!],
    ['refresh token 2', t2.refresh_token!],
    ['access token', t1.access_token],
    ['access token 2', t2.access_token],
    ['client_credentials token', cc.access_token],
    ['id token', t1.id_token!],
    ['client secret', client.clientSecret!],
    ['password', user.password],
    ['session cookie', session],
    ...[...interactionCookies].map((v) => ['interaction cookie', v] as [string, string]),
  ];
  const dump = await dumpDatabase(server.deps.storage);
  const tables = await tableNames(server.deps.storage);
  for (const expected of ['clients', 'users', 'authorization_codes', 'refresh_tokens', 'sessions', 'interactions'])
    assert.ok(tables.includes(expected), expected);
  assert.ok(dump.includes(sha256(code)), 'sanity: the dump has the rows (the code digest is there)');
  for (const [name, value] of secrets) {
    assert.ok(!dump.includes(value), `${name} is stored in the clear`);
  }
});

test('CR-02 stored secrets are the SHA-256 digests of the raw values', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const p = pkce();
  const { code } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid offline_access', challenge: p.challenge },
    user,
  );
  const tok = (
    await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: p.verifier }, client)
  ).json() as TokenBody;
  const s = server.deps.storage;
  assert.equal((await s.clients.find(client.clientId))!.secretHash, sha256(client.clientSecret!));
  assert.ok(await s.codes.findByHash(sha256(code)));
  assert.ok(await s.refreshTokens.findByHash(sha256(tok.refresh_token!)));
  assert.ok(await s.sessions.findActive(sha256(browser.cookies.get('gatehouse.session')!), Math.floor(Date.now() / 1000)));
});

test('CR-01 codes, refresh tokens, client secrets and session ids are 43 base64url chars (32 random bytes), all distinct', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const user = await server.createUser();
  const seen = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const client = await server.createClient({ redirectUris: [C1] });
    const browser = new Browser(server.app);
    const p = pkce();
    const { code } = await getCode(
      server,
      browser,
      { clientId: client.clientId, redirectUri: C1, scope: 'openid offline_access', challenge: p.challenge },
      user,
    );
    const tok = (
      await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: p.verifier }, client)
    ).json() as TokenBody;
    for (const [name, v] of [
      ['code', code],
      ['refresh token', tok.refresh_token!],
      ['client secret', client.clientSecret!],
      ['session id', browser.cookies.get('gatehouse.session')!],
    ] as const) {
      assert.match(v, TOKEN_43, name);
      assert.equal(Buffer.from(v, 'base64url').length, 32, name);
      assert.ok(!seen.has(v), `${name} repeated`);
      seen.add(v);
    }
  }
});

test('CR-01 randomToken: 10k values, no duplicates, 43 chars, every base64url symbol roughly uniform', () => {
  const n = 10_000;
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = randomToken();
    assert.match(v, TOKEN_43);
    seen.add(v);
    // the first 42 characters carry 6 full bits each
    for (const ch of v.slice(0, 42)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  assert.equal(seen.size, n);
  assert.equal(counts.size, 64);
  const expected = (n * 42) / 64;
  for (const [ch, c] of counts) assert.ok(Math.abs(c - expected) < expected * 0.1, `${ch}: ${c} vs ${expected}`);
});

test('CR-04 user passwords are stored as argon2id m=19456,t=2,p=1', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  await server.createUser('alice', 'pw for the hash check');
  const row = await server.deps.storage.users.findByUsername('alice');
  assert.match(row!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.ok(!row!.passwordHash.includes('pw for the hash check'));
});

test('CR-04 a login with a weaker stored hash upgrades it to the current parameters', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser('alice', 'old weak hash password');
  const { hash } = await import('@node-rs/argon2');
  const weak = await hash(user.password, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 });
  await server.deps.storage.users.setPasswordHash('user-alice', weak, 1);
  await getCode(server, new Browser(server.app), { clientId: client.clientId, redirectUri: C1 }, user);
  const row = await server.deps.storage.users.findByUsername('alice');
  assert.match(row!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
});

test('R3 the code consume is a conditional update: exactly one of many concurrent consumers wins', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const s = server.deps.storage;
  const now = Math.floor(Date.now() / 1000);
  await s.codes.create({
    codeHash: 'h1',
    familyId: 'f1',
    clientId: 'c',
    userId: 'u',
    redirectUri: C1,
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
    consumedAt: null,
    accessToken: null,
  });
  const wins = await Promise.all(
    Array.from({ length: 10 }, (_, i) => s.transaction((tx) => tx.codes.consume('h1', now, { jti: `jti${i}`, expiresAt: now + 60 }))),
  );
  assert.equal(wins.filter(Boolean).length, 1);
});

test('a transaction rolls back when its function throws', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const s = server.deps.storage;
  await assert.rejects(
    s.transaction(async (tx) => {
      await tx.revokedAccessTokens.add([{ jti: 'rolled-back', expiresAt: 9_999_999_999 }]);
      throw new Error('boom');
    }),
  );
  assert.equal(await s.revokedAccessTokens.isRevoked('rolled-back'), false);
});
