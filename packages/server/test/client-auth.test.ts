// Client authentication at the token endpoint (RFC 6749 §2.3, §5.2; OAuth 2.1 §2.4): CA-01..CA-06, CA-08.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basic, form, startServer, type TestServer, assertOAuthError, createPublicClient } from './helpers.js';
import { randomToken, sha256 } from '../src/oauth/crypto.js';

const C1 = 'https://c1.example/cb';

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1], scope: 'openid photos:read' });
  return { server, client };
}

const post = (
  server: TestServer,
  body: Record<string, string | undefined> | string,
  headers: Record<string, string> = {},
  url = '/token',
) =>
  server.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: typeof body === 'string' ? body : form(body),
  });

const CC = { grant_type: 'client_credentials' };

test('a confidential client authenticates with client_secret_basic', async (t) => {
  const { server, client } = await setup(t);
  const res = await post(server, CC, { authorization: basic(client.clientId, client.clientSecret!) });
  assert.equal(res.statusCode, 200, res.body);
});

test('CA-01 a wrong secret with Basic gets 401 invalid_client, WWW-Authenticate Basic and no-store', async (t) => {
  const { server, client } = await setup(t);
  const res = await post(server, CC, { authorization: basic(client.clientId, 'wrong-secret') });
  assertOAuthError(res, 401, 'invalid_client');
  assert.match(String(res.headers['www-authenticate']), /^Basic realm="[^"]+"/);
  assert.match(String(res.headers['cache-control']), /no-store/);
  assert.equal(res.headers.pragma, 'no-cache');
});

test('CA-01 malformed Basic credentials get 401 invalid_client with WWW-Authenticate', async (t) => {
  const { server, client } = await setup(t);
  for (const authorization of [
    'Basic',
    'Basic !!!',
    `Basic ${Buffer.from('no-colon').toString('base64')}`,
    `Basic ${Buffer.from(`${client.clientId}:`).toString('base64')}`,
    `Basic ${Buffer.from(':secret').toString('base64')}`,
    `Basic ${Buffer.from(`${client.clientId}:%zz`).toString('base64')}`,
  ]) {
    const res = await post(server, CC, { authorization });
    assertOAuthError(res, 401, 'invalid_client');
    assert.match(String(res.headers['www-authenticate']), /^Basic /, authorization);
  }
});

test('CA-02 a wrong secret with client_secret_post gets invalid_client', async (t) => {
  const { server } = await setup(t);
  const postClient = await server.createClient({ redirectUris: [C1], authMethod: 'client_secret_post', scope: 'photos:read' });
  assert.equal((await post(server, { ...CC, client_id: postClient.clientId, client_secret: postClient.clientSecret })).statusCode, 200);
  assertOAuthError(await post(server, { ...CC, client_id: postClient.clientId, client_secret: 'wrong' }), [400, 401], 'invalid_client');
});

/** The body without its request id (http/request-id.ts): a fresh random id per request, never about the client. */
function sameAnswer(res: { body: string; headers: Record<string, unknown> }): string {
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.request_id, res.headers['x-request-id']);
  delete body.request_id;
  return JSON.stringify(body);
}

test('CA-03 an unknown client and a wrong secret get byte-identical answers', async (t) => {
  const { server, client } = await setup(t);
  const wrong = await post(server, CC, { authorization: basic(client.clientId, 'wrong-secret') });
  const unknown = await post(server, CC, { authorization: basic('no-such-client', 'wrong-secret') });
  assert.equal(unknown.statusCode, wrong.statusCode);
  assert.equal(sameAnswer(unknown), sameAnswer(wrong));
  assert.equal(unknown.body.length, wrong.body.length, 'request ids have one length');
  for (const h of ['www-authenticate', 'content-type', 'cache-control', 'pragma']) assert.equal(unknown.headers[h], wrong.headers[h], h);
  const postWrong = await post(server, { ...CC, client_id: client.clientId, client_secret: 'wrong' });
  const postUnknown = await post(server, { ...CC, client_id: 'no-such-client', client_secret: 'wrong' });
  assert.equal(postUnknown.statusCode, postWrong.statusCode);
  assert.equal(sameAnswer(postUnknown), sameAnswer(postWrong));
});

