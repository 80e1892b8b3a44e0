// The authorization endpoint: RFC 6749 §3.1, §4.1.1-4.1.2.1; RFC 7636; RFC 9207; OIDC Core §3.1.2.
// Errors about client_id/redirect_uri render an error page; every other error redirects with error, state, iss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  authorizeUrl,
  Browser,
  form,
  getCode,
  pkce,
  tokenRequest,
  type TestServer,
  assertErrorPage,
  assertErrorRedirect,
  continueFlow,
  countRows,
  createPublicClient,
  header,
  isConsentForm,
  isLoginForm,
  locationOf,
  startInteraction,
  setupWithClientAndUser as setup,
} from './helpers.js';
import { RU01_VARIANTS, RU05_CASES } from './cases.js';

const C1 = 'https://c1.example/cb';

/** Authorize request parameters (a valid request unless overridden; `undefined` removes one). */
function params(clientId: string, over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: C1,
    scope: 'openid profile',
    state: 'S',
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    ...over,
  };
}

const get = (server: TestServer, values: Record<string, string | undefined> | string, headers: Record<string, string> = {}) =>
  server.app.inject({ method: 'GET', url: `/authorize?${typeof values === 'string' ? values : form(values)}`, headers });

/** A valid request starts an interaction: 303 to /interaction/<id>. */
function assertStartsInteraction(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.equal(res.statusCode, 303, res.body.slice(0, 300));
  assert.match(String(res.headers.location), /^\/interaction\/[A-Za-z0-9_-]{43}$/);
}

test('a valid request sends the browser to the login page with 303', async (t) => {
  const { server, client } = await setup(t);
  assertStartsInteraction(await get(server, params(client.clientId)));
});

test('RU-01 rejects every variant of the registered redirect_uri with an error page', async (t) => {
  const { server, client } = await setup(t);
  for (const [name, uri] of RU01_VARIANTS) {
    await t.test(`${name}: ${uri}`, async () => {
      const res = await get(server, params(client.clientId, { redirect_uri: uri }));
      assertErrorPage(res, uri);
    });
  }
});

test('RU-02 an unknown or missing client_id gives an error page, never a redirect', async (t) => {
  const { server } = await setup(t);
  assertErrorPage(await get(server, params('nope', { redirect_uri: 'https://evil.com' })), 'https://evil.com');
  assertErrorPage(await get(server, params('nope')), C1);
  assertErrorPage(await get(server, params('', { redirect_uri: 'https://evil.com' })), 'https://evil.com');
  assertErrorPage(await get(server, params('x'.repeat(1000), { redirect_uri: 'https://evil.com' })), 'https://evil.com');
});

test('RU-02 a bad redirect_uri plus a bad scope still gives an error page (redirect_uri is checked first)', async (t) => {
  const { server, client } = await setup(t);
  assertErrorPage(
    await get(server, params(client.clientId, { redirect_uri: 'https://evil.com/cb', scope: 'bogus' })),
    'https://evil.com/cb',
  );
  assertErrorPage(
    await get(server, params(client.clientId, { redirect_uri: 'https://evil.com/cb', response_type: 'token' })),
    'https://evil.com/cb',
  );
  assertErrorPage(
    await get(server, params(client.clientId, { redirect_uri: 'https://evil.com/cb', code_challenge: undefined })),
    'https://evil.com/cb',
  );
});

test('RU-02 a redirect_uri registered for another client gives an error page', async (t) => {
  const { server, client } = await setup(t);
  await server.createClient({ redirectUris: ['https://c2.example/cb'] });
  assertErrorPage(await get(server, params(client.clientId, { redirect_uri: 'https://c2.example/cb' })), 'https://c2.example/cb');
});

test('RU-03 without redirect_uri: error page when several are registered or for OpenID requests', async (t) => {
  const { server } = await setup(t);
  const two = await server.createClient({ redirectUris: [C1, 'https://c1.example/other'] });
  assertErrorPage(await get(server, params(two.clientId, { redirect_uri: undefined, scope: 'profile' })));
  const one = await server.createClient({ redirectUris: [C1] });
  assertErrorPage(await get(server, params(one.clientId, { redirect_uri: undefined, scope: 'openid profile' })));
});

