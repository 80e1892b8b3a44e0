// RFC 6750 §2 and §3.1: where a token may come from, and which requests are malformed (checklist BR-01,
// BR-04, BR-05, BR-06), for Fetch `Request`s and Node-style requests, through the real verifier.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createVerifier, extractAccessToken, InvalidRequestError, MissingTokenError, type AccessTokenVerifier } from '../src/index.js';
import { AUDIENCE, rejection, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;
let verify: AccessTokenVerifier;
let token: string;

before(async () => {
  as = await startAuthServer();
  verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, realm: 'photos' });
  token = await as.mint({ claims: { sub: 'bob' } });
});
after(() => as.close());

const form = { 'content-type': 'application/x-www-form-urlencoded' };

async function assertInvalidRequest(promise: Promise<unknown>): Promise<InvalidRequestError> {
  const error = await rejection(promise);
  assert.ok(error instanceof InvalidRequestError, `expected InvalidRequestError, got ${String(error)}`);
  assert.equal(error.code, 'invalid_request');
  assert.equal(error.status, 400);
  assert.match(error.wwwAuthenticate(verify.challenge) ?? '', /^Bearer realm="photos", error="invalid_request"/);
  return error;
}

async function assertMissing(promise: Promise<unknown>): Promise<MissingTokenError> {
  const error = await rejection(promise);
  assert.ok(error instanceof MissingTokenError, `expected MissingTokenError, got ${String(error)}`);
  assert.equal(error.status, 401);
  return error;
}

describe('Authorization header', () => {
  it('accepts "Bearer <token>" from a Fetch Request and from a Node-style request', async () => {
    assert.equal((await verify(new Request('http://api.test/', { headers: { authorization: `Bearer ${token}` } }))).sub, 'bob');
    assert.equal((await verify({ headers: { authorization: `Bearer ${token}` }, method: 'GET' })).sub, 'bob');
  });

  it('BR-06 the scheme is case-insensitive: "bearer" and "BEARER" are accepted', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      assert.equal((await verify({ headers: { authorization: `${scheme} ${token}` } })).sub, 'bob');
      assert.equal((await verify(new Request('http://api.test/', { headers: { authorization: `${scheme} ${token}` } }))).sub, 'bob');
    }
  });

  it('BR-01 no credentials: 401 whose challenge has a realm and no error code', async () => {
    for (const input of [new Request('http://api.test/'), { headers: {} }]) {
      const error = await assertMissing(verify(input));
      const challenge = error.wwwAuthenticate(verify.challenge);
      assert.equal(challenge, 'Bearer realm="photos"');
      assert.doesNotMatch(challenge ?? '', /error/);
      assert.equal('error' in error.toJSON(), false);
    }
  });

  it('BR-01 another scheme (Basic) counts as no bearer credentials', async () => {
    await assertMissing(verify({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }));
  });

  it('BR-04 "Bearer" without a token is invalid_request', async () => {
    await assertInvalidRequest(verify({ headers: { authorization: 'Bearer' } }));
    await assertInvalidRequest(verify({ headers: { authorization: 'Bearer ' } }));
    await assertInvalidRequest(verify(new Request('http://api.test/', { headers: { authorization: 'Bearer' } })));
  });

  it('BR-04 a malformed header is invalid_request', async () => {
    await assertInvalidRequest(verify({ headers: { authorization: `Bearer ${token} extra` } }));
    await assertInvalidRequest(verify({ headers: { authorization: 'Bearer a,b' } }));
    await assertInvalidRequest(verify({ headers: { authorization: '(Bearer) x' } }));
  });

  it('BR-04 a repeated Authorization header is invalid_request', async () => {
    // Node keeps only the first Authorization header; rawHeaders shows the repetition.
    await assertInvalidRequest(
      verify({
        headers: { authorization: `Bearer ${token}` },
        rawHeaders: ['Authorization', `Bearer ${token}`, 'authorization', `Bearer ${token}`],
      }),
    );
    await assertInvalidRequest(verify({ headers: { authorization: [`Bearer ${token}`, `Bearer ${token}`] } }));
    const headers = new Headers();
    headers.append('authorization', `Bearer ${token}`);
    headers.append('authorization', `Bearer ${token}`);
    await assertInvalidRequest(verify(new Request('http://api.test/', { headers })));
  });
});

describe('form body and query', () => {
  it('accepts access_token in a form-encoded POST body (Fetch Request and parsed Node body)', async () => {
    const request = new Request('http://api.test/', { method: 'POST', headers: form, body: `a=1&access_token=${token}` });
    assert.equal((await verify(request)).sub, 'bob');
    assert.equal(await request.text(), `a=1&access_token=${token}`, 'the body is still readable by the handler');
    assert.equal((await verify({ method: 'POST', headers: form, body: { access_token: token } })).sub, 'bob');
    assert.equal((await verify({ method: 'POST', headers: form, body: `access_token=${token}` })).sub, 'bob');
  });

  it('BR-06 a body token only counts on a form-encoded POST', async () => {
    await assertMissing(verify({ method: 'GET', headers: form, body: { access_token: token } }));
    await assertMissing(verify({ method: 'POST', headers: { 'content-type': 'application/json' }, body: { access_token: token } }));
    await assertMissing(verify(new Request('http://api.test/', { method: 'PUT', headers: form, body: `access_token=${token}` })));
  });

  it('BR-04 a token sent two ways (header and body) is invalid_request', async () => {
    const error = await assertInvalidRequest(
      verify({ method: 'POST', headers: { ...form, authorization: `Bearer ${token}` }, body: { access_token: token } }),
    );
    assert.equal(error.description, 'The access token was sent in more than one way');
    await assertInvalidRequest(
      verify(
        new Request('http://api.test/', {
          method: 'POST',
          headers: { ...form, authorization: `Bearer ${token}` },
          body: `access_token=${token}`,
        }),
      ),
    );
  });

  it('BR-04 a repeated access_token body parameter is invalid_request', async () => {
    await assertInvalidRequest(verify({ method: 'POST', headers: form, body: { access_token: [token, token] } }));
    await assertInvalidRequest(verify({ method: 'POST', headers: form, body: `access_token=${token}&access_token=${token}` }));
  });

  it('BR-05 an access_token in the query is ignored: alone it is a request without credentials', async () => {
    await assertMissing(verify(new Request(`http://api.test/photos?access_token=${token}`)));
    const nodeRequest = { method: 'GET', url: `/photos?access_token=${token}`, headers: {}, query: { access_token: token } };
    await assertMissing(verify(nodeRequest));
  });

  it('BR-05 a query token next to a header token is ignored, not "sent two ways"', async () => {
    const request = new Request(`http://api.test/photos?access_token=garbage`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal((await verify(request)).sub, 'bob');
  });

  it('an empty access_token parameter counts as absent', async () => {
    await assertMissing(extractAccessToken({ method: 'POST', headers: form, body: { access_token: '' } }));
  });
});
