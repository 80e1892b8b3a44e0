// OpenID Connect: ID tokens (OIDC Core §2, §3.1.3.6-7), authorization request parameters (§3.1.2.1),
// userinfo with RFC 6750 bearer behaviour (§5.3), discovery checked against what the server does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { mintAccessToken } from '../src/oauth/tokens/jwt.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { Browser, authorizeUrl, getCode, parseForm, pkce, startServer, tokenRequest, type TestServer } from './helpers.js';

async function setup(env: Record<string, string> = {}) {
  const server = await startServer(env);
  const client = await server.createClient();
  const user = await server.createUser('alice', 'correct horse battery', {
    email: 'alice@example.com',
    name: 'Alice Example',
    claims: { email_verified: true, given_name: 'Alice', phone_number: '+1 555 0100', address: { country: 'NZ' } },
  });
  return { server, client, user };
}

async function tokens(
  server: TestServer,
  browser: Browser,
  client: { clientId: string; clientSecret: string | undefined; redirectUri: string },
  user: { username: string; password: string },
  extra: { scope?: string; nonce?: string; state?: string; extra?: Record<string, string> } = {},
) {
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: extra.scope ?? 'openid profile email', ...extra },
    user,
  );
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { access_token: string; id_token?: string; refresh_token?: string; scope: string };
}

async function jwks(server: TestServer) {
  return createLocalJWKSet((await server.app.inject('/jwks')).json() as JSONWebKeySet);
}

test('ST-06 the ID token is RS256 by default, verifies against the JWKS, and carries iss, aud, exp, iat, auth_time, sid and at_hash', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user, { nonce: 'n-0S6_WzA2Mj' });
  const { payload, protectedHeader } = await jwtVerify(body.id_token!, await jwks(server), {
    issuer: server.issuer,
    audience: client.clientId,
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.ok(protectedHeader.kid);
  assert.equal(payload.sub, 'user-alice');
  assert.ok(payload.exp! > payload.iat!);
  assert.equal(typeof payload.auth_time, 'number');
  assert.equal(typeof payload.sid, 'string');
  assert.equal(payload.nonce, 'n-0S6_WzA2Mj'); // ST-03
  const digest = createHash('sha256').update(body.access_token).digest();
  assert.equal(payload.at_hash, digest.subarray(0, 16).toString('base64url'));
  assert.equal(payload.name, 'Alice Example');
  assert.equal(payload.email, 'alice@example.com');
  assert.equal(payload.email_verified, true);
  assert.equal(payload.phone_number, undefined, 'phone not requested');
});

test('ST-02 a request without state and nonce succeeds and the ID token has no nonce', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const browser = new Browser(server.app);
  const { location } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid' },
    user,
  );
  assert.equal(location.searchParams.has('state'), false);
  const body = await tokens(server, new Browser(server.app), client, user, { scope: 'openid' });
  assert.equal(decodeJwt(body.id_token!).nonce, undefined);
});

test('ST-04 a 64-character nonce round-trips and an over-long nonce gets a clean invalid_request redirect', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const nonce = 'n'.repeat(64);
  const body = await tokens(server, new Browser(server.app), client, user, { nonce });
  assert.equal(decodeJwt(body.id_token!).nonce, nonce);
  const res = await new Browser(server.app).get(
    authorizeUrl({
      clientId: client.clientId,
      redirectUri: client.redirectUri,
      scope: 'openid',
      nonce: 'n'.repeat(3000),
      state: 's',
      challenge: pkce().challenge,
    }),
  );
  assert.equal(res.statusCode, 303);
  const loc = new URL(res.headers.location as string);
  assert.equal(loc.searchParams.get('error'), 'invalid_request');
  assert.equal(loc.searchParams.get('state'), 's');
});

test('the scope claims: profile, email, address and phone release exactly their claims', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user, { scope: 'openid address phone' });
  const claims = decodeJwt(body.id_token!);
  assert.deepEqual(claims.address, { country: 'NZ' });
  assert.equal(claims.phone_number, '+1 555 0100');
  assert.equal(claims.email, undefined);
  assert.equal(claims.name, undefined);
});

test('AC-08 no ID token is issued without the openid scope', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user, { scope: 'photos:read' });
  assert.equal(body.id_token, undefined);
});

