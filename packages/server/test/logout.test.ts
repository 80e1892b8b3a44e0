// Logout: RP-Initiated Logout 1.0 at /end-session (RU-08, logout CSRF, UI-01 headers, RT-06),
// Back-Channel Logout 1.0 (logout tokens delivered to a local RP), and `gatehouse sessions revoke`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JSONWebKeySet,
} from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { nowSeconds, sha256 } from '../src/oauth/crypto.js';
import { KeyStore } from '../src/oauth/keys/key-store.js';
import { BACKCHANNEL_LOGOUT_EVENT, revokeUserSessions } from '../src/oauth/logout.js';
import { mintIdToken } from '../src/oauth/tokens/jwt.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { openStorage } from '../src/storage/index.js';
import { authorizeUrl, Browser, form, getCode, parseForm, startServer, tokenRequest, type TestServer } from './helpers.js';

const COOKIE = 'gatehouse.session'; // the issuer is plain http on loopback: no __Host- prefix
const LOGGED_OUT = 'https://c1.example/logged-out';
const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

type TestClient = { clientId: string; clientSecret: string | undefined; redirectUri: string };

interface Tokens {
  accessToken: string;
  idToken: string;
  refreshToken: string | undefined;
}

async function signIn(
  server: TestServer,
  browser: Browser,
  client: TestClient,
  user: { username: string; password: string },
  scope = 'openid profile offline_access',
): Promise<Tokens> {
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: client.redirectUri, scope }, user);
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token: string; id_token: string; refresh_token?: string };
  return { accessToken: body.access_token, idToken: body.id_token, refreshToken: body.refresh_token };
}

async function setup(extra: { backchannelLogoutUri?: string } = {}) {
  const server = await startServer();
  const client = await server.createClient({ postLogoutRedirectUris: [LOGGED_OUT], ...extra });
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const tokens = await signIn(server, browser, client, user);
  return { server, client, user, browser, tokens };
}

async function sessionAlive(server: TestServer, cookie: string | undefined): Promise<boolean> {
  if (!cookie) return false;
  return (await server.deps.storage.sessions.findActive(sha256(cookie), nowSeconds())) !== undefined;
}

/** Does a browser holding only this session cookie land on the login page at /authorize? */
async function showsLoginPage(server: TestServer, client: TestClient, cookie: string): Promise<boolean> {
  const b = new Browser(server.app);
  b.cookies.set(COOKIE, cookie);
  const res = await b.get(
    authorizeUrl({
      clientId: client.clientId,
      redirectUri: client.redirectUri,
      scope: 'openid',
      challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    }),
  );
  assert.equal(res.statusCode, 303, res.body);
  const location = String(res.headers.location);
  if (!location.startsWith('/interaction/')) return false; // signed in: straight back to the client with a code
  const page = await b.get(location);
  return 'password' in parseForm(page.body).fields;
}

function assertPageHeaders(res: LightMyRequestResponse): void {
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
}

const endSessionUrl = (params: Record<string, string | undefined>) => `/end-session?${form(params)}`;

test('discovery advertises end_session_endpoint and back-channel logout with sid', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const meta = (await server.app.inject({ method: 'GET', url: path })).json() as Record<string, unknown>;
    assert.equal(meta.end_session_endpoint, `${server.issuer}/end-session`);
    assert.equal(meta.backchannel_logout_supported, true);
    assert.equal(meta.backchannel_logout_session_supported, true);
  }
});

