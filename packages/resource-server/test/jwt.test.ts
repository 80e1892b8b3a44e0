// RFC 9068 §4 / RFC 8725: every way a JWT access token must be refused, with real signed tokens against
// a JWKS served over HTTP (checklist RS-01, JW-01…JW-05).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AccessTokenError, createVerifier, InvalidTokenError, MAX_TOKEN_LENGTH, type AccessTokenVerifier } from '../src/index.js';
import {
  AUDIENCE,
  OTHER_AUDIENCE,
  makeKey,
  nowSeconds,
  rejection,
  signCompact,
  spkiPem,
  startAuthServer,
  type TestAuthServer,
} from './helpers.js';

let as: TestAuthServer;
let verify: AccessTokenVerifier;

before(async () => {
  as = await startAuthServer();
  verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
});
after(() => as.close());

/** Asserts the token is refused with invalid_token (401) and returns the error. */
async function assertInvalidToken(token: string, verifier: AccessTokenVerifier = verify): Promise<InvalidTokenError> {
  const error = await rejection(verifier(token));
  assert.ok(error instanceof InvalidTokenError, `expected InvalidTokenError, got ${String(error)}`);
  assert.equal(error.code, 'invalid_token');
  assert.equal(error.status, 401);
  return error;
}

describe('valid access tokens', () => {
  it('RS-01 accepts an ES256 at+jwt from the issuer for this audience and returns its claims', async () => {
    const token = await as.mint({ claims: { sub: 'alice' } });
    const claims = await verify(token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, as.issuer);
    assert.equal(claims.client_id, 'client-1');
    assert.equal(claims.scope, 'openid photos:read');
  });

  it('accepts an RS256 token (second key of the JWKS)', async () => {
    const claims = await verify(await as.mint({ key: as.rs256 }));
    assert.equal(claims.sub, 'user-1');
  });

  it('accepts typ "application/at+jwt" and an upper-case "AT+JWT"', async () => {
    await verify(await as.mint({ header: { typ: 'application/at+jwt' } }));
    await verify(await as.mint({ header: { typ: 'AT+JWT' } }));
  });

  it('accepts an aud array that contains this API', async () => {
    const claims = await verify(await as.mint({ claims: { aud: [OTHER_AUDIENCE, AUDIENCE] } }));
    assert.deepEqual(claims.aud, [OTHER_AUDIENCE, AUDIENCE]);
  });

  it('R4 accepts a token that expired within the default leeway (60 s, the deployment-wide one) and refuses one past it', async () => {
    await verify(await as.mint({ claims: { exp: nowSeconds() - 45 } }));
    const error = await assertInvalidToken(await as.mint({ claims: { exp: nowSeconds() - 61 } }));
    assert.equal(error.description, 'The access token expired');
  });
});

describe('RS-01 claims', () => {
  it('RS-01 rejects an ID token (typ JWT) used as an access token', async () => {
    const idToken = await as.mint({ header: { typ: 'JWT' }, claims: { aud: 'client-1', nonce: 'n' } });
    await assertInvalidToken(idToken);
    const error = await assertInvalidToken(await as.mint({ header: { typ: 'JWT' } }));
    assert.match(error.description, /typ must be at\+jwt/);
  });

  it('RS-01 rejects a token without typ', async () => {
    await assertInvalidToken(await as.mint({ header: { typ: undefined } }));
  });

  it("RS-01 rejects RS-B's token at RS-A (wrong aud)", async () => {
    const error = await assertInvalidToken(await as.mint({ claims: { aud: OTHER_AUDIENCE } }));
    assert.equal(error.description, 'The access token is not intended for this resource');
  });

  it('RS-01 rejects a token from another issuer', async () => {
    await assertInvalidToken(await as.mint({ claims: { iss: 'https://evil.example' } }));
    await assertInvalidToken(await as.mint({ claims: { iss: `${as.issuer}/` } }));
  });

  it('RS-01 rejects an expired token', async () => {
    await assertInvalidToken(await as.mint({ claims: { iat: nowSeconds() - 3600, exp: nowSeconds() - 600 } }));
  });

  it('JW-05 accepts nbf now+8 s and rejects nbf now+61 s', async () => {
    await verify(await as.mint({ claims: { nbf: nowSeconds() + 8 } }));
    const error = await assertInvalidToken(await as.mint({ claims: { nbf: nowSeconds() + 61 } }));
    assert.equal(error.description, 'The access token is not yet valid');
  });

  it('JW-05 rejects nbf now+61 s even with the largest leeway (60 s)', async () => {
    const lenient = createVerifier({ issuer: as.issuer, audience: AUDIENCE, leewaySeconds: 60 });
    await lenient(await as.mint({ claims: { nbf: nowSeconds() + 55 } }));
    await assertInvalidToken(await as.mint({ claims: { nbf: nowSeconds() + 61 } }), lenient);
  });

  it('R4 accepts a token issued by a node 45 s ahead, and rejects one issued in the future beyond the leeway', async () => {
    await verify(await as.mint({ claims: { iat: nowSeconds() + 45 } }));
    await assertInvalidToken(await as.mint({ claims: { iat: nowSeconds() + 120 } }));
  });

  for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id']) {
    it(`RS-01 rejects a token without the required ${claim} claim (RFC 9068 §2.2)`, async () => {
      await assertInvalidToken(await as.mint({ claims: { [claim]: undefined } }));
    });
  }

  it('rejects required claims of the wrong type or empty', async () => {
    await assertInvalidToken(await as.mint({ claims: { sub: 42 } }));
    await assertInvalidToken(await as.mint({ claims: { client_id: '' } }));
    await assertInvalidToken(await as.mint({ claims: { jti: ['a'] } }));
    await assertInvalidToken(await as.mint({ claims: { exp: String(nowSeconds() + 600) } }));
    await assertInvalidToken(await as.mint({ claims: { scope: ['photos:read'] } }));
  });

  it('rejects a sender-constrained token (cnf) presented as a bearer token', async () => {
    await assertInvalidToken(await as.mint({ claims: { cnf: { jkt: 'abc' } } }));
  });
});

