// RFC 7591 dynamic client registration and RFC 7592 management: DR-01 (initial access tokens, metadata
// validated like the CLI, digests only), RU-06 through /register, TE-01 headers, DS-01 rate limit and
// size cap, and RFC 8252 loopback redirect URIs of dynamically registered native clients (RU-05).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../src/config/config.js';
import { nowSeconds, sha256 } from '../src/oauth/crypto.js';
import { createRegistrationToken } from '../src/oauth/registration.js';
import { createGatehouse } from '../src/server.js';
import { REGISTRATION_RATE_LIMIT } from '../src/endpoints/register.js';
import {
  assertErrorPage,
  assertNoStackTrace,
  assertOAuthError,
  basic,
  Browser,
  countRows,
  dumpDatabase,
  getCode,
  ISSUER,
  startServer,
  tokenRequest,
  type TestServer,
  type TokenBody,
} from './helpers.js';
import { RU06_UNSAFE } from './cases.js';

const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

type T = { after(fn: () => Promise<void> | void): void };

async function setup(t: T, env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startServer(env);
  t.after(() => server.close());
  return server;
}

async function initialToken(server: TestServer, options: { expiresIn?: number; uses?: number } = {}): Promise<string> {
  return (await createRegistrationToken(server.deps.storage.registrationTokens, options, server.clock())).token;
}

// Each registration comes from an address of its own unless a test names one, so that only the
// rate-limit test meets the per-IP limit.
let nextAddress = 0;
const freshAddress = () => `10.${(nextAddress >> 16) & 255}.${(nextAddress >> 8) & 255}.${nextAddress++ & 255}`;

function register(
  server: TestServer,
  body: unknown,
  token?: string,
  headers: Record<string, string> = {},
  remoteAddress = freshAddress(),
): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'POST',
    url: '/register',
    remoteAddress,
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}), ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function manage(
  server: TestServer,
  method: 'GET' | 'PUT' | 'DELETE',
  uri: string,
  token: string | undefined,
  body?: unknown,
): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method,
    url: new URL(uri).pathname,
    headers: {
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
}

const WEB = { client_name: 'Photo Printer', redirect_uris: ['https://printer.example/cb'], scope: 'openid profile photos:read' };
const NATIVE = { client_name: 'Desktop App', redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' };

function assertNoStore(res: LightMyRequestResponse): void {
  assert.match(String(res.headers['cache-control']), /no-store/);
  assert.equal(res.headers.pragma, 'no-cache');
  assert.match(String(res.headers['content-type']), /^application\/json/);
}

test('DR-01 registration without an initial access token is 401 with a Bearer challenge, and no client is created', async (t) => {
  const server = await setup(t);
  const res = await register(server, WEB);
  assertOAuthError(res, 401, 'invalid_token');
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="127\.0\.0\.1:9000"$/);
  assertNoStore(res);
  assert.equal(await countRows(server.deps.storage, 'clients'), 0);
});

test('DR-01 a registration with an initial access token gets 201 with its credentials; only digests are stored (TE-01 no-store)', async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server);
  const res = await register(server, WEB, iat);
  assert.equal(res.statusCode, 201, res.body);
  assertNoStore(res);
  const body = res.json() as Record<string, unknown>;
  assert.equal(typeof body.client_id, 'string');
  assert.equal(typeof body.client_secret, 'string');
  assert.equal(body.client_secret_expires_at, 0);
  assert.equal(typeof body.client_id_issued_at, 'number');
  assert.equal(typeof body.registration_access_token, 'string');
  assert.equal(body.registration_client_uri, `${ISSUER}/register/${String(body.client_id)}`);
  assert.equal(body.client_name, 'Photo Printer');
  assert.deepEqual(body.redirect_uris, WEB.redirect_uris);
  assert.deepEqual(body.grant_types, ['authorization_code', 'refresh_token']);
  assert.deepEqual(body.response_types, ['code']);
  assert.equal(body.token_endpoint_auth_method, 'client_secret_basic');
  assert.equal(body.scope, 'openid profile photos:read');

  const dump = await dumpDatabase(server.deps.storage);
  for (const secret of [body.client_secret, body.registration_access_token, iat] as string[]) {
    assert.ok(!dump.includes(secret), 'a raw secret or token is in the database');
  }
  const stored = await server.deps.storage.clients.find(String(body.client_id));
  assert.equal(stored?.secretHash, sha256(String(body.client_secret)));
  assert.equal(stored?.registrationAccessTokenHash, sha256(String(body.registration_access_token)));
  assert.equal((await server.deps.storage.registrationTokens.find(sha256(iat)))?.usesLeft, 0);

  // The client authenticates with its secret at the token endpoint (a bad code, but not a bad client).
  const tok = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code: 'nope', redirect_uri: WEB.redirect_uris[0] },
    {
      clientId: String(body.client_id),
      clientSecret: String(body.client_secret),
    },
  );
  assertOAuthError(tok, 400, 'invalid_grant');
});