test('CA-03 a public client id without a secret and an unknown client id get the same answer', async (t) => {
  const { server } = await setup(t);
  const p1 = await createPublicClient(server, ['https://p1.example/cb']);
  const conf = await server.createClient({ redirectUris: [C1] });
  const body = { grant_type: 'authorization_code', code: 'x', redirect_uri: C1, code_verifier: 'a'.repeat(43) };
  const unknown = await post(server, { ...body, client_id: 'no-such-client' });
  const confidentialWithoutSecret = await post(server, { ...body, client_id: conf.clientId });
  assertOAuthError(unknown, [400, 401], 'invalid_client');
  assert.equal(confidentialWithoutSecret.statusCode, unknown.statusCode);
  assert.equal(sameAnswer(confidentialWithoutSecret), sameAnswer(unknown));
  // the public client gets past authentication to the grant
  assertOAuthError(await post(server, { ...body, client_id: p1.clientId }), 400, 'invalid_grant');
});

test('CA-04 Basic plus client_secret in the body is invalid_request', async (t) => {
  const { server, client } = await setup(t);
  const res = await post(
    server,
    { ...CC, client_secret: client.clientSecret },
    { authorization: basic(client.clientId, client.clientSecret!) },
  );
  assertOAuthError(res, 400, 'invalid_request');
});

test('CA-04 Basic plus a different client_id in the body is refused', async (t) => {
  const { server, client } = await setup(t);
  const other = await server.createClient({ redirectUris: [C1] });
  const res = await post(server, { ...CC, client_id: other.clientId }, { authorization: basic(client.clientId, client.clientSecret!) });
  assertOAuthError(res, [400, 401], ['invalid_request', 'invalid_client']);
});

test('CA-04 a client_secret in the query string gets 400 and no token', async (t) => {
  const { server, client } = await setup(t);
  const post1 = await server.createClient({ redirectUris: [C1], authMethod: 'client_secret_post', scope: 'photos:read' });
  const res = await post(
    server,
    { ...CC, client_id: post1.clientId },
    {},
    `/token?client_secret=${encodeURIComponent(post1.clientSecret!)}`,
  );
  assertOAuthError(res, 400, ['invalid_request', 'invalid_client']);
  const withBasic = await post(
    server,
    CC,
    { authorization: basic(client.clientId, client.clientSecret!) },
    `/token?client_secret=${encodeURIComponent(client.clientSecret!)}`,
  );
  assertOAuthError(withBasic, 400, ['invalid_request', 'invalid_client']);
});

test('CA-04 two client_secret parameters are invalid_request', async (t) => {
  const { server } = await setup(t);
  const p = await server.createClient({ redirectUris: [C1], authMethod: 'client_secret_post', scope: 'photos:read' });
  const body = `grant_type=client_credentials&client_id=${p.clientId}&client_secret=${p.clientSecret}&client_secret=${p.clientSecret}`;
  assertOAuthError(await post(server, body), 400, 'invalid_request');
});

test('CA-05 only the registered method is accepted: basic client using post, post client using basic', async (t) => {
  const { server, client } = await setup(t);
  assertOAuthError(
    await post(server, { ...CC, client_id: client.clientId, client_secret: client.clientSecret }),
    [400, 401],
    'invalid_client',
  );
  const p = await server.createClient({ redirectUris: [C1], authMethod: 'client_secret_post', scope: 'photos:read' });
  assertOAuthError(await post(server, CC, { authorization: basic(p.clientId, p.clientSecret!) }), 401, 'invalid_client');
});

test('CA-05 client assertions are refused for a secret client', async (t) => {
  const { server, client } = await setup(t);
  const res = await post(server, {
    ...CC,
    client_id: client.clientId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: 'eyJhbGciOiJub25lIn0.e30.',
  });
  assertOAuthError(res, [400, 401], 'invalid_client');
});

