// The account pages over app.inject: the sign-in through the login page and its return path
// allowlist, the CSRF and Origin checks of every account form, the page headers, the password change,
// session sign-out, connected apps (Remove access) and the escaping of the profile, and the landing page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { safeReturnTo } from '../src/interaction/account-session.js';
import { contrast } from '../src/interaction/branding.js';
import { grantGroups } from '../src/oauth/resources.js';
import type { Resource } from '../src/storage/index.js';
import {
  basic,
  Browser,
  countRows,
  form,
  header,
  ISSUER,
  issueTokens,
  locationOf,
  parseForm,
  refresh,
  setupWithClientAndUser,
  startServer,
  type ParsedForm,
  type TestServer,
} from './helpers.js';

type Creds = { clientId: string; clientSecret: string | undefined; redirectUri: string };

/** The form of a page that posts to `action`, parsed like parseForm. */
function formTo(html: string, action: string): ParsedForm {
  const start = html.indexOf(`action="${action}"`);
  assert.ok(start >= 0, `no form posting to ${action}`);
  return parseForm(html.slice(html.lastIndexOf('<form', start)));
}

/** Every form of the account page that posts to `action`. */
function formsTo(html: string, action: string): ParsedForm[] {
  const out: ParsedForm[] = [];
  let at = 0;
  for (;;) {
    const i = html.indexOf(`action="${action}"`, at);
    if (i < 0) return out;
    out.push(parseForm(html.slice(html.lastIndexOf('<form', i))));
    at = i + 1;
  }
}

/**
 * GET /account/sign-in?return_to=…, then the login page, then the password: the final answer (a
 * browser that is signed in already gets its redirect at once).
 */
async function signIn(
  browser: Browser,
  user: { username: string; password: string },
  returnTo = '/account',
): Promise<LightMyRequestResponse> {
  const start = await browser.get(`/account/sign-in?${form({ return_to: returnTo })}`);
  const loginUrl = locationOf(start);
  if (!loginUrl.startsWith('/interaction/')) return start;
  assert.match(loginUrl, /^\/interaction\/[A-Za-z0-9_-]{43}$/);
  const page = await browser.get(loginUrl);
  assert.equal(page.statusCode, 200);
  const f = parseForm(page.body);
  assert.ok('password' in f.fields && 'username' in f.fields, 'the account sign-in is the login page');
  return browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
}

async function accountPage(browser: Browser): Promise<LightMyRequestResponse> {
  const res = await browser.get('/account');
  assert.equal(res.statusCode, 200, `expected the account page, got ${res.statusCode} ${String(res.headers.location ?? '')}`);
  return res;
}

async function introspect(server: TestServer, client: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: form({ token }),
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Record<string, unknown>;
}

