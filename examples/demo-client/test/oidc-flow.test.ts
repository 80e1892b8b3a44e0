// The relying-party logic of the demo client against a scripted provider on 127.0.0.1:0:
// authorization request, callback checks, code exchange, refresh rotation, logout.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { buildClientApp, SESSION_COOKIE } from '../src/app.js';
import { CLIENT_ID, CLIENT_SECRET, startFakeOp, type FakeOp, type FakeOpOptions } from './helpers/fake-op.js';
import { setCookieHeader, setCookieValue } from './helpers/inject.js';

const BASE_URL = 'http://127.0.0.1:8080';

async function setup(t: TestContext, opOptions: FakeOpOptions = {}, appOptions: { postLogoutRedirectUri?: string } = {}) {
  const op = await startFakeOp(opOptions);
  const app = buildClientApp({
    issuer: op.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseUrl: BASE_URL,
    apiUrl: op.apiUrl,
    logger: false,
    ...appOptions,
  });
  t.after(async () => {
    await app.close();
    await op.close();
  });
  return { op, app };
}

type App = Awaited<ReturnType<typeof setup>>['app'];

/** POST /login: returns the authorization URL and the browser's session cookie. */
async function startLogin(app: App, cookie?: string): Promise<{ authorizationUrl: URL; cookie: string }> {
  // As a browser submits the Connect button's form.
  const response = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { origin: BASE_URL, 'content-type': 'application/x-www-form-urlencoded' },
    payload: '',
    ...(cookie ? { cookies: { [SESSION_COOKIE]: cookie } } : {}),
  });
  assert.equal(response.statusCode, 303);
  const session = setCookieValue(response, SESSION_COOKIE) ?? cookie;
  assert.ok(session, 'a session cookie');
  return { authorizationUrl: new URL(response.headers.location as string), cookie: session };
}

async function signIn(app: App, op: FakeOp): Promise<string> {
  const { authorizationUrl, cookie } = await startLogin(app);
  const code = op.approve(authorizationUrl);
  const callback = await app.inject({
    method: 'GET',
    url: `/callback?code=${code}&state=${authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent(op.issuer)}`,
    cookies: { [SESSION_COOKIE]: cookie },
  });
  assert.equal(callback.statusCode, 303, callback.body);
  assert.equal(callback.headers.location, '/');
  const signedIn = setCookieValue(callback, SESSION_COOKIE);
  assert.ok(signedIn);
  return signedIn;
}

