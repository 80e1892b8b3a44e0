// RFC 7662: the introspection endpoint. Checklist IR-01, RT-06, TE-01.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Browser, basic, form, getCode, startServer, tokenRequest, type TestServer } from './helpers.js';
import { nowSeconds, sha256 } from '../src/oauth/crypto.js';
import { mintAccessToken } from '../src/oauth/tokens/jwt.js';

type Creds = { clientId: string; clientSecret: string | undefined };

async function introspect(app: FastifyInstance, body: Record<string, string | undefined>, auth?: Creds): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth?.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else if (auth) body = { client_id: auth.clientId, ...body };
  return app.inject({ method: 'POST', url: '/introspect', headers, payload: form(body) });
}

async function revoke(app: FastifyInstance, body: Record<string, string | undefined>, auth: Creds): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else body = { client_id: auth.clientId, ...body };
  return app.inject({ method: 'POST', url: '/revoke', headers, payload: form(body) });
}

/** Runs the code flow for `client` and returns its tokens. */
async function issueTokens(
  server: TestServer,
  client: Creds & { redirectUri: string },
  user: { username: string; password: string },
  scope = 'openid profile offline_access',
) {
  const browser = new Browser(server.app);
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: client.redirectUri, scope }, user);
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token: string; refresh_token?: string; id_token?: string };
  return { accessToken: body.access_token, refreshToken: body.refresh_token, idToken: body.id_token, code };
}

async function setup() {
  const server = await startServer();
  const c1 = await server.createClient();
  const c2 = await server.createClient({ redirectUris: ['https://c2.example/cb'] });
  const user = await server.createUser();
  return { server, c1, c2, user };
}

const INACTIVE = '{"active":false}';

function assertJsonNoStore(res: LightMyRequestResponse): void {
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.headers.pragma, 'no-cache');
  assert.match(String(res.headers['content-type']), /^application\/json/);
}

test('IR-01: introspection requires client authentication (none, wrong secret, public client → 401 invalid_client)', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken } = await issueTokens(server, c1, user);

  const none = await introspect(server.app, { token: accessToken });
  assert.equal(none.statusCode, 401);
  assert.equal(none.json().error, 'invalid_client');
  assert.equal('active' in none.json(), false);

  const wrong = await introspect(server.app, { token: accessToken }, { clientId: c1.clientId, clientSecret: 'not-the-secret' });
  assert.equal(wrong.statusCode, 401);
  assert.equal(wrong.json().error, 'invalid_client');
  assert.match(String(wrong.headers['www-authenticate']), /^Basic realm=/);

  // client_id alone is not authentication, even for a confidential client's own token.
  const idOnly = await introspect(server.app, { token: accessToken, client_id: c1.clientId });
  assert.equal(idOnly.statusCode, 401);
  assert.equal(idOnly.json().error, 'invalid_client');

  // A public client cannot authenticate, so it cannot introspect (not even its own tokens).
  const p1 = await server.createClient({
    isPublic: true,
    authMethod: 'none',
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: ['https://p1.example/cb'],
  });
  const publicTokens = await issueTokens(server, p1, user);
  const pub = await introspect(server.app, { token: publicTokens.accessToken }, p1);
  assert.equal(pub.statusCode, 401);
  assert.equal(pub.json().error, 'invalid_client');

  // Control: the same token introspected by its authenticated client is active.
  const ok = await introspect(server.app, { token: accessToken }, c1);
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().active, true);
});

test('IR-01: garbage, unknown and wrong-kind artefacts get exactly {"active":false}', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { idToken, code } = await issueTokens(server, c1, user);
  const forgedHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
  const forgedBody = Buffer.from(
    JSON.stringify({
      iss: server.issuer,
      sub: user.id,
      client_id: c1.clientId,
      exp: nowSeconds() + 600,
      iat: nowSeconds(),
      jti: 'x',
      scope: 'openid',
    }),
  ).toString('base64url');
  const garbage = [
    'garbage',
    'x'.repeat(10_000),
    'eyJhbGciOiJFUzI1NiJ9.e30.AAAA',
    `${forgedHeader}.${forgedBody}.`, // alg none
    "' OR 1=1 --",
    'üñíçødé',
    idToken!, // an ID token is not an access token
    code, // an authorization code is not a token
  ];
  for (const token of garbage) {
    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      const res = await introspect(server.app, { token, token_type_hint: hint }, c1);
      assert.equal(res.statusCode, 200, `${token.slice(0, 20)}: ${res.body}`);
      assert.equal(res.body, INACTIVE);
      assertJsonNoStore(res);
    }
  }
});

