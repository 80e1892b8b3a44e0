// RFC 8414 §3 and OpenID Connect Discovery §4: the JWKS is found through the issuer's metadata, whose
// issuer must match (TL-02); an unreachable authorization server is a 503, never a 401.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier, discoveryUrls, TemporarilyUnavailableError } from '../src/index.js';
import { AUDIENCE, rejection, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;

before(async () => {
  as = await startAuthServer();
});
after(() => as.close());
beforeEach(() => {
  as.metadata.oauthStatus = 200;
  as.metadata.openidStatus = 200;
  as.metadata.issuer = undefined;
  as.jwksStatus = 200;
  as.counts.oauthMetadata = 0;
  as.counts.openidMetadata = 0;
  as.counts.jwks = 0;
});

async function assertUnavailable(promise: Promise<unknown>): Promise<TemporarilyUnavailableError> {
  const error = await rejection(promise);
  assert.ok(error instanceof TemporarilyUnavailableError, `expected TemporarilyUnavailableError, got ${String(error)}`);
  assert.equal(error.status, 503);
  assert.equal(error.code, 'temporarily_unavailable');
  assert.equal(error.wwwAuthenticate({ realm: 'x' }), undefined, 'no challenge: the client is not at fault');
  return error;
}

describe('discovery', () => {
  it('reads RFC 8414 oauth-authorization-server first, once for many requests', async () => {
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
    await Promise.all([verify(await as.mint()), verify(await as.mint())]);
    for (let i = 0; i < 5; i++) await verify(await as.mint());
    assert.equal(as.counts.oauthMetadata, 1);
    assert.equal(as.counts.openidMetadata, 0);
    assert.equal(as.counts.jwks, 1);
  });

  it('falls back to openid-configuration when oauth-authorization-server is missing', async () => {
    as.metadata.oauthStatus = 404;
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
    assert.equal((await verify(await as.mint())).sub, 'user-1');
    assert.equal(as.counts.oauthMetadata, 1);
    assert.equal(as.counts.openidMetadata, 1);
  });

  it('TL-02 refuses metadata whose issuer differs from the configured issuer (503, JWKS never fetched)', async () => {
    as.metadata.issuer = 'https://evil.example';
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
    await assertUnavailable(verify(await as.mint()));
    assert.equal(as.counts.jwks, 0);
    assert.equal(as.counts.openidMetadata, 0, 'a mismatch is not a reason to try the other document');
  });

  it('an explicit jwksUri skips discovery', async () => {
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri });
    await verify(await as.mint());
    assert.equal(as.counts.oauthMetadata + as.counts.openidMetadata, 0);
    assert.equal(as.counts.jwks, 1);
  });

  it('no metadata at all is a 503, and a later request retries discovery', async () => {
    as.metadata.oauthStatus = 404;
    as.metadata.openidStatus = 404;
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE });
    await assertUnavailable(verify(await as.mint()));
    as.metadata.oauthStatus = 200;
    assert.equal((await verify(await as.mint())).sub, 'user-1');
    assert.equal(as.counts.oauthMetadata, 2);
  });

  it('a failing JWKS endpoint is a 503 (temporarily_unavailable), not invalid_token', async () => {
    as.jwksStatus = 500;
    const verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, jwksUri: as.jwksUri });
    await assertUnavailable(verify(await as.mint()));
  });

  it('an unreachable authorization server is a 503', async () => {
    const verify = createVerifier({ issuer: 'http://127.0.0.1:9', audience: AUDIENCE, httpTimeoutSeconds: 2 });
    await assertUnavailable(verify(await as.mint()));
  });

  it('builds RFC 8414 and OpenID discovery URLs, also for an issuer with a path', () => {
    assert.deepEqual(discoveryUrls('https://as.example').map(String), [
      'https://as.example/.well-known/oauth-authorization-server',
      'https://as.example/.well-known/openid-configuration',
    ]);
    assert.deepEqual(discoveryUrls('https://as.example/tenant/a').map(String), [
      'https://as.example/.well-known/oauth-authorization-server/tenant/a',
      'https://as.example/tenant/a/.well-known/openid-configuration',
    ]);
  });
});
