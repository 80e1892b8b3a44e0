// Pushed authorization requests (RFC 9126): PR-01, with client authentication as at the token
// endpoint (CA-01, CA-07), the /authorize validation at the PAR endpoint, and
// require_pushed_authorization_requests per client and for the whole server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  assertErrorPage,
  assertErrorRedirect,
  assertOAuthError,
  basic,
  Browser,
  continueFlow,
  countRows,
  createPublicClient,
  dumpDatabase,
  form,
  ISSUER,
  nowSeconds,
  pkce,
  startServer,
  tokenRequest,
  type TestServer,
} from './helpers.js';
import { sweepExpiredRows } from '../src/storage/cleanup.js';

const C1 = 'https://c1.example/cb';
const PREFIX = 'urn:ietf:params:oauth:request_uri:';

/** A valid authorization request (without client authentication); `undefined` removes a parameter. */
function request(clientId: string, over: Record<string, string | undefined> = {}): Record<string, string | undefined> {
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

const push = (server: TestServer, body: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
  server.app.inject({
    method: 'POST',
    url: '/par',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form(body),
  });

const authorize = (server: TestServer, values: Record<string, string | undefined>, browser?: Browser) =>
  browser ? browser.get(`/authorize?${form(values)}`) : server.app.inject({ method: 'GET', url: `/authorize?${form(values)}` });

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser();
  const auth = { authorization: basic(client.clientId, client.clientSecret!) };
  /** Pushes a request for `client` and returns its request_uri. */
  const pushed = async (over: Record<string, string | undefined> = {}) => {
    const res = await push(server, request(client.clientId, over), auth);
    assert.equal(res.statusCode, 201, res.body);
    return res.json().request_uri as string;
  };
  return { server, client, user, auth, pushed };
}

test('PR-01 a pushed request gets 201 with a single-use request_uri that /authorize turns into the whole code flow', async (t) => {
  const { server, client, user, auth } = await setup(t);
  const { verifier, challenge } = pkce();
  const res = await push(server, request(client.clientId, { code_challenge: challenge, state: 'pushed-state', nonce: 'n-1' }), auth);
  assert.equal(res.statusCode, 201, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.match(String(res.headers['cache-control']), /no-store/);
  const body = res.json() as { request_uri: string; expires_in: number };
  assert.equal(body.expires_in, 60);
  assert.match(body.request_uri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/);

  // /authorize takes client_id and request_uri; front-channel parameters beside them are ignored.
  const browser = new Browser(server.app);
  const start = await authorize(
    server,
    { client_id: client.clientId, request_uri: body.request_uri, state: 'front-channel', scope: 'openid email' },
    browser,
  );
  const callback = await continueFlow(browser, start, user);
  assert.equal(`${callback.origin}${callback.pathname}`, C1);
  assert.equal(callback.searchParams.get('state'), 'pushed-state');
  assert.equal(callback.searchParams.get('iss'), ISSUER);
  const code = callback.searchParams.get('code')!;
  const tokens = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: verifier },
    client,
  );
  assert.equal(tokens.statusCode, 200, tokens.body);
  assert.equal(tokens.json().scope, 'openid profile');

  // Only a digest of the request_uri is stored, and never the client's credentials.
  const dump = await dumpDatabase(server.deps.storage);
  assert.ok(!dump.includes(body.request_uri.slice(PREFIX.length)), 'the request_uri is stored as a digest');
  assert.ok(!dump.includes(client.clientSecret!), 'no client secret stored');
});

