// RFC 7517 / checklist KR-02, KR-03: key rotation at the resource server. An unknown kid refetches the
// JWKS, at most once per interval. The clock is node:test's mocked Date, so intervals pass without sleeping.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createVerifier, InvalidTokenError } from '../src/index.js';
import { AUDIENCE, makeKey, rejection, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;

before(async () => {
  as = await startAuthServer();
});
after(() => as.close());
beforeEach(() => {
  as.jwks = [as.es256.jwk, as.rs256.jwk];
  as.counts.jwks = 0;
});

const unknownKidToken = () => as.mint({ header: { kid: randomUUID() } });

describe('key rotation', () => {
  it('KR-03 a token signed by a new kid not yet in the cached JWKS triggers exactly one refetch and verifies', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri });
    await verify(await as.mint());
    assert.equal(as.counts.jwks, 1);

    const next = await makeKey('ES256');
    as.jwks = [...as.jwks, next.jwk]; // KR-02: the new key is published before it signs
    t.mock.timers.tick(31_000); // past the 30 s refetch interval since the first fetch

    const tokens = await Promise.all(Array.from({ length: 20 }, () => as.mint({ key: next, claims: { sub: 'rotated' } })));
    const results = await Promise.all(tokens.map((token) => verify(token)));
    assert.ok(results.every((claims) => claims.sub === 'rotated'));
    assert.equal(as.counts.jwks, 2, 'twenty concurrent new-kid tokens, one refetch');

    await verify(await as.mint()); // KR-02: tokens of the old key still verify, from the cache
    await verify(await as.mint({ key: next }));
    assert.equal(as.counts.jwks, 2);
  });

  it('KR-03 within the interval an unknown kid does not refetch; after it, it does', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri });
    await verify(await as.mint());
    const next = await makeKey('RS256');
    as.jwks = [...as.jwks, next.jwk];
    t.mock.timers.tick(10_000);
    const early = await as.mint({ key: next });
    assert.ok((await rejection(verify(early))) instanceof InvalidTokenError);
    assert.equal(as.counts.jwks, 1, 'no refetch within 30 s of the last one');
    t.mock.timers.tick(21_000);
    await verify(await as.mint({ key: next }));
    assert.equal(as.counts.jwks, 2);
  });

  it('KR-03 a flood of unknown kids triggers at most one JWKS fetch per interval', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri });
    await verify(await as.mint());
    assert.equal(as.counts.jwks, 1);
    t.mock.timers.tick(31_000);

    const concurrent = await Promise.allSettled(
      (await Promise.all(Array.from({ length: 200 }, unknownKidToken))).map((token) => verify(token)),
    );
    assert.ok(concurrent.every((r) => r.status === 'rejected' && r.reason instanceof InvalidTokenError));
    assert.equal(as.counts.jwks, 2, '200 concurrent unknown kids: one fetch');

    for (let i = 0; i < 100; i++) assert.ok((await rejection(verify(await unknownKidToken()))) instanceof InvalidTokenError);
    t.mock.timers.tick(29_000);
    for (let i = 0; i < 100; i++) assert.ok((await rejection(verify(await unknownKidToken()))) instanceof InvalidTokenError);
    assert.equal(as.counts.jwks, 2, 'sequential unknown kids within the interval: no fetch');

    t.mock.timers.tick(2_000);
    for (let i = 0; i < 50; i++) assert.ok((await rejection(verify(await unknownKidToken()))) instanceof InvalidTokenError);
    assert.equal(as.counts.jwks, 3, 'next interval: exactly one more fetch');
  });

  it('KR-03 the refetch interval is configurable', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri, jwksRefetchIntervalSeconds: 5 });
    await verify(await as.mint());
    t.mock.timers.tick(4_000);
    await rejection(verify(await unknownKidToken()));
    assert.equal(as.counts.jwks, 1);
    t.mock.timers.tick(1_001);
    await rejection(verify(await unknownKidToken()));
    assert.equal(as.counts.jwks, 2);
  });

  it('KR-02 a retired key stops verifying once the cached JWKS ages out (10 minutes)', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri });
    await verify(await as.mint({ key: as.rs256 }));
    as.jwks = [as.es256.jwk]; // RS256 key retired at the authorization server
    t.mock.timers.tick(300_000);
    await verify(await as.mint({ key: as.rs256 })); // still cached
    assert.equal(as.counts.jwks, 1);
    t.mock.timers.tick(301_000);
    assert.ok((await rejection(verify(await as.mint({ key: as.rs256 })))) instanceof InvalidTokenError);
    assert.equal(as.counts.jwks, 2, 'the stale JWKS was refetched before use');
    await verify(await as.mint());
  });
});