test('DR-01 an expired initial access token is 401 and creates nothing', async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server, { expiresIn: 60 });
  server.clock.advance(61);
  const res = await register(server, WEB, iat);
  assertOAuthError(res, 401, 'invalid_token');
  assert.match(String(res.headers['www-authenticate']), /^Bearer realm="[^"]+", error="invalid_token"/);
  assert.equal(await countRows(server.deps.storage, 'clients'), 0);
});

test('DR-01 a used-up initial access token is 401: a 2-use token registers two clients, not three', async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server, { uses: 2 });
  assert.equal((await register(server, WEB, iat)).statusCode, 201);
  assert.equal((await register(server, WEB, iat)).statusCode, 201);
  assertOAuthError(await register(server, WEB, iat), 401, 'invalid_token');
  assert.equal(await countRows(server.deps.storage, 'clients'), 2);
  assertOAuthError(await register(server, WEB, 'made-up-token'), 401, 'invalid_token');
});

test('DR-01 a registration refused for its metadata does not spend the initial access token', async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server);
  assertOAuthError(await register(server, { ...WEB, redirect_uris: ['https://printer.example/cb#f'] }, iat), 400, 'invalid_redirect_uri');
  assert.equal((await register(server, WEB, iat)).statusCode, 201);
});

test('RU-06 dynamic registration refuses each unsafe redirect URI with invalid_redirect_uri, and no client is created', async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server, { uses: 100 });
  for (const [name, uri] of [
    ...RU06_UNSAFE,
    ['localhost look-alike', 'http://localhost.evil.test/cb'],
    ['upper-case LOCALHOST', 'http://LOCALHOST/cb'],
  ] as const) {
    await t.test(`${name}: ${uri}`, async () => {
      const res = await register(server, { ...WEB, redirect_uris: [uri] }, iat);
      assertOAuthError(res, 400, 'invalid_redirect_uri');
      assertNoStore(res);
      const logout = await register(server, { ...WEB, post_logout_redirect_uris: [uri] }, iat);
      assertOAuthError(logout, 400, 'invalid_redirect_uri');
    });
  }
  assert.equal(await countRows(server.deps.storage, 'clients'), 0);
  assert.equal((await server.deps.storage.registrationTokens.find(sha256(iat)))?.usesLeft, 100);
});