test('RU-03 an OAuth (non-OpenID) request with one registered URI may omit redirect_uri', async (t) => {
  const { server, client } = await setup(t);
  assertStartsInteraction(await get(server, params(client.clientId, { redirect_uri: undefined, scope: 'profile' })));
});

test('RU-04 a scope the client may not use redirects with invalid_scope, state and iss', async (t) => {
  const { server } = await setup(t);
  const narrow = await server.createClient({ redirectUris: [C1], scope: 'openid profile' });
  for (const scope of ['bogus', 'openid email', 'openid photos:read', 'openid "quoted"']) {
    const res = await get(server, params(narrow.clientId, { scope }));
    assertErrorRedirect(res, { redirectUri: C1, error: 'invalid_scope', state: 'S' });
  }
});

test('RU-04 a missing scope is an error redirect', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { scope: undefined, redirect_uri: C1 })), {
    redirectUri: C1,
    error: ['invalid_scope', 'invalid_request'],
    state: 'S',
  });
});

test('RU-04 response_type=token gets unsupported_response_type; a missing one invalid_request', async (t) => {
  const { server, client } = await setup(t);
  for (const rt of ['token', 'code id_token', 'id_token', 'code token', 'none', 'CODE']) {
    assertErrorRedirect(await get(server, params(client.clientId, { response_type: rt })), {
      redirectUri: C1,
      error: 'unsupported_response_type',
      state: 'S',
    });
  }
  assertErrorRedirect(await get(server, params(client.clientId, { response_type: undefined })), {
    redirectUri: C1,
    error: ['invalid_request', 'unsupported_response_type'],
    state: 'S',
  });
});

test('RU-04 a client without the authorization_code grant gets unauthorized_client', async (t) => {
  const { server } = await setup(t);
  const cc = await server.createClient({ redirectUris: [C1], grantTypes: ['client_credentials'] });
  assertErrorRedirect(await get(server, params(cc.clientId)), { redirectUri: C1, error: 'unauthorized_client', state: 'S' });
});

test('RU-04 request objects and response modes other than query are refused by redirect', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { request: 'eyJhbGciOiJub25lIn0.e30.' })), {
    redirectUri: C1,
    error: 'request_not_supported',
    state: 'S',
  });
  assertErrorRedirect(await get(server, params(client.clientId, { response_mode: 'fragment' })), {
    redirectUri: C1,
    error: 'invalid_request',
    state: 'S',
  });
});

test('RU-05 loopback redirect URIs: only the port may vary', async (t) => {
  const { server } = await setup(t);
  const p1 = await createPublicClient(server);
  for (const [name, uri, ok] of RU05_CASES) {
    await t.test(`${name}: ${uri}`, async () => {
      const res = await get(server, params(p1.clientId, { redirect_uri: uri }));
      if (ok) assertStartsInteraction(res);
      else assertErrorPage(res, uri);
    });
  }
});

test('RU-05 the code for a loopback redirect goes to the port that was requested', async (t) => {
  const { server, user } = await setup(t);
  const p1 = await createPublicClient(server, ['http://127.0.0.1/cb']);
  const { location } = await getCode(
    server,
    new Browser(server.app),
    { clientId: p1.clientId, redirectUri: 'http://127.0.0.1:51234/cb' },
    user,
  );
  assert.equal(`${location.origin}${location.pathname}`, 'http://127.0.0.1:51234/cb');
});