test('connect sends the browser to the authorization endpoint with PKCE S256, state, nonce and the scopes', async (t) => {
  const { app, op } = await setup(t);
  const response = await app.inject({ method: 'POST', url: '/login', headers: { origin: BASE_URL } });
  assert.equal(response.statusCode, 303);
  const url = new URL(response.headers.location as string);
  assert.equal(`${url.origin}${url.pathname}`, `${op.issuer}/authorize`);
  const p = url.searchParams;
  assert.equal(p.get('response_type'), 'code');
  assert.equal(p.get('client_id'), CLIENT_ID);
  assert.equal(p.get('redirect_uri'), `${BASE_URL}/callback`);
  assert.equal(p.get('scope'), 'openid profile email offline_access photos:read');
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.match(p.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok((p.get('state') ?? '').length >= 22);
  assert.ok((p.get('nonce') ?? '').length >= 22);
  const cookie = setCookieHeader(response, SESSION_COOKIE) ?? '';
  assert.match(cookie, /HttpOnly/i);
  assert.match(cookie, /SameSite=Lax/i);
  assert.match(cookie, /Path=\//);
});

test('with a PAR endpoint the authorization request is pushed, client-authenticated and with the session DPoP key; the browser carries only client_id and request_uri', async (t) => {
  const { app, op } = await setup(t, { par: true });
  const { authorizationUrl, cookie } = await startLogin(app);
  assert.equal(`${authorizationUrl.origin}${authorizationUrl.pathname}`, `${op.issuer}/authorize`);
  assert.deepEqual([...authorizationUrl.searchParams.keys()].sort(), ['client_id', 'request_uri']);
  assert.equal(op.parRequests.length, 1);
  const pushed = op.parRequests[0]!;
  assert.equal(authorizationUrl.searchParams.get('request_uri'), pushed.requestUri);
  assert.match(pushed.authorization ?? '', /^Basic /);
  const p = pushed.params;
  assert.equal(p.get('response_type'), 'code');
  assert.equal(p.get('redirect_uri'), `${BASE_URL}/callback`);
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.match(p.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok((p.get('state') ?? '').length >= 22);
  const decode = (jwt: string | undefined, part: 0 | 1) =>
    JSON.parse(Buffer.from((jwt ?? '').split('.')[part] ?? '', 'base64url').toString()) as Record<string, unknown>;
  assert.equal(decode(pushed.dpop, 0).typ, 'dpop+jwt');
  assert.equal(decode(pushed.dpop, 1).htu, `${op.issuer}/par`);
  // The pushed request completes the flow: the code is redeemed with a proof of the same key.
  const code = op.approve(authorizationUrl);
  const callback = await app.inject({
    method: 'GET',
    url: `/callback?code=${code}&state=${p.get('state')}&iss=${encodeURIComponent(op.issuer)}`,
    cookies: { [SESSION_COOKIE]: cookie },
  });
  assert.equal(callback.statusCode, 303, callback.body);
  assert.equal(callback.headers.location, '/');
  const exchange = op.tokenRequests.find((r) => r.grantType === 'authorization_code');
  assert.deepEqual(decode(exchange?.dpop, 0).jwk, decode(pushed.dpop, 0).jwk, 'PAR and token request prove one key');
});

test('a pushed authorization request that fails shows the unavailable page, not an error', async (t) => {
  const { app, op } = await setup(t, { par: true });
  // Discovery first (it is cached), then the provider goes away before the push.
  await app.inject({ method: 'POST', url: '/login', headers: { origin: BASE_URL } });
  await op.close();
  const response = await app.inject({ method: 'POST', url: '/login', headers: { origin: BASE_URL } });
  assert.equal(response.statusCode, 503);
  assert.match(String(response.headers['content-type']), /^text\/html/);
});

test('connect refuses a form posted from another site', async (t) => {
  const { app } = await setup(t);
  for (const origin of ['https://evil.example', 'null']) {
    const response = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '',
    });
    assert.equal(response.statusCode, 403, origin);
    assert.equal(response.headers['set-cookie'], undefined);
  }
});

test('a successful callback redeems the code with the PKCE verifier, client_secret_basic and a DPoP proof, then shows the user and photos', async (t) => {
  const { app, op } = await setup(t);
  const { authorizationUrl, cookie: preLoginCookie } = await startLogin(app);
  const code = op.approve(authorizationUrl);
  const callback = await app.inject({
    method: 'GET',
    url: `/callback?code=${code}&state=${authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent(op.issuer)}`,
    cookies: { [SESSION_COOKIE]: preLoginCookie },
  });
  assert.equal(callback.statusCode, 303, callback.body);
  assert.equal(callback.headers.location, '/');

  const exchange = op.tokenRequests.find((r) => r.grantType === 'authorization_code');
  assert.ok(exchange);
  const challenge = createHash('sha256')
    .update(exchange.codeVerifier ?? '')
    .digest('base64url');
  assert.equal(challenge, authorizationUrl.searchParams.get('code_challenge'));
  assert.match(exchange.authorization ?? '', /^Basic /);
  // RFC 9449: the code is exchanged with a DPoP proof of the session's key, made by openid-client.
  const proofHeader = JSON.parse(Buffer.from((exchange.dpop ?? '').split('.')[0] ?? '', 'base64url').toString()) as {
    typ?: string;
    jwk?: { d?: string };
  };
  assert.equal(proofHeader.typ, 'dpop+jwt');
  assert.ok(proofHeader.jwk && proofHeader.jwk.d === undefined, 'the proof carries the public key only');

  const session = setCookieValue(callback, SESSION_COOKIE);
  assert.ok(session);
  assert.notEqual(session, preLoginCookie, 'the session id changes at sign-in');
  const old = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: preLoginCookie } });
  assert.match(old.body, /Connect with Gatehouse/, 'the pre-login session id is worthless');

  const home = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
  assert.equal(home.statusCode, 200);
  assert.match(home.body, /Welcome, Alice &lt;Example&gt;/);
  assert.match(home.body, /alice@example\.com/);
  assert.match(home.body, /Harbour at dusk/);
  assert.match(home.body, /<img src="data:image\/svg\+xml;base64,/);
  // hostile photo data from the API is escaped, and a javascript: thumbnail is dropped
  assert.match(home.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.doesNotMatch(home.body, /javascript:/);
  // tokens never reach the browser
  const [accessToken] = op.issuedAccessTokens;
  assert.ok(accessToken);
  assert.ok(!home.body.includes(accessToken));
  assert.ok(!home.body.includes(op.currentRefreshToken() ?? '-'));
});

