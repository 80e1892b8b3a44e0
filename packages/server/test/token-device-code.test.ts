// RFC 8628: the device authorization endpoint, the device pages and the device code grant at the
// token endpoint. Polling is driven by the server's movable clock; the pages by the scripted browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { randomToken, sha256 } from '../src/oauth/crypto.js';
import { generateUserCode, normaliseUserCode, USER_CODE_ALPHABET } from '../src/oauth/device/user-code.js';
import { deviceCodeGrant } from '../src/oauth/grants/device-code.js';
import { clientNetwork } from '../src/interaction/device.js';
import { revokeUserSessions } from '../src/oauth/logout.js';
import {
  assertNoStackTrace,
  assertOAuthError,
  basic,
  Browser,
  decodeJwt,
  dumpDatabase,
  form,
  parseForm,
  postAs,
  refresh,
  startServer,
  tokenRequest,
  type TestServer,
} from './helpers.js';

const DEVICE_GRANT = deviceCodeGrant.grantType;
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

type Auth = { clientId: string; clientSecret?: string | undefined };

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient({ clientName: 'Living Room TV', redirectUris: [], grantTypes: [DEVICE_GRANT, 'refresh_token'] });
  const user = await server.createUser();
  return { server, client, user };
}

function deviceRequest(server: TestServer, body: Record<string, string | undefined>, auth?: Auth): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth?.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else if (auth) body = { client_id: auth.clientId, ...body };
  return server.app.inject({ method: 'POST', url: '/device_authorization', headers, payload: form(body) });
}

async function startDevice(server: TestServer, auth: Auth, scope = 'openid profile offline_access'): Promise<DeviceAuthorization> {
  const res = await deviceRequest(server, { scope }, auth);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as DeviceAuthorization;
}

const poll = (server: TestServer, auth: Auth, deviceCode: string) =>
  tokenRequest(server.app, { grant_type: DEVICE_GRANT, device_code: deviceCode }, auth);

/** GET /device, then POST the typed code: the response to that post (login or confirmation page). */
async function enterCode(browser: Browser, typed: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  const page = await browser.get('/device');
  assert.equal(page.statusCode, 200);
  const f = parseForm(page.body);
  assert.equal(f.action, '/device');
  return browser.post(f.action, { ...f.fields, user_code: typed }, headers);
}

/** A person approves (or denies) a user code on the device pages, signing in when asked. */
async function decide(
  browser: Browser,
  userCode: string,
  user: { username: string; password: string },
  decision: 'allow' | 'deny' = 'allow',
) {
  let res = await enterCode(browser, userCode);
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  let f = parseForm(res.body);
  if ('password' in f.fields) {
    assert.equal(f.action, '/device/login');
    res = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    f = parseForm(res.body);
  }
  const consent = res.body;
  assert.equal(f.action, '/device/consent');
  const done = await browser.post(f.action, { ...f.fields, decision });
  return { consent, done };
}

test('DV-01 the device flow: authorization, code entry, login, a consent page naming the client and the device, then tokens once', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await startDevice(server, client);
  assert.match(started.user_code, USER_CODE);
  assert.equal(started.verification_uri, `${server.issuer}/device`);
  assert.equal(started.verification_uri_complete, `${server.issuer}/device?user_code=${started.user_code}`);
  assert.equal(started.expires_in, 600);
  assert.equal(started.interval, 5);
  assert.match(started.device_code, /^[A-Za-z0-9_-]{43}$/);

  assertOAuthError(await poll(server, client, started.device_code), 400, 'authorization_pending');

  const browser = new Browser(server.app);
  const { consent, done } = await decide(browser, started.user_code, user);
  assert.match(consent, /Living Room TV/);
  assert.match(consent, /A device/);
  assert.ok(consent.includes(started.user_code), 'the confirmation shows the code, to compare with the device');
  assert.match(consent, /See your name and basic profile details/);
  assert.equal(done.statusCode, 200);
  assert.match(done.body, /Device connected/);

  server.clock.advance(5);
  const res = await poll(server, client, started.device_code);
  assert.equal(res.statusCode, 200, res.body);
  const tokens = res.json() as { access_token: string; refresh_token?: string; id_token?: string; scope: string; token_type: string };
  assert.equal(tokens.token_type, 'Bearer');
  assert.equal(tokens.scope, 'openid profile offline_access');
  assert.ok(tokens.refresh_token, 'offline_access and the refresh grant give a refresh token');
  const access = decodeJwt(tokens.access_token);
  assert.equal(access.sub, user.id);
  assert.equal(access.client_id, client.clientId);
  const id = decodeJwt(tokens.id_token!);
  assert.equal(id.aud, client.clientId);
  assert.equal(id.sub, user.id);
  assert.equal(typeof id.auth_time, 'number');

  // Redeemed once: a second redemption is invalid_grant and revokes what the first one issued.
  server.clock.advance(5);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'invalid_grant');
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
  const userinfo = await server.app.inject({
    method: 'GET',
    url: '/userinfo',
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(userinfo.statusCode, 401, 'the access token of a replayed device code is denied');
});

