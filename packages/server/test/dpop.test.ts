// RFC 9449 DPoP at the authorization server (checklist DP-01, DP-02): proofs at the token endpoint, bound
// access tokens, public clients' bound refresh tokens, dpop_jkt, userinfo, introspection, nonces and the
// jti replay cache across nodes, and the refresh grace window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSign, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { LightMyRequestResponse } from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  basic,
  Browser,
  createPublicClient,
  decodeJwt,
  form,
  getCode,
  header,
  ISSUER,
  setupWithClientAndUser,
  startServer,
  type TestServer,
} from './helpers.js';

interface DpopKey {
  privateKey: CryptoKey;
  jwk: JWK;
  privateJwk: JWK;
  jkt: string;
}

async function dpopKey(): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(jwk) };
}

const b64u = (value: string | Buffer) => Buffer.from(value).toString('base64url');

interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  accessToken?: string;
  nonce?: string;
  header?: Record<string, unknown>;
  /** 'none' leaves the signature empty; 'hs256' signs with a shared secret. */
  sign?: 'none' | 'hs256';
}

/** A compact JWS built by hand, so that a test can send any header (the server must refuse the bad ones). */
async function proof(server: TestServer, key: DpopKey, o: ProofOptions = {}): Promise<string> {
  const head = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk, ...o.header };
  const payload: Record<string, unknown> = {
    htm: o.htm ?? 'POST',
    htu: o.htu ?? `${ISSUER}/token`,
    iat: o.iat ?? server.clock(),
    jti: o.jti ?? randomUUID(),
  };
  if (o.accessToken) payload.ath = createHash('sha256').update(o.accessToken).digest('base64url');
  if (o.nonce) payload.nonce = o.nonce;
  const input = `${b64u(JSON.stringify(head))}.${b64u(JSON.stringify(payload))}`;
  if (o.sign === 'none') return `${input}.`;
  if (o.sign === 'hs256') return `${input}.${b64u(createHash('sha256').update(`secret${input}`).digest())}`;
  const pem = await crypto.subtle.exportKey('pkcs8', key.privateKey);
  const signer = createSign('SHA256').update(input);
  const signature = signer.sign({ key: Buffer.from(pem), format: 'der', type: 'pkcs8', dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(signature)}`;
}

function tokenRequestWith(
  app: FastifyInstance,
  body: Record<string, string | undefined>,
  auth: { clientId: string; clientSecret?: string | undefined },
  dpop: string | string[] | undefined,
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string | string[]> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else body = { client_id: auth.clientId, ...body };
  if (dpop !== undefined) headers.dpop = dpop;
  return app.inject({ method: 'POST', url: '/token', headers, payload: form(body) });
}

function assertError(res: LightMyRequestResponse, error: string, status = 400): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal((res.json() as { error: string }).error, error, res.body);
}

async function codeFor(server: TestServer, client: { clientId: string; redirectUri: string }, extra: Record<string, string> = {}) {
  return getCode(
    server,
    new Browser(server.app),
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid offline_access', extra },
    { username: 'alice', password: 'correct horse battery' },
  );
}

async function publicSetup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await createPublicClient(server, ['https://p1.example/cb']);
  await server.createUser();
  return { server, client: { ...client, clientSecret: undefined } };
}

test('DP-01 a token request with a valid DPoP proof gets a DPoP-bound access token (cnf.jkt, token_type DPoP)', async (t) => {
  const { server, client } = await publicSetup(t);
  const key = await dpopKey();
  const { code, verifier } = await codeFor(server, client);
  const res = await tokenRequestWith(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
    await proof(server, key),
  );
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token: string; token_type: string; refresh_token: string };
  assert.equal(body.token_type, 'DPoP');
  assert.deepEqual(decodeJwt(body.access_token).cnf, { jkt: key.jkt });
  assert.ok(body.refresh_token);
});

test('DP-01 each bad DPoP proof at the token endpoint gets 400 invalid_dpop_proof, never a token', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const key = await dpopKey();
  const other = await dpopKey();
  const now = server.clock();
  const replayed = await proof(server, key);
  const first = await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, replayed);
  assert.equal(first.statusCode, 200, first.body);
  assert.equal((first.json() as { token_type: string }).token_type, 'DPoP');
  const cases: [string, string | string[]][] = [
    ['wrong htu', await proof(server, key, { htu: `${ISSUER}/userinfo` })],
    ['htu of another server', await proof(server, key, { htu: 'https://evil.example/token' })],
    ['wrong htm', await proof(server, key, { htm: 'GET' })],
    ['stale iat', await proof(server, key, { iat: now - 120 })],
    ['future iat', await proof(server, key, { iat: now + 120 })],
    ['replayed jti', replayed],
    ['private key members in the header', await proof(server, key, { header: { jwk: key.privateJwk } })],
    ['symmetric alg', await proof(server, key, { header: { alg: 'HS256', jwk: { kty: 'oct', k: b64u('secret') } }, sign: 'hs256' })],
    ['alg none', await proof(server, key, { header: { alg: 'none' }, sign: 'none' })],
    ['typ JWT', await proof(server, key, { header: { typ: 'JWT' } })],
    ['signed by another key', await proof(server, key, { header: { jwk: other.jwk } })],
    ['two DPoP headers', [await proof(server, key), await proof(server, key)]],
    ['not a JWT', 'garbage'],
  ];
  for (const [name, dpop] of cases) {
    const res = await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, dpop);
    assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
    assert.equal((res.json() as { error: string }).error, 'invalid_dpop_proof', name);
    assert.equal((res.json() as { access_token?: string }).access_token, undefined, name);
  }
});

test("DP-02 a public client's DPoP-bound refresh token is refused with another key or without a proof", async (t) => {
  const { server, client } = await publicSetup(t);
  const key = await dpopKey();
  const other = await dpopKey();
  const { code, verifier } = await codeFor(server, client);
  const issued = await tokenRequestWith(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
    await proof(server, key),
  );
  const { refresh_token: refreshToken } = issued.json() as { refresh_token: string };
  const refresh = (dpop: string | undefined) =>
    tokenRequestWith(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, client, dpop);
  assertError(await refresh(undefined), 'invalid_grant');
  assertError(await refresh(await proof(server, other)), 'invalid_grant');
  // Neither attempt spent the token: its holder refreshes with its key, and gets a bound token again.
  const ok = await refresh(await proof(server, key));
  assert.equal(ok.statusCode, 200, ok.body);
  const body = ok.json() as { access_token: string; token_type: string; refresh_token: string };
  assert.equal(body.token_type, 'DPoP');
  assert.deepEqual(decodeJwt(body.access_token).cnf, { jkt: key.jkt });
  const next = await tokenRequestWith(server.app, { grant_type: 'refresh_token', refresh_token: body.refresh_token }, client, undefined);
  assertError(next, 'invalid_grant');
});

test("DP-02 a confidential client's refresh token is not bound to the DPoP key, but its access tokens are when a proof is sent", async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const key = await dpopKey();
  const other = await dpopKey();
  const { code, verifier } = await codeFor(server, client);
  const issued = await tokenRequestWith(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
    await proof(server, key),
  );
  const first = issued.json() as { refresh_token: string; token_type: string };
  assert.equal(first.token_type, 'DPoP');
  const withOther = await tokenRequestWith(
    server.app,
    { grant_type: 'refresh_token', refresh_token: first.refresh_token },
    client,
    await proof(server, other),
  );
  assert.equal(withOther.statusCode, 200, withOther.body);
  const second = withOther.json() as { access_token: string; refresh_token: string; token_type: string };
  assert.deepEqual(decodeJwt(second.access_token).cnf, { jkt: other.jkt });
  const bearer = await tokenRequestWith(
    server.app,
    { grant_type: 'refresh_token', refresh_token: second.refresh_token },
    client,
    undefined,
  );
  assert.equal(bearer.statusCode, 200, bearer.body);
  const third = bearer.json() as { access_token: string; token_type: string };
  assert.equal(third.token_type, 'Bearer');
  assert.equal(decodeJwt(third.access_token).cnf, undefined);
});

test('DP-01 dpop_jkt at /authorize binds the code: the token request must prove that key', async (t) => {
  const { server, client } = await publicSetup(t);
  const key = await dpopKey();
  const other = await dpopKey();
  const { code, verifier } = await codeFor(server, client, { dpop_jkt: key.jkt });
  const redeem = (dpop: string | undefined) =>
    tokenRequestWith(
      server.app,
      { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
      client,
      dpop,
    );
  assertError(await redeem(undefined), 'invalid_grant');
  assertError(await redeem(await proof(server, other)), 'invalid_grant');
  const ok = await redeem(await proof(server, key));
  assert.equal(ok.statusCode, 200, ok.body);
  assert.deepEqual(decodeJwt((ok.json() as { access_token: string }).access_token).cnf, { jkt: key.jkt });
});

test('DP-01 a malformed dpop_jkt at /authorize is an invalid_request redirect', async (t) => {
  const { server, client } = await publicSetup(t);
  const res = await server.app.inject({
    url: `/authorize?${form({
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: client.redirectUri,
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      dpop_jkt: 'not a thumbprint',
    })}`,
  });
  assert.ok([302, 303].includes(res.statusCode), res.body);
  const location = new URL(String(res.headers.location));
  assert.equal(location.origin + location.pathname, client.redirectUri);
  assert.equal(location.searchParams.get('error'), 'invalid_request');
});

test('DP-01 a DPoP proof sent to PAR binds the pushed request, and so the code, to its key', async (t) => {
  const { server, client } = await publicSetup(t);
  const key = await dpopKey();
  const other = await dpopKey();
  const push = (dpop: string, extra: Record<string, string> = {}) =>
    server.app.inject({
      method: 'POST',
      url: '/par',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop },
      payload: form({
        client_id: client.clientId,
        response_type: 'code',
        redirect_uri: client.redirectUri,
        scope: 'openid offline_access',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...extra,
      }),
    });
  assertError(await push(await proof(server, key, { htu: `${ISSUER}/par` }), { dpop_jkt: other.jkt }), 'invalid_dpop_proof');
  assertError(await push(await proof(server, key)), 'invalid_dpop_proof');
  const pushed = await push(await proof(server, key, { htu: `${ISSUER}/par` }));
  assert.equal(pushed.statusCode, 201, pushed.body);
  const { request_uri: requestUri } = pushed.json() as { request_uri: string };
  const { code } = await getCode(
    server,
    new Browser(server.app),
    { clientId: client.clientId, challenge: null, extra: { request_uri: requestUri }, scope: undefined },
    { username: 'alice', password: 'correct horse battery' },
  );
  const redeem = (dpop: string) =>
    tokenRequestWith(
      server.app,
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: client.redirectUri,
        code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      },
      client,
      dpop,
    );
  assertError(await redeem(await proof(server, other)), 'invalid_grant');
  assert.equal((await redeem(await proof(server, key))).statusCode, 200);
});

test('DP-02 userinfo accepts Authorization: DPoP with a proof and refuses the bound token sent as Bearer', async (t) => {
  const { server, client } = await publicSetup(t);
  const key = await dpopKey();
  const other = await dpopKey();
  const { code, verifier } = await codeFor(server, client);
  const issued = await tokenRequestWith(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
    await proof(server, key),
  );
  const { access_token: token } = issued.json() as { access_token: string };
  const userinfo = (authorization: string, dpop?: string, method: 'GET' | 'POST' = 'GET') =>
    server.app.inject({ method, url: '/userinfo', headers: { authorization, ...(dpop ? { dpop } : {}) } });
  const ok = await userinfo(`DPoP ${token}`, await proof(server, key, { htm: 'GET', htu: `${ISSUER}/userinfo`, accessToken: token }));
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal((ok.json() as { sub: string }).sub, 'user-alice');

  const asBearer = await userinfo(`Bearer ${token}`);
  assert.equal(asBearer.statusCode, 401);
  assert.match(header(asBearer, 'www-authenticate') ?? '', /^DPoP realm="127\.0\.0\.1:9000", error="invalid_token"/);
  assert.match(header(asBearer, 'www-authenticate') ?? '', /algs="ES256 /);

  const refusals: [string, string | undefined][] = [
    ['no proof', undefined],
    ['no ath', await proof(server, key, { htm: 'GET', htu: `${ISSUER}/userinfo` })],
    ['ath of another token', await proof(server, key, { htm: 'GET', htu: `${ISSUER}/userinfo`, accessToken: `${token}x` })],
    ['another key', await proof(server, other, { htm: 'GET', htu: `${ISSUER}/userinfo`, accessToken: token })],
    ['wrong htm', await proof(server, key, { htm: 'POST', htu: `${ISSUER}/userinfo`, accessToken: token })],
    ['wrong htu', await proof(server, key, { htm: 'GET', htu: `${ISSUER}/token`, accessToken: token })],
  ];
  for (const [name, dpop] of refusals) {
    const res = await userinfo(`DPoP ${token}`, dpop);
    assert.equal(res.statusCode, 401, `${name}: ${res.body}`);
    assert.match(header(res, 'www-authenticate') ?? '', /^DPoP .*error="invalid_dpop_proof"/, name);
  }
});

test('DP-01 introspection returns cnf and token_type DPoP for a bound access token', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const key = await dpopKey();
  const issued = await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, await proof(server, key));
  const { access_token: token } = issued.json() as { access_token: string };
  const res = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: form({ token }),
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { active: boolean; token_type: string; cnf: { jkt: string } };
  assert.equal(body.active, true);
  assert.equal(body.token_type, 'DPoP');
  assert.deepEqual(body.cnf, { jkt: key.jkt });
});

test('DP-01 with --dpop-nonce true a proof needs a server nonce, and nonces and jti replays hold across nodes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-dpop-'));
  const env = { GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, GATEHOUSE_DPOP_NONCE: 'true' };
  const a = await startServer(env);
  const b = await startServer(env);
  t.after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = await a.createClient();
  const key = await dpopKey();
  const ask = (server: TestServer, dpop: string) => tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, dpop);

  const first = await ask(a, await proof(a, key));
  assertError(first, 'use_dpop_nonce');
  const nonce = header(first, 'dpop-nonce');
  assert.match(nonce ?? '', /^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
  assertError(await ask(b, await proof(b, key, { nonce: `${nonce}x` })), 'use_dpop_nonce');
  // The nonce from node A is good on node B: both read one key from the database.
  const withNonce = await proof(b, key, { nonce });
  const ok = await ask(b, withNonce);
  assert.equal(ok.statusCode, 200, ok.body);
  assert.ok(header(ok, 'dpop-nonce'), 'a fresh nonce comes with the response');
  // The proof node B accepted is a replay on node A.
  assertError(await ask(a, withNonce), 'invalid_dpop_proof');
  // A nonce lives for its minute and the next, not longer.
  a.clock.advance(180);
  assertError(await ask(a, await proof(a, key, { nonce })), 'use_dpop_nonce');
});

test('DP-02 the refresh grace window answers a replay only when it proves the same DPoP key', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const key = await dpopKey();
  const { code, verifier } = await codeFor(server, client);
  const issued = await tokenRequestWith(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
    await proof(server, key),
  );
  const { refresh_token: refreshToken } = issued.json() as { refresh_token: string };
  const refresh = (dpop: string | undefined) =>
    tokenRequestWith(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, client, dpop);
  const rotated = await refresh(await proof(server, key));
  assert.equal(rotated.statusCode, 200, rotated.body);
  const again = await refresh(await proof(server, key));
  assert.equal(again.statusCode, 200, again.body);
  assert.deepEqual(again.json(), rotated.json(), 'the same key within the window gets the same answer');
  // Without the key, the replay is not the same caller: no grace answer (it is reuse, and the family goes).
  assertError(await refresh(undefined), 'invalid_grant');
  const successor = (rotated.json() as { refresh_token: string }).refresh_token;
  assertError(
    await tokenRequestWith(server.app, { grant_type: 'refresh_token', refresh_token: successor }, client, await proof(server, key)),
    'invalid_grant',
  );
});

test('DP-01 discovery lists dpop_signing_alg_values_supported, asymmetric algorithms only', async (t) => {
  const { server } = await publicSetup(t);
  const res = await server.app.inject({ url: '/.well-known/oauth-authorization-server' });
  const algs = (res.json() as { dpop_signing_alg_values_supported: string[] }).dpop_signing_alg_values_supported;
  assert.ok(algs.includes('ES256') && algs.includes('RS256'));
  assert.ok(algs.every((alg) => alg !== 'none' && !alg.startsWith('HS')));
});

test('a client registered with dpop_bound_access_tokens gets invalid_dpop_proof without a proof, at every grant and at PAR', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  await server.createUser();
  const client = await server.createClient({
    dpopBoundAccessTokens: true,
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
  });
  const key = await dpopKey();
  // Every grant: the proof is required before the grant looks at its parameters.
  for (const grantType of [
    'client_credentials',
    'authorization_code',
    'refresh_token',
    'urn:ietf:params:oauth:grant-type:device_code',
    'urn:ietf:params:oauth:grant-type:token-exchange',
  ]) {
    const res = await tokenRequestWith(
      server.app,
      { grant_type: grantType, code: 'x', refresh_token: 'x', device_code: 'x' },
      client,
      undefined,
    );
    // A grant the client did not register is still unauthorized_client first (the token-exchange grant here).
    const expected = grantType.endsWith('token-exchange') ? 'unauthorized_client' : 'invalid_dpop_proof';
    assertError(res, expected);
  }
  // The code flow: refused without a proof (the code is not spent), then redeemed with one.
  const { code, verifier } = await codeFor(server, client);
  const body = { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier };
  assertError(await tokenRequestWith(server.app, body, client, undefined), 'invalid_dpop_proof');
  const issued = await tokenRequestWith(server.app, body, client, await proof(server, key));
  assert.equal(issued.statusCode, 200, issued.body);
  const tokens = issued.json() as { token_type: string; access_token: string; refresh_token: string };
  assert.equal(tokens.token_type, 'DPoP');
  assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt: key.jkt });
  // The refresh grant, likewise.
  const again = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token };
  assertError(await tokenRequestWith(server.app, again, client, undefined), 'invalid_dpop_proof');
  const refreshed = await tokenRequestWith(server.app, again, client, await proof(server, key));
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  assert.equal((refreshed.json() as { token_type: string }).token_type, 'DPoP');
  const cc = await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, await proof(server, key));
  assert.equal((cc.json() as { token_type: string }).token_type, 'DPoP');
  // PAR: a pushed request without a proof is refused too.
  const par = await server.app.inject({
    method: 'POST',
    url: '/par',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: form({
      response_type: 'code',
      redirect_uri: client.redirectUri,
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    }),
  });
  assertError(par, 'invalid_dpop_proof');
  // Another client of the same server without the flag still gets bearer tokens.
  const plain = await server.createClient();
  const bearer = await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, plain, undefined);
  assert.equal((bearer.json() as { token_type: string }).token_type, 'Bearer');
});

test('dpop_bound_access_tokens: dynamic registration accepts a boolean, stores it and returns it; anything else is invalid_client_metadata', async (t) => {
  const server = await startServer({ GATEHOUSE_OPEN_REGISTRATION: 'true' });
  t.after(() => server.close());
  const register = (metadata: Record<string, unknown>) =>
    server.app.inject({
      method: 'POST',
      url: '/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ redirect_uris: ['https://r1.example/cb'], ...metadata }),
    });
  const bound = await register({ dpop_bound_access_tokens: true });
  assert.equal(bound.statusCode, 201, bound.body);
  const info = bound.json() as { client_id: string; dpop_bound_access_tokens?: boolean; registration_access_token: string };
  assert.equal(info.dpop_bound_access_tokens, true);
  const stored = await server.deps.storage.clients.find(info.client_id);
  assert.equal(stored?.metadata.dpop_bound_access_tokens, true);
  // RFC 7592 read-back keeps it.
  const read = await server.app.inject({
    url: `/register/${info.client_id}`,
    headers: { authorization: `Bearer ${info.registration_access_token}` },
  });
  assert.equal((read.json() as { dpop_bound_access_tokens?: boolean }).dpop_bound_access_tokens, true);
  const unbound = await register({ dpop_bound_access_tokens: false });
  assert.equal(unbound.statusCode, 201, unbound.body);
  assert.equal((unbound.json() as { dpop_bound_access_tokens?: boolean }).dpop_bound_access_tokens, undefined);
  const wrong = await register({ dpop_bound_access_tokens: 'yes' });
  assertError(wrong, 'invalid_client_metadata');
});

test('EV-01 a replayed DPoP proof is a dpop.replay security event naming the client, never holding the proof', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const key = await dpopKey();
  const once = await proof(server, key);
  const first = await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, once);
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual(await server.deps.storage.securityEvents.list({ types: ['dpop.replay'] }), [], 'a fresh proof is no event');
  assertError(await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, once), 'invalid_dpop_proof');
  const events = await server.deps.storage.securityEvents.list({ types: ['dpop.replay'] });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.clientId, client.clientId);
  assert.equal(events[0]!.details.htu, `${ISSUER}/token`);
  const stored = JSON.stringify(events[0]);
  assert.ok(!stored.includes(once) && !stored.includes(once.split('.')[2]!), 'the proof is not in the event');
  // Other refused proofs are not replays.
  assertError(
    await tokenRequestWith(server.app, { grant_type: 'client_credentials' }, client, await proof(server, key, { htm: 'GET' })),
    'invalid_dpop_proof',
  );
  assert.equal((await server.deps.storage.securityEvents.list({ types: ['dpop.replay'] })).length, 1);
});

test('token exchange binds the issued token to the DPoP proof key, and exchanges a DPoP-bound subject token only with a proof', async (t) => {
  const { registerResource } = await import('../src/oauth/resources.js');
  const server = await startServer();
  t.after(() => server.close());
  const PRINT = 'https://print.example/api';
  await registerResource(server.deps.storage, { uri: PRINT, name: 'Print Shop', scopes: ['photos:read'] }, server.clock());
  const app = await server.createClient({ scope: 'openid photos:read', grantTypes: ['authorization_code'] });
  const service = await server.createClient({
    clientName: 'back end',
    redirectUris: [],
    scope: 'photos:read',
    grantTypes: ['urn:ietf:params:oauth:grant-type:token-exchange'],
    tokenExchangeResources: [PRINT],
  });
  await server.createUser();
  const userKey = await dpopKey();
  const serviceKey = await dpopKey();
  const subjectFor = async (dpop: boolean) => {
    const { code, verifier } = await getCode(
      server,
      new Browser(server.app),
      { clientId: app.clientId, redirectUri: app.redirectUri, scope: 'openid photos:read' },
      { username: 'alice', password: 'correct horse battery' },
    );
    const res = await tokenRequestWith(
      server.app,
      { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: verifier },
      app,
      dpop ? await proof(server, userKey) : undefined,
    );
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { access_token: string }).access_token;
  };
  const exchange = (subject: string, dpop: string | undefined) =>
    tokenRequestWith(
      server.app,
      {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: subject,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        resource: PRINT,
      },
      service,
      dpop,
    );
  // A bearer subject token with a proof: the new token is bound to the caller's key.
  const bearerSubject = await subjectFor(false);
  const bound = await exchange(bearerSubject, await proof(server, serviceKey));
  assert.equal(bound.statusCode, 200, bound.body);
  const boundBody = bound.json() as { token_type: string; access_token: string };
  assert.equal(boundBody.token_type, 'DPoP');
  assert.deepEqual(decodeJwt(boundBody.access_token).cnf, { jkt: serviceKey.jkt });
  // Without a proof: a bearer token, as before.
  const plain = await exchange(bearerSubject, undefined);
  assert.equal((plain.json() as { token_type: string }).token_type, 'Bearer');
  assert.equal(decodeJwt((plain.json() as { access_token: string }).access_token).cnf, undefined);
  // A DPoP-bound subject token is never turned into a bearer token.
  const boundSubject = await subjectFor(true);
  assert.deepEqual(decodeJwt(boundSubject).cnf, { jkt: userKey.jkt });
  assertError(await exchange(boundSubject, undefined), 'invalid_grant');
  const rebound = await exchange(boundSubject, await proof(server, serviceKey));
  assert.equal(rebound.statusCode, 200, rebound.body);
  assert.deepEqual(decodeJwt((rebound.json() as { access_token: string }).access_token).cnf, { jkt: serviceKey.jkt });
});
