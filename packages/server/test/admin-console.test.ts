// The admin console (/admin) over HTTP: who may see it, its page headers, its forms' CSRF and Origin
// checks, and that its actions are the service layer's (one security event each).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { randomToken, sha256 } from '../src/oauth/crypto.js';
import { Browser, parseForm, setupWithClientAndUser, tokenRequest, type TestServer } from './helpers.js';

const PAGES = ['/admin/users', '/admin/users/user-alice', '/admin/clients', '/admin/resources', '/admin/keys', '/admin/events'];

/** A browser holding a live session of `userId` (created through the storage layer, as a login would). */
async function signedIn(server: TestServer, userId: string): Promise<Browser> {
  const raw = randomToken();
  const now = server.clock();
  await server.deps.storage.sessions.create({
    idHash: sha256(raw),
    sid: randomToken(16),
    userId,
    authTime: now,
    createdAt: now,
    expiresAt: now + 3600,
  });
  const browser = new Browser(server.app);
  browser.cookies.set('gatehouse.session', raw);
  return browser;
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const { server, client, user } = await setupWithClientAndUser(t);
  const admin = await server.createUser('root', 'root admin password');
  await server.deps.storage.users.setRole(admin.id, 'admin', server.clock());
  return { server, client, user, admin, browser: await signedIn(server, admin.id) };
}

/** The form on `page` whose action is `action`, with its fields. */
async function formOn(browser: Browser, page: string, action: string) {
  const res = await browser.get(page);
  assert.equal(res.statusCode, 200, res.body.slice(0, 300));
  const forms = [...res.body.matchAll(/<form method="post"[\s\S]*?<\/form>/g)].map((m) => parseForm(m[0]));
  const found = forms.find((f) => f.action === action);
  assert.ok(found, `a form posting to ${action} on ${page}`);
  return found;
}

function assertPageHeaders(res: LightMyRequestResponse, page: string): void {
  assert.equal(res.headers['x-frame-options'], 'DENY', page);
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /frame-ancestors 'none'/, page);
  assert.match(csp, /script-src 'self'/, page);
  assert.equal(res.headers['referrer-policy'], 'no-referrer', page);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', page);
  assert.doesNotMatch(res.body, /<script|\son[a-z]+=/i, `${page} has no inline script or handler`);
}

test('the console sends a browser without a session to /account/sign-in with return_to, and shows others a 403 page', async (t) => {
  const { server } = await setup(t);
  const anonymous = new Browser(server.app);
  const res = await anonymous.get('/admin/clients?x=1');
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, `/account/sign-in?return_to=${encodeURIComponent('/admin/clients?x=1')}`);
  const alice = await signedIn(server, 'user-alice');
  for (const page of PAGES) {
    const denied = await alice.get(page);
    assert.equal(denied.statusCode, 403, page);
    assert.match(String(denied.headers['content-type']), /text\/html/);
  }
  const post = await alice.post('/admin/users/user-alice/disable', { csrf_token: 'x' });
  assert.equal(post.statusCode, 403);
  assert.equal((await server.deps.storage.users.findById('user-alice'))?.disabled, false);
});

test('UI-01 UI-07 every admin console page has X-Frame-Options DENY, CSP frame-ancestors none and script-src self, and no inline script', async (t) => {
  const { browser } = await setup(t);
  for (const page of PAGES) {
    const res = await browser.get(page);
    assert.equal(res.statusCode, 200, page);
    assertPageHeaders(res, page);
  }
});

test('UI-02 console forms refuse a missing, wrong or another session’s CSRF token and a foreign Origin with 403, and change nothing', async (t) => {
  const { server, admin, browser } = await setup(t);
  const f = await formOn(browser, '/admin/users/user-alice', '/admin/users/user-alice/disable');
  const other = await signedIn(server, admin.id);
  const foreign = (await formOn(other, '/admin/users/user-alice', '/admin/users/user-alice/disable')).fields.csrf_token!;
  assert.notEqual(foreign, f.fields.csrf_token, 'the token is per session');
  const attempts: [string, Record<string, string>, Record<string, string>][] = [
    ['no token', {}, {}],
    ['a wrong token', { csrf_token: 'A'.repeat(43) }, {}],
    ['another session’s token', { csrf_token: foreign }, {}],
    ['a foreign Origin', { ...f.fields }, { origin: 'https://evil.example' }],
  ];
  for (const [name, body, headers] of attempts) {
    const res = await browser.post(f.action, body, headers);
    assert.equal(res.statusCode, 403, name);
    assertPageHeaders(res, name);
  }
  const json = await server.app.inject({
    method: 'POST',
    url: f.action,
    headers: { 'content-type': 'application/json', cookie: `gatehouse.session=${browser.cookies.get('gatehouse.session')}` },
    payload: JSON.stringify(f.fields),
  });
  assert.equal(json.statusCode, 403, 'a JSON body carries no form token');
  assert.equal((await server.deps.storage.users.findById('user-alice'))?.disabled, false);
  const done = await browser.post(f.action, f.fields, { origin: server.issuer });
  assert.equal(done.statusCode, 303);
  assert.equal((await server.deps.storage.users.findById('user-alice'))?.disabled, true);
});