test('DR-01 malformed metadata is 400 invalid_client_metadata or invalid_redirect_uri, never a 500', async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server, { uses: 100 });
  const cases: [string, unknown, string][] = [
    ['redirect_uris not an array', { ...WEB, redirect_uris: 'https://printer.example/cb' }, 'invalid_redirect_uri'],
    ['redirect_uris with a number', { ...WEB, redirect_uris: [42] }, 'invalid_redirect_uri'],
    ['no redirect URI for the code grant', { client_name: 'x' }, 'invalid_redirect_uri'],
    ['post_logout_redirect_uris not an array', { ...WEB, post_logout_redirect_uris: {} }, 'invalid_redirect_uri'],
    ['an unknown grant type', { ...WEB, grant_types: ['password'] }, 'invalid_client_metadata'],
    ['grant_types not an array', { ...WEB, grant_types: 'authorization_code' }, 'invalid_client_metadata'],
    ['refresh_token alone', { ...WEB, grant_types: ['refresh_token'] }, 'invalid_client_metadata'],
    ['response_types token', { ...WEB, response_types: ['token'] }, 'invalid_client_metadata'],
    [
      'response_types that disagree with grant_types',
      { ...WEB, grant_types: ['client_credentials'], response_types: ['code'] },
      'invalid_client_metadata',
    ],
    ['an unsupported auth method', { ...WEB, token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
    ['auth method not a string', { ...WEB, token_endpoint_auth_method: 1 }, 'invalid_client_metadata'],
    [
      'public client with client_credentials',
      { ...WEB, token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] },
      'invalid_client_metadata',
    ],
    ['client_name a number', { ...WEB, client_name: 7 }, 'invalid_client_metadata'],
    ['client_name too long', { ...WEB, client_name: 'x'.repeat(201) }, 'invalid_client_metadata'],
    ['client_name with a control character', { ...WEB, client_name: 'Bank\u0000' }, 'invalid_client_metadata'],
    ['client_name with a bidi override', { ...WEB, client_name: 'abc\u202Egpj.exe' }, 'invalid_client_metadata'],
    ['a scope with a quote', { ...WEB, scope: 'openid "x' }, 'invalid_client_metadata'],
    ['scope an array', { ...WEB, scope: ['openid'] }, 'invalid_client_metadata'],
    ['an unknown id token alg', { ...WEB, id_token_signed_response_alg: 'none' }, 'invalid_client_metadata'],
    [
      'a plain-http back-channel logout URI',
      { ...WEB, backchannel_logout_uri: 'http://printer.example/logout' },
      'invalid_client_metadata',
    ],
    [
      'too many redirect URIs',
      { ...WEB, redirect_uris: Array.from({ length: 51 }, (_, i) => `https://printer.example/cb${i}`) },
      'invalid_redirect_uri',
    ],
    ['a default_scope outside the scope', { ...WEB, default_scope: 'email' }, 'invalid_client_metadata'],
    ['default_resources not an array', { ...WEB, default_resources: 'https://api.example/' }, 'invalid_client_metadata'],
    ['a JSON array', [WEB], 'invalid_client_metadata'],
    ['a JSON string', '"hello"', 'invalid_client_metadata'],
    ['JSON null', 'null', 'invalid_client_metadata'],
  ];
  for (const [name, body, error] of cases) {
    await t.test(name, async () => {
      const res = await register(server, body, iat);
      assertOAuthError(res, 400, error);
      assertNoStore(res);
    });
  }
  for (const [name, payload, type] of [
    ['bad JSON', '{"redirect_uris": [', 'application/json'],
    ['an empty JSON body', '', 'application/json'],
    ['a JSON prototype-poisoning body', '{"__proto__": {"x": 1}, "redirect_uris": ["https://printer.example/cb"]}', 'application/json'],
    ['a form body', 'redirect_uris=https%3A%2F%2Fprinter.example%2Fcb', 'application/x-www-form-urlencoded'],
    ['a text body', 'hello', 'text/plain'],
  ] as const) {
    await t.test(name, async () => {
      const res = await register(server, payload, iat, { 'content-type': type });
      assertOAuthError(res, 400, ['invalid_request', 'invalid_client_metadata']);
    });
  }
  assert.equal(await countRows(server.deps.storage, 'clients'), 0);
});

test('DR-01 default_scope and default_resources are registered and returned like the CLI registers them', async (t) => {
  const server = await setup(t);
  const res = await register(
    server,
    { ...WEB, default_scope: 'openid photos:read', default_resources: ['https://api.example/'] },
    await initialToken(server),
  );
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.default_scope, 'openid photos:read');
  assert.deepEqual(body.default_resources, ['https://api.example/']);
});