describe('JOSE attacks', () => {
  it('JW-01 rejects alg none, without even fetching the JWKS', async () => {
    const fresh = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
    const before = as.counts.jwks;
    const claims = { iss: as.issuer, sub: 'u', aud: AUDIENCE, client_id: 'c', iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'j' };
    for (const alg of ['none', 'None', 'NONE']) {
      const error = await assertInvalidToken(await signCompact({ alg, typ: 'at+jwt' }, claims, null), fresh);
      assert.equal(error.description, 'The access token is signed with an algorithm that is not allowed');
    }
    assert.equal(as.counts.jwks, before);
  });

  it('JW-02 rejects HS256 keyed with the public key (JWK bytes and PEM bytes)', async () => {
    const claims = { iss: as.issuer, sub: 'u', aud: AUDIENCE, client_id: 'c', iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'j' };
    const secrets = [
      new TextEncoder().encode(JSON.stringify(as.rs256.jwk)),
      new TextEncoder().encode(await spkiPem(as.rs256)),
      new TextEncoder().encode(await spkiPem(as.es256)),
    ];
    for (const secret of secrets) {
      const forged = await signCompact({ alg: 'HS256', kid: as.rs256.kid, typ: 'at+jwt' }, claims, secret);
      await assertInvalidToken(forged);
    }
  });

  it('JW-02 rejects a token whose alg is outside a narrowed allowlist', async () => {
    const es256Only = createVerifier({ issuer: as.issuer, audience: AUDIENCE, algorithms: ['ES256'] });
    await es256Only(await as.mint());
    await assertInvalidToken(await as.mint({ key: as.rs256 }), es256Only);
  });

  it('JW-03 rejects a token signed by the attacker with their own key embedded in the jwk header', async () => {
    const attacker = await makeKey('ES256', as.es256.kid);
    const claims = { iss: as.issuer, sub: 'admin', aud: AUDIENCE, client_id: 'c', iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'j' };
    // With our kid, with no kid, and with a kid of their own: the embedded key is never used.
    for (const kid of [as.es256.kid, undefined, 'attacker']) {
      const header: Record<string, unknown> = { alg: 'ES256', typ: 'at+jwt', jwk: attacker.jwk };
      if (kid !== undefined) header['kid'] = kid;
      await assertInvalidToken(await signCompact(header, claims, attacker.privateKey));
    }
  });

  it('JW-03 never fetches a jku or x5u URL from the header', async () => {
    const attacker = await makeKey('ES256', 'attacker-jku');
    const claims = { iss: as.issuer, sub: 'admin', aud: AUDIENCE, client_id: 'c', iat: nowSeconds(), exp: nowSeconds() + 600, jti: 'j' };
    const header = { alg: 'ES256', typ: 'at+jwt', kid: attacker.kid, jku: `${as.issuer}/attacker-jwks`, x5u: `${as.issuer}/attacker-jwks` };
    await assertInvalidToken(await signCompact(header, claims, attacker.privateKey));
    assert.equal(as.counts.attacker, 0);
  });

  it('JW-03 rejects kid "../../dev/null"', async () => {
    const error = await assertInvalidToken(await as.mint({ header: { kid: '../../dev/null' } }));
    assert.equal(error.description, 'No key of the issuer matches the access token');
  });

  it('JW-04 rejects an unknown crit header parameter', async () => {
    const error = await assertInvalidToken(await as.mint({ header: { crit: ['x'], x: 1 } }));
    assert.equal(error.description, 'The access token uses an unsupported feature');
  });

  it('JW-04 rejects a token over 16 KiB before decoding it (no JWKS fetch)', async () => {
    const fresh = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
    const before = as.counts.jwks + as.counts.oauthMetadata;
    const big = await as.mint({ claims: { pad: 'x'.repeat(MAX_TOKEN_LENGTH) } });
    assert.ok(big.length > MAX_TOKEN_LENGTH);
    const error = await assertInvalidToken(big, fresh);
    assert.equal(error.description, 'The access token is too large');
    await assertInvalidToken('a'.repeat(1024 * 1024), fresh);
    assert.equal(as.counts.jwks + as.counts.oauthMetadata, before);
  });

  it('accepts a token just under 16 KiB (the limit is not off by a lot)', async () => {
    const token = await as.mint({ claims: { pad: 'x'.repeat(11_000) } });
    assert.ok(token.length < MAX_TOKEN_LENGTH);
    await verify(token);
  });

  it('rejects a tampered signature and a tampered payload', async () => {
    const token = await as.mint();
    const [header = '', payload = '', signature = ''] = token.split('.');
    const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    const error = await assertInvalidToken(`${header}.${payload}.${flipped}`);
    assert.equal(error.description, 'The access token signature is invalid');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const escalated = Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url');
    await assertInvalidToken(`${header}.${escalated}.${signature}`);
  });

  it('rejects garbage, a JWE-shaped token and a token with a bad character', async () => {
    await assertInvalidToken('not-a-jwt');
    await assertInvalidToken('a.b.c.d.e');
    await assertInvalidToken('eyJ.eyJ.sig');
    await assertInvalidToken('abc def');
  });

  it('never puts token content or jose messages in error_description', async () => {
    const token = await as.mint({ claims: { aud: OTHER_AUDIENCE, sub: 'secret-subject-value' } });
    const error = await assertInvalidToken(token);
    const body = JSON.stringify(error.toJSON());
    for (const part of token.split('.')) assert.ok(!body.includes(part));
    assert.ok(!body.includes('secret-subject-value'));
    assert.ok(!body.includes('"aud"'));
    assert.ok(!body.includes('stack'));
    assert.ok(error.cause instanceof Error, 'the jose error is kept as the private cause');
    assert.ok(error instanceof AccessTokenError);
  });
});