test('DV-01 a signed-in person goes straight to the confirmation; without offline_access or openid there is no refresh or ID token', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await decide(browser, (await startDevice(server, client)).user_code, user);
  const second = await startDevice(server, client, 'profile');
  const res = await enterCode(browser, second.user_code);
  const f = parseForm(res.body);
  assert.ok(!('password' in f.fields), 'no second login');
  assert.equal(f.action, '/device/consent', 'the confirmation is asked again even though the scope was granted (RFC 8628 §5.4)');
  await browser.post(f.action, { ...f.fields, decision: 'allow' });
  const tokens = await poll(server, client, second.device_code);
  assert.equal(tokens.statusCode, 200, tokens.body);
  assert.equal(tokens.json().refresh_token, undefined);
  assert.equal(tokens.json().id_token, undefined);
});

test('DV-01 polling faster than the interval gets slow_down, and each slow_down raises the interval by 5 seconds', async (t) => {
  const { server, client } = await setup(t);
  const { device_code: code } = await startDevice(server, client);
  assertOAuthError(await poll(server, client, code), 400, 'authorization_pending');
  assertOAuthError(await poll(server, client, code), 400, 'slow_down'); // at once: interval is now 10
  server.clock.advance(5);
  const again = assertOAuthError(await poll(server, client, code), 400, 'slow_down'); // 5 s < 10 s: interval 15
  assert.match(String(again.error_description), /15 seconds/);
  server.clock.advance(14);
  assertOAuthError(await poll(server, client, code), 400, 'slow_down'); // 14 s < 15 s: interval 20
  server.clock.advance(20);
  assertOAuthError(await poll(server, client, code), 400, 'authorization_pending');
  const stored = await server.deps.storage.deviceCodes.findByDeviceCodeHash(sha256(code));
  assert.equal(stored?.interval, 20);
});

test('DV-01 concurrent polls: at most one is answered authorization_pending, the rest slow_down', async (t) => {
  const { server, client } = await setup(t);
  const { device_code: code } = await startDevice(server, client);
  const answers = await Promise.all(Array.from({ length: 5 }, () => poll(server, client, code)));
  const errors = answers.map((r) => (r.json() as { error: string }).error);
  assert.equal(errors.filter((e) => e === 'authorization_pending').length, 1, errors.join(' '));
  assert.equal(errors.filter((e) => e === 'slow_down').length, 4);
});

test('DV-01 a denied device code answers access_denied; an unused one expires with expired_token', async (t) => {
  const { server, client, user } = await setup(t);
  const denied = await startDevice(server, client);
  const { done } = await decide(new Browser(server.app), denied.user_code, user, 'deny');
  assert.match(done.body, /Access denied/);
  assertOAuthError(await poll(server, client, denied.device_code), 400, 'access_denied');
  assert.equal(await server.deps.storage.grants.find(user.id, client.clientId), undefined, 'a denial stores no consent');

  const unused = await startDevice(server, client);
  server.clock.advance(600);
  assertOAuthError(await poll(server, client, unused.device_code), 400, 'expired_token');
  // ... and its user code no longer works on the device page.
  const res = await enterCode(new Browser(server.app), unused.user_code);
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /not valid or has expired/);
});