test('RU-05 a public client registered with http://localhost/cb may use any port; path, query and host stay exact', async (t) => {
  const { server } = await setup(t);
  const p1 = await createPublicClient(server, ['http://localhost/cb']);
  for (const [uri, ok] of [
    ['http://localhost/cb', true],
    ['http://localhost:51234/cb', true],
    ['http://localhost:51234/cb?x=1', false],
    ['http://localhost:51234/cb2', false],
    ['http://localhost.evil.test/cb', false],
    ['http://localhost.evil.test:51234/cb', false],
    ['http://127.0.0.1:51234/cb', false],
  ] as const) {
    await t.test(`${uri}`, async () => {
      const res = await get(server, params(p1.clientId, { redirect_uri: uri }));
      if (ok) assertStartsInteraction(res);
      else assertErrorPage(res, uri);
    });
  }
});

test('RU-05 a confidential client with a loopback redirect URI gets no port relaxation (RFC 8252 is for native clients)', async (t) => {
  const { server } = await setup(t);
  const c = await server.createClient({ redirectUris: ['http://127.0.0.1:8080/callback', 'http://localhost:8080/callback'] });
  for (const uri of ['http://127.0.0.1:8080/callback', 'http://localhost:8080/callback']) {
    assertStartsInteraction(await get(server, params(c.clientId, { redirect_uri: uri })));
    const other = uri.replace(':8080', ':8081');
    assertErrorPage(await get(server, params(c.clientId, { redirect_uri: other })), other);
  }
});

test('RU-10 the authorization endpoint accepts POST with a form body', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const p = pkce();
  const res = await browser.post('/authorize', params(client.clientId, { code_challenge: p.challenge }));
  assertStartsInteraction(res);
  const location = await continueFlow(browser, res, user);
  const code = location.searchParams.get('code');
  assert.ok(code);
  const tok = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: p.verifier },
    client,
  );
  assert.equal(tok.statusCode, 200, tok.body);
});

test('RU-10 unknown parameters are ignored and parameter order does not matter', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const p = pkce();
  const reversed = Object.entries(
    params(client.clientId, { code_challenge: p.challenge, extra: 'foobar', scope: 'profile openid' }),
  ).reverse();
  const res = await browser.get(`/authorize?${new URLSearchParams(reversed as [string, string][]).toString()}`);
  assertStartsInteraction(res);
  const location = await continueFlow(browser, res, user);
  assert.ok(location.searchParams.get('code'));
  assert.equal(location.searchParams.get('extra'), null, 'unknown parameters are not echoed');
});

test('RU-10 display, ui_locales, login_hint, claims_locales and acr_values do not cause an error', async (t) => {
  const { server, client } = await setup(t);
  assertStartsInteraction(
    await get(
      server,
      params(client.clientId, { display: 'popup', ui_locales: 'de en', login_hint: 'alice', claims_locales: 'de', acr_values: 'urn:x' }),
    ),
  );
});