for (const alg of ['ES256', 'EdDSA'] as const) {
  test(`a client that registered id_token_signed_response_alg ${alg} gets ID tokens signed with ${alg}`, async (t) => {
    const server = await startServer();
    t.after(() => server.close());
    const client = await server.createClient({ idTokenSignedResponseAlg: alg });
    const user = await server.createUser();
    const body = await tokens(server, new Browser(server.app), client, user, { scope: 'openid' });
    const { protectedHeader } = await jwtVerify(body.id_token!, await jwks(server), { issuer: server.issuer, audience: client.clientId });
    assert.equal(protectedHeader.alg, alg);
  });
}

test('ST-06 sub is stable for a user across logins and clients', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const other = await server.createClient({ clientName: 'Other' });
  const a = decodeJwt((await tokens(server, new Browser(server.app), client, user, { scope: 'openid' })).id_token!).sub;
  const b = decodeJwt((await tokens(server, new Browser(server.app), other, user, { scope: 'openid' })).id_token!).sub;
  assert.equal(a, b);
});

test('ST-07 prompt=none with a session and consent on file answers silently with the same sub', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const browser = new Browser(server.app);
  const first = await tokens(server, browser, client, user, { scope: 'openid' });
  const p = pkce();
  const res = await browser.get(
    authorizeUrl({
      clientId: client.clientId,
      redirectUri: client.redirectUri,
      scope: 'openid',
      challenge: p.challenge,
      extra: { prompt: 'none' },
    }),
  );
  assert.equal(res.statusCode, 303);
  const loc = new URL(res.headers.location as string);
  const code = loc.searchParams.get('code');
  assert.ok(code, loc.href);
  const second = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: p.verifier },
    client,
  );
  assert.equal(decodeJwt(second.json().id_token).sub, decodeJwt(first.id_token!).sub);
});

test('ST-06 max_age forces a new login once the session is older, and auth_time moves forward', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const browser = new Browser(server.app);
  const first = decodeJwt((await tokens(server, browser, client, user, { scope: 'openid' })).id_token!);
  // Age the session by 10 s instead of waiting.
  await server.deps.storage.db
    .updateTable('sessions')
    .set((eb) => ({ auth_time: eb('auth_time', '-', 10) }))
    .execute();
  const res = await browser.get(
    authorizeUrl({
      clientId: client.clientId,
      redirectUri: client.redirectUri,
      scope: 'openid',
      challenge: pkce().challenge,
      extra: { max_age: '5' },
    }),
  );
  assert.equal(res.statusCode, 303);
  const page = await browser.get(res.headers.location as string);
  assert.ok('password' in parseForm(page.body).fields, 'the login page is shown');
  const again = decodeJwt((await tokens(server, browser, client, user, { scope: 'openid', extra: { max_age: '5' } })).id_token!);
  assert.ok((again.auth_time as number) >= (first.auth_time as number), 'a fresh login, not the aged session');
  // A generous max_age does not ask again.
  const quiet = await browser.get(
    authorizeUrl({
      clientId: client.clientId,
      redirectUri: client.redirectUri,
      scope: 'openid',
      challenge: pkce().challenge,
      extra: { max_age: '10000' },
    }),
  );
  assert.ok(new URL(quiet.headers.location as string, server.issuer).searchParams.has('code'));
});

