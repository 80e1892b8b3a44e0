// The Fastify 5 adapter end to end through app.inject(): RFC 6750 statuses, challenges and bodies
// (checklist BR-01…BR-06, RS-01) on routes that opt in with `config: { scopes }`.

import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { createVerifier, fastifyAccessToken, type FastifyAccessTokenOptions } from '../src/index.js';
import { AUDIENCE, OTHER_AUDIENCE, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;
before(async () => {
  as = await startAuthServer();
});
after(() => as.close());

async function build(t: TestContext, options?: FastifyAccessTokenOptions): Promise<FastifyInstance> {
  const app = Fastify();
  t.after(() => app.close());
  // A minimal form parser, so that body tokens (RFC 6750 §2.2) reach the plugin.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const params = new URLSearchParams(body as string);
    const fields: Record<string, string | string[]> = {};
    for (const key of new Set(params.keys())) {
      const values = params.getAll(key);
      fields[key] = values.length === 1 ? (values[0] as string) : values;
    }
    done(null, fields);
  });
  await app.register(fastifyAccessToken, options ?? { issuer: as.issuer, audience: AUDIENCE, realm: 'photos' });
  app.get('/public', async (request) => ({ ok: true, accessToken: request.accessToken }));
  app.get('/photos', { config: { scopes: ['photos:read'] } }, async (request) => ({ sub: request.accessToken?.sub }));
  app.post('/photos', { config: { scopes: ['photos:read'] } }, async (request) => ({ sub: request.accessToken?.sub }));
  app.delete('/photos', { config: { scopes: ['photos:delete'] } }, async () => ({ deleted: true }));
  app.get('/me', { config: { scopes: [] } }, async (request) => ({ client: request.accessToken?.client_id }));
  return app;
}

describe('Fastify plugin', () => {
  it('leaves routes without config.scopes alone', async (t) => {
    const app = await build(t);
    const response = await app.inject({ url: '/public' });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { ok: true, accessToken: null });
  });

  it('accepts a valid token with the scope and sets request.accessToken', async (t) => {
    const app = await build(t);
    const token = await as.mint({ claims: { sub: 'dave' } });
    const response = await app.inject({ url: '/photos', headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { sub: 'dave' });
  });

  it('BR-06 accepts the lower-case "bearer" scheme', async (t) => {
    const app = await build(t);
    const response = await app.inject({ url: '/photos', headers: { authorization: `bearer ${await as.mint()}` } });
    assert.equal(response.statusCode, 200);
  });

  it('config.scopes [] requires a valid token and no particular scope', async (t) => {
    const app = await build(t);
    assert.equal((await app.inject({ url: '/me' })).statusCode, 401);
    const response = await app.inject({
      url: '/me',
      headers: { authorization: `Bearer ${await as.mint({ claims: { scope: undefined } })}` },
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), { client: 'client-1' });
  });

  it('BR-01 no credentials: 401, challenge with realm and no error', async (t) => {
    const app = await build(t);
    const response = await app.inject({ url: '/photos' });
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="photos"');
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.equal(response.json().error, undefined);
  });

  it('BR-05 a token in the query alone is ignored: 401 without error', async (t) => {
    const app = await build(t);
    const response = await app.inject({ url: `/photos?access_token=${await as.mint()}` });
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="photos"');
  });

  it('BR-02 / RS-01 an invalid token: 401 invalid_token with a JSON body', async (t) => {
    const app = await build(t);
    for (const token of [await as.mint({ claims: { aud: OTHER_AUDIENCE } }), await as.mint({ header: { typ: 'JWT' } }), 'garbage']) {
      const response = await app.inject({ url: '/photos', headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.statusCode, 401);
      assert.match(String(response.headers['www-authenticate']), /^Bearer realm="photos", error="invalid_token", error_description="/);
      const body = response.json();
      assert.equal(body.error, 'invalid_token');
      assert.equal(typeof body.error_description, 'string');
    }
  });

  it('BR-03 insufficient scope: 403 with scope in the challenge', async (t) => {
    const app = await build(t);
    const response = await app.inject({ method: 'DELETE', url: '/photos', headers: { authorization: `Bearer ${await as.mint()}` } });
    assert.equal(response.statusCode, 403);
    assert.match(String(response.headers['www-authenticate']), /error="insufficient_scope".*scope="photos:delete"/);
    assert.equal(response.json().error, 'insufficient_scope');
  });

  it('BR-04 "Bearer" without a token: 400 invalid_request', async (t) => {
    const app = await build(t);
    const response = await app.inject({ url: '/photos', headers: { authorization: 'Bearer' } });
    assert.equal(response.statusCode, 400);
    assert.equal(response.json().error, 'invalid_request');
    assert.match(String(response.headers['www-authenticate']), /error="invalid_request"/);
  });

  it('accepts a token in a form-encoded POST body, and BR-04 refuses one sent two ways', async (t) => {
    const app = await build(t);
    const token = await as.mint({ claims: { sub: 'erin' } });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await app.inject({ method: 'POST', url: '/photos', headers: form, payload: `access_token=${token}` });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { sub: 'erin' });
    const twice = await app.inject({
      method: 'POST',
      url: '/photos',
      headers: { ...form, authorization: `Bearer ${token}` },
      payload: `access_token=${token}`,
    });
    assert.equal(twice.statusCode, 400);
    assert.equal(twice.json().error, 'invalid_request');
  });

  it('rejects a header token before the body is parsed (a JSON body never reaches the parser)', async (t) => {
    const app = await build(t);
    const response = await app.inject({
      method: 'POST',
      url: '/photos',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    assert.equal(response.statusCode, 401, 'authentication runs in onRequest, before the 400 of a bad body');
  });

  it('answers 503 without a challenge when the authorization server is unreachable', async (t) => {
    const app = await build(t, { issuer: 'http://127.0.0.1:9', audience: AUDIENCE, httpTimeoutSeconds: 2 });
    const response = await app.inject({ url: '/photos', headers: { authorization: `Bearer ${await as.mint()}` } });
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers['www-authenticate'], undefined);
    assert.equal(response.json().error, 'temporarily_unavailable');
  });

  it('accepts a prepared verifier and exposes it as app.accessTokenVerifier', async (t) => {
    const verifier = createVerifier({
      issuer: as.issuer,
      audience: AUDIENCE,
      resourceMetadata: 'https://photos.example/.well-known/oauth-protected-resource',
    });
    const app = await build(t, { verifier });
    assert.equal(app.accessTokenVerifier, verifier);
    const response = await app.inject({ url: '/photos' });
    assert.equal(
      response.headers['www-authenticate'],
      `Bearer realm="${AUDIENCE}", resource_metadata="https://photos.example/.well-known/oauth-protected-resource"`,
    );
  });

  it('a route with a malformed scope fails at start-up', async (t) => {
    const app = Fastify();
    t.after(() => app.close());
    await app.register(fastifyAccessToken, { issuer: as.issuer, audience: AUDIENCE });
    assert.throws(() => app.get('/x', { config: { scopes: ['two words'] } }, async () => 'x'), TypeError);
  });
});