test('DR-01 unknown metadata and software statements are ignored: neither stored nor returned', async (t) => {
  const server = await setup(t);
  const res = await register(
    server,
    {
      ...WEB,
      logo_uri: 'https://evil.example/logo.png',
      software_statement: 'eyJhbGciOiJub25lIn0.e30.',
      extension_x: { a: 1 },
      client_id: 'chosen-id',
      client_secret: 'chosen-secret',
      response_types: ['code'],
      grant_types: null,
    },
    await initialToken(server),
  );
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json() as Record<string, unknown>;
  for (const name of ['logo_uri', 'software_statement', 'extension_x']) assert.equal(body[name], undefined, name);
  assert.notEqual(body.client_id, 'chosen-id');
  assert.notEqual(body.client_secret, 'chosen-secret');
  const dump = await dumpDatabase(server.deps.storage);
  assert.ok(!dump.includes('evil.example') && !dump.includes('extension_x'));
});

test('DR-01 with openRegistration, anyone may register a native client, but not one that acts without a user', async (t) => {
  const server = await setup(t, { GATEHOUSE_OPEN_REGISTRATION: 'true' });
  const res = await register(server, NATIVE);
  assert.equal(res.statusCode, 201, res.body);
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.client_secret, undefined);
  assert.equal(body.client_secret_expires_at, undefined);
  assert.equal(body.token_endpoint_auth_method, 'none');
  assert.equal((await server.deps.storage.clients.find(String(body.client_id)))?.isPublic, true);

  const cc = { client_name: 'Worker', grant_types: ['client_credentials'], scope: 'photos:read' };
  assertOAuthError(await register(server, cc), 400, 'invalid_client_metadata');
  // Nor one that makes the server POST to a URL of its choosing (back-channel logout).
  const backchannel = { ...WEB, backchannel_logout_uri: 'https://printer.example/bc' };
  assertOAuthError(await register(server, backchannel), 400, 'invalid_client_metadata');
  const authorised = await register(server, backchannel, await initialToken(server));
  assert.equal(authorised.statusCode, 201, authorised.body);
  assert.equal((authorised.json() as Record<string, unknown>).backchannel_logout_uri, 'https://printer.example/bc');
  // An invalid token is still refused even though registration is open.
  assertOAuthError(await register(server, cc, 'wrong'), 401, 'invalid_token');
  // With an initial access token the operator authorised it.
  const ok = await register(server, cc, await initialToken(server));
  assert.equal(ok.statusCode, 201, ok.body);
  const worker = ok.json() as Record<string, string>;
  const tok = await tokenRequest(
    server.app,
    { grant_type: 'client_credentials', scope: 'photos:read' },
    { clientId: worker.client_id!, clientSecret: worker.client_secret },
  );
  assert.equal(tok.statusCode, 200, tok.body);
});

test("DR-01 RFC 7592 read: the registration access token reads the client; a wrong token, another client's token or an unknown client is 401", async (t) => {
  const server = await setup(t);
  const iat = await initialToken(server, { uses: 2 });
  const a = (await register(server, WEB, iat)).json() as Record<string, string>;
  const b = (await register(server, { ...WEB, client_name: 'Other' }, iat)).json() as Record<string, string>;
  const read = await manage(server, 'GET', a.registration_client_uri!, a.registration_access_token);
  assert.equal(read.statusCode, 200, read.body);
  assertNoStore(read);
  const info = read.json() as Record<string, unknown>;
  assert.equal(info.client_id, a.client_id);
  assert.equal(info.client_name, 'Photo Printer');
  assert.equal(info.registration_access_token, a.registration_access_token);
  assert.equal(info.registration_client_uri, a.registration_client_uri);
  assert.equal(info.client_secret, undefined, 'only a digest of the secret is kept');

  const noToken = await manage(server, 'GET', a.registration_client_uri!, undefined);
  assertOAuthError(noToken, 401, 'invalid_token');
  assert.match(String(noToken.headers['www-authenticate']), /^Bearer realm=/);
  for (const [name, uri, token] of [
    ['a wrong token', a.registration_client_uri, 'x'.repeat(43)],
    ["another client's token", a.registration_client_uri, b.registration_access_token],
    ['an unknown client', `${ISSUER}/register/no-such-client`, a.registration_access_token],
    ['the initial access token', a.registration_client_uri, iat],
  ] as const) {
    const res = await manage(server, 'GET', uri!, token);
    assertOAuthError(res, 401, 'invalid_token');
    assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/, name);
  }
  // A client registered with the CLI has no registration access token and cannot be managed.
  const cli = await server.createClient();
  assertOAuthError(await manage(server, 'GET', `${ISSUER}/register/${cli.clientId}`, a.registration_access_token), 401, 'invalid_token');
});