test('CA-06 Basic credentials are form-urlencoded: a client_id with ":" and "%" and a secret with ":", "+", " " authenticate', async (t) => {
  const { server } = await setup(t);
  const clientId = 'acme:app%20one+two';
  const secret = `s3:cr%et +${randomToken()}`;
  await server.deps.storage.clients.create({
    clientId: clientId,
    secretHash: sha256(secret),
    clientName: 'Odd Id',
    redirectUris: [C1],
    grantTypes: ['client_credentials'],
    scopes: ['photos:read'],
    authMethod: 'client_secret_basic',
    isPublic: false,
    metadata: { default_scope: 'photos:read' },
    createdAt: Math.floor(Date.now() / 1000),
  });
  const res = await post(server, CC, { authorization: basic(clientId, secret) });
  assert.equal(res.statusCode, 200, res.body);
  assert.equal((res.json() as { scope: string }).scope, 'photos:read');
  // unencoded, the first ':' splits the id: it must not authenticate
  const raw = await post(server, CC, { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` });
  assertOAuthError(raw, 401, 'invalid_client');
});

test('CA-08 an unknown grant_type gets unsupported_grant_type', async (t) => {
  const { server, client } = await setup(t);
  for (const grant of ['password', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'CLIENT_CREDENTIALS', 'x']) {
    assertOAuthError(
      await post(server, { grant_type: grant }, { authorization: basic(client.clientId, client.clientSecret!) }),
      400,
      'unsupported_grant_type',
    );
  }
});

test('CA-08 a missing grant_type is invalid_request', async (t) => {
  const { server, client } = await setup(t);
  assertOAuthError(
    await post(server, { scope: 'photos:read' }, { authorization: basic(client.clientId, client.clientSecret!) }),
    400,
    'invalid_request',
  );
});

test('CA-08 a grant the client is not registered for gets unauthorized_client', async (t) => {
  const { server } = await setup(t);
  const codeOnly = await server.createClient({ redirectUris: [C1], grantTypes: ['authorization_code'] });
  assertOAuthError(await post(server, CC, { authorization: basic(codeOnly.clientId, codeOnly.clientSecret!) }), 400, 'unauthorized_client');
  assertOAuthError(
    await post(
      server,
      { grant_type: 'refresh_token', refresh_token: 'x' },
      { authorization: basic(codeOnly.clientId, codeOnly.clientSecret!) },
    ),
    400,
    'unauthorized_client',
  );
  const ccOnly = await server.createClient({ redirectUris: [], grantTypes: ['client_credentials'] });
  assertOAuthError(
    await post(
      server,
      { grant_type: 'authorization_code', code: 'x', code_verifier: 'a'.repeat(43) },
      { authorization: basic(ccOnly.clientId, ccOnly.clientSecret!) },
    ),
    400,
    'unauthorized_client',
  );
});

test('CA-08 client_credentials from a public client gets unauthorized_client', async (t) => {
  const { server } = await setup(t);
  const p1 = await createPublicClient(server, ['https://p1.example/cb']);
  assertOAuthError(await post(server, { ...CC, client_id: p1.clientId }), 400, 'unauthorized_client');
  // even a public client row that lists client_credentials (e.g. written by another tool) is refused
  await server.deps.storage.clients.create({
    clientId: 'public-with-cc',
    secretHash: null,
    clientName: 'Bad',
    redirectUris: ['https://p1.example/cb'],
    grantTypes: ['authorization_code', 'client_credentials'],
    scopes: ['photos:read'],
    authMethod: 'none',
    isPublic: true,
    metadata: {},
    createdAt: Math.floor(Date.now() / 1000),
  });
  const res = await post(server, { ...CC, client_id: 'public-with-cc' });
  assertOAuthError(res, [400, 401], ['unauthorized_client', 'invalid_client']);
});

test('a public client cannot authenticate with a made-up secret', async (t) => {
  const { server } = await setup(t);
  const p1 = await createPublicClient(server, ['https://p1.example/cb']);
  assertOAuthError(
    await post(
      server,
      { grant_type: 'authorization_code', code: 'x', code_verifier: 'a'.repeat(43) },
      { authorization: basic(p1.clientId, 'anything') },
    ),
    401,
    'invalid_client',
  );
});

test('the token endpoint with no client authentication at all gets invalid_client', async (t) => {
  const { server } = await setup(t);
  assertOAuthError(await post(server, CC), [400, 401], 'invalid_client');
});
