// Our own JWTs are signed and verified with node:crypto KeyObjects (src/oauth/tokens/jws.ts) rather
// than through jose/WebCrypto. These tests hold that to jose: every algorithm's output verifies with
// jose's jwtVerify against the published JWKS, and our verifier refuses what jose refuses. Also the
// cache of verified access tokens: bounded, dropped with the key, and never a bypass of revocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT, compactVerify, type JWTPayload } from 'jose';
import { nowSeconds, sha256 } from '../src/oauth/crypto.js';
import { KeyStore, SUPPORTED_SIGNING_ALGS, type SigningAlg } from '../src/oauth/keys/key-store.js';
import {
  mintAccessToken,
  mintIdToken,
  leftHalfHash,
  verifyOwnAccessToken,
  verifiedTokenCacheSize,
  VERIFIED_TOKEN_CACHE_SIZE,
} from '../src/oauth/tokens/jwt.js';
import { mintLogoutToken } from '../src/oauth/logout.js';
import { verifyIdTokenHint } from '../src/oauth/tokens/id-token-hint.js';
import { openStorage, type Storage } from '../src/storage/index.js';
import { ISSUER, setupWithClientAndUser, basic, form } from './helpers.js';

async function keyStore(t: { after(fn: () => Promise<void>): void }): Promise<{ keys: KeyStore; storage: Storage }> {
  const storage = await openStorage('sqlite::memory:');
  t.after(() => storage.close());
  const keys = new KeyStore(storage.signingKeys);
  await keys.initialise(nowSeconds());
  return { keys, storage };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function accessInput(alg: SigningAlg, now = nowSeconds()) {
  return {
    issuer: ISSUER,
    alg,
    audience: ['https://api.example'],
    ttl: 300,
    subject: 'user-1',
    clientId: 'c1',
    scope: 'openid photos:read',
    now,
    authTime: now - 5,
    sid: 'sid-1',
  };
}

/** A token signed by jose with one of our keys and any header and claims we choose. */
async function joseSigned(keys: KeyStore, alg: SigningAlg, header: Record<string, unknown>, claims: JWTPayload): Promise<string> {
  const key = keys.signingKey(alg);
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, ...header, kid: key.kid }).sign(key.privateKey);
}