test('RU-11 no CORS on the authorization endpoint', async (t) => {
  const { server, client } = await setup(t);
  const res = await get(server, params(client.clientId), { origin: 'https://evil.example' });
  assert.equal(res.headers['access-control-allow-origin'], undefined);
  assert.equal(res.headers['access-control-allow-credentials'], undefined);
  const pre = await server.app.inject({
    method: 'OPTIONS',
    url: '/authorize',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(pre.headers['access-control-allow-origin'], undefined);
});

test('IN-01 a repeated parameter is an error redirect with invalid_request', async (t) => {
  const { server, client } = await setup(t);
  const base = form(params(client.clientId, { scope: undefined }));
  assertErrorRedirect(await get(server, `${base}&scope=openid&scope=profile`), { redirectUri: C1, error: 'invalid_request' });
  const withChallenge = form(params(client.clientId));
  assertErrorRedirect(await get(server, `${withChallenge}&code_challenge=${pkce().challenge}`), {
    redirectUri: C1,
    error: 'invalid_request',
  });
  assertErrorRedirect(await get(server, `${withChallenge}&response_type=code`), { redirectUri: C1, error: 'invalid_request' });
});

test('IN-01 a duplicated client_id or redirect_uri gives an error page', async (t) => {
  const { server, client } = await setup(t);
  const base = form(params(client.clientId));
  assertErrorPage(await get(server, `${base}&client_id=${client.clientId}`));
  assertErrorPage(await get(server, `${base}&redirect_uri=${encodeURIComponent(C1)}`), C1);
  assertErrorPage(await get(server, `${base}&redirect_uri=${encodeURIComponent('https://evil.com/cb')}`), 'https://evil.com/cb');
});

test('IN-01 parameters split between the URL and the body of a POST are not merged', async (t) => {
  const { server, client } = await setup(t);
  const res = await server.app.inject({
    method: 'POST',
    url: `/authorize?scope=openid`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form(params(client.clientId, { scope: 'profile' })),
  });
  assert.notEqual(res.statusCode, 200);
  assert.ok(res.statusCode < 500);
  assert.doesNotMatch(String(res.headers.location ?? ''), /^\/interaction\//, 'the request must not proceed');
});

test('IN-02 an empty state is treated as omitted: no state in the response', async (t) => {
  const { server, client, user } = await setup(t);
  const res = await get(server, `${form(params(client.clientId, { scope: 'bogus', state: undefined }))}&state=`);
  const location = assertErrorRedirect(res, { redirectUri: C1, error: 'invalid_scope' });
  assert.equal(location.searchParams.has('state'), false);
  const browser = new Browser(server.app);
  const p = pkce();
  const ok = await browser.get(`/authorize?${form(params(client.clientId, { state: undefined, code_challenge: p.challenge }))}&state=`);
  const success = await continueFlow(browser, ok, user);
  assert.ok(success.searchParams.get('code'));
  assert.equal(success.searchParams.has('state'), false);
});

test('IN-08 CR/LF in state is percent-encoded in Location, never a header break', async (t) => {
  const { server, client } = await setup(t);
  const res = await get(
    server,
    `${form(params(client.clientId, { scope: 'bogus', state: undefined }))}&state=%0d%0aSet-Cookie:%20x=1%0d%0aX-Injected:%201`,
  );
  assert.equal(res.statusCode, 303);
  const raw = String(res.headers.location);
  assert.doesNotMatch(raw, /[\r\n]/);
  assert.equal(res.headers['x-injected'], undefined);
  assert.ok(!String(res.headers['set-cookie'] ?? '').includes('x=1'));
  assert.equal(new URL(raw).searchParams.get('state'), '\r\nSet-Cookie: x=1\r\nX-Injected: 1');
});

test('PK-01 a public client without code_challenge gets invalid_request', async (t) => {
  const { server } = await setup(t);
  const p1 = await createPublicClient(server, ['https://p1.example/cb']);
  assertErrorRedirect(
    await get(
      server,
      params(p1.clientId, { redirect_uri: 'https://p1.example/cb', code_challenge: undefined, code_challenge_method: undefined }),
    ),
    {
      redirectUri: 'https://p1.example/cb',
      error: 'invalid_request',
      state: 'S',
    },
  );
});

test('PK-01 a confidential client needs PKCE too by default', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { code_challenge: undefined, code_challenge_method: undefined })), {
    redirectUri: C1,
    error: 'invalid_request',
    state: 'S',
  });
});

test('PK-01 with the named opt-out, a confidential client may omit PKCE; a public client still may not', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_PKCE_REQUIRED_FOR_CONFIDENTIAL: 'false' });
  assertStartsInteraction(await get(server, params(client.clientId, { code_challenge: undefined, code_challenge_method: undefined })));
  const p1 = await createPublicClient(server, ['https://p1.example/cb']);
  assertErrorRedirect(
    await get(
      server,
      params(p1.clientId, { redirect_uri: 'https://p1.example/cb', code_challenge: undefined, code_challenge_method: undefined }),
    ),
    {
      redirectUri: 'https://p1.example/cb',
      error: 'invalid_request',
      state: 'S',
    },
  );
});