test('RP-initiated logout with a valid id_token_hint: the session ends, its cookie is cleared, the old cookie signs nobody in, and the browser goes to the registered post_logout_redirect_uri with state', async (t) => {
  const { server, client, browser, tokens } = await setup();
  t.after(() => server.close());
  const cookie = browser.cookies.get(COOKIE)!;
  assert.ok(await sessionAlive(server, cookie));

  const res = await browser.get(endSessionUrl({ id_token_hint: tokens.idToken, post_logout_redirect_uri: LOGGED_OUT, state: 's &=+/% ü' }));
  assert.equal(res.statusCode, 303, res.body);
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, LOGGED_OUT);
  assert.equal(location.searchParams.get('state'), 's &=+/% ü');
  const cleared = (res.cookies as { name: string; value: string; expires?: Date; maxAge?: number }[]).find((c) => c.name === COOKIE);
  assert.ok(
    cleared && cleared.value === '' && (cleared.maxAge === 0 || (cleared.expires && cleared.expires.getTime() < Date.now())),
    'the session cookie is cleared',
  );
  assert.equal(browser.cookies.has(COOKIE), false);
  assert.equal(await sessionAlive(server, cookie), false, 'the session row is gone');
  assert.ok(await showsLoginPage(server, client, cookie), 'the old cookie no longer signs anyone in');

  // RT-06: the refresh-token family issued in that session is revoked.
  const refreshed = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refreshToken }, client);
  assert.equal(refreshed.statusCode, 400);
  assert.equal(refreshed.json().error, 'invalid_grant');

  // POST works the same way (§2), and with no session left there is nothing to confirm.
  const again = await browser.post('/end-session', { client_id: client.clientId, post_logout_redirect_uri: LOGGED_OUT, state: 'x' });
  assert.equal(again.statusCode, 303);
  assert.equal(again.headers.location, `${LOGGED_OUT}?state=x`);
});

test('RU-08: an unregistered post_logout_redirect_uri never redirects — the user gets a signed-out page', async (t) => {
  const { server, client, browser, tokens, user } = await setup();
  t.after(() => server.close());
  const other = await server.createClient({ redirectUris: ['https://c2.example/cb'], postLogoutRedirectUris: ['https://c2.example/bye'] });
  const evil = [
    'https://evil.example/',
    `${LOGGED_OUT}/`,
    `${LOGGED_OUT}?x=1`,
    'https://C1.example/logged-out',
    'https://c2.example/bye',
    'javascript:alert(1)',
    '//evil.example',
  ];

  // Without a hint: the confirmation page carries no redirect target, and confirming does not redirect.
  for (const uri of evil) {
    const res = await browser.get(endSessionUrl({ client_id: client.clientId, post_logout_redirect_uri: uri, state: 's' }));
    assert.equal(res.statusCode, 200, uri);
    assert.equal(res.headers.location, undefined, uri);
    const f = parseForm(res.body);
    assert.equal(f.fields.post_logout_redirect_uri, undefined, uri);
    assert.ok(!res.body.includes(uri), `the page must not mention ${uri}`);
  }
  // Without any client, even a registered URI is not followed.
  const anonymous = await browser.get(endSessionUrl({ post_logout_redirect_uri: LOGGED_OUT }));
  assert.equal(anonymous.headers.location, undefined);
  assert.equal(parseForm(anonymous.body).fields.post_logout_redirect_uri, undefined);

  // With a valid hint the session ends, but the unregistered URI is still not followed.
  const res = await browser.get(
    endSessionUrl({ id_token_hint: tokens.idToken, post_logout_redirect_uri: 'https://evil.example/', state: 's' }),
  );
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers.location, undefined);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.match(res.body, /signed out/i);
  assert.ok(!res.body.includes('evil.example'));
  assertPageHeaders(res);
  assert.equal(browser.cookies.has(COOKIE), false);
  // Another client's registered URI with this client's hint is refused too (it is registered for c2 only).
  await signIn(server, browser, client, user);
  const cross = await browser.get(endSessionUrl({ id_token_hint: tokens.idToken, post_logout_redirect_uri: 'https://c2.example/bye' }));
  assert.equal(cross.headers.location, undefined);
  // A client_id that is not an audience of the hint is an error page; nothing changes.
  const mismatch = await browser.get(
    endSessionUrl({ id_token_hint: tokens.idToken, client_id: other.clientId, post_logout_redirect_uri: 'https://c2.example/bye' }),
  );
  assert.equal(mismatch.statusCode, 400);
  assert.equal(mismatch.headers.location, undefined);
});