for (const alg of SUPPORTED_SIGNING_ALGS) {
  test(`${alg}: access tokens signed with node:crypto verify with jose against the JWKS, with the same header jose would write`, async (t) => {
    const { keys } = await keyStore(t);
    const minted = await mintAccessToken(keys, accessInput(alg));
    const { payload, protectedHeader } = await jwtVerify(minted.token, createLocalJWKSet(keys.jwks() as never), {
      issuer: ISSUER,
      typ: 'at+jwt',
      algorithms: [alg],
      audience: 'https://api.example',
    });
    assert.deepEqual(protectedHeader, { alg, typ: 'at+jwt', kid: keys.signingKey(alg).kid });
    assert.deepEqual(payload, minted.claims);
    // jose writing the same header and claims produces the same header and payload segments.
    const reference = await joseSigned(keys, alg, { typ: 'at+jwt' }, minted.claims);
    assert.equal(minted.token.split('.').slice(0, 2).join('.'), reference.split('.').slice(0, 2).join('.'));
    if (alg !== 'ES256') assert.equal(minted.token, reference, 'deterministic signatures are byte-identical');
  });

  test(`${alg}: ID tokens and logout tokens signed with node:crypto verify with jose`, async (t) => {
    const { keys } = await keyStore(t);
    const now = nowSeconds();
    const idToken = await mintIdToken(keys, {
      issuer: ISSUER,
      clientId: 'c1',
      subject: 'user-1',
      alg,
      ttl: 300,
      now,
      authTime: now,
      nonce: 'n-1',
      sid: 'sid-1',
      accessToken: 'at-value',
      claims: { email: 'a@example.com', name: 'Ä ö 日本' },
    });
    const jwks = createLocalJWKSet(keys.jwks() as never);
    const { payload, protectedHeader } = await jwtVerify(idToken, jwks, { issuer: ISSUER, audience: 'c1', typ: 'JWT', algorithms: [alg] });
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(payload.nonce, 'n-1');
    assert.equal(payload.name, 'Ä ö 日本');
    assert.equal(payload.at_hash, leftHalfHash('at-value', alg));
    assert.deepEqual(await verifyIdTokenHint(keys, ISSUER, idToken), { sub: 'user-1', aud: ['c1'], azp: undefined, sid: 'sid-1' });

    const client = { clientId: 'c1', metadata: alg === 'RS256' ? {} : { id_token_signed_response_alg: alg } } as never;
    const logout = await mintLogoutToken(keys, { issuer: ISSUER, client, subject: 'user-1', sid: 'sid-1', now });
    const verified = await jwtVerify(logout, jwks, { issuer: ISSUER, audience: 'c1', typ: 'logout+jwt', algorithms: [alg] });
    assert.equal(verified.protectedHeader.alg, alg);
    assert.deepEqual(Object.keys(verified.payload.events as object), ['http://schemas.openid.net/event/backchannel-logout']);
  });

  test(`${alg}: verifyOwnAccessToken accepts our tokens (ours and jose-signed ones) and refuses what jose refuses`, async (t) => {
    const { keys } = await keyStore(t);
    const key = keys.signingKey(alg);
    const now = nowSeconds();
    const minted = await mintAccessToken(keys, accessInput(alg, now));
    assert.deepEqual(await verifyOwnAccessToken(keys, ISSUER, minted.token), minted.claims);
    assert.deepEqual(await verifyOwnAccessToken(keys, ISSUER, minted.token), minted.claims, 'a second (cached) verification agrees');
    // Signed by jose (what tokens of earlier versions are) and in other accepted header forms.
    assert.deepEqual(
      await verifyOwnAccessToken(keys, ISSUER, await joseSigned(keys, alg, { typ: 'at+jwt' }, minted.claims)),
      minted.claims,
    );
    assert.equal(
      (await verifyOwnAccessToken(keys, ISSUER, await joseSigned(keys, alg, { typ: 'application/at+jwt' }, minted.claims)))?.jti,
      minted.jti,
    );

    const claims = minted.claims;
    const joseOptions = { issuer: ISSUER, typ: 'at+jwt', algorithms: [key.alg], requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'] };
    const [h, p, s] = minted.token.split('.') as [string, string, string];
    const { privateKey: otherKey, publicKey: otherPublic } = await generateKeyPair(alg, alg === 'EdDSA' ? { crv: 'Ed25519' } : {});
    const refused: [string, Promise<string> | string][] = [
      ['typ JWT (an ID token)', joseSigned(keys, alg, { typ: 'JWT' }, claims)],
      ['no typ', joseSigned(keys, alg, {}, claims)],
      ['typ logout+jwt', joseSigned(keys, alg, { typ: 'logout+jwt' }, claims)],
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${p}.`],
      ['alg none, no signature segment', `${b64({ alg: 'none', typ: 'at+jwt', kid: key.kid })}.${p}`],
      ['another alg under our kid', `${b64({ alg: alg === 'RS256' ? 'ES256' : 'RS256', typ: 'at+jwt', kid: key.kid })}.${p}.${s}`],
      ['tampered payload', `${h}.${b64({ ...claims, scope: 'admin' })}.${s}`],
      ['tampered header', `${b64({ alg, typ: 'at+jwt', kid: key.kid, x: 1 })}.${p}.${s}`],
      ['truncated signature', `${h}.${p}.${s.slice(0, -4)}`],
      ['no signature', `${h}.${p}.`],
      ['an extra segment', `${h}.${p}.${s}.${s}`],
      ['signed by another key under our kid', new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: key.kid }).sign(otherKey)],
      ['unknown kid', new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: 'not-ours' }).sign(otherKey)],
      [
        'embedded jwk',
        new SignJWT(claims).setProtectedHeader({ alg, typ: 'at+jwt', kid: 'x', jwk: await exportJWK(otherPublic) }).sign(otherKey),
      ],
      ['expired', mintAccessToken(keys, { ...accessInput(alg, now - 1000), ttl: 300 }).then((m) => m.token)],
      ['exp now', mintAccessToken(keys, { ...accessInput(alg, nowSeconds() - 300), ttl: 300 }).then((m) => m.token)],
      ['not yet valid (nbf)', joseSigned(keys, alg, { typ: 'at+jwt' }, { ...claims, nbf: now + 3600 })],
      ['another issuer', mintAccessToken(keys, { ...accessInput(alg, now), issuer: 'https://elsewhere.example' }).then((m) => m.token)],
      ['no client_id', joseSigned(keys, alg, { typ: 'at+jwt' }, { ...claims, client_id: undefined })],
      ['no jti', joseSigned(keys, alg, { typ: 'at+jwt' }, { ...claims, jti: undefined })],
      ['no iss', joseSigned(keys, alg, { typ: 'at+jwt' }, { ...claims, iss: undefined })],
      ['iat not a number', joseSigned(keys, alg, { typ: 'at+jwt' }, { ...claims, iat: 'yesterday' as never })],
      ['exp not a number', joseSigned(keys, alg, { typ: 'at+jwt' }, { ...claims, exp: String(claims.exp) as never })],
      [
        'unknown crit',
        joseSigned(keys, alg, { typ: 'at+jwt', crit: ['urn:x'], 'urn:x': 1 }, claims).catch(
          () => `${b64({ alg, typ: 'at+jwt', kid: key.kid, crit: ['urn:x'] })}.${p}.${s}`,
        ),
      ],
      ['not a JWT', 'not.a.jwt'],
      ['empty', ''],
    ];
    for (const [name, pending] of refused) {
      const token = await pending;
      await assert.rejects(jwtVerify(token, key.publicKey, joseOptions), `jose refuses: ${name}`);
      assert.equal(await verifyOwnAccessToken(keys, ISSUER, token), undefined, `we refuse: ${name}`);
    }
    assert.equal(
      await verifyOwnAccessToken(keys, 'https://elsewhere.example', minted.token),
      undefined,
      'a cached token is still refused for another issuer',
    );
  });
}

test('an ES256 signature is R || S (64 bytes), as JWS requires, and jose verifies it with compactVerify', async (t) => {
  const { keys } = await keyStore(t);
  const { token } = await mintAccessToken(keys, accessInput('ES256'));
  assert.equal(Buffer.from(token.split('.')[2]!, 'base64url').length, 64);
  await compactVerify(token, keys.signingKey('ES256').publicKey);
});

test('the cache of verified access tokens is bounded, keyed by digest, and drops tokens whose key left the JWKS', async (t) => {
  const { keys, storage } = await keyStore(t);
  const now = nowSeconds();
  const first = await mintAccessToken(keys, accessInput('ES256', now));
  assert.ok(await verifyOwnAccessToken(keys, ISSUER, first.token));
  assert.equal(verifiedTokenCacheSize(keys), 1);
  // The key is withdrawn (retired, past its removal time): its tokens stop verifying, cached or not.
  const kid = keys.signingKey('ES256').kid;
  await storage.signingKeys.update(kid, { status: 'retired', retiredAt: now, removeAfter: now });
  await keys.reload(now);
  assert.equal(keys.findKey(kid), undefined);
  assert.equal(await verifyOwnAccessToken(keys, ISSUER, first.token), undefined);
  assert.equal(verifiedTokenCacheSize(keys), 0, 'the stale entry is dropped');

  const { keys: other } = await keyStore(t);
  const minted = await Promise.all(
    Array.from({ length: VERIFIED_TOKEN_CACHE_SIZE + 5 }, () => mintAccessToken(other, accessInput('EdDSA', now))),
  );
  for (const m of minted) assert.ok(await verifyOwnAccessToken(other, ISSUER, m.token));
  assert.equal(verifiedTokenCacheSize(other), VERIFIED_TOKEN_CACHE_SIZE);
  assert.ok(await verifyOwnAccessToken(other, ISSUER, minted[0]!.token), 'an evicted token verifies again from scratch');
  assert.equal(typeof sha256(minted[0]!.token), 'string');
});

test('a revoked access token is refused at once although its verification is cached (the denylist is read per request)', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const auth = { authorization: basic(client.clientId, client.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' };
  const issued = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: auth,
    payload: form({ grant_type: 'client_credentials', scope: 'photos:read' }),
  });
  assert.equal(issued.statusCode, 200, issued.body);
  const token = (issued.json() as { access_token: string }).access_token;
  const introspect = async () =>
    (await server.app.inject({ method: 'POST', url: '/introspect', headers: auth, payload: form({ token }) })).json() as {
      active: boolean;
    };
  assert.equal((await introspect()).active, true);
  assert.equal((await introspect()).active, true, 'second look (cached verification)');
  const revoked = await server.app.inject({ method: 'POST', url: '/revoke', headers: auth, payload: form({ token }) });
  assert.equal(revoked.statusCode, 200);
  assert.equal((await introspect()).active, false);
});