test("DV-01 wrong, malformed, missing and another client's device codes get invalid_grant or invalid_request, never a 500", async (t) => {
  const { server, client, user } = await setup(t);
  const other = await server.createClient({ clientName: 'Other TV', redirectUris: [], grantTypes: [DEVICE_GRANT] });
  const started = await startDevice(server, client);
  await decide(new Browser(server.app), started.user_code, user);
  for (const wrong of [randomToken(), 'x', 'a'.repeat(300), `${started.device_code}x`, started.user_code]) {
    assertOAuthError(await poll(server, client, wrong), 400, 'invalid_grant');
  }
  assertOAuthError(await poll(server, other, started.device_code), 400, 'invalid_grant');
  assertOAuthError(await tokenRequest(server.app, { grant_type: DEVICE_GRANT }, client), 400, 'invalid_request');
  // The other client's attempt did not spend the code.
  assert.equal((await poll(server, client, started.device_code)).statusCode, 200);
  // A client that did not register the device grant may not redeem device codes.
  const codeOnly = await server.createClient({ clientName: 'Web', grantTypes: ['authorization_code'] });
  assertOAuthError(await poll(server, codeOnly, started.device_code), 400, 'unauthorized_client');
});

test('DV-01 of concurrent redemptions of one approved device code exactly one gets tokens', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await startDevice(server, client);
  await decide(new Browser(server.app), started.user_code, user);
  const answers = await Promise.all(Array.from({ length: 10 }, () => poll(server, client, started.device_code)));
  assert.equal(answers.filter((r) => r.statusCode === 200).length, 1);
  for (const r of answers.filter((x) => x.statusCode !== 200)) assertOAuthError(r, 400, 'invalid_grant');
});

test('DV-01 user codes are typed case- and dash-insensitively, and verification_uri_complete pre-fills the form', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await startDevice(server, client);
  const browser = new Browser(server.app);
  const complete = new URL(started.verification_uri_complete);
  const page = await browser.get(`${complete.pathname}${complete.search}`);
  assert.equal(parseForm(page.body).fields.user_code, started.user_code);
  const typed = ` ${started.user_code.toLowerCase().replace('-', ' ')} `;
  assert.equal(normaliseUserCode(typed), started.user_code.replace('-', ''));
  const res = await enterCode(browser, typed);
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  assert.ok('password' in parseForm(res.body).fields);
  const f = parseForm(res.body);
  assert.equal(f.fields.user_code, started.user_code, 'the login form carries the canonical code');
  const consent = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
  assert.equal(parseForm(consent.body).action, '/device/consent');
});

test('DV-01 a wrong or replayed user code is refused on the entry form; 5 wrong codes lock the IP and the browser, the right code included', async (t) => {
  const { server, client, user } = await setup(t);
  const used = await startDevice(server, client);
  await decide(new Browser(server.app), used.user_code, user);
  const live = await startDevice(server, client);

  const browser = new Browser(server.app);
  const page = parseForm((await browser.get('/device')).body);
  const attempt = (code: string, remoteAddress: string) =>
    postAs(server.app, browser, '/device', { ...page.fields, user_code: code }, { remoteAddress });

  // A replayed (already approved) code and 3 wrong ones: 4 failures from 10.9.0.1.
  const replay = await attempt(used.user_code, '10.9.0.1');
  assert.equal(replay.statusCode, 400);
  assert.match(replay.body, /not valid or has expired/);
  assert.equal(parseForm(replay.body).fields.user_code, used.user_code, 'the entry form comes back with what was typed');
  for (const wrong of ['BCDF-GHJK', 'not a code', 'AAAA-AAAA']) assert.equal((await attempt(wrong, '10.9.0.1')).statusCode, 400);
  assert.equal((await attempt('ZZZZ-ZZZZ', '10.9.0.1')).statusCode, 400); // the 5th failure locks
  const locked = await attempt(live.user_code, '10.9.0.1');
  assert.equal(locked.statusCode, 429, 'the right code during the lock is refused too');
  assert.ok(Number(locked.headers['retry-after']) > 0);
  assert.match(locked.body, /Too many incorrect codes/);
  // Another IP with the same browser cookie: the browser is locked.
  assert.equal((await attempt(live.user_code, '10.9.0.2')).statusCode, 429);
  // A fresh browser on the locked IP: the IP is locked.
  const fresh = new Browser(server.app);
  const freshPage = parseForm((await fresh.get('/device')).body);
  assert.equal(
    (await postAs(server.app, fresh, '/device', { ...freshPage.fields, user_code: live.user_code }, { remoteAddress: '10.9.0.1' }))
      .statusCode,
    429,
  );
  // A fresh browser from another IP is not affected; after the lock the code works again.
  assert.equal(
    (await postAs(server.app, fresh, '/device', { ...freshPage.fields, user_code: live.user_code }, { remoteAddress: '10.9.0.3' }))
      .statusCode,
    200,
  );
  server.clock.advance(61);
  assert.equal((await attempt(live.user_code, '10.9.0.1')).statusCode, 200);
});