test('the account pages without a session redirect to the account sign-in, which returns to the page asked for', async (t) => {
  const { server, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const res = await browser.get('/account');
  assert.equal(res.statusCode, 303);
  const location = new URL(locationOf(res), ISSUER);
  assert.equal(location.pathname, '/account/sign-in');
  assert.equal(location.searchParams.get('return_to'), '/account');
  for (const path of ['/account/profile', '/account/password', '/account/apps/remove', '/account/sessions/sign-out', '/account/sign-out']) {
    const posted = await browser.post(path, { csrf_token: 'x' });
    assert.equal(posted.statusCode, 303, path);
    assert.equal(new URL(locationOf(posted), ISSUER).pathname, '/account/sign-in', path);
  }
  const done = await signIn(browser, user, '/admin/users');
  assert.equal(done.statusCode, 303);
  assert.equal(locationOf(done), '/admin/users');
  assert.equal(await countRows(server.deps.storage, 'authorization_codes'), 0, 'an account sign-in issues no code');
  await accountPage(browser);
  // Signed in already: the sign-in goes straight to the (allowlisted) path.
  assert.equal(locationOf(await browser.get('/account/sign-in?return_to=/account/security')), '/account/security');
});

test('UI-03 the account sign-in issues a new session id; a planted pre-login value is worthless', async (t) => {
  const { server, user } = await setupWithClientAndUser(t);
  const planted = 'planted-session-value-0123456789abcdefghijklmnopq';
  const browser = new Browser(server.app);
  browser.cookies.set('gatehouse.session', planted);
  const done = await signIn(browser, user);
  assert.equal(locationOf(done), '/account');
  const issued = browser.cookies.get('gatehouse.session');
  assert.ok(issued && issued !== planted, 'a new session id at sign-in');
  const attacker = new Browser(server.app);
  attacker.cookies.set('gatehouse.session', planted);
  assert.equal((await attacker.get('/account')).statusCode, 303, 'the planted value is not signed in');
  assert.equal((await browser.get('/account')).statusCode, 200);
});

test('return_to outside the allowlist (other origins, //, backslashes, encodings, dot segments) falls back to /account', async (t) => {
  const bad = [
    'https://evil.example/account',
    '//evil.example/account',
    '/\\evil.example',
    '\\\\evil.example',
    '/%2F%2Fevil.example',
    '/account%2F..%2F..%2Fevil',
    '/account/../../evil',
    '/account/./x',
    '/accounts',
    '/administrator',
    '/account?next=https://evil.example',
    '/account#x',
    '/admin@evil.example',
    'javascript:alert(1)',
    ' /account',
    '/account\t',
    '/account//evil.example',
    '',
    'account',
  ];
  for (const value of bad) assert.equal(safeReturnTo(value), '/account', JSON.stringify(value));
  for (const good of ['/account', '/account/', '/account/security', '/admin', '/admin/users/u-1', '/admin/clients/a.b']) {
    assert.equal(safeReturnTo(good), good);
  }
  // Through the pages: once signed in, and through a real login.
  const { server, user } = await setupWithClientAndUser(t);
  const fresh = new Browser(server.app);
  const done = await signIn(fresh, user, '//evil.example/account');
  assert.equal(locationOf(done), '/account');
  for (const value of bad) {
    const res = await fresh.get(`/account/sign-in?${form({ return_to: value })}`);
    assert.equal(locationOf(res), '/account', JSON.stringify(value));
  }
  const repeated = await fresh.get('/account/sign-in?return_to=/admin&return_to=//evil.example');
  assert.equal(locationOf(repeated), '/account', 'a repeated return_to falls back too');
});

test('UI-02 every account form refuses a post without the CSRF token, with another session token, or from a foreign Origin', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  await issueTokens(server, browser, client, user);
  await signIn(browser, user);
  const other = new Browser(server.app);
  const bob = await server.createUser('bob');
  await signIn(other, bob);
  const otherToken = formTo((await accountPage(other)).body, '/account/profile').fields.csrf_token!;
  const page = (await accountPage(browser)).body;
  const forms = ['/account/profile', '/account/password', '/account/apps/remove', '/account/sessions/sign-out', '/account/sign-out'].map(
    (action) => formTo(page, action),
  );
  const filled = (f: ParsedForm): Record<string, string> => ({
    ...f.fields,
    name: 'Changed',
    email: 'changed@example.com',
    current_password: user.password,
    new_password: 'a brand new password',
    confirm_password: 'a brand new password',
  });
  for (const f of forms) {
    const { csrf_token: _token, ...withoutToken } = filled(f);
    assert.equal((await browser.post(f.action, withoutToken)).statusCode, 403, `${f.action} without the token`);
    assert.equal(
      (await browser.post(f.action, { ...withoutToken, csrf_token: otherToken })).statusCode,
      403,
      `${f.action} with bob's token`,
    );
    assert.equal((await browser.post(f.action, { ...withoutToken, csrf_token: '' })).statusCode, 403, `${f.action} with an empty token`);
    const foreign = await browser.post(f.action, filled(f), { origin: 'https://evil.example' });
    assert.equal(foreign.statusCode, 403, `${f.action} from a foreign Origin`);
  }
  // Nothing changed: the profile, the password, the grant, the session.
  const stored = await server.deps.storage.users.findById(user.id);
  assert.equal(stored?.name, `User ${user.username}`);
  assert.ok(await server.deps.storage.grants.find(user.id, client.clientId), 'the grant is still there');
  assert.equal((await browser.get('/account')).statusCode, 200, 'still signed in');
  const again = await signIn(new Browser(server.app), user);
  assert.equal(again.statusCode, 303, 'the old password still works');
});

