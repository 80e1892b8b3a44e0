// RFC 8414 metadata, RFC 7517 JWKS (KR-01), RFC 9068 JWT access tokens verified with jose, TL-02.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { Browser, startServer, tokenRequest, decodeProtectedHeader, issueTokens, type TokenBody } from './helpers.js';

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  return server;
}

test('discovery names the issuer, the endpoints, S256 only and the RFC 9207 iss flag', async (t) => {
  const server = await setup(t);
  const res = await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const m = res.json();
  assert.equal(m.issuer, server.issuer);
  assert.equal(m.authorization_endpoint, `${server.issuer}/authorize`);
  assert.equal(m.token_endpoint, `${server.issuer}/token`);
  assert.equal(typeof m.jwks_uri, 'string');
  assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
  assert.equal(m.authorization_response_iss_parameter_supported, true);
  assert.ok(m.response_types_supported.includes('code'));
  assert.ok(!m.response_types_supported.some((r: string) => r.split(' ').includes('token')), 'no implicit flow');
  assert.ok(m.grant_types_supported.includes('authorization_code'));
  assert.ok(m.grant_types_supported.includes('refresh_token'));
  assert.ok(!m.grant_types_supported.includes('password'));
  assert.ok(!m.grant_types_supported.includes('implicit'));
  assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
});

test('TL-02 every URL in the metadata is under the issuer', async (t) => {
  const server = await setup(t, { GATEHOUSE_ISSUER: 'https://as.example' });
  const m = (await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json() as Record<string, unknown>;
  assert.equal(m.issuer, 'https://as.example');
  for (const [k, v] of Object.entries(m)) {
    if (k.endsWith('_endpoint') || k.endsWith('_uri')) assert.match(String(v), /^https:\/\/as\.example\//, k);
  }
});

test('TL-03 X-Forwarded-Host does not change the metadata', async (t) => {
  const server = await setup(t);
  const res = await server.app.inject({
    method: 'GET',
    url: '/.well-known/oauth-authorization-server',
    headers: { 'x-forwarded-host': 'evil.com', 'x-forwarded-proto': 'https', host: 'evil.com' },
  });
  assert.ok(!res.body.includes('evil.com'));
});

test('every endpoint the metadata names really answers', async (t) => {
  const server = await setup(t);
  const m = (await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json() as Record<string, unknown>;
  const endpoints = Object.entries(m).filter(([k, v]) => (k.endsWith('_endpoint') || k === 'jwks_uri') && typeof v === 'string');
  assert.ok(endpoints.length >= 3);
  for (const [name, url] of endpoints) {
    await t.test(name, async () => {
      const path = String(url).slice(server.issuer.length);
      assert.ok(String(url).startsWith(`${server.issuer}/`), `${name} is under the issuer`);
      const get = await server.app.inject({ method: 'GET', url: path });
      const post = await server.app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: '',
      });
      assert.ok(get.statusCode !== 404 || post.statusCode !== 404, `${name} (${path}) answers 404 to GET and POST`);
      assert.ok(get.statusCode < 500 && post.statusCode < 500, `${name}: ${get.statusCode}/${post.statusCode}`);
    });
  }
});

test('RU-11 discovery and JWKS may be fetched cross-origin', async (t) => {
  const server = await setup(t);
  for (const url of ['/.well-known/oauth-authorization-server', '/jwks']) {
    const res = await server.app.inject({ method: 'GET', url, headers: { origin: 'https://app.example' } });
    assert.ok(res.headers['access-control-allow-origin'], url);
  }
});

test('KR-01 the JWKS holds public members only, with kid, use and alg, and a modest max-age', async (t) => {
  const server = await setup(t);
  const m = (await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json();
  const res = await server.app.inject({ method: 'GET', url: String(m.jwks_uri).slice(server.issuer.length) });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /json/);
  const maxAge = /max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1];
  assert.ok(maxAge !== undefined && Number(maxAge) <= 600, `max-age ${maxAge}`);
  const jwks = res.json() as JSONWebKeySet;
  assert.ok(jwks.keys.length >= 2, 'ES256 and RS256 keys');
  const kids = new Set<string>();
  for (const key of jwks.keys) {
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'])
      assert.equal((key as Record<string, unknown>)[secret], undefined, `no ${secret} in ${key.kid}`);
    assert.ok(key.kid, 'kid set');
    assert.equal(key.use, 'sig');
    assert.ok(key.alg && ['ES256', 'RS256', 'PS256', 'EdDSA'].includes(key.alg), `alg ${key.alg}`);
    assert.ok(!kids.has(key.kid!), 'kids are unique');
    kids.add(key.kid!);
  }
  assert.ok(jwks.keys.some((k) => k.alg === 'ES256'));
  assert.ok(jwks.keys.some((k) => k.alg === 'RS256'));
  assert.ok(!res.body.includes('"d"'), 'no private exponent anywhere in the document');
});