test('DV-01 20 wrong user codes from one IP are throttled (locks double), whichever form they are posted to', async (t) => {
  const { server } = await setup(t);
  const statuses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const browser = new Browser(server.app); // a new cookie each time: the IP still counts
    const f = parseForm((await browser.get('/device')).body);
    const target = ['/device', '/device/login', '/device/consent'][i % 3]!;
    const res = await postAs(
      server.app,
      browser,
      target,
      { ...f.fields, user_code: generateUserCode(), username: 'alice', password: 'x', decision: 'allow' },
      { remoteAddress: '10.8.0.1' },
    );
    statuses.push(res.statusCode);
    assertNoStackTrace(res.body);
  }
  assert.deepEqual(statuses.slice(0, 5), [400, 400, 400, 400, 400]);
  assert.ok(
    statuses.slice(5).every((s) => s === 429),
    statuses.join(' '),
  );
  // The first lock is 60 s; the next failure after it locks for 120 s.
  server.clock.advance(61);
  const browser = new Browser(server.app);
  const f = parseForm((await browser.get('/device')).body);
  for (let i = 0; i < 5; i++)
    await postAs(server.app, browser, '/device', { ...f.fields, user_code: generateUserCode() }, { remoteAddress: '10.8.0.1' });
  const res = await postAs(server.app, browser, '/device', { ...f.fields, user_code: generateUserCode() }, { remoteAddress: '10.8.0.1' });
  assert.equal(res.statusCode, 429);
  assert.ok(Number(res.headers['retry-after']) > 60, `Retry-After ${String(res.headers['retry-after'])}`);
});

test("UI-02 device page posts without the CSRF token, with another browser's token, without the cookie or from a foreign Origin are refused with 403", async (t) => {
  const { server, client } = await setup(t);
  const { user_code: code } = await startDevice(server, client);
  const browser = new Browser(server.app);
  const mine = parseForm((await browser.get('/device')).body);
  const other = new Browser(server.app);
  const theirs = parseForm((await other.get('/device')).body);
  for (const path of ['/device', '/device/login', '/device/consent']) {
    assert.equal((await browser.post(path, { user_code: code })).statusCode, 403, `${path} without a token`);
    assert.equal((await browser.post(path, { ...theirs.fields, user_code: code })).statusCode, 403, `${path} with another browser's token`);
    assert.equal(
      (await browser.post(path, { ...mine.fields, user_code: code }, { origin: 'https://evil.example' })).statusCode,
      403,
      `${path} from a foreign origin`,
    );
    const noCookie = await server.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ ...mine.fields, user_code: code }),
    });
    assert.equal(noCookie.statusCode, 403, `${path} without the cookie`);
  }
  assert.equal(
    (await browser.post('/device', { ...mine.fields, user_code: code }, { origin: server.issuer })).statusCode,
    200,
    'our own Origin is fine',
  );
});