test('DR-01 RFC 7592 update: metadata is replaced and validated like registration, the token rotates, the secret stays', async (t) => {
  const server = await setup(t);
  const a = (await register(server, WEB, await initialToken(server))).json() as Record<string, string>;
  const uri = a.registration_client_uri!;
  const base = { ...WEB, client_id: a.client_id };

  assertOAuthError(
    await manage(server, 'PUT', uri, a.registration_access_token, { ...base, redirect_uris: ['javascript:alert(1)'] }),
    400,
    'invalid_redirect_uri',
  );
  assertOAuthError(
    await manage(server, 'PUT', uri, a.registration_access_token, { ...base, client_id: 'another' }),
    400,
    'invalid_client_metadata',
  );
  assertOAuthError(await manage(server, 'PUT', uri, a.registration_access_token, { ...WEB }), 400, 'invalid_client_metadata');
  assertOAuthError(
    await manage(server, 'PUT', uri, a.registration_access_token, { ...base, client_secret: 'wrong' }),
    400,
    'invalid_client_metadata',
  );
  assertOAuthError(
    await manage(server, 'PUT', uri, a.registration_access_token, { ...base, token_endpoint_auth_method: 'none' }),
    400,
    'invalid_client_metadata',
  );
  assert.equal((await server.deps.storage.clients.find(a.client_id!))?.clientName, 'Photo Printer', 'a refused update changes nothing');

  const res = await manage(server, 'PUT', uri, a.registration_access_token, {
    ...base,
    client_secret: a.client_secret,
    client_name: 'Photo Printer 2',
    redirect_uris: ['https://printer.example/cb2'],
    token_endpoint_auth_method: 'client_secret_post',
    registration_access_token: 'ignored',
    client_id_issued_at: 1,
  });
  assert.equal(res.statusCode, 200, res.body);
  assertNoStore(res);
  const updated = res.json() as Record<string, unknown>;
  assert.equal(updated.client_name, 'Photo Printer 2');
  assert.deepEqual(updated.redirect_uris, ['https://printer.example/cb2']);
  assert.equal(updated.token_endpoint_auth_method, 'client_secret_post');
  assert.equal(updated.scope, WEB.scope);
  assert.equal(updated.client_id_issued_at, a.client_id_issued_at);
  assert.notEqual(updated.registration_access_token, a.registration_access_token, 'the registration access token rotates');
  assertOAuthError(await manage(server, 'GET', uri, a.registration_access_token), 401, 'invalid_token');
  assert.equal((await manage(server, 'GET', uri, String(updated.registration_access_token))).statusCode, 200);

  // The secret did not change: client_secret_post with the original secret authenticates.
  const tok = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: 'authorization_code',
      code: 'nope',
      redirect_uri: 'https://printer.example/cb2',
      client_id: a.client_id!,
      client_secret: a.client_secret!,
    }).toString(),
  });
  assertOAuthError(tok, 400, 'invalid_grant');
  // Omitted fields return to their defaults (RFC 7592 §2.2).
  const reset = await manage(server, 'PUT', uri, String(updated.registration_access_token), {
    client_id: a.client_id,
    redirect_uris: ['https://printer.example/cb'],
  });
  assert.equal(reset.statusCode, 200, reset.body);
  assert.equal((reset.json() as Record<string, unknown>).scope, 'openid profile email');
  assert.equal((reset.json() as Record<string, unknown>).token_endpoint_auth_method, 'client_secret_post', 'an omitted auth method stays');
});

