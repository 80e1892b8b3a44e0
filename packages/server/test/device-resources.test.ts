// RFC 8707 resource indicators at the device authorization endpoint (RFC 8628 §3.1): the resource is
// checked as at /authorize (AU-02), kept with the device code, named on the consent page, and is the
// aud of the tokens the device code grant issues (AU-01), refreshed tokens included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { deviceCodeGrant } from '../src/oauth/grants/device-code.js';
import { registerResource } from '../src/oauth/resources.js';
import {
  assertOAuthError,
  basic,
  Browser,
  countRows,
  decodeJwt,
  form,
  parseForm,
  refresh,
  startServer,
  tokenRequest,
  type TestServer,
} from './helpers.js';

const DEVICE_GRANT = deviceCodeGrant.grantType;
const PHOTOS = 'https://photos.example/api';
const CALENDAR = 'https://calendar.example/';

type Auth = { clientId: string; clientSecret?: string | undefined };

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer();
  t.after(() => server.close());
  const now = server.clock();
  await registerResource(
    server.deps.storage,
    {
      uri: PHOTOS,
      name: 'Photo Library',
      scopes: ['photos:read', 'photos:write'],
      scopeDescriptions: { 'photos:read': 'See your photos' },
    },
    now,
  );
  await registerResource(server.deps.storage, { uri: CALENDAR, name: 'Calendar', scopes: ['calendar:read'] }, now);
  const client = await server.createClient({
    clientName: 'Living Room TV',
    redirectUris: [],
    scope: 'openid profile offline_access photos:read photos:write',
    grantTypes: [DEVICE_GRANT, 'refresh_token'],
  });
  const user = await server.createUser();
  return { server, client, user };
}

function deviceRequest(server: TestServer, body: string, auth: Auth): Promise<LightMyRequestResponse> {
  return server.app.inject({
    method: 'POST',
    url: '/device_authorization',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(auth.clientId, auth.clientSecret!) },
    payload: body,
  });
}

/** Enters the code, signs in and answers on the confirmation page; returns that page. */
async function approve(browser: Browser, userCode: string, user: { username: string; password: string }): Promise<string> {
  const entry = parseForm((await browser.get('/device')).body);
  let res = await browser.post(entry.action, { ...entry.fields, user_code: userCode });
  let f = parseForm(res.body);
  if ('password' in f.fields) {
    res = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
    f = parseForm(res.body);
  }
  assert.equal(f.action, '/device/consent', res.body.slice(0, 300));
  const done = await browser.post(f.action, { ...f.fields, decision: 'allow' });
  assert.equal(done.statusCode, 200);
  return res.body;
}

test('AU-01 a device authorization with resource: the consent page names the API, the token’s aud is that resource, refreshed ones too', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await deviceRequest(server, form({ scope: 'openid offline_access photos:read', resource: PHOTOS }), client);
  assert.equal(started.statusCode, 200, started.body);
  const { device_code, user_code } = started.json() as { device_code: string; user_code: string };

  const consent = await approve(new Browser(server.app), user_code, user);
  assert.match(consent, /<h2 class="group-name">Photo Library<\/h2>/, 'the API is named');
  assert.match(consent, /photos\.example/, 'with its host');
  assert.match(consent, /See your photos/);

  server.clock.advance(5);
  const res = await tokenRequest(server.app, { grant_type: DEVICE_GRANT, device_code }, client);
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token: string; refresh_token: string; scope: string };
  const access = decodeJwt(body.access_token);
  assert.equal(access.aud, PHOTOS);
  assert.equal(access.scope, 'photos:read', 'a token for an API carries only its scopes');
  assert.equal(access.sub, user.id);

  const refreshed = await refresh(server, client, body.refresh_token);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  assert.equal(decodeJwt((refreshed.json() as { access_token: string }).access_token).aud, PHOTOS);
});

test('AU-01 polling a device code with a resource it was not authorized for is invalid_target', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await deviceRequest(server, form({ scope: 'photos:read', resource: PHOTOS }), client);
  const { device_code, user_code } = started.json() as { device_code: string; user_code: string };
  await approve(new Browser(server.app), user_code, user);
  server.clock.advance(5);
  const res = await tokenRequest(server.app, { grant_type: DEVICE_GRANT, device_code, resource: CALENDAR }, client);
  assertOAuthError(res, 400, 'invalid_target');
  // The code is still good for its own resource.
  const ok = await tokenRequest(server.app, { grant_type: DEVICE_GRANT, device_code, resource: PHOTOS }, client);
  assert.equal(ok.statusCode, 200, ok.body);
});

test('AU-02 the device authorization endpoint refuses an unknown, relative, fragment or unusable resource, and stores nothing', async (t) => {
  const { server, client } = await setup(t);
  const cases: [string, string][] = [
    [form({ scope: 'photos:read', resource: 'https://unknown.example/' }), 'invalid_target'],
    [form({ scope: 'photos:read', resource: '/api' }), 'invalid_target'],
    [form({ scope: 'photos:read', resource: `${PHOTOS}#frag` }), 'invalid_target'],
    // The client has no calendar scope: it may not ask for the calendar.
    [form({ scope: 'photos:read', resource: CALENDAR }), 'invalid_target'],
    // photos:write is the client's, but the calendar does not offer it (and photos:read is not the calendar's).
    [`${form({ scope: 'photos:write', resource: PHOTOS })}&resource=${encodeURIComponent(CALENDAR)}`, 'invalid_target'],
  ];
  for (const [body, error] of cases) assertOAuthError(await deviceRequest(server, body, client), 400, error);
  assert.equal(await countRows(server.deps.storage, 'device_codes'), 0);
});

test('AU-02 a device authorization scope that the named resource does not offer is invalid_scope', async (t) => {
  const { server } = await setup(t);
  const wide = await server.createClient({
    redirectUris: [],
    scope: 'openid photos:read calendar:read',
    grantTypes: [DEVICE_GRANT],
  });
  assertOAuthError(await deviceRequest(server, form({ scope: 'calendar:read', resource: PHOTOS }), wide), 400, 'invalid_scope');
  assert.equal(await countRows(server.deps.storage, 'device_codes'), 0);
});
