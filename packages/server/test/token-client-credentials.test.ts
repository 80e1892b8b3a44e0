// The client_credentials grant (RFC 6749 §4.4, RFC 9068): RT-08 and scope rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, tokenRequest, assertOAuthError, decodeJwt, decodeProtectedHeader, type TokenBody } from './helpers.js';

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer({ GATEHOUSE_ACCESS_TOKEN_TTL: '120' });
  t.after(() => server.close());
  const client = await server.createClient({
    redirectUris: ['https://c1.example/cb'],
    scope: 'openid profile offline_access photos:read photos:write',
  });
  return { server, client };
}

const cc = (
  server: Awaited<ReturnType<typeof setup>>['server'],
  client: { clientId: string; clientSecret?: string | undefined },
  scope?: string,
) => tokenRequest(server.app, { grant_type: 'client_credentials', scope }, client);

test('RT-08 client_credentials gives a JWT access token for the client itself and no refresh token', async (t) => {
  const { server, client } = await setup(t);
  const res = await cc(server, client, 'photos:read');
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['cache-control']), /no-store/);
  assert.equal(res.headers.pragma, 'no-cache');
  const body = res.json() as TokenBody;
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 120);
  assert.equal(body.scope, 'photos:read');
  assert.equal(body.refresh_token, undefined, 'RFC 6749 §4.4.3: no refresh token');
  assert.equal(body.id_token, undefined);
  assert.equal(decodeProtectedHeader(body.access_token).typ, 'at+jwt');
  const claims = decodeJwt(body.access_token);
  assert.equal(claims.sub, client.clientId);
  assert.equal(claims.client_id, client.clientId);
  assert.equal(claims.scope, 'photos:read');
  assert.equal(claims.iss, server.issuer);
  assert.equal(Number(claims.exp) - Number(claims.iat), 120);
  assert.equal(
    await server.deps.storage.db
      .selectFrom('refresh_tokens')
      .selectAll()
      .execute()
      .then((r) => r.length),
    0,
  );
});

test('client_credentials with offline_access still issues no refresh token', async (t) => {
  const { server, client } = await setup(t);
  const res = await cc(server, client, 'photos:read offline_access');
  if (res.statusCode === 200) assert.equal((res.json() as TokenBody).refresh_token, undefined);
  else assertOAuthError(res, 400, 'invalid_scope');
});

test("a scope outside the client's registered scopes gets invalid_scope", async (t) => {
  const { server, client } = await setup(t);
  for (const scope of ['photos:delete', 'photos:read admin', 'PHOTOS:READ'])
    assertOAuthError(await cc(server, client, scope), 400, 'invalid_scope');
});

test('OpenID scopes are refused for client_credentials (there is no user)', async (t) => {
  const { server, client } = await setup(t);
  for (const scope of ['openid', 'openid photos:read', 'profile']) assertOAuthError(await cc(server, client, scope), 400, 'invalid_scope');
});

test('AU-04 without a scope the token carries no scope unless the client registered a default scope', async (t) => {
  const { server, client } = await setup(t);
  const res = await cc(server, client);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as TokenBody;
  assert.equal(body.scope, '', 'the response states the (empty) granted scope');
  assert.equal(decodeJwt(body.access_token).scope, '');
});

test('AU-04 without a scope the token carries exactly the registered default scope, never everything the client may ask for', async (t) => {
  const { server } = await setup(t);
  const client = await server.createClient({
    redirectUris: [],
    grantTypes: ['client_credentials'],
    scope: 'photos:read photos:write',
    defaultScope: 'photos:read',
  });
  const body = (await cc(server, client)).json() as TokenBody;
  assert.equal(body.scope, 'photos:read');
  assert.equal(decodeJwt(body.access_token).scope, 'photos:read');
  assert.equal(((await cc(server, client, 'photos:write')).json() as TokenBody).scope, 'photos:write', 'an explicit scope still works');
});

test('a malformed scope gets invalid_scope', async (t) => {
  const { server, client } = await setup(t);
  assertOAuthError(await cc(server, client, 'photos:read "x"'), 400, 'invalid_scope');
});

test('a repeated scope parameter is invalid_request', async (t) => {
  const { server, client } = await setup(t);
  const res = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
    },
    payload: 'grant_type=client_credentials&scope=photos:read&scope=photos:write',
  });
  assertOAuthError(res, 400, 'invalid_request');
});