test('DR-01 RFC 7592 update: an openly registered client cannot add client_credentials or a back-channel logout URI', async (t) => {
  const server = await setup(t, { GATEHOUSE_OPEN_REGISTRATION: 'true' });
  const a = (await register(server, WEB)).json() as Record<string, string>;
  const res = await manage(server, 'PUT', a.registration_client_uri!, a.registration_access_token, {
    ...WEB,
    client_id: a.client_id,
    grant_types: ['authorization_code', 'client_credentials'],
  });
  assertOAuthError(res, 400, 'invalid_client_metadata');
  const bc = await manage(server, 'PUT', a.registration_client_uri!, a.registration_access_token, {
    ...WEB,
    client_id: a.client_id,
    backchannel_logout_uri: 'https://printer.example/bc',
  });
  assertOAuthError(bc, 400, 'invalid_client_metadata');
  const stored = await server.deps.storage.clients.find(a.client_id!);
  assert.deepEqual(stored?.grantTypes, ['authorization_code', 'refresh_token']);
  assert.equal(stored?.metadata.backchannel_logout_uri, undefined);
  // A client registered with a token keeps (and may change) what it was authorised for.
  const b = (
    await register(
      server,
      { ...WEB, grant_types: ['authorization_code', 'client_credentials'], backchannel_logout_uri: 'https://printer.example/bc' },
      await initialToken(server),
    )
  ).json() as Record<string, string>;
  const kept = await manage(server, 'PUT', b.registration_client_uri!, b.registration_access_token, {
    ...WEB,
    client_id: b.client_id,
    grant_types: ['authorization_code', 'client_credentials'],
    backchannel_logout_uri: 'https://printer.example/bc2',
  });
  assert.equal(kept.statusCode, 200, kept.body);
});

test('DR-01 RFC 7592 delete: 204, then the client and its registration access token are gone', async (t) => {
  const server = await setup(t);
  const a = (await register(server, WEB, await initialToken(server))).json() as Record<string, string>;
  assertOAuthError(await manage(server, 'DELETE', a.registration_client_uri!, 'wrong-token'), 401, 'invalid_token');
  assert.ok(await server.deps.storage.clients.find(a.client_id!));
  const res = await manage(server, 'DELETE', a.registration_client_uri!, a.registration_access_token);
  assert.equal(res.statusCode, 204, res.body);
  assert.equal(res.body, '');
  assert.equal(await server.deps.storage.clients.find(a.client_id!), undefined);
  assertOAuthError(await manage(server, 'GET', a.registration_client_uri!, a.registration_access_token), 401, 'invalid_token');
  const tok = await tokenRequest(
    server.app,
    { grant_type: 'client_credentials' },
    { clientId: a.client_id!, clientSecret: a.client_secret },
  );
  assertOAuthError(tok, 401, 'invalid_client');
});

test('DS-01 registration is rate-limited per IP: 429 with Retry-After and a JSON error', async (t) => {
  const server = await setup(t, { GATEHOUSE_OPEN_REGISTRATION: 'true' });
  for (let i = 0; i < REGISTRATION_RATE_LIMIT.max; i++) {
    assert.equal((await register(server, NATIVE, undefined, {}, '192.0.2.1')).statusCode, 201, `registration ${i + 1}`);
  }
  const limited = await register(server, NATIVE, undefined, {}, '192.0.2.1');
  assert.equal(limited.statusCode, 429, limited.body);
  assert.match(String(limited.headers['retry-after']), /^\d+$/);
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.match(String(limited.headers['content-type']), /^application\/json/);
  const body = limited.json() as Record<string, unknown>;
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.error_description, 'string');
  assertNoStackTrace(limited.body);
  assert.equal(await countRows(server.deps.storage, 'clients'), REGISTRATION_RATE_LIMIT.max);
  // Another address has its own budget.
  const other = await server.app.inject({
    method: 'POST',
    url: '/register',
    remoteAddress: '192.0.2.7',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(NATIVE),
  });
  assert.equal(other.statusCode, 201, other.body);
});

