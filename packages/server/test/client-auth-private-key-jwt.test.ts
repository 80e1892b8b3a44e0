// private_key_jwt (RFC 7523 §2.2 and §3, RFC 7521 §4.2, OIDC Core §9): CA-07, PJ-01, JW-01..JW-05,
// at the token, introspection, revocation and PAR endpoints; registration of the client's keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, KeyObject, randomUUID, sign as rawSign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload, type JWTHeaderParameters } from 'jose';
import { loadConfig } from '../src/config/config.js';
import { registerClient } from '../src/oauth/clients.js';
import { nowSeconds, sha256 } from '../src/oauth/crypto.js';
import { createSafeFetcher } from '../src/net/safe-fetch.js';
import { createGatehouse } from '../src/server.js';
import { assertOAuthError, basic, countRows, dumpDatabase, form, ISSUER, startServer, testClock, type TestServer } from './helpers.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

async function keyPair(
  alg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA',
  kid: string,
): Promise<{ pair: KeyPair; jwk: JWK; alg: string; kid: string }> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return { pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, use: 'sig' }, alg, kid };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Standard claims of a good assertion for `clientId`, overridable (`undefined` removes a claim). */
function claims(clientId: string, over: Record<string, unknown> = {}): JWTPayload {
  const now = nowSeconds();
  const all: Record<string, unknown> = { iss: clientId, sub: clientId, aud: ISSUER, jti: randomUUID(), iat: now, exp: now + 60, ...over };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as JWTPayload;
}

async function sign(
  key: { pair: KeyPair; alg: string; kid: string },
  payload: JWTPayload,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(key.pair.privateKey);
}

const post = (server: TestServer, url: string, body: Record<string, string | undefined>, headers: Record<string, string> = {}) =>
  server.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form(body),
  });

const withAssertion = (assertion: string, extra: Record<string, string | undefined> = {}) => ({
  client_assertion_type: ASSERTION_TYPE,
  client_assertion: assertion,
  ...extra,
});

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const es = await keyPair('ES256', 'es-1');
  const rs = await keyPair('RS256', 'rs-1');
  const client = await server.createClient({
    authMethod: 'private_key_jwt',
    jwks: { keys: [es.jwk, rs.jwk] },
    grantTypes: ['client_credentials', 'authorization_code'],
    scope: 'openid photos:read',
  });
  const cc = (assertion: string, extra: Record<string, string | undefined> = {}) =>
    post(server, '/token', { grant_type: 'client_credentials', scope: 'photos:read', ...withAssertion(assertion, extra) });
  return { server, client, es, rs, cc };
}