test('logout CSRF: without an id_token_hint the user confirms on a page whose form needs its CSRF token, from our origin', async (t) => {
  const { server, client, user, browser } = await setup();
  t.after(() => server.close());
  const cookie = browser.cookies.get(COOKIE)!;

  const page = await browser.get(endSessionUrl({ client_id: client.clientId, post_logout_redirect_uri: LOGGED_OUT, state: 'st' }));
  assert.equal(page.statusCode, 200);
  assertPageHeaders(page);
  assert.match(String(page.headers['content-security-policy']), /form-action 'self' https:\/\/c1\.example/);
  assert.ok(await sessionAlive(server, cookie), 'showing the page logs nobody out');
  const f = parseForm(page.body);
  assert.equal(f.action, '/end-session');
  assert.ok(f.fields.csrf_token);
  assert.deepEqual(f.buttons.map((b) => `${b.name}=${b.value}`).sort(), ['logout=no', 'logout=yes']);
  assert.equal(f.fields.post_logout_redirect_uri, LOGGED_OUT);

  // Forged submissions: no token (treated as a new request: the page again), a wrong token, another
  // session's token, a foreign Origin.
  const noToken = await browser.post('/end-session', { ...f.fields, csrf_token: undefined, logout: 'yes' });
  assert.equal(noToken.statusCode, 200);
  assert.ok(parseForm(noToken.body).fields.csrf_token);
  const wrong = await browser.post('/end-session', { ...f.fields, csrf_token: 'x'.repeat(43), logout: 'yes' });
  assert.equal(wrong.statusCode, 403);
  const otherBrowser = new Browser(server.app);
  await signIn(server, otherBrowser, client, user);
  const otherToken = parseForm((await otherBrowser.get(endSessionUrl({ client_id: client.clientId }))).body).fields.csrf_token!;
  const crossSession = await browser.post('/end-session', { ...f.fields, csrf_token: otherToken, logout: 'yes' });
  assert.equal(crossSession.statusCode, 403);
  const foreign = await browser.post('/end-session', { ...f.fields, logout: 'yes' }, { origin: 'https://evil.example' });
  assert.equal(foreign.statusCode, 403);
  assert.ok(await sessionAlive(server, cookie), 'no forged submission logged the user out');

  // "Stay signed in" changes nothing; "Sign out" ends the session and returns to the client.
  const stay = await browser.post('/end-session', { ...f.fields, logout: 'no' });
  assert.equal(stay.statusCode, 303);
  assert.ok(await sessionAlive(server, cookie));
  const done = await browser.post('/end-session', { ...f.fields, logout: 'yes' });
  assert.equal(done.statusCode, 303);
  assert.equal(done.headers.location, `${LOGGED_OUT}?state=st`);
  assert.equal(await sessionAlive(server, cookie), false);
  assert.ok(await sessionAlive(server, otherBrowser.cookies.get(COOKIE)), 'the other browser keeps its session');
});