test('login_hint prefills the username; display, ui_locales, claims_locales, acr_values and id_token_hint are accepted', async (t) => {
  const { server, client } = await setup();
  t.after(() => server.close());
  const browser = new Browser(server.app);
  const res = await browser.get(
    authorizeUrl({
      clientId: client.clientId,
      redirectUri: client.redirectUri,
      scope: 'openid',
      challenge: pkce().challenge,
      extra: {
        login_hint: 'alice',
        display: 'popup',
        ui_locales: 'fr-CA fr',
        claims_locales: 'fr',
        acr_values: 'urn:mace:incommon:iap:silver',
        id_token_hint: 'x.y.z',
      },
    }),
  );
  assert.equal(res.statusCode, 303);
  assert.match(res.headers.location as string, /^\/interaction\//);
  const page = await browser.get(res.headers.location as string);
  assert.equal(parseForm(page.body).fields.username, 'alice');
});

// ---- userinfo: RFC 6750 behaviour ----

test('BR-01 userinfo without credentials answers 401 with a bare Bearer challenge', async (t) => {
  const { server } = await setup();
  t.after(() => server.close());
  const res = await server.app.inject('/userinfo');
  assert.equal(res.statusCode, 401);
  assert.match(res.headers['www-authenticate'] as string, /^Bearer realm="[^"]+"$/);
});

test('BR-02 userinfo refuses garbage, tampered, expired and revoked tokens with invalid_token', async (t) => {
  const { server, client, user } = await setup({ GATEHOUSE_ACCESS_TOKEN_TTL: '60' });
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user);
  const [h, p, s] = body.access_token.split('.');
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'user-mallory' })).toString('base64url')}.${s}`;
  const expired = await mintAccessToken(server.deps.keys, {
    issuer: server.issuer,
    audience: [server.issuer],
    ttl: 60,
    subject: user.id,
    clientId: client.clientId,
    scope: 'openid',
    now: nowSeconds() - 120,
  });
  for (const token of ['garbage', tampered, `${h}.${p}.`, 'a'.repeat(20000), expired.token]) {
    const res = await server.app.inject({ url: '/userinfo', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 401, token.slice(0, 30));
    assert.match(res.headers['www-authenticate'] as string, /error="invalid_token"/);
  }
  await server.deps.storage.revokedAccessTokens.add([{ jti: claims.jti, expiresAt: claims.exp }]);
  const revoked = await server.app.inject({ url: '/userinfo', headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(revoked.statusCode, 401);
});

test('BR-02 an ID token presented as an access token is refused', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user);
  const res = await server.app.inject({ url: '/userinfo', headers: { authorization: `Bearer ${body.id_token}` } });
  assert.equal(res.statusCode, 401);
});

test('BR-03 a token without openid gets 403 insufficient_scope naming the scope', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user, { scope: 'photos:read' });
  const res = await server.app.inject({ url: '/userinfo', headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(res.statusCode, 403);
  assert.match(res.headers['www-authenticate'] as string, /error="insufficient_scope"/);
  assert.match(res.headers['www-authenticate'] as string, /scope="openid"/);
});

test('BR-04 a token sent in the header and the body, or a Bearer header without a token, is invalid_request', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user);
  const both = await server.app.inject({
    method: 'POST',
    url: '/userinfo',
    headers: { authorization: `Bearer ${body.access_token}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `access_token=${body.access_token}`,
  });
  assert.equal(both.statusCode, 400);
  assert.equal(both.json().error, 'invalid_request');
  const empty = await server.app.inject({ url: '/userinfo', headers: { authorization: 'Bearer ' } });
  assert.equal(empty.statusCode, 400);
});

test('BR-05 an access token in the query string is ignored', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user);
  const res = await server.app.inject(`/userinfo?access_token=${body.access_token}`);
  assert.equal(res.statusCode, 401);
  assert.doesNotMatch(res.headers['www-authenticate'] as string, /error=/);
});

test('BR-06 the scheme is case-insensitive; GET, POST with the header and POST with a form body all work', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user);
  const answers = [
    await server.app.inject({ url: '/userinfo', headers: { authorization: `bearer ${body.access_token}` } }),
    await server.app.inject({ method: 'POST', url: '/userinfo', headers: { authorization: `BEARER ${body.access_token}` } }),
    await server.app.inject({
      method: 'POST',
      url: '/userinfo',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `access_token=${body.access_token}`,
    }),
  ];
  for (const res of answers) {
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().sub, 'user-alice');
    assert.equal(res.json().email, 'alice@example.com');
    assert.equal(res.headers['cache-control'], 'no-store');
  }
});