test('PR-01 a request_uri used twice gets an error page the second time', async (t) => {
  const { server, client, pushed } = await setup(t);
  const requestUri = await pushed();
  const first = await authorize(server, { client_id: client.clientId, request_uri: requestUri });
  assert.equal(first.statusCode, 303, first.body);
  assert.match(String(first.headers.location), /^\/interaction\//);
  assertErrorPage(await authorize(server, { client_id: client.clientId, request_uri: requestUri }), C1);
});

test('PR-01 an expired request_uri gets an error page (valid 60 s)', async (t) => {
  const { server, client, pushed } = await setup(t);
  const fresh = await pushed();
  server.clock.advance(50);
  assert.equal((await authorize(server, { client_id: client.clientId, request_uri: fresh })).statusCode, 303, 'still valid after 50 s');
  const late = await pushed();
  server.clock.advance(61);
  assertErrorPage(await authorize(server, { client_id: client.clientId, request_uri: late }), C1);
});

test('PR-01 a request_uri pushed by another client gets an error page and stays unused', async (t) => {
  const { server, client, pushed } = await setup(t);
  const other = await server.createClient({ redirectUris: ['https://other.example/cb'] });
  const requestUri = await pushed();
  assertErrorPage(await authorize(server, { client_id: other.clientId, request_uri: requestUri }), C1);
  assertErrorPage(await authorize(server, { client_id: 'no-such-client', request_uri: requestUri }), C1);
  assertErrorPage(await authorize(server, { request_uri: requestUri }), C1);
  // The pushing client can still use it: the other client's attempt did not consume it.
  assert.equal((await authorize(server, { client_id: client.clientId, request_uri: requestUri })).statusCode, 303);
});

test('PR-01 request_uri values this server never issued get an error page, never a redirect or a 500', async (t) => {
  const { server, client } = await setup(t);
  for (const requestUri of [
    'urn:x',
    `${PREFIX}${'A'.repeat(43)}`,
    `${PREFIX}short`,
    'https://attacker.example/request.jwt',
    `${PREFIX}${'A'.repeat(5000)}`,
  ]) {
    assertErrorPage(
      await authorize(server, { client_id: client.clientId, request_uri: requestUri, redirect_uri: C1, state: 'S' }),
      'https://attacker.example',
    );
  }
  assertErrorPage(await server.app.inject({ method: 'GET', url: `/authorize?client_id=${client.clientId}&request_uri=a&request_uri=b` }));
});

test('PR-01 a pushed request that itself contains request_uri gets invalid_request', async (t) => {
  const { server, client, auth, pushed } = await setup(t);
  const existing = await pushed();
  const res = await push(server, request(client.clientId, { request_uri: existing }), auth);
  assertOAuthError(res, 400, 'invalid_request');
  assert.equal(await countRows(server.deps.storage, 'pushed_requests'), 1, 'nothing new stored');
});

test('PR-01 the PAR endpoint validates like /authorize and answers with JSON errors', async (t) => {
  const { server, client, auth } = await setup(t);
  const cases: [Record<string, string | undefined>, string][] = [
    [{ redirect_uri: 'https://attacker.example/cb' }, 'invalid_request'],
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ scope: 'openid admin' }, 'invalid_scope'],
    [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    [{ code_challenge_method: 'plain' }, 'invalid_request'],
    [{ prompt: 'bogus' }, 'invalid_request'],
    [{ request: 'eyJhbGciOiJub25lIn0.e30.' }, 'request_not_supported'],
  ];
  for (const [over, error] of cases) {
    const res = await push(server, request(client.clientId, over), auth);
    assertOAuthError(res, 400, error);
    assert.equal(res.headers.location, undefined);
  }
  // A client that may not use the code flow.
  const m2m = await server.createClient({ redirectUris: [C1], grantTypes: ['client_credentials'] });
  assertOAuthError(
    await push(server, request(m2m.clientId), { authorization: basic(m2m.clientId, m2m.clientSecret!) }),
    400,
    'unauthorized_client',
  );
  assert.equal(await countRows(server.deps.storage, 'pushed_requests'), 0);
  // Not a form body, parameters in the URL, repeated parameters.
  assertOAuthError(
    await server.app.inject({ method: 'POST', url: '/par', headers: { 'content-type': 'application/json', ...auth }, payload: '{}' }),
    400,
    'invalid_request',
  );
  assertOAuthError(
    await server.app.inject({
      method: 'POST',
      url: `/par?${form(request(client.clientId))}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
      payload: '',
    }),
    400,
    'invalid_request',
  );
  assertOAuthError(
    await server.app.inject({
      method: 'POST',
      url: '/par',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
      payload: `${form(request(client.clientId))}&scope=openid`,
    }),
    400,
    'invalid_request',
  );
});

test('CA-01 PR-01 the PAR endpoint authenticates the client as the token endpoint does', async (t) => {
  const { server, client } = await setup(t);
  const wrong = await push(server, request(client.clientId), { authorization: basic(client.clientId, 'wrong') });
  assertOAuthError(wrong, 401, 'invalid_client');
  assert.match(String(wrong.headers['www-authenticate']), /^Basic realm=/);
  // A confidential client without its credentials is refused.
  assertOAuthError(await push(server, request(client.clientId)), 401, 'invalid_client');
  // A client_id in the body that differs from the authenticated client.
  const other = await server.createClient({ redirectUris: [C1] });
  assertOAuthError(
    await push(server, request(other.clientId), { authorization: basic(client.clientId, client.clientSecret!) }),
    400,
    'invalid_request',
  );
  // client_secret_post works, and the secret is not kept with the request.
  const post = await server.createClient({ redirectUris: [C1], authMethod: 'client_secret_post' });
  const ok = await push(server, { ...request(post.clientId), client_secret: post.clientSecret });
  assert.equal(ok.statusCode, 201, ok.body);
  assert.ok(!(await dumpDatabase(server.deps.storage)).includes(post.clientSecret!));
  // A public client names itself with client_id (RFC 9126 §2: no authentication to perform).
  const pub = await createPublicClient(server, [C1]);
  assert.equal((await push(server, request(pub.clientId))).statusCode, 201);
  assert.equal(await countRows(server.deps.storage, 'pushed_requests'), 2);
});

test('CA-07 PR-01 a private_key_jwt client pushes a request with an assertion; alg none and a replay are refused', async (t) => {
  const { server } = await setup(t);
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1' };
  const client = await server.createClient({ redirectUris: [C1], authMethod: 'private_key_jwt', jwks: { keys: [jwk] } });
  const now = nowSeconds();
  const claims = { iss: client.clientId, sub: client.clientId, aud: ISSUER, jti: randomUUID(), iat: now, exp: now + 60 };
  const assertion = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(pair.privateKey);
  const body = (a: string) => ({
    ...request(client.clientId),
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: a,
  });
  const res = await push(server, body(assertion));
  assert.equal(res.statusCode, 201, res.body);
  assertOAuthError(await push(server, body(assertion)), 401, 'invalid_client');
  const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, jti: randomUUID() })).toString('base64url')}.`;
  assertOAuthError(await push(server, body(unsigned)), 401, 'invalid_client');
  assert.ok(!(await dumpDatabase(server.deps.storage)).includes(assertion), 'the assertion is not stored with the request');
});

test('PR-01 require_pushed_authorization_requests per client: a plain /authorize request is refused by redirect', async (t) => {
  const { server, pushed } = await setup(t);
  const strict = await server.createClient({ redirectUris: [C1], requirePushedAuthorizationRequests: true });
  const res = await authorize(server, request(strict.clientId));
  assertErrorRedirect(res, { redirectUri: C1, error: 'invalid_request', state: 'S' });
  const pushRes = await push(server, request(strict.clientId), { authorization: basic(strict.clientId, strict.clientSecret!) });
  assert.equal(pushRes.statusCode, 201);
  assert.equal((await authorize(server, { client_id: strict.clientId, request_uri: pushRes.json().request_uri })).statusCode, 303);
  // Other clients are not affected.
  await pushed();
  const stored = await server.deps.storage.clients.find(strict.clientId);
  assert.equal(stored?.metadata.require_pushed_authorization_requests, true);
});

test('PR-01 require_pushed_authorization_requests for the whole server, advertised in discovery', async (t) => {
  const { server, client, pushed } = await setup(t, { GATEHOUSE_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: 'true' });
  assertErrorRedirect(await authorize(server, request(client.clientId)), { redirectUri: C1, error: 'invalid_request', state: 'S' });
  assert.equal((await authorize(server, { client_id: client.clientId, request_uri: await pushed() })).statusCode, 303);
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const meta = (await server.app.inject({ url: path })).json();
    assert.equal(meta.require_pushed_authorization_requests, true);
    assert.equal(meta.pushed_authorization_request_endpoint, `${ISSUER}/par`);
  }
});

test('discovery advertises the PAR endpoint, and require_pushed_authorization_requests false by default', async (t) => {
  const { server } = await setup(t);
  const meta = (await server.app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  assert.equal(meta.pushed_authorization_request_endpoint, `${ISSUER}/par`);
  assert.equal(meta.require_pushed_authorization_requests, false);
});

test('R8 pushed requests are swept once expired, used or not', async (t) => {
  const { server, client, pushed } = await setup(t);
  const used = await pushed();
  await pushed();
  assert.equal((await authorize(server, { client_id: client.clientId, request_uri: used })).statusCode, 303);
  const { storage } = server.deps;
  assert.equal((await sweepExpiredRows(storage, nowSeconds(), { codeRetention: 1800, pauseMs: 0 })).pushedRequests, 0);
  assert.equal((await sweepExpiredRows(storage, nowSeconds() + 61, { codeRetention: 1800, pauseMs: 0 })).pushedRequests, 2);
  assert.equal(await countRows(storage, 'pushed_requests'), 0);
});