describe('options are checked at creation', () => {
  const base = { issuer: 'https://as.example', audience: AUDIENCE };
  it('rejects a leeway above 60 s, negative or not a number', () => {
    assert.throws(() => createVerifier({ ...base, leewaySeconds: 61 }), TypeError);
    assert.throws(() => createVerifier({ ...base, leewaySeconds: -1 }), TypeError);
    assert.throws(() => createVerifier({ ...base, leewaySeconds: Number.NaN }), TypeError);
    createVerifier({ ...base, leewaySeconds: 60 });
  });

  it('JW-01/JW-02 rejects HS* and none in the algorithm allowlist', () => {
    for (const alg of ['HS256', 'HS384', 'HS512', 'none', 'hs256']) {
      assert.throws(() => createVerifier({ ...base, algorithms: [alg] }), { name: 'TypeError', message: /only asymmetric signatures/ });
    }
    assert.throws(() => createVerifier({ ...base, algorithms: ['ES256', 'HS256'] }), TypeError);
    assert.throws(() => createVerifier({ ...base, algorithms: [] }), TypeError);
    assert.throws(() => createVerifier({ ...base, algorithms: ['XX999'] }), TypeError);
  });

  it('TL-01 requires an https issuer except on loopback, and no query or fragment', () => {
    assert.throws(() => createVerifier({ ...base, issuer: 'http://as.example' }), TypeError);
    assert.throws(() => createVerifier({ ...base, issuer: 'https://as.example/?a=b' }), TypeError);
    assert.throws(() => createVerifier({ ...base, issuer: 'https://as.example/#x' }), TypeError);
    assert.throws(() => createVerifier({ ...base, issuer: 'not a url' }), TypeError);
    createVerifier({ ...base, issuer: 'http://127.0.0.1:9000' });
    createVerifier({ ...base, issuer: 'http://localhost:9000' });
    createVerifier({ ...base, issuer: 'http://as.internal', allowInsecureRequests: true });
  });

  it('requires an audience', () => {
    assert.throws(() => createVerifier({ issuer: base.issuer, audience: '' }), TypeError);
  });

  it('rejects a bad requirement scope list at call time', async () => {
    const token = await as.mint();
    await assert.rejects(verify(token, { scopes: ['bad scope'] }), TypeError);
    await assert.rejects(verify(token, { scopes: ['a"b'] }), TypeError);
  });
});

describe('verifyAccessToken cache', () => {
  it('reuses one verifier per options object', async () => {
    const { verifyAccessToken } = await import('../src/index.js');
    const options = { issuer: as.issuer, audience: AUDIENCE, jwksUri: `${as.jwksUri}?${randomUUID()}` };
    const before = as.counts.jwks;
    for (let i = 0; i < 5; i++) await verifyAccessToken(await as.mint(), options);
    assert.equal(as.counts.jwks - before, 1);
  });
});