test('EV-01 console actions are the service layer’s: disable, sign out, password, role, client edit, secret rotation and key rotation each record one event by the admin (one per key for a key rotation)', async (t) => {
  const { server, client, browser } = await setup(t);
  const events = server.deps.storage.securityEvents;
  const user = '/admin/users/user-alice';
  const clientPage = `/admin/clients/${client.clientId}`;
  const steps: [string, string, string, Record<string, string>][] = [
    ['user.disabled', user, `${user}/disable`, {}],
    ['user.enabled', user, `${user}/enable`, {}],
    ['session.revoked', user, `${user}/sign-out`, {}],
    ['user.password_set', user, `${user}/password`, { password: 'a fresh password here' }],
    ['admin.role_granted', user, `${user}/role`, {}],
    ['client.updated', clientPage, clientPage, { redirect_uris: 'https://c1.example/cb\nhttps://c1.example/cb2', scope: 'openid profile' }],
    ['client.secret_rotated', clientPage, `${clientPage}/secret`, {}],
    ['admin.client_disabled', clientPage, `${clientPage}/disable`, {}],
    ['key.rotated', '/admin/keys', '/admin/keys/rotate', {}],
  ];
  let secret: string | undefined;
  for (const [type, page, action, fields] of steps) {
    const f = await formOn(browser, page, action);
    const before = (await events.list({ limit: 10_000 })).length;
    const res = await browser.post(action, { ...f.fields, ...fields });
    assert.ok(res.statusCode === 303 || res.statusCode === 200, `${type}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    if (type === 'client.secret_rotated') secret = /<code>([A-Za-z0-9_-]{43})<\/code>/.exec(res.body)?.[1];
    const after = await events.list({ limit: 10_000 });
    // A rotation of all keys is one key.rotated per algorithm (each names its kid); every other action is one event.
    const algs = new Set((await server.deps.storage.signingKeys.list()).filter((k) => k.status === 'next').map((k) => k.alg)).size;
    assert.equal(after.length, before + (type === 'key.rotated' ? algs : 1), `${type}: exactly one event`);
    assert.equal(after[0]!.type, type, `${type} is the newest event`);
    assert.equal(after[0]!.details.admin, 'root');
  }
  assert.deepEqual((await server.deps.storage.clients.find(client.clientId))?.redirectUris, [
    'https://c1.example/cb',
    'https://c1.example/cb2',
  ]);
  assert.ok(secret, 'the new secret is shown once');
  assert.equal((await server.deps.storage.clients.find(client.clientId))?.secretHash, sha256(secret));
  assert.equal((await server.deps.storage.users.findById('user-alice'))?.role, 'admin');
  // The client was disabled last: neither secret authenticates now.
  const res = await tokenRequest(server.app, { grant_type: 'client_credentials' }, { clientId: client.clientId, clientSecret: secret });
  assert.equal(res.json().error, 'invalid_client');
});

test('console refusals are pages, not 500s: a bad redirect URI, a short password, an unknown user', async (t) => {
  const { server, client, browser } = await setup(t);
  const edit = await formOn(browser, `/admin/clients/${client.clientId}`, `/admin/clients/${client.clientId}`);
  const bad = await browser.post(edit.action, { ...edit.fields, redirect_uris: 'javascript:alert(1)' });
  assert.equal(bad.statusCode, 400);
  assert.deepEqual((await server.deps.storage.clients.find(client.clientId))?.redirectUris, ['https://c1.example/cb']);
  const pw = await formOn(browser, '/admin/users/user-alice', '/admin/users/user-alice/password');
  assert.equal((await browser.post(pw.action, { ...pw.fields, password: 'short' })).statusCode, 400);
  assert.equal((await browser.get('/admin/users/nobody')).statusCode, 404);
});