test('UI-02 the confirmation needs the signed-in user; a bad decision is an error page, not a decision', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await startDevice(server, client);
  const browser = new Browser(server.app);
  const f = parseForm((await browser.get('/device')).body);
  // Posting the confirmation without being signed in shows the login page and decides nothing.
  const res = await browser.post('/device/consent', { ...f.fields, user_code: started.user_code, decision: 'allow' });
  assert.equal(res.statusCode, 200);
  assert.ok('password' in parseForm(res.body).fields);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'authorization_pending');
  // A failed login keeps the code and says so generically.
  const failed = await browser.post('/device/login', {
    ...f.fields,
    user_code: started.user_code,
    username: user.username,
    password: 'wrong password',
  });
  assert.equal(failed.statusCode, 401);
  assert.match(failed.body, /Incorrect username or password/);
  const ok = await browser.post('/device/login', {
    ...f.fields,
    user_code: started.user_code,
    username: user.username,
    password: user.password,
  });
  const consent = parseForm(ok.body);
  const bad = await browser.post(consent.action, { ...consent.fields, decision: 'maybe' });
  assert.equal(bad.statusCode, 400);
  server.clock.advance(5);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'authorization_pending');
});

test('UI-01 UI-07 the device pages carry the security headers', async (t) => {
  const { server, client, user } = await setup(t);
  const { user_code: code } = await startDevice(server, client);
  const browser = new Browser(server.app);
  const pages = [await browser.get('/device'), await enterCode(browser, 'BBBB-BBBB'), await enterCode(browser, code)];
  const login = parseForm(pages[2]!.body);
  pages.push(await browser.post(login.action, { ...login.fields, username: user.username, password: user.password }));
  const consent = parseForm(pages[3]!.body);
  pages.push(await browser.post(consent.action, { ...consent.fields, decision: 'allow' }));
  for (const res of pages) {
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.equal(res.headers['cache-control'], 'no-store');
  }
});

test('UI-08 the device pages escape the client name and what was typed', async (t) => {
  const { server, user } = await setup(t);
  const evil = await server.createClient({
    clientName: '<script>alert(1)</script>${7*7}{{7*7}}',
    redirectUris: [],
    grantTypes: [DEVICE_GRANT],
  });
  const started = await startDevice(server, evil, 'openid');
  const browser = new Browser(server.app);
  const typed = await enterCode(browser, '"><script>x</script>');
  assert.ok(!typed.body.includes('<script>x'), 'typed input is escaped');
  const { consent } = await decide(browser, started.user_code, user);
  assert.ok(!consent.includes('<script>alert(1)'));
  assert.ok(consent.includes('&lt;script&gt;alert(1)&lt;/script&gt;${7*7}{{7*7}}'));
});

test('DV-01 the device authorization endpoint authenticates the client, needs the registered grant and a registered scope', async (t) => {
  const { server, client } = await setup(t);
  assertOAuthError(
    await deviceRequest(server, { scope: 'openid' }, { clientId: client.clientId, clientSecret: 'wrong' }),
    401,
    'invalid_client',
  );
  assertOAuthError(await deviceRequest(server, { scope: 'openid', client_id: 'nobody' }), 401, 'invalid_client');
  assertOAuthError(await deviceRequest(server, { scope: 'openid admin' }, client), 400, 'invalid_scope');
  assertOAuthError(await deviceRequest(server, {}, client), 400, 'invalid_scope');
  assertOAuthError(await deviceRequest(server, { scope: 'bad\u0001scope' }, client), 400, 'invalid_scope');
  const codeOnly = await server.createClient({ clientName: 'Web', grantTypes: ['authorization_code'] });
  assertOAuthError(await deviceRequest(server, { scope: 'openid' }, codeOnly), 400, 'unauthorized_client');
  const json = await server.app.inject({
    method: 'POST',
    url: '/device_authorization',
    headers: { 'content-type': 'application/json', authorization: basic(client.clientId, client.clientSecret!) },
    payload: '{"scope":"openid"}',
  });
  assertOAuthError(json, 400, 'invalid_request');
  const inQuery = await server.app.inject({
    method: 'POST',
    url: '/device_authorization?scope=openid',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: '',
  });
  assertOAuthError(inQuery, 400, 'invalid_request');
  const repeated = await server.app.inject({
    method: 'POST',
    url: '/device_authorization',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: 'scope=openid&scope=profile',
  });
  assertOAuthError(repeated, 400, 'invalid_request');
  const ok = await deviceRequest(server, { scope: 'openid' }, client);
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.headers['cache-control'], 'no-store');

  // A public client (no secret, no redirect URI) sends its client_id and polls with it.
  const tv = await server.createClient({ clientName: 'Public TV', redirectUris: [], isPublic: true, grantTypes: [DEVICE_GRANT] });
  assert.equal(tv.clientSecret, undefined);
  const started = await startDevice(server, tv, 'openid');
  assertOAuthError(await poll(server, tv, started.device_code), 400, 'authorization_pending');
});