test('UI-01 UI-07 the account pages, the account sign-in and the landing page carry the security headers and no third-party content', async (t) => {
  const { server, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const start = await browser.get('/account/sign-in');
  const login = await browser.get(locationOf(start));
  await signIn(browser, user);
  const pages = {
    login,
    account: await accountPage(browser),
    landing: await browser.get('/'),
    refused: await browser.post('/account/profile', { name: 'x' }),
  };
  for (const [name, res] of Object.entries(pages)) {
    assert.match(String(res.headers['content-type']), /^text\/html/, name);
    assert.equal(header(res, 'x-frame-options'), 'DENY', name);
    const csp = header(res, 'content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, name);
    assert.match(csp, /script-src 'self'/, name);
    assert.match(csp, /style-src 'self'/, name);
    assert.equal(header(res, 'referrer-policy'), 'no-referrer', name);
    assert.equal(header(res, 'x-content-type-options'), 'nosniff', name);
    assert.doesNotMatch(res.body, /(?:src|href|action)="(?:https?:)?\/\//i, `${name}: no third-party URL`);
    // Scripts only as files from our own origin (the passkey sign-in's): no inline script, handler or style.
    assert.doesNotMatch(res.body, /<script(?![^>]*\ssrc="\/[^/])|\son[a-z]+=|style="/i, `${name}: no inline script, handler or style`);
  }
});

test('LC-01 a password change on the account page ends the other sessions and revokes every refresh token, and keeps this browser signed in', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const phone = new Browser(server.app);
  const tokens = (await issueTokens(server, phone, client, user)).body;
  const laptop = new Browser(server.app);
  await signIn(laptop, user);
  const f = formTo((await accountPage(laptop)).body, '/account/password');

  const wrong = await laptop.post(f.action, {
    ...f.fields,
    current_password: 'not my password',
    new_password: 'a brand new password',
    confirm_password: 'a brand new password',
  });
  assert.equal(wrong.statusCode, 401, 'a wrong current password is refused');
  const mismatch = await laptop.post(f.action, {
    ...f.fields,
    current_password: user.password,
    new_password: 'a brand new password',
    confirm_password: 'another new password',
  });
  assert.equal(mismatch.statusCode, 400);
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200, 'nothing was revoked yet');
  const ok = await laptop.post(f.action, {
    ...f.fields,
    current_password: user.password,
    new_password: 'a brand new password',
    confirm_password: 'a brand new password',
  });
  assert.equal(ok.statusCode, 303);
  assert.match(locationOf(ok), /^\/account\?notice=password/);
  assert.equal((await laptop.get(locationOf(ok))).statusCode, 200, 'this browser stays signed in');
  assert.equal((await phone.get('/account')).statusCode, 303, "the phone's session ended");
  const sessions = await server.deps.storage.sessions.listOf(user.id);
  assert.equal(sessions.length, 1, 'only this session is left');
  const families = await server.deps.storage.db
    .selectFrom('refresh_tokens')
    .select(['revoked_at'])
    .where('user_id', '=', user.id)
    .execute();
  assert.ok(families.length > 0 && families.every((r) => r.revoked_at !== null), 'every refresh token of the user is revoked');
  assert.deepEqual(await introspect(server, client, tokens.access_token), { active: false }, 'the access token is denied');
  const events = await server.deps.storage.securityEvents.list({ types: ['user.password_set'], limit: 10 });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.details.sign_out, 'other-sessions-all-tokens');
  // The new password signs in; the old does not.
  assert.equal(
    locationOf(await signIn(new Browser(server.app), { username: user.username, password: 'a brand new password' })),
    '/account',
  );
  assert.equal((await signIn(new Browser(server.app), user)).statusCode, 401);
});

test('Sign out of another session ends that session; Sign out of this browser ends it like logout', async (t) => {
  const { server, user } = await setupWithClientAndUser(t);
  const phone = new Browser(server.app);
  await signIn(phone, user);
  const laptop = new Browser(server.app);
  await signIn(laptop, user);
  const page = (await accountPage(laptop)).body;
  const forms = formsTo(page, '/account/sessions/sign-out');
  assert.equal(forms.length, 2, 'two sessions listed');
  const sessions = await server.deps.storage.sessions.listOf(user.id);
  const laptopSession = (await server.deps.storage.sessions.findActiveWithUser(
    (await import('../src/oauth/crypto.js')).sha256(laptop.cookies.get('gatehouse.session')!),
    server.clock(),
  ))!.session;
  const phoneSid = sessions.find((s) => s.sid !== laptopSession.sid)!.sid;
  const phoneForm = forms.find((f) => f.fields.sid === phoneSid)!;
  const ended = await laptop.post(phoneForm.action, phoneForm.fields);
  assert.equal(ended.statusCode, 303);
  assert.equal((await phone.get('/account')).statusCode, 303, 'the phone is signed out');
  assert.equal((await laptop.get('/account')).statusCode, 200, 'the laptop is still signed in');
  const events = await server.deps.storage.securityEvents.list({ types: ['session.revoked'], limit: 10 });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.details.sid, phoneSid);

  const again = await laptop.post(phoneForm.action, phoneForm.fields);
  assert.equal(again.statusCode, 400, 'an ended session cannot be ended twice');
  const own = formsTo((await accountPage(laptop)).body, '/account/sessions/sign-out');
  assert.equal(own.length, 1);
  const out = await laptop.post(own[0]!.action, own[0]!.fields);
  assert.equal(out.statusCode, 200, 'the signed-out page');
  assert.ok(!laptop.cookies.has('gatehouse.session'), 'the session cookie is cleared');
  assert.equal((await server.deps.storage.sessions.listOf(user.id)).length, 0);

  // The Sign out button of the page does the same.
  await signIn(laptop, user);
  const signOut = formTo((await accountPage(laptop)).body, '/account/sign-out');
  assert.equal((await laptop.post(signOut.action, signOut.fields)).statusCode, 200);
  assert.equal((await laptop.get('/account')).statusCode, 303);
});