test("id_token_hint: an expired one is accepted; a forged, unsigned, foreign-key or access token is refused; another user's needs confirmation", async (t) => {
  const { server, client, user, browser, tokens } = await setup();
  t.after(() => server.close());
  const cookie = browser.cookies.get(COOKIE)!;
  const now = nowSeconds();
  const rs = server.deps.keys.signingKey('RS256');

  const refused = async (hint: string, why: string) => {
    const res = await browser.get(endSessionUrl({ id_token_hint: hint, post_logout_redirect_uri: LOGGED_OUT }));
    assert.equal(res.statusCode, 400, why);
    assert.equal(res.headers.location, undefined, why);
    assert.ok(await sessionAlive(server, cookie), why);
  };
  const attacker = await generateKeyPair('RS256', { extractable: true });
  const claims = { iss: server.issuer, sub: user.id, aud: client.clientId, iat: now, exp: now + 600 };
  await refused(
    await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: rs.kid }).sign(attacker.privateKey),
    'signed by another key under our kid',
  );
  await refused(
    await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'attacker', jwk: await exportJWK(attacker.publicKey) })
      .sign(attacker.privateKey),
    'JW-03: a key in the header',
  );
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  await refused(`${b64({ alg: 'none', kid: rs.kid })}.${b64(claims)}.`, 'JW-01: alg none');
  await refused(tokens.accessToken, 'an access token is not an ID token');
  await refused(
    await mintIdToken(server.deps.keys, {
      issuer: 'https://other.example',
      clientId: client.clientId,
      subject: user.id,
      alg: 'RS256',
      ttl: 600,
      now,
      authTime: now,
      claims: {},
    }),
    'another issuer',
  );
  await refused('not-a-jwt', 'garbage');

  // Another user's valid hint: the user must confirm.
  const foreignHint = await mintIdToken(server.deps.keys, {
    issuer: server.issuer,
    clientId: client.clientId,
    subject: 'someone-else',
    alg: 'RS256',
    ttl: 600,
    now,
    authTime: now,
    claims: {},
  });
  const confirm = await browser.get(endSessionUrl({ id_token_hint: foreignHint, post_logout_redirect_uri: LOGGED_OUT }));
  assert.equal(confirm.statusCode, 200);
  assert.ok(parseForm(confirm.body).fields.csrf_token);
  assert.ok(await sessionAlive(server, cookie));

  // An ID token that expired two hours ago still identifies the user, the client and (SS-01) the session (§2).
  const expired = await mintIdToken(server.deps.keys, {
    issuer: server.issuer,
    clientId: client.clientId,
    subject: user.id,
    alg: 'RS256',
    ttl: 60,
    now: now - 7200,
    authTime: now - 7200,
    sid: decodeJwt(tokens.idToken).sid as string,
    claims: {},
  });
  const res = await browser.get(endSessionUrl({ id_token_hint: expired, post_logout_redirect_uri: LOGGED_OUT, state: 'e' }));
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, `${LOGGED_OUT}?state=e`);
  assert.equal(await sessionAlive(server, cookie), false);
});