test('DV-01 TTL and interval come from GATEHOUSE_DEVICE_CODE_TTL and GATEHOUSE_DEVICE_CODE_INTERVAL', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_DEVICE_CODE_TTL: '120', GATEHOUSE_DEVICE_CODE_INTERVAL: '2' });
  const started = await startDevice(server, client);
  assert.equal(started.expires_in, 120);
  assert.equal(started.interval, 2);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'authorization_pending');
  server.clock.advance(2);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'authorization_pending');
  server.clock.advance(118);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'expired_token');
});

test('CR-01 CR-02 device codes carry 256 bits, user codes are uniform over the alphabet, and neither is stored raw', async (t) => {
  const { server, client } = await setup(t);
  const issued: DeviceAuthorization[] = [];
  for (let i = 0; i < 50; i++) issued.push(await startDevice(server, client));
  assert.equal(new Set(issued.map((d) => d.device_code)).size, 50);
  assert.equal(new Set(issued.map((d) => d.user_code)).size, 50);
  for (const d of issued) assert.match(d.device_code, /^[A-Za-z0-9_-]{43}$/);
  const dump = await dumpDatabase(server.deps.storage);
  for (const d of issued) {
    assert.ok(!dump.includes(d.device_code), 'raw device code in the database');
    assert.ok(!dump.includes(d.user_code) && !dump.includes(d.user_code.replace('-', '')), 'raw user code in the database');
  }
  // 20 000 user codes: every character of the alphabet, each near 1/20 of 160 000 characters.
  const counts = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const code = generateUserCode();
    assert.match(code, USER_CODE);
    for (const c of code.replace('-', '')) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assert.equal(counts.size, USER_CODE_ALPHABET.length);
  for (const [c, n] of counts) assert.ok(Math.abs(n - 8000) < 500, `${c}: ${n}`);
});

test('DV-01 the device grant registers for public and confidential clients without redirect URIs, and discovery advertises it', async (t) => {
  const { server } = await setup(t);
  const meta = (await server.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>;
  assert.equal(meta.device_authorization_endpoint, `${server.issuer}/device_authorization`);
  assert.ok((meta.grant_types_supported as string[]).includes(DEVICE_GRANT));
  const oauthMeta = (await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json() as Record<
    string,
    unknown
  >;
  assert.equal(oauthMeta.device_authorization_endpoint, `${server.issuer}/device_authorization`);
});

test('signing a user out everywhere (gatehouse sessions revoke) also denies the access tokens issued from device codes', async (t) => {
  const { server, client, user } = await setup(t);
  const started = await startDevice(server, client);
  await decide(new Browser(server.app), started.user_code, user);
  const tokens = (await poll(server, client, started.device_code)).json() as { access_token: string; refresh_token: string };
  await revokeUserSessions(server.deps.storage, user.id, server.clock());
  const userinfo = await server.app.inject({
    method: 'GET',
    url: '/userinfo',
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(userinfo.statusCode, 401);
  assertOAuthError(await refresh(server, client, tokens.refresh_token), 400, 'invalid_grant');
});

test("DV-01 a disabled user's approved device code gives no tokens", async (t) => {
  const { server, client, user } = await setup(t);
  const started = await startDevice(server, client);
  await decide(new Browser(server.app), started.user_code, user);
  assert.equal(await server.deps.storage.users.setDisabled(user.id, true, server.clock()), true);
  assertOAuthError(await poll(server, client, started.device_code), 400, 'invalid_grant');
});

test('DV-01 guesses are counted per IPv4 address and per IPv6 /64', () => {
  assert.equal(clientNetwork('10.1.2.3'), '10.1.2.3');
  assert.equal(clientNetwork('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(clientNetwork('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(clientNetwork('2001:0db8:0000:0001:ffff:1:2:3'), '2001:db8:0:1::/64');
  assert.equal(clientNetwork('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientNetwork('::1'), '0:0:0:0::/64');
});