test('UI-08 the profile update escapes what it reflects, and a changed email is no longer verified', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const user = await server.createUser('alice', 'correct horse battery', { claims: { email_verified: true } });
  const browser = new Browser(server.app);
  await signIn(browser, user);
  const f = formTo((await accountPage(browser)).body, '/account/profile');
  const name = '<script>alert(1)</script> ${7*7} {{7*7}} "quoted"';
  const saved = await browser.post(f.action, { ...f.fields, name, email: 'new@example.com' });
  assert.equal(saved.statusCode, 303);
  const page = (await accountPage(browser)).body;
  assert.ok(!page.includes('<script>alert(1)</script>'), 'no raw script');
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt; ${7*7} {{7*7}} &quot;quoted&quot;'), 'escaped, template syntax literal');
  assert.ok(!page.includes('49'), 'nothing evaluated');
  const stored = await server.deps.storage.users.findById(user.id);
  assert.equal(stored?.name, name);
  assert.equal(stored?.email, 'new@example.com');
  assert.equal(stored?.claims.email_verified, undefined, 'email_verified went with the old address');
  // A refused value is reflected escaped too, and nothing is stored.
  const refused = await browser.post(f.action, { ...f.fields, name: 'ok', email: '<img src=x onerror=alert(1)>' });
  assert.equal(refused.statusCode, 400);
  assert.ok(!refused.body.includes('<img src=x'), 'the refused email is escaped');
  assert.equal((await server.deps.storage.users.findById(user.id))?.email, 'new@example.com');
  const events = await server.deps.storage.securityEvents.list({ types: ['user.profile_updated'], limit: 10 });
  assert.equal(events.length, 1);
});

test('LC-01 EV-01 Remove access revokes the grant, its refresh tokens and its access tokens, and records the event', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const other = await server.createClient({ redirectUris: ['https://c2.example/cb'], clientName: 'Other App' });
  const browser = new Browser(server.app);
  const tokens = (await issueTokens(server, browser, client, user)).body;
  const otherTokens = (await issueTokens(server, browser, other, user)).body;
  await signIn(browser, user);
  const page = (await accountPage(browser)).body;
  const removes = formsTo(page, '/account/apps/remove');
  assert.deepEqual(removes.map((f) => f.fields.client_id).sort(), [client.clientId, other.clientId].sort(), 'both apps listed');
  const grant = await server.deps.storage.grants.find(user.id, client.clientId);
  assert.ok(grant?.lastUsedAt !== null, 'the code exchange recorded the use');

  const remove = removes.find((f) => f.fields.client_id === client.clientId)!;
  const res = await browser.post(remove.action, remove.fields);
  assert.equal(res.statusCode, 303);
  const refreshed = await refresh(server, client, tokens.refresh_token!);
  assert.equal(refreshed.statusCode, 400);
  assert.equal(refreshed.json().error, 'invalid_grant');
  assert.deepEqual(await introspect(server, client, tokens.access_token), { active: false });
  assert.equal(await server.deps.storage.grants.find(user.id, client.clientId), undefined);
  assert.equal((await refresh(server, other, otherTokens.refresh_token!)).statusCode, 200, 'the other app keeps its access');
  const events = await server.deps.storage.securityEvents.list({ types: ['consent.revoked'], limit: 10 });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.clientId, client.clientId);
  assert.equal(events[0]!.userId, user.id);
  assert.equal(formsTo((await accountPage(browser)).body, '/account/apps/remove').length, 1);
  // A client the user never granted cannot be named.
  const again = await browser.post(remove.action, remove.fields);
  assert.equal(again.statusCode, 400);
});

