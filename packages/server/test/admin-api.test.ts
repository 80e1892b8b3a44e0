// The admin API (/admin/api): who may call it (RFC 6750 errors), each resource's happy path, bad
// input as invalid_request, one security event per action, and the OpenAPI document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ADMIN_API_PREFIX, ADMIN_ROUTES } from '../src/endpoints/admin/api.js';
import { openApiPath } from '../src/endpoints/admin/openapi.js';
import { adminApiResourceUri } from '../src/oauth/admin/api-resource.js';
import { sha256 } from '../src/oauth/crypto.js';
import { basic, Browser, form, issueTokens, setupWithClientAndUser, tokenRequest, type TestServer } from './helpers.js';

type Creds = { clientId: string; clientSecret: string | undefined; redirectUri: string };

interface Setup {
  server: TestServer;
  client: Creds;
  admin: { id: string; username: string; password: string };
  token: string;
}

/** A server, a client that may ask for the admin scope, an admin user and their admin API token. */
async function setup(t: { after(fn: () => Promise<void>): void }): Promise<Setup> {
  const { server } = await setupWithClientAndUser(t);
  const client = await server.createClient({ scope: 'openid profile offline_access admin photos:read' });
  const admin = await server.createUser('root', 'root admin password');
  await server.deps.storage.users.setRole(admin.id, 'admin', server.clock());
  const token = await adminToken(server, client, admin);
  return { server, client, admin, token };
}

async function adminToken(server: TestServer, client: Creds, user: { username: string; password: string }): Promise<string> {
  const { body } = await issueTokens(server, new Browser(server.app), client, user, {
    scope: 'admin',
    extra: { resource: adminApiResourceUri(server.config) },
  });
  return body.access_token;
}

