// Ending a browser session (RP-Initiated Logout 1.0 at /end-session): who may end it without being
// asked (SS-01), and what ending it takes with it (SS-02).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sha256 } from '../src/oauth/crypto.js';
import { mintIdToken } from '../src/oauth/tokens/jwt.js';
import { basic, Browser, form, getCode, parseForm, startServer, tokenRequest, type TestServer } from './helpers.js';

const COOKIE = 'gatehouse.session';
const LOGGED_OUT = 'https://c1.example/logged-out';
type Creds = { clientId: string; clientSecret: string | undefined; redirectUri: string };

async function signIn(server: TestServer, browser: Browser, client: Creds, scope: string) {
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope },
    {
      username: 'alice',
      password: 'correct horse battery',
    },
  );
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { access_token: string; id_token: string; refresh_token?: string };
}

async function sessionAlive(server: TestServer, browser: Browser): Promise<boolean> {
  const cookie = browser.cookies.get(COOKIE);
  return cookie !== undefined && (await server.deps.storage.sessions.findActive(sha256(cookie), server.clock())) !== undefined;
}

async function introspect(server: TestServer, client: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: form({ token }),
  });
  return res.json() as Record<string, unknown>;
}

const userinfo = (server: TestServer, token: string) =>
  server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${token}` } });

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient({ postLogoutRedirectUris: [LOGGED_OUT] });
  const user = await server.createUser();
  return { server, client, user };
}

/** A confirmation page: 200, a form whose buttons ask, and the session still there. */
function assertConfirmationPage(res: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  assert.equal(res.statusCode, 200, res.body.slice(0, 200));
  assert.equal(res.headers.location, undefined);
  assert.ok('csrf_token' in parseForm(res.body).fields, 'the page asks, with a CSRF-protected form');
}

test("SS-01 an id_token_hint from the user's previous session shows the confirmation page and ends nothing", async (t) => {
  const { server, client } = await setup(t);
  const browser = new Browser(server.app);
  const old = await signIn(server, browser, client, 'openid');
  const out = await browser.get(`/end-session?${form({ id_token_hint: old.id_token, post_logout_redirect_uri: LOGGED_OUT })}`);
  assert.equal(out.statusCode, 303, 'the hint of the live session logs out without asking');
  assert.equal(await sessionAlive(server, browser), false);

  const current = await signIn(server, browser, client, 'openid');
  assert.notEqual(current.id_token, old.id_token);
  const res = await browser.get(`/end-session?${form({ id_token_hint: old.id_token, post_logout_redirect_uri: LOGGED_OUT })}`);
  assertConfirmationPage(res);
  assert.equal(await sessionAlive(server, browser), true, 'the current session is not ended by an old hint');
  assert.equal((await userinfo(server, current.access_token)).statusCode, 200);
});

test('SS-01 an id_token_hint without sid shows the confirmation page, even for the signed-in user', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await signIn(server, browser, client, 'openid');
  const now = server.clock();
  const withoutSid = await mintIdToken(server.deps.keys, {
    issuer: server.issuer,
    clientId: client.clientId,
    subject: user.id,
    alg: 'RS256',
    ttl: 300,
    now,
    authTime: now,
    claims: {},
  });
  const res = await browser.get(`/end-session?${form({ id_token_hint: withoutSid, post_logout_redirect_uri: LOGGED_OUT })}`);
  assertConfirmationPage(res);
  assert.equal(await sessionAlive(server, browser), true);
});

test("SS-02 a code issued before logout and redeemed after gets invalid_grant, and the session's access tokens are denied", async (t) => {
  const { server, client } = await setup(t);
  const browser = new Browser(server.app);
  const other = new Browser(server.app);
  const tokens = await signIn(server, browser, client, 'openid profile');
  const elsewhere = await signIn(server, other, client, 'openid profile');
  const pending = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid' },
    {
      username: 'alice',
      password: 'correct horse battery',
    },
  );

  const out = await browser.get(`/end-session?${form({ id_token_hint: tokens.id_token, post_logout_redirect_uri: LOGGED_OUT })}`);
  assert.equal(out.statusCode, 303);

  const redeemed = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code: pending.code, redirect_uri: client.redirectUri, code_verifier: pending.verifier },
    client,
  );
  assert.equal(redeemed.statusCode, 400);
  assert.equal(redeemed.json().error, 'invalid_grant');
  assert.equal((await userinfo(server, tokens.access_token)).statusCode, 401, 'the access token of the ended session is denied');
  assert.deepEqual(await introspect(server, client, tokens.access_token), { active: false });
  // The user's other session is a different session: its tokens live on.
  assert.equal((await userinfo(server, elsewhere.access_token)).statusCode, 200);
  assert.equal((await introspect(server, client, elsewhere.access_token)).active, true);
});

test('SS-02 ending a session by confirmation also voids its unredeemed codes', async (t) => {
  const { server, client } = await setup(t);
  const browser = new Browser(server.app);
  const tokens = await signIn(server, browser, client, 'openid');
  const pending = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid' },
    {
      username: 'alice',
      password: 'correct horse battery',
    },
  );
  const page = await browser.get(`/end-session?${form({ client_id: client.clientId })}`);
  assertConfirmationPage(page);
  const f = parseForm(page.body);
  const res = await browser.post(f.action, { ...f.fields, logout: 'yes' }, { origin: server.issuer });
  assert.ok(res.statusCode < 400, res.body.slice(0, 200));
  assert.equal(await sessionAlive(server, browser), false);
  const redeemed = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code: pending.code, redirect_uri: client.redirectUri, code_verifier: pending.verifier },
    client,
  );
  assert.equal(redeemed.json().error, 'invalid_grant');
  assert.equal((await userinfo(server, tokens.access_token)).statusCode, 401);
});
