// The demo photos API over HTTP (app.inject), with real RS256 access tokens from a local issuer.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildApi } from '../src/app.js';
import { MAX_PHOTOS_PER_LIBRARY, PhotoStore } from '../src/photos.js';
import { startTestIssuer, type TestIssuer } from './helpers/test-issuer.js';

const RESOURCE = 'http://127.0.0.1:9100';
let issuer: TestIssuer;
let app: ReturnType<typeof buildApi>;

before(async () => {
  issuer = await startTestIssuer(RESOURCE);
  app = buildApi({ issuer: issuer.issuer, resource: RESOURCE, logger: false });
});
after(async () => {
  await app.close();
  await issuer.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

test('GET /me says who the token is about: sub, client_id and scope', async () => {
  const token = issuer.accessToken({ sub: 'user-42', client_id: 'photo-printer', scope: 'openid photos:read' });
  const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(token) });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { sub: 'user-42', client_id: 'photo-printer', scope: 'openid photos:read' });
  assert.equal(response.headers['cache-control'], 'no-store');
});

test('GET /photos with photos:read lists the seeded photos of the token subject', async () => {
  const response = await app.inject({ method: 'GET', url: '/photos', headers: bearer(issuer.accessToken()) });
  assert.equal(response.statusCode, 200);
  const { photos } = response.json() as { photos: Array<{ id: string; title: string; thumbnail: string }> };
  assert.ok(photos.length >= 3);
  for (const photo of photos) {
    assert.ok(photo.title.length > 0);
    assert.match(photo.thumbnail, /^data:image\/svg\+xml;base64,[A-Za-z0-9+/]+=*$/);
    assert.match(
      Buffer.from(photo.thumbnail.split(',')[1] ?? '', 'base64').toString(),
      /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
    );
  }
});

test('a request without a token gets 401 with a Bearer challenge pointing at the resource metadata', async () => {
  const response = await app.inject({ method: 'GET', url: '/photos' });
  assert.equal(response.statusCode, 401);
  const challenge = response.headers['www-authenticate'] as string;
  assert.match(challenge, /^Bearer /);
  assert.match(challenge, /resource_metadata="http:\/\/127\.0\.0\.1:9100\/\.well-known\/oauth-protected-resource"/);
});

test('GET /photos without photos:read is 403 insufficient_scope', async () => {
  const token = issuer.accessToken({ scope: 'openid profile' });
  const response = await app.inject({ method: 'GET', url: '/photos', headers: bearer(token) });
  assert.equal(response.statusCode, 403);
  assert.match(response.headers['www-authenticate'] as string, /error="insufficient_scope"/);
  assert.equal((response.json() as { error: string }).error, 'insufficient_scope');
});

test('POST /photos needs photos:write: read-only tokens are refused', async () => {
  const response = await app.inject({
    method: 'POST',
    url: '/photos',
    headers: bearer(issuer.accessToken({ scope: 'photos:read' })),
    payload: { title: 'Nope' },
  });
  assert.equal(response.statusCode, 403);
  assert.match(response.headers['www-authenticate'] as string, /error="insufficient_scope"/);
});

test("POST /photos with photos:write adds a photo to the subject's library only", async () => {
  const writer = issuer.accessToken({ sub: 'user-writer', scope: 'photos:read photos:write' });
  const created = await app.inject({
    method: 'POST',
    url: '/photos',
    headers: bearer(writer),
    payload: { title: 'Beach <day>', description: 'Sand', extra: 'dropped' },
  });
  assert.equal(created.statusCode, 201);
  const photo = created.json() as { id: string; title: string; description: string };
  assert.equal(photo.title, 'Beach <day>');
  assert.equal(created.headers.location, `/photos/${photo.id}`);
  assert.equal((photo as Record<string, unknown>).extra, undefined);

  const mine = await app.inject({ method: 'GET', url: `/photos/${photo.id}`, headers: bearer(writer) });
  assert.equal(mine.statusCode, 200);
  const someoneElse = issuer.accessToken({ sub: 'user-other', scope: 'photos:read' });
  const theirs = await app.inject({ method: 'GET', url: '/photos', headers: bearer(someoneElse) });
  assert.ok(!(theirs.json() as { photos: Array<{ id: string }> }).photos.some((p) => p.id === photo.id));
  const direct = await app.inject({ method: 'GET', url: `/photos/${photo.id}`, headers: bearer(someoneElse) });
  assert.equal(direct.statusCode, 404);
});

test('POST /photos with an invalid body is 400 invalid_request', async () => {
  const writer = issuer.accessToken({ scope: 'photos:write' });
  for (const payload of [{}, { title: '' }, { title: 'x'.repeat(101) }, { title: 42 }]) {
    const response = await app.inject({ method: 'POST', url: '/photos', headers: bearer(writer), payload });
    assert.equal(response.statusCode, 400, JSON.stringify(payload));
    assert.equal((response.json() as { error: string }).error, 'invalid_request');
  }
});

test('a library is bounded in size', async () => {
  const store = new PhotoStore();
  for (let i = store.list('u').length; i < MAX_PHOTOS_PER_LIBRARY; i++) store.add('u', { title: `p${i}` });
  assert.throws(() => store.add('u', { title: 'one too many' }), /at most/);
});

const rejected: Array<[string, () => string]> = [
  ['a token for another audience', () => issuer.accessToken({ aud: 'http://127.0.0.1:9999' })],
  ['a token from another issuer', () => issuer.accessToken({ iss: 'http://127.0.0.1:1' })],
  ['an expired token', () => issuer.accessToken({ iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) - 600 })],
  ['a token signed by a key that is not in the JWKS', () => issuer.accessToken({}, { key: issuer.strangerKey })],
  ['an ID token (typ JWT) presented as an access token', () => issuer.accessToken({}, { typ: 'JWT' })],
  [
    'a token with a tampered payload',
    () => {
      const [h, , s] = issuer.accessToken().split('.');
      const forged = Buffer.from(JSON.stringify({ sub: 'admin', scope: 'photos:write' })).toString('base64url');
      return `${h}.${forged}.${s}`;
    },
  ],
];
for (const [name, token] of rejected) {
  test(`${name} is refused with 401 invalid_token`, async () => {
    const response = await app.inject({ method: 'GET', url: '/me', headers: bearer(token()) });
    assert.equal(response.statusCode, 401);
    assert.match(response.headers['www-authenticate'] as string, /error="invalid_token"/);
  });
}

test('RFC 9728 metadata names the resource, its authorization server and scopes', async () => {
  const response = await app.inject({ method: 'GET', url: '/.well-known/oauth-protected-resource' });
  assert.equal(response.statusCode, 200);
  const metadata = response.json() as Record<string, unknown>;
  assert.equal(metadata.resource, RESOURCE);
  assert.deepEqual(metadata.authorization_servers, [issuer.issuer]);
  assert.deepEqual(metadata.scopes_supported, ['photos:read', 'photos:write']);
  assert.deepEqual(metadata.bearer_methods_supported, ['header']);
});

test('unknown routes answer 404 JSON', async () => {
  const response = await app.inject({ method: 'GET', url: '/nothing-here' });
  assert.equal(response.statusCode, 404);
  assert.deepEqual(response.json(), { error: 'not_found' });
});