test('PK-02 only S256: plain, S512, lower-case s256 or no method at all get invalid_request', async (t) => {
  const { server, client } = await setup(t);
  for (const method of ['plain', 'S512', 's256', 'S256 ', undefined]) {
    const res = await get(server, params(client.clientId, { code_challenge_method: method }));
    assertErrorRedirect(res, { redirectUri: C1, error: 'invalid_request', state: 'S' });
  }
  assertErrorRedirect(await get(server, params(client.clientId, { code_challenge: undefined, code_challenge_method: 'S256' })), {
    redirectUri: C1,
    error: 'invalid_request',
    state: 'S',
  });
});

test('PK-05 a code_challenge that is not 43 base64url characters gets invalid_request', async (t) => {
  const { server, client } = await setup(t);
  const good = pkce().challenge;
  for (const challenge of [good.slice(0, 42), `${good}A`, `${good}=`, `${good.slice(0, 42)}+`, `${good.slice(0, 42)}/`, 'a'.repeat(128)]) {
    assertErrorRedirect(await get(server, params(client.clientId, { code_challenge: challenge })), {
      redirectUri: C1,
      error: 'invalid_request',
      state: 'S',
    });
  }
});

test('PK-06 the authorization response carries no code_challenge', async (t) => {
  const { server, client, user } = await setup(t);
  const p = pkce();
  const { location } = await getCode(
    server,
    new Browser(server.app),
    { clientId: client.clientId, redirectUri: C1, challenge: p.challenge, state: 'S' },
    user,
  );
  assert.ok(!location.href.includes(p.challenge));
  assert.deepEqual([...location.searchParams.keys()].sort(), ['code', 'iss', 'state']);
});

test('ST-01 state round-trips byte for byte on success', async (t) => {
  const { server, client, user } = await setup(t);
  for (const state of ['&=+/% ü', 'a+b c%20d', '"\'<>\\{}|^`', '\u{1F600}', 'x'.repeat(512)]) {
    const { location } = await getCode(server, new Browser(server.app), { clientId: client.clientId, redirectUri: C1, state }, user);
    assert.equal(location.searchParams.get('state'), state);
  }
});

test('ST-01 ST-05 ST-08 state and iss round-trip on access_denied', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const state = '&=+/% ü';
  const location = await continueFlow(
    browser,
    await browser.get(authorizeUrl({ clientId: client.clientId, redirectUri: C1, state, challenge: pkce().challenge })),
    user,
    'deny',
  );
  assert.equal(`${location.origin}${location.pathname}`, C1);
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('iss'), server.issuer);
  assert.equal(location.searchParams.get('code'), null);
  assert.equal(await countRows(server.deps.storage, 'authorization_codes'), 0, 'no code issued on deny');
});

test('ST-01 state round-trips on an error redirect', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { scope: 'bogus', state: '&=+/% ü' })), {
    redirectUri: C1,
    error: 'invalid_scope',
    state: '&=+/% ü',
  });
});

test('ST-02 state and nonce are optional', async (t) => {
  const { server, client, user } = await setup(t);
  const { location } = await getCode(server, new Browser(server.app), { clientId: client.clientId, redirectUri: C1 }, user);
  assert.ok(location.searchParams.get('code'));
  assert.equal(location.searchParams.has('state'), false);
});

test('ST-04 a 64-character and a 384-character nonce work', async (t) => {
  const { server, client } = await setup(t);
  for (const n of [64, 384]) assertStartsInteraction(await get(server, params(client.clientId, { nonce: 'n'.repeat(n) })));
});

test('ST-04 over-long state, nonce or scope get a clean invalid_request redirect, never 414 or 5xx', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { state: 's'.repeat(5000) })), {
    redirectUri: C1,
    error: 'invalid_request',
  });
  assertErrorRedirect(await get(server, params(client.clientId, { nonce: 'n'.repeat(5000) })), {
    redirectUri: C1,
    error: 'invalid_request',
    state: 'S',
  });
  const longScope = Array.from({ length: 1000 }, (_, i) => `s${i}`).join(' ');
  assertErrorRedirect(await get(server, params(client.clientId, { scope: longScope })), {
    redirectUri: C1,
    error: ['invalid_request', 'invalid_scope'],
    state: 'S',
  });
});

