// RFC 7009: the revocation endpoint. Checklist IR-02, RT-06, TE-01; fosite CVE-2020-15223.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Browser, basic, form, getCode, startServer, tokenRequest, type TestServer } from './helpers.js';

type Creds = { clientId: string; clientSecret: string | undefined };

async function revoke(app: FastifyInstance, body: Record<string, string | undefined>, auth?: Creds): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth?.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else if (auth) body = { client_id: auth.clientId, ...body };
  return app.inject({ method: 'POST', url: '/revoke', headers, payload: form(body) });
}

async function introspect(app: FastifyInstance, token: string | undefined, auth: Creds): Promise<Record<string, unknown>> {
  const res = await app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(auth.clientId, auth.clientSecret!) },
    payload: form({ token }),
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

async function issueTokens(server: TestServer, client: Creds & { redirectUri: string }, user: { username: string; password: string }) {
  const browser = new Browser(server.app);
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid profile offline_access' },
    user,
  );
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token: string; refresh_token: string };
  assert.ok(body.refresh_token);
  return { accessToken: body.access_token, refreshToken: body.refresh_token };
}

async function refresh(server: TestServer, refreshToken: string, client: Creds): Promise<LightMyRequestResponse> {
  return tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, client);
}

async function setup() {
  const server = await startServer();
  const c1 = await server.createClient();
  const c2 = await server.createClient({ redirectUris: ['https://c2.example/cb'] });
  const user = await server.createUser();
  return { server, c1, c2, user };
}

function assertEmpty200(res: LightMyRequestResponse): void {
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.body, '');
  assert.equal(res.headers['cache-control'], 'no-store');
}

function assertJsonError(res: LightMyRequestResponse, status: number, error: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.json().error, error);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.match(String(res.headers['content-type']), /^application\/json/);
}

const econnrefused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

test('IR-02: revocation requires client authentication; an unauthenticated request revokes nothing', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);

  assertJsonError(await revoke(server.app, { token: refreshToken }), 401, 'invalid_client');
  const wrong = await revoke(server.app, { token: refreshToken }, { clientId: c1.clientId, clientSecret: 'wrong' });
  assertJsonError(wrong, 401, 'invalid_client');
  assert.match(String(wrong.headers['www-authenticate']), /^Basic realm=/);
  // A confidential client's id alone is not authentication.
  assertJsonError(await revoke(server.app, { token: accessToken, client_id: c1.clientId }), 401, 'invalid_client');

  assert.equal((await introspect(server.app, accessToken, c1)).active, true);
  assert.equal((await introspect(server.app, refreshToken, c1)).active, true);
});

test("IR-02: C2 revoking C1's tokens gets 200 and leaves them active", async (t) => {
  const { server, c1, c2, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  for (const hint of [undefined, 'access_token', 'refresh_token']) {
    assertEmpty200(await revoke(server.app, { token: accessToken, token_type_hint: hint }, c2));
    assertEmpty200(await revoke(server.app, { token: refreshToken, token_type_hint: hint }, c2));
  }
  assert.equal((await introspect(server.app, accessToken, c1)).active, true);
  assert.equal((await introspect(server.app, refreshToken, c1)).active, true);
  const r = await refresh(server, refreshToken, c1);
  assert.equal(r.statusCode, 200, r.body);
});

test('IR-02: unknown, invalid and already-revoked tokens get 200 with an empty body; unknown hints are ignored', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  for (const token of ['garbage', 'x'.repeat(10_000), 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA', "' OR 1=1 --", 'üñíçødé']) {
    for (const hint of [undefined, 'access_token', 'refresh_token', 'bogus_hint']) {
      assertEmpty200(await revoke(server.app, { token, token_type_hint: hint }, c1));
    }
  }
  // Idempotent: revoking the same refresh token twice is 200 both times.
  const { refreshToken } = await issueTokens(server, c1, user);
  assertEmpty200(await revoke(server.app, { token: refreshToken, token_type_hint: 'bogus_hint' }, c1));
  assert.equal((await introspect(server.app, refreshToken, c1)).active, false, 'an unknown hint is treated as absent, not as a refusal');
  assertEmpty200(await revoke(server.app, { token: refreshToken }, c1));
});

test('RT-06: revoking a refresh token revokes its family: the refresh token gets invalid_grant and its access tokens introspect inactive', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const first = await issueTokens(server, c1, user);
  const r = await refresh(server, first.refreshToken, c1);
  assert.equal(r.statusCode, 200, r.body);
  const second = { accessToken: r.json().access_token as string, refreshToken: r.json().refresh_token as string };
  assert.equal((await introspect(server.app, first.accessToken, c1)).active, true);
  assert.equal((await introspect(server.app, second.accessToken, c1)).active, true);

  assertEmpty200(await revoke(server.app, { token: second.refreshToken, token_type_hint: 'refresh_token' }, c1));

  assertJsonError(await refresh(server, second.refreshToken, c1), 400, 'invalid_grant');
  assert.deepEqual(await introspect(server.app, second.refreshToken, c1), { active: false });
  // The access token issued with the code and the one issued by the refresh: both denied.
  assert.deepEqual(await introspect(server.app, first.accessToken, c1), { active: false });
  assert.deepEqual(await introspect(server.app, second.accessToken, c1), { active: false });
});