test('userinfo refuses the token of a user who was disabled after it was issued', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const body = await tokens(server, new Browser(server.app), client, user);
  await server.deps.storage.users.setDisabled(user.id, true, 1);
  const res = await server.app.inject({ url: '/userinfo', headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(res.statusCode, 401);
});

// ---- discovery, field by field against behaviour ----

test('TL-02 both discovery documents name the same issuer and endpoints, and every endpoint answers', async (t) => {
  const { server } = await setup();
  t.after(() => server.close());
  const oidc = (await server.app.inject('/.well-known/openid-configuration')).json();
  const oauth = (await server.app.inject('/.well-known/oauth-authorization-server')).json();
  assert.equal(oidc.issuer, server.issuer);
  for (const [key, value] of Object.entries(oauth)) assert.deepEqual(oidc[key], value, `${key} differs`);
  const endpoints: [string, string][] = [
    ['authorization_endpoint', 'GET'],
    ['token_endpoint', 'POST'],
    ['jwks_uri', 'GET'],
    ['userinfo_endpoint', 'GET'],
    ['introspection_endpoint', 'POST'],
    ['revocation_endpoint', 'POST'],
    ['end_session_endpoint', 'GET'],
  ];
  for (const [key, method] of endpoints) {
    if (oidc[key] === undefined) continue;
    assert.ok((oidc[key] as string).startsWith(`${server.issuer}/`), key);
    const res = await server.app.inject({ method: method as 'GET' | 'POST', url: (oidc[key] as string).slice(server.issuer.length) });
    assert.notEqual(res.statusCode, 404, `${key} is advertised but not served`);
  }
  assert.deepEqual(oidc.code_challenge_methods_supported, ['S256']);
  assert.equal(oidc.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(oidc.response_types_supported, ['code']);
  assert.deepEqual(oidc.subject_types_supported, ['public']);
  assert.ok(oidc.scopes_supported.includes('openid'));
  for (const claim of ['sub', 'name', 'email', 'email_verified', 'address', 'phone_number', 'auth_time', 'nonce'])
    assert.ok(oidc.claims_supported.includes(claim), claim);
});

test('TL-02 every advertised ID token algorithm has a published key, and only code is an accepted response type', async (t) => {
  const { server, client } = await setup();
  t.after(() => server.close());
  const oidc = (await server.app.inject('/.well-known/openid-configuration')).json();
  const keys = (await server.app.inject('/jwks')).json().keys as { alg: string }[];
  for (const alg of oidc.id_token_signing_alg_values_supported as string[])
    assert.ok(
      keys.some((k) => k.alg === alg),
      alg,
    );
  assert.ok(
    keys.some((k) => k.alg === 'ES256'),
    'access token key',
  );
  for (const responseType of ['token', 'id_token', 'code id_token']) {
    const res = await new Browser(server.app).get(
      authorizeUrl({
        clientId: client.clientId,
        redirectUri: client.redirectUri,
        scope: 'openid',
        challenge: pkce().challenge,
        extra: { response_type: responseType },
      }),
    );
    assert.equal(new URL(res.headers.location as string).searchParams.get('error'), 'unsupported_response_type');
  }
});

test('TL-03 X-Forwarded-Host does not change the discovery URLs', async (t) => {
  const { server } = await setup();
  t.after(() => server.close());
  const res = await server.app.inject({
    url: '/.well-known/openid-configuration',
    headers: { 'x-forwarded-host': 'evil.com', 'x-forwarded-proto': 'https' },
  });
  assert.doesNotMatch(res.body, /evil\.com/);
});

test('discovery and the JWKS may be cached briefly and fetched cross-origin (KR-01 max-age at most 10 minutes)', async (t) => {
  const { server } = await setup();
  t.after(() => server.close());
  const res = await server.app.inject('/jwks');
  const maxAge = Number(/max-age=(\d+)/.exec(res.headers['cache-control'] as string)?.[1]);
  assert.ok(maxAge > 0 && maxAge <= 600);
  assert.equal(res.headers['access-control-allow-origin'], '*');
});

test('UI-02 a login post with Origin: null (sent by browsers under Referrer-Policy: no-referrer) is accepted; a foreign Origin is refused', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  for (const [origin, expected] of [
    ['null', 303],
    ['https://evil.example', 403],
  ] as const) {
    const browser = new Browser(server.app);
    const start = await browser.get(
      authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid', challenge: pkce().challenge }),
    );
    const f = parseForm((await browser.get(start.headers.location as string)).body);
    const res = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password }, { origin });
    assert.equal(res.statusCode, expected, origin);
  }
});

test('UI-09 the consent page is not shown once the browser session that signed in has ended', async (t) => {
  const { server, client, user } = await setup();
  t.after(() => server.close());
  const browser = new Browser(server.app);
  const start = await browser.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid', challenge: pkce().challenge }),
  );
  const interaction = start.headers.location as string;
  const f = parseForm((await browser.get(interaction)).body);
  await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
  assert.equal((await browser.get(interaction)).statusCode, 200, 'consent page while signed in');
  await server.deps.storage.sessions.deleteByUser(user.id);
  const after = await browser.get(interaction);
  assert.equal(after.statusCode, 400);
  assert.doesNotMatch(after.body, /name="decision"/);
});