/** Every refusal of an assertion looks the same: 401 invalid_client, JSON, no stack trace. */
function assertRefused(res: Awaited<ReturnType<typeof post>>, why: string) {
  assert.equal(res.statusCode, 401, `${why}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  assertOAuthError(res, 401, 'invalid_client');
}

test('PJ-01 a private_key_jwt client gets no secret and authenticates at the token endpoint with an ES256 or RS256 assertion', async (t) => {
  const { server, client, es, rs, cc } = await setup(t);
  assert.equal(client.clientSecret, undefined);
  const stored = await server.deps.storage.clients.find(client.clientId);
  assert.equal(stored?.secretHash, null);
  assert.equal(stored?.authMethod, 'private_key_jwt');
  for (const key of [es, rs]) {
    const res = await cc(await sign(key, claims(client.clientId)));
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(String(res.json().token_type).toLowerCase(), 'bearer');
  }
  // client_id in the body may repeat the assertion's subject.
  assert.equal((await cc(await sign(es, claims(client.clientId)), { client_id: client.clientId })).statusCode, 200);
});

test('PJ-01 PS256 and EdDSA keys authenticate too', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  for (const alg of ['PS256', 'EdDSA'] as const) {
    const key = await keyPair(alg, `${alg}-1`);
    const client = await server.createClient({
      authMethod: 'private_key_jwt',
      jwks: { keys: [key.jwk] },
      grantTypes: ['client_credentials'],
      scope: 'photos:read',
    });
    const res = await post(server, '/token', {
      grant_type: 'client_credentials',
      ...withAssertion(await sign(key, claims(client.clientId))),
    });
    assert.equal(res.statusCode, 200, `${alg}: ${res.body}`);
  }
});

test('JW-01 CA-07 an unsigned assertion (alg none) gets invalid_client', async (t) => {
  const { client, cc } = await setup(t);
  for (const alg of ['none', 'None', 'NONE']) {
    const unsigned = `${b64({ alg, kid: 'es-1' })}.${b64(claims(client.clientId))}.`;
    assertRefused(await cc(unsigned), alg);
  }
});

test('JW-02 CA-07 HS256 keyed with the client public key (PEM or JWK bytes) gets invalid_client', async (t) => {
  const { client, rs, cc } = await setup(t);
  const pem = await exportSPKI(rs.pair.publicKey);
  for (const secret of [pem, JSON.stringify(rs.jwk), rs.jwk.n!]) {
    const input = `${b64({ alg: 'HS256', kid: 'rs-1', typ: 'JWT' })}.${b64(claims(client.clientId))}`;
    const mac = createHmac('sha256', secret).update(input).digest('base64url');
    assertRefused(await cc(`${input}.${mac}`), 'HS256 over the public key');
  }
});

test('CA-07 PJ-01 an assertion whose aud is not the issuer gets invalid_client (token endpoint URL and arrays included)', async (t) => {
  const { client, es, cc } = await setup(t);
  for (const aud of [`${ISSUER}/token`, 'https://other.example', `${ISSUER}/`, [ISSUER], [ISSUER, 'https://other.example'], undefined]) {
    assertRefused(await cc(await sign(es, claims(client.clientId, { aud }))), `aud ${JSON.stringify(aud)}`);
  }
});

test('CA-07 PJ-01 a replayed jti gets invalid_client; a new jti is accepted', async (t) => {
  const { server, client, es, cc } = await setup(t);
  const assertion = await sign(es, claims(client.clientId, { jti: 'only-once' }));
  assert.equal((await cc(assertion)).statusCode, 200);
  assertRefused(await cc(assertion), 'the same assertion again');
  // Another assertion with the same jti (signed again, another exp) is a replay too.
  assertRefused(await cc(await sign(es, claims(client.clientId, { jti: 'only-once', exp: nowSeconds() + 90 }))), 'same jti, new assertion');
  assert.equal((await cc(await sign(es, claims(client.clientId, { jti: 'another' })))).statusCode, 200);
  // Only a digest of (client_id, jti) is stored.
  const dump = await dumpDatabase(server.deps.storage);
  assert.ok(!dump.includes('only-once'), 'the raw jti is not stored');
  assert.ok(dump.includes(sha256(JSON.stringify([client.clientId, 'only-once']))));
});

test('CA-07 a missing jti gets invalid_client', async (t) => {
  const { client, es, cc } = await setup(t);
  assertRefused(await cc(await sign(es, claims(client.clientId, { jti: undefined }))), 'no jti');
});

test('PJ-01 CA-07 exp: required, not past, not far in the future, and exp - iat bounded', async (t) => {
  const { client, es, cc } = await setup(t);
  const now = nowSeconds();
  assertRefused(await cc(await sign(es, claims(client.clientId, { exp: undefined }))), 'no exp');
  assertRefused(await cc(await sign(es, claims(client.clientId, { iat: now - 400, exp: now - 300 }))), 'exp 5 min in the past');
  assertRefused(await cc(await sign(es, claims(client.clientId, { exp: now + 3600 }))), 'exp an hour ahead');
  assertRefused(await cc(await sign(es, claims(client.clientId, { iat: undefined, exp: now + 3600 }))), 'exp an hour ahead without iat');
  assertRefused(await cc(await sign(es, claims(client.clientId, { iat: now - 280, exp: now + 60 }))), 'exp - iat over 5 minutes');
  assert.equal(
    (await cc(await sign(es, claims(client.clientId, { iat: undefined, exp: now + 240 })))).statusCode,
    200,
    'four minutes is fine',
  );
});

test('JW-05 nbf 8 s ahead is accepted, 61 s ahead refused', async (t) => {
  const { client, es, cc } = await setup(t);
  const now = nowSeconds();
  assert.equal((await cc(await sign(es, claims(client.clientId, { nbf: now + 8 })))).statusCode, 200);
  assertRefused(await cc(await sign(es, claims(client.clientId, { nbf: now + 61 }))), 'nbf 61 s ahead');
});

test('PJ-01 an assertion signed by a key not in the registered set gets invalid_client', async (t) => {
  const { client, cc } = await setup(t);
  const stranger = await keyPair('ES256', 'es-1'); // same kid as a registered key, another key
  assertRefused(await cc(await sign(stranger, claims(client.clientId))), 'same kid, other key');
  const noKid = await keyPair('ES256', 'x');
  assertRefused(
    await cc(await new SignJWT(claims(client.clientId)).setProtectedHeader({ alg: 'ES256' }).sign(noKid.pair.privateKey)),
    'no kid, other key',
  );
  const unknownKid = await keyPair('ES256', 'not-registered');
  assertRefused(await cc(await sign(unknownKid, claims(client.clientId))), 'unknown kid');
});

test('JW-03 a key embedded in the header never selects the key; a path-like kid is only a failed lookup', async (t) => {
  const { client, cc } = await setup(t);
  const attacker = await keyPair('ES256', 'es-1');
  assertRefused(await cc(await sign(attacker, claims(client.clientId), { jwk: attacker.jwk })), 'embedded jwk');
  assertRefused(await cc(await sign(attacker, claims(client.clientId), { kid: '../../dev/null' })), 'kid ../../dev/null');
});

test('JW-04 an unknown crit header and an oversized assertion get invalid_client, never a 500', async (t) => {
  const { client, es, cc } = await setup(t);
  // jose will not sign with an unknown crit entry, so this one is signed by hand (a valid ES256 signature).
  const handSigned = (header: Record<string, unknown>) => {
    const input = `${b64(header)}.${b64(claims(client.clientId))}`;
    return `${input}.${rawSign('sha256', Buffer.from(input), { key: KeyObject.from(es.pair.privateKey as CryptoKey), dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  assert.equal((await cc(handSigned({ alg: 'ES256', kid: 'es-1' }))).statusCode, 200, 'the hand-made signature is good');
  assertRefused(await cc(handSigned({ alg: 'ES256', kid: 'es-1', crit: ['x'], x: 1 })), 'crit');
  assertRefused(await cc(await sign(es, claims(client.clientId, { pad: 'a'.repeat(20_000) }))), '20 kB assertion');
  for (const garbage of ['a.b.c', 'not-a-jwt', `${b64({ alg: 'ES256' })}.${b64('string')}.sig`, '...'])
    assertRefused(await cc(garbage), garbage);
});

test('CA-07 iss and sub must both be the client_id', async (t) => {
  const { server, client, es, cc } = await setup(t);
  const other = await server.createClient({ grantTypes: ['client_credentials'] });
  assertRefused(await cc(await sign(es, claims(client.clientId, { sub: undefined }))), 'no sub');
  assertRefused(await cc(await sign(es, claims(client.clientId, { iss: other.clientId }))), 'iss another client');
  assertRefused(await cc(await sign(es, claims(client.clientId, { iss: undefined }))), 'no iss');
  assertRefused(await cc(await sign(es, claims(other.clientId))), 'sub and iss a client_secret_basic client');
  assertRefused(await cc(await sign(es, claims('no-such-client'))), 'unknown client');
  // A client_id in the body that names another client is refused.
  assertOAuthError(
    await cc(await sign(es, claims(client.clientId)), { client_id: other.clientId }),
    [400, 401],
    ['invalid_request', 'invalid_client'],
  );
});

test('CA-04 CA-05 one method per request, only the registered one; the assertion type must be jwt-bearer', async (t) => {
  const { server, client, es, cc } = await setup(t);
  const secretClient = await server.createClient({ grantTypes: ['client_credentials'] });
  const assertion = await sign(es, claims(client.clientId));
  // An assertion plus Basic, or plus client_secret: invalid_request.
  assertOAuthError(
    await post(
      server,
      '/token',
      { grant_type: 'client_credentials', ...withAssertion(assertion) },
      { authorization: basic(secretClient.clientId, secretClient.clientSecret!) },
    ),
    400,
    'invalid_request',
  );
  assertOAuthError(await cc(assertion, { client_secret: 'x' }), 400, 'invalid_request');
  // A private_key_jwt client cannot use a secret (it has none) or no authentication at all.
  assertOAuthError(await post(server, '/token', { grant_type: 'client_credentials', client_id: client.clientId }), 401, 'invalid_client');
  assertOAuthError(
    await post(server, '/token', { grant_type: 'client_credentials' }, { authorization: basic(client.clientId, 'guess') }),
    401,
    'invalid_client',
  );
  // The assertion type must be exactly jwt-bearer; the two parameters go together.
  assertRefused(await cc(assertion, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' }), 'saml2 type');
  assertOAuthError(await post(server, '/token', { grant_type: 'client_credentials', client_assertion: assertion }), 400, 'invalid_request');
  assertOAuthError(
    await post(server, '/token', { grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE }),
    400,
    'invalid_request',
  );
});

test('PJ-01 a private_key_jwt client introspects and revokes its tokens with assertions', async (t) => {
  const { server, client, es, cc } = await setup(t);
  const token = (await cc(await sign(es, claims(client.clientId)))).json().access_token as string;
  const introspected = await post(server, '/introspect', { token, ...withAssertion(await sign(es, claims(client.clientId))) });
  assert.equal(introspected.statusCode, 200, introspected.body);
  assert.equal(introspected.json().active, true);
  assert.equal(introspected.json().client_id, client.clientId);
  assertRefused(
    await post(server, '/introspect', { token, ...withAssertion(`${b64({ alg: 'none' })}.${b64(claims(client.clientId))}.`) }),
    'alg none at introspection',
  );
  const revoked = await post(server, '/revoke', { token, ...withAssertion(await sign(es, claims(client.clientId))) });
  assert.equal(revoked.statusCode, 200, revoked.body);
  const after = await post(server, '/introspect', { token, ...withAssertion(await sign(es, claims(client.clientId))) });
  assert.equal(after.json().active, false);
  assertRefused(
    await post(server, '/revoke', { token, ...withAssertion(await sign(es, claims(client.clientId, { aud: `${ISSUER}/revoke` }))) }),
    'aud the revocation endpoint',
  );
});

test('PJ-01 the jti replay cache is shared by every node on the database', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-pkjwt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const env = { GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'g.db')}` };
  const a = await startServer(env);
  t.after(() => a.close());
  const b = await startServer(env);
  t.after(() => b.close());
  const key = await keyPair('ES256', 'k');
  const client = await a.createClient({
    authMethod: 'private_key_jwt',
    jwks: { keys: [key.jwk] },
    grantTypes: ['client_credentials'],
    scope: 'photos:read',
  });
  const assertion = await sign(key, claims(client.clientId));
  assert.equal((await post(a, '/token', { grant_type: 'client_credentials', ...withAssertion(assertion) })).statusCode, 200);
  assertRefused(await post(b, '/token', { grant_type: 'client_credentials', ...withAssertion(assertion) }), 'replayed at the other node');
});

test('R8 used assertion jtis are swept once the assertion has expired', async (t) => {
  const { server, client, es, cc } = await setup(t);
  assert.equal((await cc(await sign(es, claims(client.clientId)))).statusCode, 200);
  assert.equal(await countRows(server.deps.storage, 'client_assertion_jtis'), 1);
  const { sweepExpiredRows } = await import('../src/storage/cleanup.js');
  assert.equal(
    (await sweepExpiredRows(server.deps.storage, nowSeconds(), { codeRetention: 1800, pauseMs: 0 })).clientAssertionJtis,
    0,
    'kept while it could be replayed',
  );
  assert.equal(
    (await sweepExpiredRows(server.deps.storage, nowSeconds() + 60 + 30 + 301, { codeRetention: 1800, pauseMs: 0 })).clientAssertionJtis,
    1,
  );
});

test('registration: private_key_jwt needs exactly one of jwks and jwks_uri, public asymmetric keys only', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { clients } = server.deps.storage;
  const es = await keyPair('ES256', 'k1');
  const privateJwk = await exportJWK(es.pair.privateKey);
  const base = { clientName: 'Keys', redirectUris: ['https://c.example/cb'], authMethod: 'private_key_jwt' };
  const refused = async (input: Record<string, unknown>, pattern: RegExp) => {
    await assert.rejects(registerClient(clients, { ...base, ...input }, nowSeconds()), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'invalid_client_metadata');
      assert.match(e.message, pattern);
      return true;
    });
  };
  await refused({}, /jwks or jwks_uri/);
  await refused({ jwks: { keys: [es.jwk] }, jwksUri: 'https://c.example/jwks' }, /exactly one/);
  await refused({ jwks: { keys: [privateJwk] } }, /private key material/);
  await refused({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }, /kty must be RSA, EC or OKP/);
  await refused({ jwks: { keys: [] } }, /non-empty/);
  await refused({ jwks: [es.jwk] }, /JWK Set object/);
  await refused({ jwks: { keys: [{ ...es.jwk, x: 'AAAA' }] } }, /not a valid public key/);
  await refused({ jwks: { keys: [{ ...es.jwk, alg: 'HS256' }] } }, /alg must be one of/);
  await refused({ jwks: { keys: [{ ...es.jwk, use: 'enc' }] } }, /use must be "sig"/);
  await refused({ jwks: { keys: [es.jwk, { ...es.jwk }] } }, /used twice/);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  await refused({ jwks: { keys: [small.publicKey.export({ format: 'jwk' })] } }, /2048 bits/);
  await refused({ jwksUri: 'http://keys.example/jwks' }, /https/);
  await refused({ jwksUri: 'https://user:pw@keys.example/jwks' }, /user information/);
  await refused({ jwksUri: 'https://keys.example/jwks#x' }, /fragment/);
  await refused({ jwksUri: 'not a url' }, /absolute URL/);
  await assert.rejects(
    registerClient(clients, { clientName: 'S', redirectUris: ['https://c.example/cb'], jwks: { keys: [es.jwk] } }, nowSeconds()),
    /only with token_endpoint_auth_method private_key_jwt/,
  );
  await assert.rejects(registerClient(clients, { ...base, isPublic: true, jwks: { keys: [es.jwk] } }, nowSeconds()), /public clients/);
  // Only the public members are stored.
  const { client, clientSecret } = await registerClient(
    clients,
    { ...base, jwks: { keys: [{ ...es.jwk, extra: 'dropped' }] } },
    nowSeconds(),
  );
  assert.equal(clientSecret, undefined);
  assert.deepEqual(Object.keys((client.metadata.jwks as { keys: JWK[] }).keys[0]!).sort(), ['crv', 'kid', 'kty', 'use', 'x', 'y']);
});

test('PJ-01 a client with a jwks_uri authenticates with keys fetched through the SSRF-safe fetcher', async (t) => {
  const key = await keyPair('ES256', 'remote-1');
  let served = 0;
  const jwksServer: Server = createServer((_req, res) => {
    served++;
    // Keys for other uses, or of kinds the server does not accept, are skipped, not fatal.
    const published = [{ ...key.jwk, kid: 'enc-1', use: 'enc' }, { kty: 'oct', k: 'c2VjcmV0', kid: 'mac' }, key.jwk];
    res
      .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=300' })
      .end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));
  const port = (jwksServer.address() as { port: number }).port;

  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent' });
  // The development opt-out lets the fetcher reach the loopback test server; production servers never can.
  const gatehouse = await createGatehouse(config, {
    clock: testClock(),
    fetcher: createSafeFetcher({ allowInsecureLoopbackForDevelopment: true }),
  });
  t.after(() => gatehouse.close());
  const { client } = await registerClient(
    gatehouse.deps.storage.clients,
    {
      clientName: 'Remote keys',
      redirectUris: [],
      grantTypes: ['client_credentials'],
      scope: 'photos:read',
      authMethod: 'private_key_jwt',
      jwksUri: `http://127.0.0.1:${port}/jwks.json`,
    },
    nowSeconds(),
  );
  const inject = (assertion: string) =>
    gatehouse.app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'client_credentials', ...withAssertion(assertion) }),
    });
  assert.equal((await inject(await sign(key, claims(client.clientId)))).statusCode, 200);
  assert.equal((await inject(await sign(key, claims(client.clientId)))).statusCode, 200);
  assert.equal(served, 1, 'the JWK Set is cached');
  const stranger = await keyPair('ES256', 'remote-1');
  assert.equal((await inject(await sign(stranger, claims(client.clientId)))).statusCode, 401);
  assert.equal(
    (await inject(await sign({ ...key, kid: 'enc-1' }, claims(client.clientId)))).statusCode,
    401,
    'an encryption key does not verify assertions',
  );

  // The default fetcher refuses loopback: the same registration cannot reach an internal address.
  const strict = await createGatehouse(config, { clock: testClock() });
  t.after(() => strict.close());
  await strict.deps.storage.clients.create(client);
  const res = await strict.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', ...withAssertion(await sign(key, claims(client.clientId))) }),
  });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().error, 'invalid_client');
  assert.equal(served, 1, 'nothing was fetched from the internal address');
});

test('discovery advertises private_key_jwt and its asymmetric algorithms at every endpoint that accepts it', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const meta = (await server.app.inject({ url: '/.well-known/oauth-authorization-server' })).json();
  for (const endpoint of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
    assert.ok((meta[`${endpoint}_auth_methods_supported`] as string[]).includes('private_key_jwt'), endpoint);
    const algs = meta[`${endpoint}_auth_signing_alg_values_supported`] as string[];
    assert.ok(algs.includes('ES256') && algs.includes('RS256'), endpoint);
    assert.ok(!algs.some((a) => a === 'none' || a.startsWith('HS')), `${endpoint}: asymmetric only`);
  }
});
