// RFC 8707 resource indicators and the resource registry (oauth/resources.ts): audience binding
// (AU-01), invalid_target (AU-02), introspection by resource servers (AU-03), default scopes (AU-04),
// and the consent page that names each API and its permissions in plain words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { registerResource, updateResource, deleteResource } from '../src/oauth/resources.js';
import {
  assertErrorRedirect,
  assertOAuthError,
  authorizeUrl,
  basic,
  Browser,
  decodeJwt,
  decodeProtectedHeader,
  isConsentForm,
  locationOf,
  parseForm,
  pkce,
  startServer,
  type TestServer,
  type TokenBody,
} from './helpers.js';

const C1 = 'https://c1.example/cb';
const PHOTOS = 'https://photos.example/api';
const CALENDAR = 'https://calendar.example/';

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const now = server.clock();
  const photos = await registerResource(
    server.deps.storage,
    {
      uri: PHOTOS,
      name: 'Photo Library',
      scopes: ['photos:read', 'photos:write', 'read'],
      scopeDescriptions: {
        'photos:read': 'See your photos',
        'photos:write': 'Upload and change your photos',
        read: 'Read your photo albums',
      },
    },
    now,
  );
  const calendar = await registerResource(
    server.deps.storage,
    {
      uri: CALENDAR,
      name: 'Calendar',
      scopes: ['calendar:read', 'read'],
      scopeDescriptions: { 'calendar:read': 'See your calendar' },
      signingAlg: 'EdDSA',
      accessTokenTtl: 120,
    },
    now,
  );
  const client = await server.createClient({
    redirectUris: [C1],
    scope: 'openid profile offline_access photos:read photos:write calendar:read read',
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
  });
  const user = await server.createUser();
  return { server, client, user, photos, calendar };
}

/** The query string of an authorization request, with `resource` repeated as needed. */
function authorizeWith(clientId: string, scope: string, resources: string[], challenge: string): string {
  return (
    authorizeUrl({ clientId, redirectUri: C1, scope, challenge }) + resources.map((r) => `&resource=${encodeURIComponent(r)}`).join('')
  );
}

function token(
  server: TestServer,
  client: { clientId: string; clientSecret?: string | undefined },
  body: [string, string][],
): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: new URLSearchParams(body).toString(),
  });
}

/** Signs in, allows everything asked, and returns the code (and the consent page seen, if any). */
async function codeFor(
  server: TestServer,
  client: { clientId: string },
  user: { username: string; password: string },
  scope: string,
  resources: string[],
) {
  const browser = new Browser(server.app);
  const { verifier, challenge } = pkce();
  let res = await browser.get(authorizeWith(client.clientId, scope, resources, challenge));
  let consentPage: string | undefined;
  for (let i = 0; i < 4 && !locationOf(res).startsWith(C1); i++) {
    const page = await browser.get(locationOf(res));
    const f = parseForm(page.body);
    if (isConsentForm(f)) {
      consentPage = page.body;
      res = await browser.post(f.action, { ...f.fields, decision: 'allow' });
    } else {
      res = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
    }
  }
  const code = new URL(locationOf(res)).searchParams.get('code');
  assert.ok(code, `no code: ${locationOf(res)}`);
  return { code, verifier, consentPage };
}

const redeem = (
  server: TestServer,
  client: { clientId: string; clientSecret?: string | undefined },
  code: string,
  verifier: string,
  extra: [string, string][] = [],
) =>
  token(server, client, [
    ['grant_type', 'authorization_code'],
    ['code', code],
    ['redirect_uri', C1],
    ['code_verifier', verifier],
    ...extra,
  ]);

