// The Express adapter end to end: a listening server on 127.0.0.1:0 driven with fetch (checklist BR-01,
// BR-02, BR-03, BR-04, BR-05, BR-06).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { expressAccessToken, requireScopesExpress } from '../src/index.js';
import { AUDIENCE, OTHER_AUDIENCE, startAuthServer, type TestAuthServer } from './helpers.js';

let as: TestAuthServer;
let server: Server;
let base: string;

before(async () => {
  as = await startAuthServer();
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  const auth = expressAccessToken({ issuer: as.issuer, audience: AUDIENCE, realm: 'photos' });
  app.get('/public', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/photos', auth, requireScopesExpress(['photos:read']), (req, res) => {
    res.json({ sub: req.accessToken?.sub });
  });
  app.post('/photos', auth, requireScopesExpress(['photos:read']), (req, res) => {
    res.json({ sub: req.accessToken?.sub });
  });
  app.delete('/photos', auth, requireScopesExpress(['photos:delete']), (_req, res) => {
    res.json({ deleted: true });
  });
  app.get('/admin', expressAccessToken({ issuer: as.issuer, audience: AUDIENCE }, { scopes: ['admin'] }), (_req, res) => {
    res.json({ admin: true });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await as.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('Express middleware', () => {
  it('leaves unprotected routes alone', async () => {
    assert.equal((await fetch(`${base}/public`)).status, 200);
  });

  it('accepts a valid token and sets req.accessToken', async () => {
    const response = await fetch(`${base}/photos`, { headers: bearer(await as.mint({ claims: { sub: 'frank' } })) });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { sub: 'frank' });
  });

  it('BR-06 accepts the lower-case "bearer" scheme', async () => {
    const response = await fetch(`${base}/photos`, { headers: { authorization: `bearer ${await as.mint()}` } });
    assert.equal(response.status, 200);
  });

  it('BR-01 no credentials: 401, realm only', async () => {
    const response = await fetch(`${base}/photos`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="photos"');
    assert.equal(((await response.json()) as { error?: string }).error, undefined);
  });

  it('BR-05 a query token alone is ignored', async () => {
    const response = await fetch(`${base}/photos?access_token=${await as.mint()}`);
    assert.equal(response.status, 401);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="photos"');
  });

  it("BR-02 RS-B's token at RS-A: 401 invalid_token", async () => {
    const response = await fetch(`${base}/photos`, { headers: bearer(await as.mint({ claims: { aud: OTHER_AUDIENCE } })) });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_token');
  });

  it('BR-03 requireScopesExpress: 403 insufficient_scope with the scope and the realm', async () => {
    const response = await fetch(`${base}/photos`, { method: 'DELETE', headers: bearer(await as.mint()) });
    assert.equal(response.status, 403);
    assert.equal(
      response.headers.get('www-authenticate'),
      'Bearer realm="photos", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="photos:delete"',
    );
  });

  it('BR-03 scopes given to expressAccessToken itself', async () => {
    const response = await fetch(`${base}/admin`, { headers: bearer(await as.mint()) });
    assert.equal(response.status, 403);
    assert.match(response.headers.get('www-authenticate') ?? '', /scope="admin"/);
    const allowed = await fetch(`${base}/admin`, { headers: bearer(await as.mint({ claims: { scope: 'admin' } })) });
    assert.equal(allowed.status, 200);
  });

  it('accepts a form body token, and BR-04 refuses header plus body', async () => {
    const token = await as.mint({ claims: { sub: 'gina' } });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const ok = await fetch(`${base}/photos`, { method: 'POST', headers: form, body: `access_token=${token}` });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { sub: 'gina' });
    const twice = await fetch(`${base}/photos`, {
      method: 'POST',
      headers: { ...form, ...bearer(token) },
      body: `access_token=${token}`,
    });
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { error: string }).error, 'invalid_request');
  });

  it('BR-04 "Bearer" with no token: 400', async () => {
    const response = await fetch(`${base}/photos`, { headers: { authorization: 'Bearer' } });
    assert.equal(response.status, 400);
  });
});