test('revoking an access token denies only that token (policy: the refresh token and grant survive)', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  const other = await issueTokens(server, c1, user);
  assertEmpty200(await revoke(server.app, { token: accessToken, token_type_hint: 'access_token' }, c1));
  assert.deepEqual(await introspect(server.app, accessToken, c1), { active: false });
  assert.equal(await server.deps.storage.revokedAccessTokens.isRevoked(decodeJwt(accessToken).jti!), true);
  // Untouched: the refresh token of the same grant, and an unrelated access token.
  assert.equal((await introspect(server.app, refreshToken, c1)).active, true);
  assert.equal((await introspect(server.app, other.accessToken, c1)).active, true);
  const r = await refresh(server, refreshToken, c1);
  assert.equal(r.statusCode, 200, r.body);
});

test('token_type_hint of the wrong kind still revokes', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const a = await issueTokens(server, c1, user);
  const b = await issueTokens(server, c1, user);
  assertEmpty200(await revoke(server.app, { token: a.accessToken, token_type_hint: 'refresh_token' }, c1));
  assert.deepEqual(await introspect(server.app, a.accessToken, c1), { active: false });
  assertEmpty200(await revoke(server.app, { token: b.refreshToken, token_type_hint: 'access_token' }, c1));
  assert.deepEqual(await introspect(server.app, b.refreshToken, c1), { active: false });
  assert.deepEqual(await introspect(server.app, b.accessToken, c1), { active: false });
  assertJsonError(await refresh(server, b.refreshToken, c1), 400, 'invalid_grant');
});

test("IR-02: a public client revokes its own tokens with its client_id (doorkeeper CVE-2018-1000211), but not another client's", async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const p1 = await server.createClient({
    isPublic: true,
    authMethod: 'none',
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: ['https://p1.example/cb'],
  });
  const own = await issueTokens(server, p1, user);
  const c1Tokens = await issueTokens(server, c1, user);

  assertEmpty200(await revoke(server.app, { token: c1Tokens.refreshToken }, p1));
  assert.equal((await introspect(server.app, c1Tokens.refreshToken, c1)).active, true);

  assertEmpty200(await revoke(server.app, { token: own.refreshToken }, p1));
  assertJsonError(await refresh(server, own.refreshToken, p1), 400, 'invalid_grant');
});

test('TE-01: revocation errors are JSON with no-store; a missing or repeated token is invalid_request', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { refreshToken } = await issueTokens(server, c1, user);
  assertJsonError(await revoke(server.app, {}, c1), 400, 'invalid_request');
  const repeated = await server.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(c1.clientId, c1.clientSecret!) },
    payload: `token=${encodeURIComponent(refreshToken)}&token=other`,
  });
  assertJsonError(repeated, 400, 'invalid_request');
  const json = await server.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/json', authorization: basic(c1.clientId, c1.clientSecret!) },
    payload: JSON.stringify({ token: refreshToken }),
  });
  assertJsonError(json, 400, 'invalid_request');
  assert.equal((await introspect(server.app, refreshToken, c1)).active, true, 'a refused request revoked nothing');
});

test('IR-02: a storage failure while denying an access token answers 503 temporarily_unavailable, never 200', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken } = await issueTokens(server, c1, user);
  const repo = server.deps.storage.revokedAccessTokens;
  const realAdd = repo.add;
  repo.add = async () => {
    throw econnrefused();
  };
  const res = await revoke(server.app, { token: accessToken }, c1);
  assertJsonError(res, 503, 'temporarily_unavailable');
  assert.ok(res.headers['retry-after']);
  // The 503 was honest: nothing was revoked. Once storage is back, the retry revokes.
  repo.add = realAdd;
  assert.equal((await introspect(server.app, accessToken, c1)).active, true);
  assertEmpty200(await revoke(server.app, { token: accessToken }, c1));
  assert.deepEqual(await introspect(server.app, accessToken, c1), { active: false });
});

test('IR-02: a storage failure in the middle of a family revocation answers 503 and rolls back, never 200', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.close());
  const { accessToken, refreshToken } = await issueTokens(server, c1, user);
  const storage = server.deps.storage;
  const realTransaction = storage.transaction;
  // The refresh tokens are marked revoked, then writing the access-token denylist fails.
  storage.transaction = ((fn) =>
    realTransaction((tx) => {
      tx.revokedAccessTokens.add = async () => {
        throw econnrefused();
      };
      return fn(tx);
    })) as typeof storage.transaction;
  const res = await revoke(server.app, { token: refreshToken }, c1);
  assertJsonError(res, 503, 'temporarily_unavailable');
  storage.transaction = realTransaction;
  // Rolled back: the refresh token and its access token are still active, and the retry succeeds.
  assert.equal((await introspect(server.app, refreshToken, c1)).active, true);
  assert.equal((await introspect(server.app, accessToken, c1)).active, true);
  assertEmpty200(await revoke(server.app, { token: refreshToken }, c1));
  assert.deepEqual(await introspect(server.app, refreshToken, c1), { active: false });
  assert.deepEqual(await introspect(server.app, accessToken, c1), { active: false });
});

test('IR-02: with the database closed, revocation answers 5xx JSON, never 200', async (t) => {
  const { server, c1, user } = await setup();
  t.after(() => server.app.close());
  const { refreshToken } = await issueTokens(server, c1, user);
  await server.deps.storage.db.destroy();
  const res = await revoke(server.app, { token: refreshToken }, c1);
  assert.ok(res.statusCode >= 500, `${res.statusCode} ${res.body}`);
  assert.ok(['temporarily_unavailable', 'server_error'].includes(res.json().error), res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
});