test("AU-01 a token requested for one resource has exactly that aud and only that resource's scopes", async (t) => {
  const { server, client, user } = await setup(t);
  const { code, verifier } = await codeFor(server, client, user, 'openid photos:read', [PHOTOS]);
  const res = await redeem(server, client, code, verifier);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as TokenBody;
  const claims = decodeJwt(body.access_token);
  assert.equal(claims.aud, PHOTOS);
  assert.equal(claims.scope, 'photos:read', "openid is the account's, not the API's");
  assert.equal(body.scope, 'photos:read', 'the response states the granted scope');
  assert.ok(body.id_token, 'openid still yields an ID token');
  // a token for an API is no token for the authorization server's userinfo
  const userinfo = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${body.access_token}` } });
  assert.equal(userinfo.statusCode, 403);
});

test('AU-01 one grant for two resources yields a token per API, each naming only its own resource; the refresh token keeps the whole grant', async (t) => {
  const { server, client, user } = await setup(t);
  const { code, verifier } = await codeFor(server, client, user, 'offline_access photos:read calendar:read', [PHOTOS, CALENDAR]);
  const first = await redeem(server, client, code, verifier, [['resource', CALENDAR]]);
  assert.equal(first.statusCode, 200, first.body);
  const body = first.json() as TokenBody;
  const calendarToken = decodeJwt(body.access_token);
  assert.equal(calendarToken.aud, CALENDAR);
  assert.equal(calendarToken.scope, 'calendar:read');
  assert.equal(decodeProtectedHeader(body.access_token).alg, 'EdDSA', "the resource's signing algorithm");
  assert.equal(body.expires_in, 120, "the resource's shorter lifetime");
  const photos = await token(server, client, [
    ['grant_type', 'refresh_token'],
    ['refresh_token', body.refresh_token!],
    ['resource', PHOTOS],
  ]);
  assert.equal(photos.statusCode, 200, photos.body);
  const photosBody = photos.json() as TokenBody;
  assert.equal(decodeJwt(photosBody.access_token).aud, PHOTOS);
  assert.equal(decodeJwt(photosBody.access_token).scope, 'photos:read');
  const both = await token(server, client, [
    ['grant_type', 'refresh_token'],
    ['refresh_token', photosBody.refresh_token!],
  ]);
  assert.deepEqual(
    decodeJwt((both.json() as TokenBody).access_token).aud,
    [PHOTOS, CALENDAR],
    'without resource: every resource of the grant',
  );
});

test('AU-01 the same scope name at two resources is consented and minted per resource', async (t) => {
  const { server, client, user } = await setup(t);
  const first = await codeFor(server, client, user, 'read', [PHOTOS]);
  assert.match(first.consentPage ?? '', /Read your photo albums/);
  // consent for "read" at the photo library does not cover "read" at the calendar
  const second = await codeFor(server, client, user, 'read', [CALENDAR]);
  assert.ok(second.consentPage, "the calendar's read needs its own consent");
  const res = await redeem(server, client, second.code, second.verifier);
  assert.equal(decodeJwt((res.json() as TokenBody).access_token).aud, CALENDAR);
});

test('AU-02 an unknown, relative or fragment resource at /authorize is an invalid_target error redirect', async (t) => {
  const { server, client } = await setup(t);
  for (const bad of ['https://unknown.example/api', '/relative/api', `${PHOTOS}#frag`, 'not a uri']) {
    const res = await new Browser(server.app).get(authorizeWith(client.clientId, 'photos:read', [bad], pkce().challenge));
    assertErrorRedirect(res, { redirectUri: C1, error: 'invalid_target' });
  }
});

test('AU-02 at /token a resource outside the authorization, unknown or malformed is invalid_target', async (t) => {
  const { server, client, user } = await setup(t);
  const { code, verifier } = await codeFor(server, client, user, 'photos:read', [PHOTOS]);
  for (const bad of [CALENDAR, 'https://unknown.example/api', `${PHOTOS}#x`]) {
    assertOAuthError(await redeem(server, client, code, verifier, [['resource', bad]]), 400, 'invalid_target');
  }
  assert.equal(
    (await redeem(server, client, code, verifier, [['resource', PHOTOS]])).statusCode,
    200,
    'the failed attempts did not burn the code',
  );
  for (const bad of ['https://unknown.example/api', 'relative']) {
    assertOAuthError(
      await token(server, client, [
        ['grant_type', 'client_credentials'],
        ['scope', 'photos:read'],
        ['resource', bad],
      ]),
      400,
      'invalid_target',
    );
  }
});

test('AU-02 a resource the client may not use is invalid_target; a scope no requested resource offers is invalid_scope', async (t) => {
  const { server, user } = await setup(t);
  const photosOnly = await server.createClient({ redirectUris: [C1], scope: 'openid photos:read' });
  const res = await new Browser(server.app).get(authorizeWith(photosOnly.clientId, 'photos:read', [CALENDAR], pkce().challenge));
  assertErrorRedirect(res, { redirectUri: C1, error: 'invalid_target' });
  const both = await server.createClient({ redirectUris: [C1], scope: 'photos:read calendar:read' });
  const stray = await new Browser(server.app).get(authorizeWith(both.clientId, 'photos:read calendar:read', [PHOTOS], pkce().challenge));
  assertErrorRedirect(stray, { redirectUri: C1, error: 'invalid_scope' });
  void user;
});

test('AU-01 client_credentials with resource: aud is the resource, scope only what it offers; without resource the default audience applies', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_ACCESS_TOKEN_AUDIENCE: 'https://default.example/' });
  const bound = await token(server, client, [
    ['grant_type', 'client_credentials'],
    ['scope', 'photos:read'],
    ['resource', PHOTOS],
  ]);
  assert.equal(bound.statusCode, 200, bound.body);
  assert.equal(decodeJwt((bound.json() as TokenBody).access_token).aud, PHOTOS);
  const unbound = await token(server, client, [
    ['grant_type', 'client_credentials'],
    ['scope', 'photos:read'],
  ]);
  assert.equal(
    decodeJwt((unbound.json() as TokenBody).access_token).aud,
    'https://default.example/',
    'the documented default: --access-token-audience',
  );
  const perClient = await server.createClient({
    redirectUris: [],
    grantTypes: ['client_credentials'],
    scope: 'photos:read',
    defaultResources: [CALENDAR],
  });
  const viaDefault = await token(server, perClient, [
    ['grant_type', 'client_credentials'],
    ['scope', 'photos:read'],
  ]);
  assert.equal(
    decodeJwt((viaDefault.json() as TokenBody).access_token).aud,
    CALENDAR,
    "a client's registered default resource wins over the server default",
  );
});