test('ST-05 iss is the exact issuer in every authorization response', async (t) => {
  const { server, client, user } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { scope: 'bogus' })), {
    redirectUri: C1,
    error: 'invalid_scope',
    issuer: server.issuer,
  });
  const { location } = await getCode(server, new Browser(server.app), { clientId: client.clientId, redirectUri: C1 }, user);
  assert.equal(location.searchParams.get('iss'), server.issuer);
});

test('ST-05 the discovery document says authorization_response_iss_parameter_supported', async (t) => {
  const { server } = await setup(t);
  const res = await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  assert.equal(res.json().authorization_response_iss_parameter_supported, true);
});

test('ST-07 prompt=none without a session redirects with login_required', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { prompt: 'none' })), {
    redirectUri: C1,
    error: 'login_required',
    state: 'S',
  });
});

test('ST-07 prompt=none with a session but no consent redirects with consent_required', async (t) => {
  const { server, client, user } = await setup(t);
  const other = await server.createClient({ redirectUris: ['https://c2.example/cb'] });
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: other.clientId, redirectUri: 'https://c2.example/cb' }, user);
  const res = await browser.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: C1, state: 'S', challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  assertErrorRedirect(res, { redirectUri: C1, error: 'consent_required', state: 'S' });
});

test('ST-07 prompt=none with a session and consent on file answers at once with a code', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const res = await browser.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: C1, state: 'S', challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  const location = new URL(locationOf(res));
  assert.ok(location.searchParams.get('code'));
  assert.equal(location.searchParams.get('state'), 'S');
});

test('ST-07 prompt=login shows the login page even with a live session', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const started = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: C1,
    challenge: pkce().challenge,
    extra: { prompt: 'login' },
  });
  assert.ok(isLoginForm(started.form), 'login page expected');
});

test('ST-07 prompt=none combined with another value, or an unknown prompt, is invalid_request', async (t) => {
  const { server, client } = await setup(t);
  assertErrorRedirect(await get(server, params(client.clientId, { prompt: 'none login' })), {
    redirectUri: C1,
    error: 'invalid_request',
    state: 'S',
  });
  assertErrorRedirect(await get(server, params(client.clientId, { prompt: 'bogus' })), {
    redirectUri: C1,
    error: 'invalid_request',
    state: 'S',
  });
});

test('prompt=consent shows the consent page even when consent is on file', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const started = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: C1,
    challenge: pkce().challenge,
    extra: { prompt: 'consent' },
  });
  assert.ok(isConsentForm(started.form));
});

test('UI-01 UI-07 the authorization error page is not frameable and leaks no referrer', async (t) => {
  const { server } = await setup(t);
  const res = await get(server, params('nope'));
  assertErrorPage(res);
  assert.equal(res.headers['x-frame-options'], 'DENY');
  assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(res.headers['referrer-policy'], 'no-referrer');
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.match(String(res.headers['cache-control']), /no-store/);
});

test('UI-08 values reflected on the authorization error page are escaped', async (t) => {
  const { server } = await setup(t);
  const res = await get(server, params('<script>alert(1)</script>{{7*7}}'));
  assertErrorPage(res);
  assert.ok(!res.body.includes('<script>alert(1)</script>'));
});

test('UI-09 an authorization request stores nothing but an interaction, and issues no code yet', async (t) => {
  const { server, client } = await setup(t);
  assertStartsInteraction(await get(server, params(client.clientId)));
  assert.equal(await countRows(server.deps.storage, 'interactions'), 1);
  assert.equal(await countRows(server.deps.storage, 'authorization_codes'), 0);
  const set = header(await get(server, params(client.clientId)), 'set-cookie') ?? '';
  assert.match(set, /gatehouse\.browser=/, 'the interaction is bound to the browser by a cookie');
});