function call(
  s: Pick<Setup, 'server' | 'token'>,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return s.server.app.inject({
    method,
    url: `${ADMIN_API_PREFIX}${path}`,
    headers: {
      ...(s.token ? { authorization: `Bearer ${s.token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
}

function ok(res: LightMyRequestResponse, status = 200): Record<string, unknown> {
  assert.equal(res.statusCode, status, res.body);
  return res.json() as Record<string, unknown>;
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

test('the admin API resource is registered at start with the admin scope and the token names it as aud', async (t) => {
  const s = await setup(t);
  const resource = await s.server.deps.storage.resources.find(adminApiResourceUri(s.server.config));
  assert.deepEqual(resource?.scopes, ['admin']);
  const claims = JSON.parse(Buffer.from(s.token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  assert.deepEqual([claims.aud].flat(), [adminApiResourceUri(s.server.config)]);
  assert.equal(claims.scope, 'admin');
  ok(await call(s, 'GET', '/users'));
});

test('BR-01 the admin API without a token is 401 with a bare Bearer challenge; a malformed header is 400 invalid_request', async (t) => {
  const s = await setup(t);
  const none = await call({ ...s, token: '' }, 'GET', '/users');
  assert.equal(none.statusCode, 401);
  assert.match(String(none.headers['www-authenticate']), /^Bearer realm="[^"]+"$/);
  const malformed = await call({ ...s, token: '' }, 'GET', '/users', undefined, { authorization: 'Bearer' });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.json().error, 'invalid_request');
});

test('BR-02 a token for another audience, a tampered token and a revoked token are 401 invalid_token at the admin API', async (t) => {
  const s = await setup(t);
  // The admin's ordinary token (aud: the issuer) for userinfo.
  const { body } = await issueTokens(s.server, new Browser(s.server.app), s.client, s.admin, { scope: 'openid profile' });
  for (const token of [body.access_token, `${s.token.slice(0, -4)}AAAA`]) {
    const res = await call({ ...s, token }, 'GET', '/users');
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error, 'invalid_token');
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  }
  const revoke = await s.server.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(s.client.clientId, s.client.clientSecret!) },
    payload: form({ token: s.token }),
  });
  assert.equal(revoke.statusCode, 200);
  const res = await call(s, 'GET', '/users');
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, 'invalid_token');
});

test('BR-03 a user without the admin role and a client token for the admin API are 403 insufficient_scope', async (t) => {
  const s = await setup(t);
  const alice = { username: 'alice', password: 'correct horse battery' };
  const userToken = await adminToken(s.server, s.client, alice);
  const res = await call({ ...s, token: userToken }, 'GET', '/users');
  assert.equal(res.statusCode, 403);
  assert.equal(res.json().error, 'insufficient_scope');
  assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope".*, scope="admin"$/);
  // client_credentials: the subject is the client, never an admin.
  const cc = await tokenRequest(
    s.server.app,
    { grant_type: 'client_credentials', scope: 'admin', resource: adminApiResourceUri(s.server.config) },
    s.client,
  );
  assert.equal(cc.statusCode, 200, cc.body);
  const clientCall = await call({ ...s, token: String(cc.json().access_token) }, 'GET', '/users');
  assert.equal(clientCall.statusCode, 403);
  assert.equal(clientCall.json().error, 'insufficient_scope');
});

test('taking the admin role away or disabling the admin takes effect at the next request of a live token', async (t) => {
  const s = await setup(t);
  ok(await call(s, 'GET', '/users'));
  await s.server.deps.storage.users.setRole(s.admin.id, null, s.server.clock());
  assert.equal((await call(s, 'GET', '/users')).statusCode, 403);
  await s.server.deps.storage.users.setRole(s.admin.id, 'admin', s.server.clock());
  ok(await call(s, 'GET', '/users'));
  await s.server.deps.storage.users.setDisabled(s.admin.id, true, s.server.clock());
  const res = await call(s, 'GET', '/users');
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, 'invalid_token');
});

test('LC-01 users through the admin API: create, search, get, disable (the token dies at userinfo and introspection), enable, role, password, delete', async (t) => {
  const s = await setup(t);
  const created = ok(await call(s, 'POST', '/users', { username: 'bob', password: 'bob secret password', email: 'bob@example.com' }), 201);
  assert.equal(created.username, 'bob');
  assert.equal(created.admin, false);
  assert.equal('password_hash' in created, false);
  const found = ok(await call(s, 'GET', '/users?q=BOB@'));
  assert.deepEqual(
    (found.users as { id: string }[]).map((u) => u.id),
    [created.id],
  );
  assert.equal(ok(await call(s, 'GET', `/users/${String(created.id)}`)).email, 'bob@example.com');

  const bob = { username: 'bob', password: 'bob secret password' };
  const { body } = await issueTokens(s.server, new Browser(s.server.app), s.client, bob, { scope: 'openid profile' });
  const disabled = ok(await call(s, 'POST', `/users/${String(created.id)}/disable`));
  assert.ok((disabled.revoked as Record<string, number>).access_tokens_denied! >= 1);
  const userinfo = await s.server.app.inject({
    method: 'GET',
    url: '/userinfo',
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  assert.equal(userinfo.statusCode, 401);
  assert.deepEqual(await introspect(s.server, s.client, body.access_token), { active: false });
  assert.equal((await s.server.deps.storage.users.findById(String(created.id)))?.disabled, true);
  ok(await call(s, 'POST', `/users/${String(created.id)}/enable`));
  assert.equal((await s.server.deps.storage.users.findById(String(created.id)))?.disabled, false);

  assert.equal(ok(await call(s, 'POST', `/users/${String(created.id)}/role`, { admin: true })).admin, true);
  assert.equal((await s.server.deps.storage.users.findById(String(created.id)))?.role, 'admin');
  assert.equal(ok(await call(s, 'POST', `/users/${String(created.id)}/role`, { admin: false })).admin, false);

  const before = (await s.server.deps.storage.users.findById(String(created.id)))!.passwordHash;
  ok(await call(s, 'POST', `/users/${String(created.id)}/password`, { password: 'a brand new password' }));
  assert.notEqual((await s.server.deps.storage.users.findById(String(created.id)))!.passwordHash, before);

  // A second factor (TOTP begun and confirmed, as the security page does) is removed by the admin.
  const storage = s.server.deps.storage;
  assert.ok(await storage.totpCredentials.begin(String(created.id), 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', 1));
  assert.ok(await storage.totpCredentials.useStep(String(created.id), 1, 1, true));
  assert.deepEqual(ok(await call(s, 'DELETE', `/users/${String(created.id)}/second-factors`)), { available: true, removed: 1 });
  assert.equal(await storage.totpCredentials.find(String(created.id)), undefined);
  assert.deepEqual(ok(await call(s, 'DELETE', `/users/${String(created.id)}/second-factors`)), { available: true, removed: 0 });
  ok(await call(s, 'DELETE', `/users/${String(created.id)}`));
  assert.equal(await s.server.deps.storage.users.findById(String(created.id)), undefined);
  assert.equal((await call(s, 'GET', `/users/${String(created.id)}`)).statusCode, 404);
});

test("sessions and grants through the admin API: list a user's sessions and end one, list grants and revoke one, sign out everywhere", async (t) => {
  const s = await setup(t);
  const alice = { id: 'user-alice', username: 'alice', password: 'correct horse battery' };
  const { body } = await issueTokens(s.server, new Browser(s.server.app), s.client, alice, { scope: 'openid offline_access' });
  const sessions = ok(await call(s, 'GET', `/users/${alice.id}/sessions`)).sessions as { sid: string }[];
  assert.equal(sessions.length, 1);
  assert.equal('id_hash' in sessions[0]!, false);
  ok(await call(s, 'DELETE', `/users/${alice.id}/sessions/${sessions[0]!.sid}`));
  assert.deepEqual(ok(await call(s, 'GET', `/users/${alice.id}/sessions`)).sessions, []);
  assert.equal((await call(s, 'DELETE', `/users/${alice.id}/sessions/${sessions[0]!.sid}`)).statusCode, 404);
  assert.deepEqual(await introspect(s.server, s.client, body.access_token), { active: false }, 'tokens of the ended session die');

  const second = await issueTokens(s.server, new Browser(s.server.app), s.client, alice, { scope: 'openid offline_access' });
  const grants = ok(await call(s, 'GET', `/users/${alice.id}/grants`)).grants as { client_id: string }[];
  assert.deepEqual(
    grants.map((g) => g.client_id),
    [s.client.clientId],
  );
  ok(await call(s, 'DELETE', `/users/${alice.id}/grants/${s.client.clientId}`));
  assert.deepEqual(ok(await call(s, 'GET', `/users/${alice.id}/grants`)).grants, []);
  assert.deepEqual(await introspect(s.server, s.client, second.body.access_token), { active: false });

  const third = await issueTokens(s.server, new Browser(s.server.app), s.client, alice, { scope: 'openid' });
  const live = (ok(await call(s, 'GET', `/users/${alice.id}/sessions`)).sessions as unknown[]).length;
  const out = ok(await call(s, 'POST', `/users/${alice.id}/sign-out`));
  assert.equal((out.revoked as Record<string, number>).sessions, live);
  assert.deepEqual(ok(await call(s, 'GET', `/users/${alice.id}/sessions`)).sessions, []);
  assert.deepEqual(await introspect(s.server, s.client, third.body.access_token), { active: false });
});

test('CR-02 clients through the admin API: create, get, edit, rotate the secret (the old one is invalid_client at once), disable, enable, delete', async (t) => {
  const s = await setup(t);
  const created = ok(
    await call(s, 'POST', '/clients', {
      client_name: 'Billing',
      redirect_uris: ['https://billing.example/cb'],
      grant_types: ['authorization_code', 'client_credentials'],
      scope: 'openid photos:read',
    }),
    201,
  );
  const clientId = String(created.client_id);
  const first = String(created.client_secret);
  assert.equal((await s.server.deps.storage.clients.find(clientId))?.secretHash, sha256(first));
  const cc = (secret: string) =>
    tokenRequest(s.server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, { clientId, clientSecret: secret });
  assert.equal((await cc(first)).statusCode, 200);

  assert.equal('client_secret' in ok(await call(s, 'GET', `/clients/${clientId}`)), false);
  const edited = ok(await call(s, 'PATCH', `/clients/${clientId}`, { redirect_uris: ['https://billing.example/cb2'], scope: 'openid' }));
  assert.deepEqual(edited.redirect_uris, ['https://billing.example/cb2']);
  assert.deepEqual((await s.server.deps.storage.clients.find(clientId))?.scopes, ['openid']);
  ok(await call(s, 'PATCH', `/clients/${clientId}`, { scope: 'openid photos:read' }));

  const rotated = ok(await call(s, 'POST', `/clients/${clientId}/secret`));
  const second = String(rotated.client_secret);
  assert.notEqual(second, first);
  assert.equal((await s.server.deps.storage.clients.find(clientId))?.secretHash, sha256(second), 'the stored digest is replaced');
  const old = await cc(first);
  assert.equal(old.statusCode, 401);
  assert.equal(old.json().error, 'invalid_client');
  assert.equal((await cc(second)).statusCode, 200);

  const live = String((await cc(second)).json().access_token);
  assert.equal(ok(await call(s, 'POST', `/clients/${clientId}/disable`)).disabled, true);
  assert.equal((await cc(second)).json().error, 'invalid_client');
  const introspectAsClient = await s.server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(s.client.clientId, s.client.clientSecret!) },
    payload: form({ token: live }),
  });
  assert.deepEqual(introspectAsClient.json(), { active: false });
  const authorize = await s.server.app.inject({
    method: 'GET',
    url: `/authorize?response_type=code&client_id=${clientId}&redirect_uri=${encodeURIComponent('https://billing.example/cb2')}&scope=openid`,
  });
  assert.equal(authorize.statusCode, 400, 'a disabled client cannot start an authorization');
  assert.equal(authorize.headers.location, undefined, 'and nothing redirects');
  ok(await call(s, 'POST', `/clients/${clientId}/enable`));
  assert.equal((await cc(second)).statusCode, 200);
  assert.equal(
    (ok(await call(s, 'GET', '/clients')).clients as { client_id: string }[]).some((c) => c.client_id === clientId),
    true,
  );
  ok(await call(s, 'DELETE', `/clients/${clientId}`));
  assert.equal(await s.server.deps.storage.clients.find(clientId), undefined);
});

test('resources, signing keys and the event log through the admin API', async (t) => {
  const s = await setup(t);
  const uri = 'https://orders.example/api';
  const created = ok(await call(s, 'POST', '/resources', { uri, scope: 'orders:read orders:write', name: 'Orders' }), 201);
  assert.equal(typeof (created.introspection_credentials as Record<string, unknown>).client_secret, 'string');
  assert.equal(ok(await call(s, 'GET', `/resource?uri=${encodeURIComponent(uri)}`)).scope, 'orders:read orders:write');
  assert.equal(ok(await call(s, 'PATCH', `/resource?uri=${encodeURIComponent(uri)}`, { scope: 'orders:read' })).scope, 'orders:read');
  assert.equal(
    (ok(await call(s, 'GET', '/resources')).resources as { uri: string }[]).some((r) => r.uri === uri),
    true,
  );
  ok(await call(s, 'DELETE', `/resource?uri=${encodeURIComponent(uri)}`));
  assert.equal(await s.server.deps.storage.resources.find(uri), undefined);
  assert.equal((await call(s, 'DELETE', `/resource?uri=${encodeURIComponent(uri)}`)).statusCode, 404);

  const own = encodeURIComponent(adminApiResourceUri(s.server.config));
  assert.equal((await call(s, 'DELETE', `/resource?uri=${own}`)).statusCode, 409, 'the admin API resource stays');
  assert.equal((await call(s, 'PATCH', `/resource?uri=${own}`, { scope: 'other:scope' })).statusCode, 409, 'and keeps its scope');
  assert.equal(ok(await call(s, 'PATCH', `/resource?uri=${own}`, { name: 'Admin API' })).name, 'Admin API');

  const keys = ok(await call(s, 'GET', '/keys')).keys as { kid: string; status: string; alg: string }[];
  assert.ok(keys.length > 0);
  assert.equal(JSON.stringify(keys).includes('"d"'), false);
  const rotated = ok(await call(s, 'POST', '/keys/rotate', { alg: 'ES256' })).rotations as { kid: string; action: string }[];
  assert.equal(rotated[0]!.action, 'created');
  assert.equal((await s.server.deps.storage.signingKeys.find(rotated[0]!.kid))?.status, 'next');
  const retired = ok(await call(s, 'POST', `/keys/${rotated[0]!.kid}/retire`, {}));
  assert.equal(retired.previous_status, 'next');
  assert.equal((await s.server.deps.storage.signingKeys.find(rotated[0]!.kid))?.status, 'retired');
  const only = keys.find((k) => k.status === 'active' && k.alg === 'RS256')!;
  const refused = await call(s, 'POST', `/keys/${only.kid}/retire`, {});
  assert.equal(refused.statusCode, 409, 'the last active key of an algorithm cannot be retired');
  assert.equal(refused.json().error, 'invalid_request');

  const events = ok(await call(s, 'GET', '/events?type=key&limit=10')).events as { type: string; details: Record<string, unknown> }[];
  assert.deepEqual(events.map((e) => e.type).sort(), ['key.retired', 'key.rotated']);
  assert.equal(events[0]!.details.admin, 'root');
});

test('IN-04 bad input to the admin API is 400 invalid_request (or 404 for an unknown id), never a 500', async (t) => {
  const s = await setup(t);
  const cases: [string, 'GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown, number][] = [
    ['malformed JSON', 'POST', '/users', '{"username":', 400],
    ['a number for a string', 'POST', '/users', { username: 5, password: 'long enough password' }, 400],
    ['an unknown field', 'POST', '/users', { username: 'x', password: 'long enough password', role: 'admin' }, 400],
    ['a short password', 'POST', '/users', { username: 'shorty', password: 'short' }, 400],
    ['a bad username', 'POST', '/users', { username: 'no spaces please', password: 'long enough password' }, 400],
    ['a duplicate username', 'POST', '/users', { username: 'alice', password: 'long enough password' }, 409],
    ['a javascript: redirect URI', 'POST', '/clients', { client_name: 'X', redirect_uris: ['javascript:alert(1)'] }, 400],
    [
      'an unknown grant type',
      'POST',
      '/clients',
      { client_name: 'X', redirect_uris: ['https://x.example/cb'], grant_types: ['password'] },
      400,
    ],
    ['an empty change', 'PATCH', '/clients/nope', {}, 400],
    ['a relative resource URI', 'POST', '/resources', { uri: '/relative', scope: 'a:b' }, 400],
    ['an OpenID scope on a resource', 'POST', '/resources', { uri: 'https://r.example', scope: 'openid' }, 400],
    ['a bad algorithm', 'POST', '/keys/rotate', { alg: 'HS256' }, 400],
    ['a body where none is taken', 'POST', '/users/user-alice/sign-out', { x: 1 }, 400],
    ['a repeated query parameter', 'GET', '/users?q=a&q=b', undefined, 400],
    ['an unknown query parameter', 'GET', '/clients?x=1', undefined, 400],
    ['a bad limit', 'GET', '/events?limit=0', undefined, 400],
    ['an unknown event type', 'GET', '/events?type=nonsense', undefined, 400],
    ['an unknown user', 'POST', '/users/nobody/disable', undefined, 404],
    ['an unknown client', 'POST', '/clients/nobody/secret', undefined, 404],
    ['an unknown key', 'POST', '/keys/nokey/retire', {}, 404],
    ['a public client secret', 'POST', `/clients/PUBLIC/secret`, undefined, 409],
  ];
  const pub = await s.server.createClient({ isPublic: true, grantTypes: ['authorization_code'], redirectUris: ['https://p.example/cb'] });
  for (const [name, method, path, body, status] of cases) {
    const res = await call(s, method, path.replace('PUBLIC', pub.clientId), body);
    assert.equal(res.statusCode, status, `${name}: ${res.body}`);
    const json = res.json() as Record<string, unknown>;
    assert.equal(json.error, status === 404 ? 'not_found' : 'invalid_request', name);
    assert.equal(JSON.stringify(json).includes('    at '), false, `${name}: no stack trace`);
  }
});

test('EV-01 every admin API action records exactly one security event naming the acting admin and the target', async (t) => {
  const s = await setup(t);
  const events = s.server.deps.storage.securityEvents;
  const alice = { id: 'user-alice', username: 'alice', password: 'correct horse battery' };
  await issueTokens(s.server, new Browser(s.server.app), s.client, alice, { scope: 'openid' });
  const sid = (await s.server.deps.storage.sessions.listOf(alice.id))[0]!.sid;
  const steps: [string, 'POST' | 'PATCH' | 'DELETE', string | (() => string), unknown, string][] = [
    ['user.created', 'POST', '/users', { username: 'dave', password: 'dave secret password' }, 'dave'],
    ['admin.role_granted', 'POST', '/users/user-alice/role', { admin: true }, 'alice'],
    ['admin.role_revoked', 'POST', '/users/user-alice/role', { admin: false }, 'alice'],
    ['admin.session_ended', 'DELETE', () => `/users/user-alice/sessions/${sid}`, undefined, 'alice'],
    ['user.disabled', 'POST', '/users/user-alice/disable', undefined, 'alice'],
    ['user.enabled', 'POST', '/users/user-alice/enable', undefined, 'alice'],
    ['user.password_set', 'POST', '/users/user-alice/password', { password: 'another fine password' }, 'alice'],
    ['session.revoked', 'POST', '/users/user-alice/sign-out', undefined, 'alice'],
    ['admin.second_factors_removed', 'DELETE', '/users/user-alice/second-factors', undefined, 'alice'],
    ['grant.revoked', 'DELETE', `/users/user-alice/grants/${s.client.clientId}`, undefined, s.client.clientId],
    ['client.updated', 'PATCH', `/clients/${s.client.clientId}`, { scope: 'openid profile offline_access admin' }, s.client.clientId],
    ['client.secret_rotated', 'POST', `/clients/${s.client.clientId}/secret`, undefined, s.client.clientId],
    [
      'admin.resource_created',
      'POST',
      '/resources',
      { uri: 'https://ev.example', scope: 'ev:read', introspection: false },
      'https://ev.example',
    ],
    ['admin.resource_updated', 'PATCH', `/resource?uri=${encodeURIComponent('https://ev.example')}`, { name: 'Ev' }, 'https://ev.example'],
    ['admin.resource_deleted', 'DELETE', `/resource?uri=${encodeURIComponent('https://ev.example')}`, undefined, 'https://ev.example'],
    ['key.rotated', 'POST', '/keys/rotate', { alg: 'ES256' }, 'ES256'],
    ['user.deleted', 'DELETE', '/users/user-alice', undefined, 'alice'],
  ];
  for (const [type, method, path, body, target] of steps) {
    const before = (await events.list({ limit: 10_000 })).length;
    ok(
      await call(s, method, typeof path === 'function' ? path() : path, body),
      type === 'user.created' || type.endsWith('resource_created') ? 201 : 200,
    );
    const after = await events.list({ limit: 10_000 });
    assert.equal(after.length, before + 1, `${type}: exactly one event`);
    const e = after[0]!;
    assert.equal(e.type, type);
    assert.equal(e.details.by, 'admin', type);
    assert.equal(e.details.admin, 'root', `${type} names the acting admin`);
    assert.equal(e.details.admin_id, s.admin.id);
    assert.ok(JSON.stringify(e).includes(target), `${type} names its target ${target}`);
    assert.equal(JSON.stringify(e).includes('password":"'), false);
  }
  // The client, disabled and enabled, and deleted last (the token's own client is s.client).
  const other = await s.server.createClient({ redirectUris: ['https://o.example/cb'] });
  for (const [type, method, path] of [
    ['admin.client_disabled', 'POST', `/clients/${other.clientId}/disable`],
    ['admin.client_enabled', 'POST', `/clients/${other.clientId}/enable`],
    ['client.deleted', 'DELETE', `/clients/${other.clientId}`],
  ] as const) {
    const before = (await events.list({ limit: 10_000 })).length;
    ok(await call(s, method, path));
    const after = await events.list({ limit: 10_000 });
    assert.equal(after.length, before + 1, type);
    assert.equal(after[0]!.type, type);
    assert.equal(after[0]!.clientId, other.clientId);
    assert.equal(after[0]!.details.admin, 'root');
  }
});

test('the OpenAPI 3.1 document lists every admin API route with the schemas that validate it', async (t) => {
  const s = await setup(t);
  const res = await s.server.app.inject({ method: 'GET', url: `${ADMIN_API_PREFIX}/openapi.json` });
  const doc = ok(res);
  assert.equal(doc.openapi, '3.1.0');
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  let count = 0;
  for (const route of ADMIN_ROUTES) {
    const op = paths[openApiPath(ADMIN_API_PREFIX, route.path)]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${route.path} is in the document`);
    if (route.body) {
      const schema = (op.requestBody as { content: Record<string, { schema: unknown }> }).content['application/json']!.schema;
      assert.deepEqual(schema, JSON.parse(JSON.stringify(route.body)));
    }
    const params = (op.parameters as { name: string; in: string }[]).filter((p) => p.in === 'path').map((p) => p.name);
    assert.deepEqual(
      params,
      [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]),
    );
    count++;
  }
  const documented = Object.values(paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
  assert.equal(documented, count, 'and nothing else');
  // The server registers its /admin/api routes from the same table: each one is served.
  for (const route of ADMIN_ROUTES) {
    const probe = await s.server.app.inject({ method: route.method, url: `${ADMIN_API_PREFIX}${route.path.replace(/:[a-z_]+/g, 'x')}` });
    assert.notEqual(probe.statusCode, 404, `${route.method} ${route.path} is served`);
  }
});

test('an admin cannot disable, delete or demote their own account through the API (409), and stays an admin', async (t) => {
  const s = await setup(t);
  for (const [method, path, body] of [
    ['POST', `/users/${s.admin.id}/disable`, undefined],
    ['DELETE', `/users/${s.admin.id}`, undefined],
    ['POST', `/users/${s.admin.id}/role`, { admin: false }],
  ] as const) {
    const res = await call(s, method, path, body);
    assert.equal(res.statusCode, 409, path);
    assert.equal(res.json().error, 'invalid_request');
  }
  const me = await s.server.deps.storage.users.findById(s.admin.id);
  assert.equal(me?.role, 'admin');
  assert.equal(me?.disabled, false);
  ok(await call(s, 'GET', '/users'));
});