test('IR-01: an active access token introspects with its full claims', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken } = await issueTokens(server, c1, user);
  const claims = decodeJwt(accessToken);
  const res = await introspect(server.app, { token: accessToken }, c1);
  assert.equal(res.statusCode, 200);
  assertJsonNoStore(res);
  const body = res.json();
  assert.deepEqual(body, {
    active: true,
    scope: 'openid profile offline_access',
    client_id: c1.clientId,
    sub: user.id,
    aud: claims.aud,
    iss: server.issuer,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    token_type: 'Bearer',
    auth_time: claims.auth_time,
    sid: claims.sid,
  });
  assert.equal(typeof body.auth_time, 'number');
  assert.equal(typeof body.sid, 'string');
});

test('IR-01: a client_credentials access token introspects with sub = client_id and no auth_time or sid', async (t) => {
  const { server, c1 } = await setup();
  t.after(() => server.close());
  const tok = await tokenRequest(server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, c1);
  assert.equal(tok.statusCode, 200, tok.body);
  const res = await introspect(server.app, { token: tok.json().access_token }, c1);
  const body = res.json();
  assert.equal(body.active, true);
  assert.equal(body.sub, c1.clientId);
  assert.equal(body.client_id, c1.clientId);
  assert.equal(body.scope, 'photos:read');
  assert.equal('auth_time' in body, false);
  assert.equal('sid' in body, false);
});

test('IR-01: an expired access token introspects as {"active":false}', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const mint = (now: number) =>
    mintAccessToken(server.deps.keys, {
      issuer: server.issuer,
      audience: [server.issuer],
      ttl: 60,
      subject: user.id,
      clientId: c1.clientId,
      scope: 'openid',
      now,
    });
  const expired = await mint(nowSeconds() - 3600);
  const res = await introspect(server.app, { token: expired.token }, c1);
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, INACTIVE);
  // Control: the same kind of token minted now is active.
  const fresh = await mint(nowSeconds());
  assert.equal((await introspect(server.app, { token: fresh.token }, c1)).json().active, true);
});

test('IR-01: expired refresh tokens (absolute or idle) introspect as {"active":false}', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const a = await issueTokens(server, c1, user);
  const b = await issueTokens(server, c1, user);
  assert.equal((await introspect(server.app, { token: a.refreshToken }, c1)).json().active, true);
  assert.equal((await introspect(server.app, { token: b.refreshToken }, c1)).json().active, true);
  const past = nowSeconds() - 10;
  await server.deps.storage.db
    .updateTable('refresh_tokens')
    .set({ expires_at: past })
    .where('token_hash', '=', sha256(a.refreshToken!))
    .execute();
  await server.deps.storage.db
    .updateTable('refresh_tokens')
    .set({ idle_expires_at: past })
    .where('token_hash', '=', sha256(b.refreshToken!))
    .execute();
  for (const token of [a.refreshToken, b.refreshToken]) {
    const res = await introspect(server.app, { token, token_type_hint: 'refresh_token' }, c1);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, INACTIVE);
  }
});

test('IR-01: a revoked access token introspects as {"active":false}', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  assert.equal((await introspect(server.app, { token: accessToken }, c1)).json().active, true);
  const rev = await revoke(server.app, { token: accessToken, token_type_hint: 'access_token' }, c1);
  assert.equal(rev.statusCode, 200);
  const res = await introspect(server.app, { token: accessToken }, c1);
  assert.equal(res.statusCode, 200);
  assert.equal(res.body, INACTIVE);
  // Policy: revoking an access token leaves the refresh token (and so the grant) alone.
  assert.equal((await introspect(server.app, { token: refreshToken }, c1)).json().active, true);
});

test('IR-01: another client\'s tokens introspect as exactly {"active":false} (self-only policy)', async (t) => {
  const { server, c1, c2, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  for (const token of [accessToken, refreshToken]) {
    for (const hint of [undefined, 'access_token', 'refresh_token']) {
      const foreign = await introspect(server.app, { token, token_type_hint: hint }, c2);
      assert.equal(foreign.statusCode, 200);
      assert.equal(foreign.body, INACTIVE);
    }
    // Control: its own client sees it active.
    assert.equal((await introspect(server.app, { token }, c1)).json().active, true);
  }
});

test('refresh tokens introspect as token_type refresh_token; exp is the sooner of the idle and absolute expiry', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { refreshToken, accessToken } = await issueTokens(server, c1, user);
  const at = decodeJwt(accessToken);
  const row = await server.deps.storage.refreshTokens.findByHash(sha256(refreshToken!));
  assert.ok(row);
  assert.ok(row.idleExpiresAt < row.expiresAt, 'defaults: the idle expiry comes first');
  const res = await introspect(server.app, { token: refreshToken, token_type_hint: 'refresh_token' }, c1);
  assert.equal(res.statusCode, 200);
  assertJsonNoStore(res);
  assert.deepEqual(res.json(), {
    active: true,
    scope: 'openid profile offline_access',
    client_id: c1.clientId,
    sub: user.id,
    aud: server.issuer,
    iss: server.issuer,
    exp: row.idleExpiresAt,
    iat: row.createdAt,
    token_type: 'refresh_token',
    auth_time: row.authTime,
    sid: at.sid,
  });
  // When the absolute expiry comes first, it is the exp.
  const soon = nowSeconds() + 120;
  await server.deps.storage.db.updateTable('refresh_tokens').set({ expires_at: soon }).where('token_hash', '=', row.tokenHash).execute();
  assert.equal((await introspect(server.app, { token: refreshToken }, c1)).json().exp, soon);
});

