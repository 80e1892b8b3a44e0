// RFC 7662 §2 and §4: introspection mode (checklist RS-02). Answers are cached by token digest, never
// beyond the TTL nor the token's exp; inactive, foreign or refresh tokens are refused.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createVerifier,
  InsufficientScopeError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  type VerifierOptions,
} from '../src/index.js';
import { clientSecretBasic, tokenDigest } from '../src/introspection.js';
import { ExpiringLruCache } from '../src/expiring-lru-cache.js';
import { activeIntrospection, AUDIENCE, nowSeconds, OTHER_AUDIENCE, rejection, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;

before(async () => {
  as = await startAuthServer();
});
after(() => as.close());
beforeEach(() => {
  as.introspection.clear();
  as.counts.introspection = 0;
  as.introspectionClient = { id: 'rs a', secret: 'p@ss:wörd/+' };
});

const opaque = () => randomBytes(32).toString('base64url');

function options(introspection: Partial<NonNullable<VerifierOptions['introspection']>> = {}): VerifierOptions {
  return {
    issuer: as.issuer,
    audience: AUDIENCE,
    introspection: { clientId: 'rs a', clientSecret: 'p@ss:wörd/+', ...introspection },
  };
}

async function assertInvalidToken(promise: Promise<unknown>): Promise<InvalidTokenError> {
  const error = await rejection(promise);
  assert.ok(error instanceof InvalidTokenError, `expected InvalidTokenError, got ${String(error)}`);
  assert.equal(error.status, 401);
  return error;
}

describe('introspection mode', () => {
  it('accepts an active token, found through discovery, with client_secret_basic (RFC 6749 §2.3.1)', async () => {
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer, { sub: 'carol' }));
    const verify = createVerifier(options());
    const claims = await verify(token);
    assert.equal(claims.sub, 'carol');
    assert.equal('active' in claims, false);
    // id "rs a" and secret "p@ss:wörd/+" are form-urlencoded before base64: "rs+a:p%40ss%3Aw%C3%B6rd%2F%2B"
    assert.equal(as.lastIntrospection?.authorization, `Basic ${Buffer.from('rs+a:p%40ss%3Aw%C3%B6rd%2F%2B').toString('base64')}`);
    assert.equal(as.lastIntrospection?.contentType, 'application/x-www-form-urlencoded');
    const body = new URLSearchParams(as.lastIntrospection?.body);
    assert.equal(body.get('token'), token);
    assert.equal(body.get('token_type_hint'), 'access_token');
  });

  it('uses an explicit introspection endpoint without discovery', async () => {
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer));
    const before = as.counts.oauthMetadata;
    await createVerifier(options({ endpoint: as.introspectionEndpoint }))(token);
    assert.equal(as.counts.oauthMetadata, before);
  });

  it('BR-02 an inactive (unknown or revoked) token is invalid_token', async () => {
    const error = await assertInvalidToken(createVerifier(options())(opaque()));
    assert.equal(error.description, 'The access token is not active');
  });

  it("RS-01 checks aud, iss and exp of the answer: RS-B's token at RS-A is refused", async () => {
    const verify = createVerifier(options());
    const cases: Record<string, unknown>[] = [
      { aud: OTHER_AUDIENCE },
      { aud: undefined },
      { iss: 'https://evil.example' },
      { iss: undefined },
      { exp: nowSeconds() - 120 },
      { exp: undefined },
      { nbf: nowSeconds() + 120 },
      { sub: undefined },
      { client_id: undefined },
      { token_type: 'refresh_token' },
      { cnf: { jkt: 'x' } },
    ];
    for (const extra of cases) {
      const token = opaque();
      as.introspection.set(token, activeIntrospection(as.issuer, extra));
      const error = await rejection(verify(token));
      assert.ok(error instanceof InvalidTokenError, `${JSON.stringify(extra)} must be refused with invalid_token`);
    }
    // Not an RFC 7662 answer at all: the authorization server misbehaves (503), the token is not accepted.
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer, { active: 'true' }));
    assert.ok((await rejection(verify(token))) instanceof TemporarilyUnavailableError);
  });

  it('BR-03 scopes are checked on the introspection answer', async () => {
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer, { scope: 'photos:read' }));
    const verify = createVerifier(options());
    await verify(token, { scopes: ['photos:read'] });
    const error = await rejection(verify(token, { scopes: ['photos:write'] }));
    assert.ok(error instanceof InsufficientScopeError);
    assert.equal(error.scope, 'photos:write');
  });

  it('RS-02 a revoked token is refused once the cache TTL has passed (mocked clock)', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer));
    const verify = createVerifier(options({ cacheTtlSeconds: 2 }));
    await verify(token);
    as.introspection.delete(token); // revoked at the authorization server
    t.mock.timers.tick(1_999);
    await verify(token); // still within the documented TTL: served from the cache
    assert.equal(as.counts.introspection, 1);
    t.mock.timers.tick(1);
    await assertInvalidToken(verify(token));
    assert.equal(as.counts.introspection, 2);
  });

  it('RS-02 a revoked token is refused once a 1 s cache TTL has passed (real clock)', async () => {
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer));
    const verify = createVerifier(options({ cacheTtlSeconds: 1 }));
    await verify(token);
    as.introspection.delete(token);
    await sleep(1_100);
    await assertInvalidToken(verify(token));
  });

  it("RS-02 a cached answer never outlives the token's exp, even with a longer TTL", async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer, { exp: nowSeconds() + 5 }));
    const verify = createVerifier(options({ cacheTtlSeconds: 60 }));
    await verify(token);
    t.mock.timers.tick(4_000);
    await verify(token);
    assert.equal(as.counts.introspection, 1);
    t.mock.timers.tick(2_000); // past exp (still within the 60 s leeway), 54 s before the TTL
    as.introspection.delete(token);
    await assertInvalidToken(verify(token));
    assert.equal(as.counts.introspection, 2, 'the entry expired with the token');
  });

  it('caches inactive answers for the TTL too, and shares one request between concurrent checks', async () => {
    const verify = createVerifier(options());
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer));
    await Promise.all(Array.from({ length: 10 }, () => verify(token)));
    assert.equal(as.counts.introspection, 1);
    const bad = opaque();
    await assertInvalidToken(verify(bad));
    await assertInvalidToken(verify(bad));
    assert.equal(as.counts.introspection, 2);
  });

  it('cacheTtlSeconds 0 disables the cache', async () => {
    const token = opaque();
    as.introspection.set(token, activeIntrospection(as.issuer));
    const verify = createVerifier(options({ cacheTtlSeconds: 0 }));
    await verify(token);
    await verify(token);
    assert.equal(as.counts.introspection, 2);
  });

  it('the cache is bounded: past cacheMaxEntries the least recently used answer is dropped', async () => {
    const verify = createVerifier(options({ cacheMaxEntries: 2 }));
    const [a, b, c] = [opaque(), opaque(), opaque()];
    for (const token of [a, b, c]) as.introspection.set(token, activeIntrospection(as.issuer));
    await verify(a);
    await verify(b);
    await verify(a); // a is now the most recently used
    await verify(c); // evicts b
    assert.equal(as.counts.introspection, 3);
    await verify(a);
    await verify(c);
    assert.equal(as.counts.introspection, 3);
    await verify(b);
    assert.equal(as.counts.introspection, 4);
  });

  it('wrong client credentials at the introspection endpoint are a 503, not a client error', async () => {
    as.introspectionClient = { id: 'someone else', secret: 'x' };
    const error = await rejection(createVerifier(options())(opaque()));
    assert.ok(error instanceof TemporarilyUnavailableError);
    assert.equal(error.status, 503);
  });

  it('rejects a token over 16 KiB without calling the endpoint', async () => {
    await assertInvalidToken(createVerifier(options())('a'.repeat(16 * 1024 + 1)));
    assert.equal(as.counts.introspection, 0);
  });

  it('checks cacheTtlSeconds and credentials at creation', () => {
    assert.throws(() => createVerifier(options({ cacheTtlSeconds: -1 })), TypeError);
    assert.throws(() => createVerifier(options({ clientSecret: '' })), TypeError);
  });
});

describe('introspection internals', () => {
  it('keys the cache by base64url SHA-256 of the token, not the token', async () => {
    const token = opaque();
    const digest = await tokenDigest(token);
    assert.equal(digest, createHash('sha256').update(token).digest('base64url'));
    assert.ok(!digest.includes(token));
  });

  it('client_secret_basic form-urlencodes both parts (RFC 6749 §2.3.1)', () => {
    const header = clientSecretBasic('a b', 'x:y%z');
    assert.equal(Buffer.from(header.slice('Basic '.length), 'base64').toString(), 'a+b:x%3Ay%25z');
  });

  it('ExpiringLruCache never returns an entry at or after its expiry and keeps its bound', () => {
    const cache = new ExpiringLruCache<number>(3);
    cache.set('a', 1, 1_000, 0);
    assert.equal(cache.get('a', 999), 1);
    assert.equal(cache.get('a', 1_000), undefined);
    cache.set('past', 1, 5, 10);
    assert.equal(cache.size, 0, 'an entry already expired is not stored');
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, i, 10_000, 0);
    assert.equal(cache.size, 3);
    assert.equal(cache.get('k9', 1), 9);
    assert.equal(cache.get('k0', 1), undefined);
  });
});
