// The web-standard adapter: `createVerifier(options)` called with a Fetch `Request`, and `errorResponse`
// for Hono/Workers-style handlers (checklist BR-01, BR-02, BR-03, BR-05).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier, errorResponse, InvalidTokenError, type AccessTokenVerifier } from '../src/index.js';
import { AUDIENCE, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;
let verify: AccessTokenVerifier;

/** A Workers-style handler built on the verifier. */
async function handler(request: Request): Promise<Response> {
  try {
    const claims = await verify(request, { scopes: ['photos:read'] });
    return Response.json({ sub: claims.sub });
  } catch (error) {
    return verify.errorResponse(error);
  }
}

before(async () => {
  as = await startAuthServer();
  verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, realm: 'photos' });
});
after(() => as.close());

describe('web-standard verifier', () => {
  it('returns the claims of a valid token', async () => {
    const response = await handler(
      new Request('https://photos.example/api/photos', {
        headers: { authorization: `Bearer ${await as.mint({ claims: { sub: 'hana' } })}` },
      }),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { sub: 'hana' });
  });

  it('BR-01 / BR-05 no credentials (or only a query token): 401 with realm only', async () => {
    for (const url of ['https://photos.example/api/photos', `https://photos.example/api/photos?access_token=${await as.mint()}`]) {
      const response = await handler(new Request(url));
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="photos"');
      assert.equal(response.headers.get('content-type'), 'application/json');
    }
  });

  it('BR-02 an expired token: 401 invalid_token', async () => {
    const token = await as.mint({ claims: { exp: Math.floor(Date.now() / 1000) - 3600 } });
    const response = await handler(new Request('https://photos.example/api/photos', { headers: { authorization: `Bearer ${token}` } }));
    assert.equal(response.status, 401);
    assert.deepEqual(await response.json(), { error: 'invalid_token', error_description: 'The access token expired' });
    assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token", error_description="The access token expired"/);
  });

  it('BR-03 missing scope: 403 insufficient_scope', async () => {
    const token = await as.mint({ claims: { scope: 'openid' } });
    const response = await handler(new Request('https://photos.example/api/photos', { headers: { authorization: `Bearer ${token}` } }));
    assert.equal(response.status, 403);
    assert.match(response.headers.get('www-authenticate') ?? '', /scope="photos:read"/);
  });

  it('errorResponse: RFC 6750 for AccessTokenError, a bare 500 for anything else', async () => {
    const invalid = errorResponse(new InvalidTokenError(), { realm: 'r' });
    assert.equal(invalid.status, 401);
    assert.match(invalid.headers.get('www-authenticate') ?? '', /^Bearer realm="r", error="invalid_token"/);
    const crash = errorResponse(new Error('database password is hunter2'));
    assert.equal(crash.status, 500);
    const text = await crash.text();
    assert.deepEqual(JSON.parse(text), { error: 'server_error' });
    assert.ok(!text.includes('hunter2'));
  });
});