/** A local RP back-channel endpoint on 127.0.0.1:0 that records what it receives. */
async function backchannelReceiver(answer: number | 'hold' = 200) {
  const received: { contentType: string; body: URLSearchParams }[] = [];
  const waiters: (() => void)[] = [];
  const held: ServerResponse[] = [];
  const http = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ contentType: String(req.headers['content-type']), body: new URLSearchParams(body) });
      for (const w of waiters.splice(0)) w();
      if (answer === 'hold') held.push(res);
      else res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/backchannel-logout`;
  return {
    url,
    received,
    held,
    /** Resolves once `count` requests have arrived (fails the test after 10 s instead of hanging). */
    async waitFor(count: number): Promise<void> {
      while (received.length < count) {
        await new Promise<void>((resolve, reject) => {
          const guard = setTimeout(() => reject(new Error(`expected ${count} back-channel request(s), got ${received.length}`)), 10_000);
          guard.unref();
          waiters.push(() => {
            clearTimeout(guard);
            resolve();
          });
        });
      }
    },
    async close(): Promise<void> {
      for (const res of held) res.writeHead(200).end();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

test('back-channel logout: a logout token for the ended session reaches each registered client, verifiable with our JWKS, without ever blocking the logout', async (t) => {
  const ok = await backchannelReceiver(200);
  const failing = await backchannelReceiver(500);
  const slow = await backchannelReceiver('hold');
  t.after(() => Promise.all([ok.close(), failing.close(), slow.close()]));
  const { server, client, user, browser, tokens } = await setup({ backchannelLogoutUri: ok.url });
  t.after(() => server.close());
  const failingClient = await server.createClient({ redirectUris: ['https://c2.example/cb'], backchannelLogoutUri: failing.url });
  const slowClient = await server.createClient({ redirectUris: ['https://c3.example/cb'], backchannelLogoutUri: slow.url });
  const silentClient = await server.createClient({ redirectUris: ['https://c4.example/cb'] });
  for (const c of [failingClient, slowClient, silentClient]) await signIn(server, browser, c, user, 'openid');
  const unrelated = await server.createUser('bob');
  await signIn(
    server,
    new Browser(server.app),
    await server.createClient({ redirectUris: ['https://c5.example/cb'], backchannelLogoutUri: ok.url }),
    unrelated,
    'openid',
  );

  const res = await browser.get(endSessionUrl({ id_token_hint: tokens.idToken, post_logout_redirect_uri: LOGGED_OUT }));
  assert.equal(res.statusCode, 303, 'the logout completes whatever the clients do');
  await Promise.all([ok.waitFor(1), failing.waitFor(1), slow.waitFor(1)]);
  assert.equal(slow.held.length, 1, 'the logout answered while a client had not answered yet');
  assert.equal(ok.received.length, 1, 'only clients of this user are told');

  const delivery = ok.received[0]!;
  assert.equal(delivery.contentType, 'application/x-www-form-urlencoded');
  const logoutToken = delivery.body.get('logout_token')!;
  const jwks = (await server.app.inject({ method: 'GET', url: '/jwks' })).json() as JSONWebKeySet;
  const { payload, protectedHeader } = await jwtVerify(logoutToken, createLocalJWKSet(jwks), {
    issuer: server.issuer,
    audience: client.clientId,
    typ: 'logout+jwt',
    algorithms: ['RS256'],
  });
  const idToken = decodeJwt(tokens.idToken);
  assert.equal(protectedHeader.kid, server.deps.keys.signingKey('RS256').kid);
  assert.equal(payload.sub, user.id);
  assert.equal(payload.sid, idToken.sid, 'the sid of the ended session, as in the ID token');
  assert.ok(typeof payload.sid === 'string' && payload.sid.length > 0);
  assert.deepEqual(payload.events, { [BACKCHANNEL_LOGOUT_EVENT]: {} });
  assert.equal(payload.exp! - payload.iat!, 120);
  assert.ok(typeof payload.jti === 'string' && payload.jti.length >= 16);
  assert.equal(payload.nonce, undefined, 'a logout token never carries a nonce');
  assert.equal(decodeProtectedHeader(failing.received[0]!.body.get('logout_token')!).typ, 'logout+jwt');
  assert.notEqual(failing.received[0]!.body.get('logout_token'), logoutToken, 'one token per client');
});

test('sessions revoke signs a user out everywhere: every session, refresh-token family and access token', async (t) => {
  const { server, client, user, browser, tokens } = await setup();
  t.after(() => server.close());
  const second = new Browser(server.app);
  const secondTokens = await signIn(server, second, client, user);
  const noRefresh = await signIn(server, browser, client, user, 'openid profile');
  const bob = await server.createUser('bob');
  const bobTokens = await signIn(server, new Browser(server.app), client, bob);
  const cookies = [browser.cookies.get(COOKIE)!, second.cookies.get(COOKIE)!];

  const result = await revokeUserSessions(server.deps.storage, user.id, nowSeconds());
  assert.equal(result.sessions, 2);
  assert.equal(result.families, 2);
  assert.equal(result.accessTokens, 3, 'the access tokens issued from the three codes');
  for (const cookie of cookies) {
    assert.equal(await sessionAlive(server, cookie), false);
    assert.ok(await showsLoginPage(server, client, cookie));
  }
  for (const rt of [tokens.refreshToken, secondTokens.refreshToken]) {
    const res = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: rt }, client);
    assert.equal(res.json().error, 'invalid_grant');
  }
  for (const at of [tokens.accessToken, secondTokens.accessToken, noRefresh.accessToken]) {
    const res = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${at}` } });
    assert.equal(res.statusCode, 401);
  }
  // Bob is untouched.
  const bobRefresh = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: bobTokens.refreshToken }, client);
  assert.equal(bobRefresh.statusCode, 200);
});