test('a callback answering a login started in another browser is refused without redeeming the code', async (t) => {
  const { app, op } = await setup(t);
  const victim = await startLogin(app);
  const attacker = await startLogin(app);
  const attackerCode = op.approve(attacker.authorizationUrl, 'user-mallory');
  const response = await app.inject({
    method: 'GET',
    url: `/callback?code=${attackerCode}&state=${attacker.authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent(op.issuer)}`,
    cookies: { [SESSION_COOKIE]: victim.cookie },
  });
  assert.equal(response.statusCode, 400);
  assert.match(response.body, /state_mismatch/);
  assert.equal(op.tokenRequests.length, 0);
});

test('a state can be used only once', async (t) => {
  const { app, op } = await setup(t);
  const { authorizationUrl, cookie } = await startLogin(app);
  const url = `/callback?error=access_denied&state=${authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent(op.issuer)}`;
  const first = await app.inject({ method: 'GET', url, cookies: { [SESSION_COOKIE]: cookie } });
  assert.equal(first.statusCode, 303);
  const again = await app.inject({ method: 'GET', url, cookies: { [SESSION_COOKIE]: cookie } });
  assert.equal(again.statusCode, 400);
});

test('a response from another issuer (iss mismatch, RFC 9207) is refused without redeeming the code', async (t) => {
  const { app, op } = await setup(t);
  const { authorizationUrl, cookie } = await startLogin(app);
  const code = op.approve(authorizationUrl);
  const response = await app.inject({
    method: 'GET',
    url: `/callback?code=${code}&state=${authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent('https://mix-up.example')}`,
    cookies: { [SESSION_COOKIE]: cookie },
  });
  assert.equal(response.statusCode, 400);
  assert.equal(op.tokenRequests.length, 0);
});

test('a response without iss is refused when the server advertises RFC 9207 support', async (t) => {
  const { app, op } = await setup(t);
  const { authorizationUrl, cookie } = await startLogin(app);
  const code = op.approve(authorizationUrl);
  const response = await app.inject({
    method: 'GET',
    url: `/callback?code=${code}&state=${authorizationUrl.searchParams.get('state')}`,
    cookies: { [SESSION_COOKIE]: cookie },
  });
  assert.equal(response.statusCode, 400);
  assert.equal(op.tokenRequests.length, 0);
});

test('access_denied leads to the friendly "you chose not to share" page', async (t) => {
  const { app, op } = await setup(t);
  const { authorizationUrl, cookie } = await startLogin(app);
  const response = await app.inject({
    method: 'GET',
    url: `/callback?error=access_denied&state=${authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent(op.issuer)}`,
    cookies: { [SESSION_COOKIE]: cookie },
  });
  assert.equal(response.statusCode, 303);
  assert.equal(response.headers.location, '/denied');
  const page = await app.inject({ method: 'GET', url: '/denied' });
  assert.match(page.body, /You chose not to share your photos/);
});