test("a grant's last use is recorded on code exchange and refresh, at most once a minute", async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const tokens = (await issueTokens(server, browser, client, user)).body;
  const first = (await server.deps.storage.grants.find(user.id, client.clientId))!.lastUsedAt;
  assert.ok(first !== null && Math.abs(first - server.clock()) <= 2);
  server.clock.advance(30);
  const r1 = await refresh(server, client, tokens.refresh_token!);
  assert.equal(r1.statusCode, 200);
  assert.equal((await server.deps.storage.grants.find(user.id, client.clientId))!.lastUsedAt, first, 'not rewritten within a minute');
  server.clock.advance(31);
  const r2 = await refresh(server, client, r1.json().refresh_token);
  assert.equal(r2.statusCode, 200);
  const later = (await server.deps.storage.grants.find(user.id, client.clientId))!.lastUsedAt!;
  assert.ok(later >= first + 60, 'rewritten after a minute');
});

test('the landing page names the product and links to the account pages and the discovery document', async (t) => {
  const server = await startServer({ GATEHOUSE_BRAND_NAME: 'Acme <ID>' });
  t.after(() => server.close());
  const res = await server.app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.ok(res.body.includes('href="/account"'));
  assert.ok(res.body.includes('href="/.well-known/openid-configuration"'));
  assert.ok(res.body.includes('Acme &lt;ID&gt;'), 'the brand name, escaped');
  assert.ok(!res.body.includes('<!--gatehouse:'), 'every brand slot is filled');
  // Pages rendered before routing (a malformed URL) carry the branding too.
  const malformed = await server.app.inject({ method: 'GET', url: '/interaction/%E0%A4%A', headers: { accept: 'text/html' } });
  assert.equal(malformed.statusCode, 400);
  assert.ok(malformed.body.includes('Acme &lt;ID&gt;') && !malformed.body.includes('<!--gatehouse:'));
});

test('branding: the colour reaches /assets/brand.css with readable text on it, a logo origin joins img-src, bad values stop the boot', async (t) => {
  const server = await startServer({ GATEHOUSE_BRAND_COLOR: '#FFD400', GATEHOUSE_BRAND_LOGO_URL: 'https://cdn.example/logo.svg' });
  t.after(() => server.close());
  const css = await server.app.inject({ method: 'GET', url: '/assets/brand.css' });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers['content-type']), /^text\/css/);
  const accent = /--accent: (#[0-9a-f]{6})/.exec(css.body)?.[1];
  const ink = /--accent-ink: (#[0-9a-f]{6})/.exec(css.body)?.[1];
  assert.equal(accent, '#ffd400');
  assert.ok(ink && contrast(accent, ink) >= 4.5, 'the text on the brand colour has 4.5:1');
  const text = /--accent-text: (#[0-9a-f]{6})/.exec(css.body)?.[1];
  assert.ok(text && contrast(text, '#ffffff') >= 4.5, 'the brand colour as text is darkened to 4.5:1 on white');
  const page = await server.app.inject({ method: 'GET', url: '/' });
  assert.match(header(page, 'content-security-policy') ?? '', /img-src 'self' data: https:\/\/cdn\.example(;|$)/);
  assert.ok(page.body.includes('src="https://cdn.example/logo.svg"'));
  const plain = await startServer();
  t.after(() => plain.close());
  const plainPage = await plain.app.inject({ method: 'GET', url: '/' });
  assert.match(header(plainPage, 'content-security-policy') ?? '', /img-src 'self' data:(;|$)/, 'no extra origin without a logo');

  const base = { GATEHOUSE_DATABASE_URL: 'sqlite::memory:' };
  for (const color of ['red', '#fff', '#12345g', 'url(x)', '#1234567']) {
    assert.throws(() => loadConfig({ ...base, GATEHOUSE_BRAND_COLOR: color }), ConfigError, color);
  }
  for (const logo of [
    'http://cdn.example/x.png',
    '//evil.example/x.png',
    'javascript:alert(1)',
    'https://u:p@cdn.example/x',
    '/a"b',
    'data:image/png;base64,AA',
  ]) {
    assert.throws(() => loadConfig({ ...base, GATEHOUSE_BRAND_LOGO_URL: logo }), ConfigError, logo);
  }
  assert.equal(loadConfig({ ...base, GATEHOUSE_BRAND_LOGO_URL: '/assets/logo.png' }).brandLogoUrl, '/assets/logo.png');
  assert.equal(loadConfig({}, { 'brand-name': 'Acme' }).brandName, 'Acme');
});

test('GET /account/sign-in writes an interaction for anyone, so it is limited per IP like /authorize', async (t) => {
  const server = await startServer({ GATEHOUSE_RATE_LIMIT_AUTHORIZE: '3' });
  t.after(() => server.close());
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) statuses.push((await server.app.inject({ method: 'GET', url: '/account/sign-in' })).statusCode);
  assert.deepEqual(statuses, [303, 303, 303, 429, 429]);
  assert.equal(await countRows(server.deps.storage, 'interactions'), 3, 'no interaction past the limit');
});