function gatehouse(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATEHOUSE_BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('CLI: gatehouse sessions revoke --user prints counts and sends a sub-only logout token; clients create takes the logout URIs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sessions-'));
  const rp = await backchannelReceiver(200);
  t.after(async () => {
    await rp.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const env = { GATEHOUSE_DATABASE_URL: database };
  const issuer = 'http://127.0.0.1:9555';

  const created = await gatehouse(
    [
      'clients',
      'create',
      '--name',
      'RP',
      '--redirect-uri',
      'https://rp.example/cb',
      '--post-logout-redirect-uri',
      'https://rp.example/bye',
      '--post-logout-redirect-uri',
      'https://rp.example/bye2',
      '--backchannel-logout-uri',
      rp.url,
      '--json',
    ],
    env,
  );
  assert.equal(created.code, 0, created.stderr);
  const rpClient = JSON.parse(created.stdout) as Record<string, unknown>;
  assert.deepEqual(rpClient.post_logout_redirect_uris, ['https://rp.example/bye', 'https://rp.example/bye2']);
  assert.equal(rpClient.backchannel_logout_uri, rp.url);
  for (const [flag, value] of [
    ['--post-logout-redirect-uri', 'http://evil.example/bye'],
    ['--post-logout-redirect-uri', 'https://rp.example/bye#f'],
    ['--backchannel-logout-uri', 'http://rp.example/bcl'],
    ['--backchannel-logout-uri', 'https://rp.example/bcl#f'],
  ] as const) {
    const bad = await gatehouse(['clients', 'create', '--name', 'Bad', '--redirect-uri', 'https://rp.example/cb', flag, value], env);
    assert.equal(bad.code, 1, `${flag} ${value} must be refused`);
  }

  const storage = await openStorage(database);
  const now = nowSeconds();
  await new KeyStore(storage.signingKeys).initialise(now);
  await storage.users.create({
    id: 'u-alice',
    username: 'alice',
    passwordHash: await hashPassword('correct horse battery'),
    email: null,
    name: null,
    claims: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  });
  await storage.grants.save('u-alice', String(rpClient.client_id), ['openid'], now);
  for (const id of ['s1', 's2']) {
    await storage.sessions.create({
      idHash: sha256(id),
      sid: `sid-${id}`,
      userId: 'u-alice',
      authTime: now,
      createdAt: now,
      expiresAt: now + 3600,
    });
  }
  await storage.refreshTokens.create({
    tokenHash: sha256('rt'),
    familyId: 'fam-1',
    clientId: String(rpClient.client_id),
    userId: 'u-alice',
    scopes: ['openid', 'offline_access'],
    resources: [],
    authTime: now,
    sid: 'sid-s1',
    createdAt: now,
    expiresAt: now + 3600,
    idleExpiresAt: now + 3600,
    rotatedAt: null,
    revokedAt: null,
    accessToken: null,
    successor: null,
  });
  const keys = new KeyStore(storage.signingKeys);
  await keys.reload(now);
  const jwks = keys.jwks() as JSONWebKeySet;
  await storage.close();

  const revoked = await gatehouse(['sessions', 'revoke', '--user', 'alice', '--issuer', issuer, '--json'], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.deepEqual(JSON.parse(revoked.stdout), {
    user: 'alice',
    sessions: 2,
    refresh_token_families: 1,
    access_tokens_denied: 0,
    backchannel_logout: { clients: 1, delivered: 1 },
  });
  assert.equal(rp.received.length, 1);
  const { payload } = await jwtVerify(rp.received[0]!.body.get('logout_token')!, createLocalJWKSet(jwks), {
    issuer,
    audience: String(rpClient.client_id),
    typ: 'logout+jwt',
  });
  assert.equal(payload.sub, 'u-alice');
  assert.equal(payload.sid, undefined, 'every session of the user: no sid (Back-Channel Logout 1.0 §2.4)');

  const again = await gatehouse(['sessions', 'revoke', '--user', 'alice'], env);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /sessions deleted:\s+0/);
  const unknown = await gatehouse(['sessions', 'revoke', '--user', 'nobody'], env);
  assert.equal(unknown.code, 1);
  const usage = await gatehouse(['sessions', 'revoke'], env);
  assert.equal(usage.code, 2);
});