test('AU-03 a resource server introspects the tokens sent to it with its own credentials, and no other token', async (t) => {
  const { server, client, user, photos, calendar } = await setup(t);
  const photosCreds = photos.credentials!;
  const calendarCreds = calendar.credentials!;
  const { code, verifier } = await codeFor(server, client, user, 'offline_access photos:read calendar:read', [PHOTOS, CALENDAR]);
  const body = (await redeem(server, client, code, verifier, [['resource', PHOTOS]])).json() as TokenBody;
  const introspect = (creds: { clientId: string; clientSecret: string }, tokenValue: string) =>
    server.app.inject({
      method: 'POST',
      url: '/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(creds.clientId, creds.clientSecret) },
      payload: new URLSearchParams({ token: tokenValue }).toString(),
    });
  const mine = (await introspect(photosCreds, body.access_token)).json() as Record<string, unknown>;
  assert.equal(mine.active, true);
  assert.equal(mine.aud, PHOTOS);
  assert.equal(mine.client_id, client.clientId);
  assert.deepEqual(
    (await introspect(calendarCreds, body.access_token)).json(),
    { active: false },
    'the calendar may not see a photos token',
  );
  assert.deepEqual(
    (await introspect(photosCreds, body.refresh_token!)).json(),
    { active: false },
    'refresh tokens are not for resource servers',
  );
  const wrong = await introspect({ clientId: photosCreds.clientId, clientSecret: 'not-the-secret' }, body.access_token);
  assert.equal(wrong.statusCode, 401);
  // deleting the resource withdraws its credentials
  assert.equal(await deleteResource(server.deps.storage, PHOTOS), true);
  assert.equal((await introspect(photosCreds, body.access_token)).statusCode, 401);
});

test('AU-03 resource-server credentials can get no token', async (t) => {
  const { server, photos } = await setup(t);
  const res = await token(server, photos.credentials!, [['grant_type', 'client_credentials']]);
  assertOAuthError(res, 400, 'unauthorized_client');
});

test('the consent page names each API and its permissions in plain words, grouped by the API that asks for them', async (t) => {
  const { server, client, user } = await setup(t);
  const { consentPage } = await codeFor(server, client, user, 'openid photos:read photos:write calendar:read', [PHOTOS, CALENDAR]);
  assert.ok(consentPage);
  const photosAt = consentPage.indexOf('Photo Library');
  const calendarAt = consentPage.indexOf('>Calendar<');
  assert.ok(photosAt > 0 && calendarAt > photosAt, 'one block per API, in request order');
  assert.ok(consentPage.indexOf('See your photos') > photosAt && consentPage.indexOf('See your photos') < calendarAt);
  assert.ok(consentPage.indexOf('See your calendar') > calendarAt);
  assert.match(consentPage, /photos\.example/, 'where the access goes');
  assert.match(consentPage, /Your account/);
  assert.doesNotMatch(consentPage, /Use the permission/, 'every scope has plain words here');
});

test("without resource the consent page still describes a registered API's scopes in its plain words", async (t) => {
  const { server, client, user } = await setup(t);
  const { consentPage } = await codeFor(server, client, user, 'openid photos:read', []);
  assert.match(consentPage ?? '', /Photo Library/);
  assert.match(consentPage ?? '', /See your photos/);
});

test('a resource deleted between authorization and redemption gets invalid_target; updates change names and words', async (t) => {
  const { server, client, user } = await setup(t);
  const { code, verifier } = await codeFor(server, client, user, 'calendar:read', [CALENDAR]);
  await deleteResource(server.deps.storage, CALENDAR);
  assertOAuthError(await redeem(server, client, code, verifier), 400, 'invalid_target');
  const updated = await updateResource(
    server.deps.storage,
    PHOTOS,
    { name: 'Photos', scopeDescriptions: { 'photos:read': 'Look at your pictures' } },
    server.clock(),
  );
  assert.equal(updated.name, 'Photos');
  assert.equal(updated.scopeDescriptions['photos:read'], 'Look at your pictures');
  assert.equal(updated.scopeDescriptions['photos:write'], 'Upload and change your photos', 'other words are kept');
});

test('registering a resource refuses fragments, relative URIs, OpenID scopes and words for unlisted scopes', async (t) => {
  const { server } = await setup(t);
  const now = server.clock();
  await assert.rejects(registerResource(server.deps.storage, { uri: 'https://x.example/#f' }, now), /invalid_target/);
  await assert.rejects(registerResource(server.deps.storage, { uri: '/api' }, now), /invalid_target/);
  await assert.rejects(
    registerResource(server.deps.storage, { uri: 'https://x.example/', scopes: ['openid'] }, now),
    /invalid_client_metadata/,
  );
  await assert.rejects(
    registerResource(server.deps.storage, { uri: 'https://x.example/', scopes: ['a'], scopeDescriptions: { b: 'B' } }, now),
    /invalid_client_metadata/,
  );
  await assert.rejects(registerResource(server.deps.storage, { uri: PHOTOS }, now), /already registered/);
});