test('UI-06 the current password on the account page is throttled like a sign-in: after the failures the right one is refused too', async (t) => {
  const { server, user } = await setupWithClientAndUser(t, { GATEHOUSE_LOGIN_MAX_FAILURES: '3' });
  const browser = new Browser(server.app);
  await signIn(browser, user);
  const f = formTo((await accountPage(browser)).body, '/account/password');
  const attempt = (current: string) =>
    browser.post(f.action, {
      ...f.fields,
      current_password: current,
      new_password: 'a brand new password',
      confirm_password: 'a brand new password',
    });
  // This browser signed in to the account, so it is a known device (DS-03): it gets 10 failures of its
  // own before it is treated like any other browser; the account is locked for everyone else after 3.
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await attempt(`wrong guess ${i}`)).statusCode);
  assert.deepEqual(statuses, Array(10).fill(401));
  const locked = await attempt(user.password);
  assert.equal(locked.statusCode, 429, 'the right password during the lock gets the same refusal');
  assert.ok(Number(header(locked, 'retry-after')) > 0);
  const fresh = await signIn(new Browser(server.app), user);
  assert.notEqual(fresh.statusCode, 303, 'the account is locked for sign-in too');
  server.clock.advance(3600);
  assert.equal((await signIn(new Browser(server.app), user)).statusCode, 303, 'the password did not change');
});

test('connected apps describe a grant like the consent page: account scopes, each API by name with its plain words, unknown ones by name', () => {
  const photos: Resource = {
    uri: 'https://photos.example/api',
    name: 'Photos',
    scopes: ['photos:read', 'photos:write'],
    scopeDescriptions: { 'photos:read': 'See your photos' },
    accessTokenTtl: null,
    signingAlg: 'RS256',
    mayIntrospect: false,
    introspectionClientId: null,
    createdAt: 0,
    updatedAt: 0,
  };
  const groups = grantGroups(
    ['openid', 'profile', 'https://photos.example/api#photos:read', 'https://gone.example/api#x:y', 'plain:scope'],
    [photos],
  );
  assert.deepEqual(
    groups.map((g) => [g.kind, g.resourceName ?? null, g.scopes.map((s) => [s.scope, s.description ?? null])]),
    [
      [
        'account',
        null,
        [
          ['openid', groups[0]!.scopes[0]!.description],
          ['profile', groups[0]!.scopes[1]!.description],
        ],
      ],
      ['other', null, [['plain:scope', null]]],
      ['resource', 'Photos', [['photos:read', 'See your photos']]],
      ['other', null, [['x:y', null]]],
    ],
  );
  assert.ok(
    groups[0]!.scopes.every((s) => typeof s.description === 'string' && s.description.length > 0),
    'OpenID scopes in plain words',
  );
});