test('other authorization errors are shown with their code, escaped', async (t) => {
  const { app, op } = await setup(t);
  const { authorizationUrl, cookie } = await startLogin(app);
  const response = await app.inject({
    method: 'GET',
    url: `/callback?error=invalid_scope&error_description=${encodeURIComponent('<script>alert(1)</script>')}&state=${authorizationUrl.searchParams.get('state')}&iss=${encodeURIComponent(op.issuer)}`,
    cookies: { [SESSION_COOKIE]: cookie },
  });
  assert.equal(response.statusCode, 400);
  assert.match(response.body, /invalid_scope/);
  assert.doesNotMatch(response.body, /<script>alert/);
  assert.match(response.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('an access token the API rejects is refreshed once and the rotated refresh token is kept', async (t) => {
  const { app, op } = await setup(t);
  const session = await signIn(app, op);
  const firstAccessToken = op.issuedAccessTokens[0];
  assert.ok(firstAccessToken);
  const firstRefreshToken = op.currentRefreshToken();
  op.rejectedAccessTokens.add(firstAccessToken);

  const home = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
  assert.equal(home.statusCode, 200);
  assert.match(home.body, /Harbour at dusk/);
  const refreshes = op.tokenRequests.filter((r) => r.grantType === 'refresh_token');
  assert.equal(refreshes.length, 1, 'both API calls share one refresh');
  assert.equal(refreshes[0]?.refreshToken, firstRefreshToken);
  assert.ok(refreshes[0]?.dpop, 'the refresh is sent with a DPoP proof');

  // The next refresh must use the NEW refresh token (the fake server rejects reuse).
  op.rejectedAccessTokens.add(op.issuedAccessTokens.at(-1) ?? '');
  const again = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
  assert.equal(again.statusCode, 200);
  assert.match(again.body, /Harbour at dusk/);
  const all = op.tokenRequests.filter((r) => r.grantType === 'refresh_token');
  assert.equal(all.length, 2);
  assert.notEqual(all[1]?.refreshToken, firstRefreshToken);
});

test('an expired access token is refreshed before calling the API, once for concurrent requests', async (t) => {
  const { app, op } = await setup(t, { accessTokenTtl: 0 });
  const session = await signIn(app, op);
  const tokensBefore = op.tokenRequests.length;
  const [a, b] = await Promise.all([
    app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } }),
    app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } }),
  ]);
  assert.equal(a.statusCode, 200);
  assert.equal(b.statusCode, 200);
  assert.match(a.body, /Harbour at dusk/);
  assert.match(b.body, /Harbour at dusk/);
  const refreshes = op.tokenRequests.slice(tokensBefore).filter((r) => r.grantType === 'refresh_token');
  assert.ok(refreshes.length >= 1);
  const used = refreshes.map((r) => r.refreshToken);
  assert.equal(new Set(used).size, used.length, 'no refresh token is ever sent twice');
});

test('a refused refresh ends the session and says so', async (t) => {
  const { app, op } = await setup(t);
  const session = await signIn(app, op);
  op.rejectedAccessTokens.add(op.issuedAccessTokens[0] ?? '');
  op.refuseRefresh = true;
  const response = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
  assert.equal(response.statusCode, 303);
  assert.equal(response.headers.location, '/?notice=session-ended');
  const after = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
  assert.match(after.body, /Connect with Gatehouse/);
});

test('sign out without an end_session_endpoint is local: session gone, refresh token revoked', async (t) => {
  const { app, op } = await setup(t);
  const session = await signIn(app, op);
  const refreshToken = op.currentRefreshToken();
  const response = await app.inject({
    method: 'POST',
    url: '/logout',
    headers: { origin: BASE_URL, 'content-type': 'application/x-www-form-urlencoded' },
    payload: '',
    cookies: { [SESSION_COOKIE]: session },
  });
  assert.equal(response.statusCode, 303);
  assert.equal(response.headers.location, '/signed-out');
  assert.deepEqual(op.revoked, [refreshToken]);
  const after = await app.inject({ method: 'GET', url: '/', cookies: { [SESSION_COOKIE]: session } });
  assert.match(after.body, /Connect with Gatehouse/);
});

test('sign out goes to the end_session_endpoint with id_token_hint when discovery advertises one', async (t) => {
  const { app, op } = await setup(t, { endSession: true }, { postLogoutRedirectUri: `${BASE_URL}/` });
  const session = await signIn(app, op);
  const response = await app.inject({
    method: 'POST',
    url: '/logout',
    headers: { origin: BASE_URL, 'content-type': 'application/x-www-form-urlencoded' },
    payload: '',
    cookies: { [SESSION_COOKIE]: session },
  });
  assert.equal(response.statusCode, 303);
  const url = new URL(response.headers.location as string);
  assert.equal(`${url.origin}${url.pathname}`, `${op.issuer}/logout`);
  assert.equal(url.searchParams.get('client_id'), CLIENT_ID);
  assert.equal(url.searchParams.get('post_logout_redirect_uri'), `${BASE_URL}/`);
  assert.equal(url.searchParams.get('id_token_hint')?.split('.').length, 3);
});