test('RFC 9068 access tokens verify against the JWKS and carry typ at+jwt and the required claims (ES256)', async (t) => {
  const server = await setup(t, { GATEHOUSE_ACCESS_TOKEN_TTL: '321' });
  const client = await server.createClient({ redirectUris: ['https://c1.example/cb'] });
  const user = await server.createUser();
  const { body } = await issueTokens(server, new Browser(server.app), client, user, { scope: 'openid profile' });
  const cc = (await tokenRequest(server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, client)).json() as TokenBody;
  const jwks = createLocalJWKSet((await server.app.inject({ method: 'GET', url: '/jwks' })).json());
  for (const [token, sub, scope] of [
    [body.access_token, 'user-alice', 'openid profile'],
    [cc.access_token, client.clientId, 'photos:read'],
  ] as const) {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: server.issuer,
      audience: server.issuer,
      typ: 'at+jwt',
      algorithms: ['ES256'],
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.iss, server.issuer);
    assert.equal(payload.sub, sub);
    assert.ok(payload.aud);
    assert.equal(typeof payload.iat, 'number');
    assert.equal(payload.exp! - payload.iat!, 321);
    assert.equal(typeof payload.jti, 'string');
    assert.ok((payload.jti as string).length >= 16);
    assert.equal(payload.client_id, client.clientId);
    assert.equal(payload.scope, scope);
  }
  assert.notEqual(decodeProtectedHeader(body.access_token).kid, undefined);
});

test('ID tokens verify against the JWKS with RS256 by default (CONTRACT)', async (t) => {
  const server = await setup(t);
  const client = await server.createClient({ redirectUris: ['https://c1.example/cb'] });
  const user = await server.createUser();
  const { body } = await issueTokens(server, new Browser(server.app), client, user, { scope: 'openid profile', nonce: 'n-0S6_WzA2Mj' });
  const jwks = createLocalJWKSet((await server.app.inject({ method: 'GET', url: '/jwks' })).json());
  const { payload, protectedHeader } = await jwtVerify(body.id_token!, jwks, {
    issuer: server.issuer,
    audience: client.clientId,
    algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.alg, 'RS256');
  assert.equal(payload.sub, 'user-alice');
  assert.equal(payload.nonce, 'n-0S6_WzA2Mj');
  assert.ok(payload.exp! > payload.iat!);
  // an ID token is not an access token
  await assert.rejects(jwtVerify(body.id_token!, jwks, { issuer: server.issuer, typ: 'at+jwt' }));
});

test('access tokens use the configured audience', async (t) => {
  const server = await setup(t, { GATEHOUSE_ACCESS_TOKEN_AUDIENCE: 'https://api.example' });
  const client = await server.createClient({ redirectUris: ['https://c1.example/cb'], scope: 'photos:read' });
  const cc = (await tokenRequest(server.app, { grant_type: 'client_credentials' }, client)).json() as TokenBody;
  const jwks = createLocalJWKSet((await server.app.inject({ method: 'GET', url: '/jwks' })).json());
  await jwtVerify(cc.access_token, jwks, { issuer: server.issuer, audience: 'https://api.example', typ: 'at+jwt' });
});