test('DS-01 a registration body over the size cap is refused with a JSON 413', async (t) => {
  const server = await setup(t, { GATEHOUSE_OPEN_REGISTRATION: 'true' });
  const res = await register(server, { ...NATIVE, client_name: 'x'.repeat(100_000) });
  assertOAuthError(res, 413, 'invalid_request');
  assert.equal(await countRows(server.deps.storage, 'clients'), 0);
});

test('discovery advertises registration_endpoint', async (t) => {
  const server = await setup(t);
  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    const doc = (await server.app.inject({ method: 'GET', url: path })).json() as Record<string, unknown>;
    assert.equal(doc.registration_endpoint, `${ISSUER}/register`, path);
  }
});

test('RU-05 a dynamically registered native client with http://localhost/cb completes the code flow on any port, and only there', async (t) => {
  const server = await setup(t, { GATEHOUSE_OPEN_REGISTRATION: 'true' });
  const user = await server.createUser();
  const res = await register(server, { ...NATIVE, redirect_uris: ['http://localhost/cb', 'http://[::1]/cb'], scope: 'openid' });
  assert.equal(res.statusCode, 201, res.body);
  const clientId = String((res.json() as Record<string, unknown>).client_id);
  const { code, verifier, location } = await getCode(
    server,
    new Browser(server.app),
    { clientId, redirectUri: 'http://localhost:49152/cb', scope: 'openid' },
    user,
  );
  assert.equal(`${location.origin}${location.pathname}`, 'http://localhost:49152/cb');
  const tok = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: 'http://localhost:49152/cb', code_verifier: verifier },
    { clientId },
  );
  assert.equal(tok.statusCode, 200, tok.body);
  assert.ok((tok.json() as TokenBody).id_token);
  for (const bad of [
    'http://localhost.evil.test/cb',
    'http://localhost:49152/cb?x=1',
    'http://localhost:49152/cb2',
    'http://127.0.0.1:49152/cb',
    'http://localhost:49152@evil.test/cb',
  ]) {
    const page = await server.app.inject({
      method: 'GET',
      url: `/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: bad, scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
    });
    assertErrorPage(page, bad);
  }
});

test('CLI: gatehouse registration-tokens create prints a token once that registers a client; bad flags exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dcr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [GATEHOUSE_BIN, 'registration-tokens', ...args, '--database', database],
        { env, timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
        },
      );
    });
  const created = await run(['create', '--expires-in', '600', '--uses', '2', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const out = JSON.parse(created.stdout) as { initial_access_token: string; expires_at: number; uses: number };
  assert.match(out.initial_access_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(out.uses, 2);
  assert.ok(Math.abs(out.expires_at - (nowSeconds() + 600)) < 30);
  const text = await run(['create']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /initial_access_token: [A-Za-z0-9_-]{43}/);
  for (const bad of [
    ['create', '--uses', '0'],
    ['create', '--expires-in', 'soon'],
    ['create', '--expires-in', '-5'],
    ['create', '--bogus'],
    ['list'],
  ]) {
    assert.equal((await run(bad)).code, 2, bad.join(' '));
  }

  const gatehouse = await createGatehouse(
    loadConfig({ GATEHOUSE_DATABASE_URL: database, GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent' }),
  );
  t.after(() => gatehouse.close());
  const dump = await dumpDatabase(gatehouse.deps.storage);
  assert.ok(!dump.includes(out.initial_access_token), 'the raw token is not stored');
  const res = await gatehouse.app.inject({
    method: 'POST',
    url: '/register',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${out.initial_access_token}` },
    payload: JSON.stringify(WEB),
  });
  assert.equal(res.statusCode, 201, res.body);
});

test('DR-01 a confidential dynamically registered client authenticates with HTTP Basic', async (t) => {
  const server = await setup(t);
  const a = (
    await register(
      server,
      { ...WEB, grant_types: ['client_credentials'], response_types: [], scope: 'photos:read' },
      await initialToken(server),
    )
  ).json() as Record<string, string>;
  const res = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(a.client_id!, a.client_secret!) },
    payload: 'grant_type=client_credentials',
  });
  assert.equal(res.statusCode, 200, res.body);
});