test('a rotated refresh token and the tokens of a disabled user introspect inactive', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  const refreshed = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, c1);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const next = refreshed.json() as { access_token: string; refresh_token: string };
  assert.equal((await introspect(server.app, { token: refreshToken }, c1)).body, INACTIVE);
  assert.equal((await introspect(server.app, { token: next.refresh_token }, c1)).json().active, true);

  await server.deps.storage.users.setDisabled(user.id, true, nowSeconds());
  for (const token of [accessToken, next.access_token, next.refresh_token]) {
    assert.equal((await introspect(server.app, { token }, c1)).body, INACTIVE);
  }
});

test('token_type_hint is only a hint: the wrong kind or an unknown hint still finds the token', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  for (const hint of ['refresh_token', 'access_token', 'unknown_kind', undefined]) {
    const a = await introspect(server.app, { token: accessToken, token_type_hint: hint }, c1);
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(a.json().active, true);
    assert.equal(a.json().token_type, 'Bearer');
    const r = await introspect(server.app, { token: refreshToken, token_type_hint: hint }, c1);
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.json().active, true);
    assert.equal(r.json().token_type, 'refresh_token');
  }
});

test('client_secret_post works at the introspection endpoint', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const c = await server.createClient({ authMethod: 'client_secret_post' });
  const tok = await tokenRequest(server.app, { grant_type: 'client_credentials', client_secret: c.clientSecret }, { clientId: c.clientId });
  assert.equal(tok.statusCode, 200, tok.body);
  const res = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ token: tok.json().access_token, client_id: c.clientId, client_secret: c.clientSecret }),
  });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.json().active, true);
  assert.equal(res.json().client_id, c.clientId);
});

test('TE-01: introspection answers 200, 400 and 401 as JSON with Cache-Control: no-store; bad requests are invalid_request', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken } = await issueTokens(server, c1, user);

  const ok = await introspect(server.app, { token: accessToken }, c1);
  assert.equal(ok.statusCode, 200);
  assertJsonNoStore(ok);

  const missing = await introspect(server.app, {}, c1);
  assert.equal(missing.statusCode, 400);
  assert.equal(missing.json().error, 'invalid_request');
  assertJsonNoStore(missing);

  const repeated = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c1.clientId, c1.clientSecret!) },
    payload: `token=${encodeURIComponent(accessToken)}&token=other`,
  });
  assert.equal(repeated.statusCode, 400);
  assert.equal(repeated.json().error, 'invalid_request');
  assertJsonNoStore(repeated);

  const json = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/json', authorization: basic(c1.clientId, c1.clientSecret!) },
    payload: JSON.stringify({ token: accessToken }),
  });
  assert.equal(json.statusCode, 400);
  assert.equal(json.json().error, 'invalid_request');

  const unauth = await introspect(server.app, { token: accessToken });
  assert.equal(unauth.statusCode, 401);
  assertJsonNoStore(unauth);
});

test('IR-01: a storage failure during introspection answers 503 temporarily_unavailable, never active:false', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken } = await issueTokens(server, c1, user);
  const repo = server.deps.storage.revokedAccessTokens;
  repo.accessTokenState = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
  };
  const res = await introspect(server.app, { token: accessToken }, c1);
  assert.equal(res.statusCode, 503, res.body);
  assert.equal(res.json().error, 'temporarily_unavailable');
  assert.equal('active' in res.json(), false);
  assert.ok(res.headers['retry-after']);
  assertJsonNoStore(res);
});

test('discovery (RFC 8414) advertises the introspection and revocation endpoints and their auth methods', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const res = await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  assert.equal(res.statusCode, 200);
  const meta = res.json();
  assert.equal(meta.introspection_endpoint, `${server.issuer}/introspect`);
  assert.equal(meta.revocation_endpoint, `${server.issuer}/revoke`);
  assert.deepEqual(meta.introspection_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt']);
  assert.deepEqual(meta.revocation_endpoint_auth_methods_supported, meta.token_endpoint_auth_methods_supported);
  // The advertised URLs are served (POST with no credentials → 401, not 404).
  for (const url of [meta.introspection_endpoint, meta.revocation_endpoint] as string[]) {
    const r = await server.app.inject({
      method: 'POST',
      url: new URL(url).pathname,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=x',
    });
    assert.equal(r.statusCode, 401, url);
  }
});
