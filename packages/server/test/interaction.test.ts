// The login and consent pages (UI-01..UI-09, RU-09, RU-12, ST-08) and CONTRACT.md's form names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import {
  authorizeUrl,
  Browser,
  getCode,
  parseForm,
  pkce,
  type TestServer,
  assertErrorPage,
  continueFlow,
  countRows,
  createPublicClient,
  header,
  isConsentForm,
  isLoginForm,
  locationOf,
  nowSeconds,
  postAs,
  setCookies,
  startInteraction,
  setupWithClientAndUser as setup,
} from './helpers.js';
import { describeScopes } from '../src/oauth/scopes.js';
import { escapeHtml } from '../src/interaction/views.js';

const C1 = 'https://c1.example/cb';

const start = (browser: Browser, clientId: string, extra: Record<string, string> = {}, scope?: string, redirectUri = C1) =>
  startInteraction(browser, { clientId, redirectUri, state: 'S', challenge: pkce().challenge, ...(scope ? { scope } : {}), extra });

/** Logs in on a started interaction's login form; returns the POST answer. */
const login = (
  browser: Browser,
  f: ReturnType<typeof parseForm>,
  user: { username: string; password: string },
  headers: Record<string, string> = {},
) => browser.post(f.action, { ...f.fields, username: user.username, password: user.password }, headers);

function assertPageHeaders(res: LightMyRequestResponse, where: string) {
  assert.equal(res.headers['x-frame-options'], 'DENY', `${where}: X-Frame-Options`);
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /frame-ancestors 'none'/, `${where}: CSP frame-ancestors`);
  assert.match(csp, /script-src 'self'/, `${where}: CSP script-src 'self'`);
  assert.equal(res.headers['referrer-policy'], 'no-referrer', `${where}: Referrer-Policy`);
  assert.equal(res.headers['x-content-type-options'], 'nosniff', `${where}: nosniff`);
  assert.match(String(res.headers['cache-control']), /no-store/, `${where}: no-store`);
  assert.doesNotMatch(res.body, /(?:src|href|action)\s*=\s*["']?(?:https?:)?\/\//i, `${where}: no third-party content`);
}

async function assertNoCode(server: TestServer, res: LightMyRequestResponse) {
  assert.ok(!String(res.headers.location ?? '').includes('code='), 'no code in a redirect');
  assert.equal(await countRows(server.deps.storage, 'authorization_codes'), 0, 'no code was issued');
}

test('CONTRACT the login page has a post form with username, password type=password, a CSRF token and one submit button', async (t) => {
  const { server, client } = await setup(t);
  const { page, form } = await start(new Browser(server.app), client.clientId);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /<form[^>]*method="post"/i);
  assert.match(page.body, /<input[^>]*name="username"/);
  assert.match(page.body, /<input(?=[^>]*name="password")(?=[^>]*type="password")[^>]*>/);
  assert.equal((page.body.match(/type="submit"/g) ?? []).length, 1);
  assert.ok(form.fields.csrf_token && form.fields.csrf_token.length >= 32, 'a CSRF token in a hidden input');
  assert.match(page.body, /<input(?=[^>]*type="hidden")(?=[^>]*name="csrf_token")[^>]*>/);
});

test('CONTRACT the consent page has allow and deny submit buttons named decision and lists the scopes', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId, {}, 'openid profile email photos:read');
  const res = await login(browser, form, user);
  const page = await browser.get(locationOf(res));
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<button(?=[^>]*type="submit")(?=[^>]*name="decision")(?=[^>]*value="allow")[^>]*>/);
  assert.match(page.body, /<button(?=[^>]*type="submit")(?=[^>]*name="decision")(?=[^>]*value="deny")[^>]*>/);
  assert.ok(isConsentForm(parseForm(page.body)));
  assert.ok(page.body.includes(escapeHtml('Test Client')), 'the consent page names the client');
  for (const d of describeScopes(['openid', 'profile', 'email']))
    assert.ok(page.body.includes(escapeHtml(d.description!)), `describes ${d.scope}`);
  assert.ok(page.body.includes('photos:read'), 'an unknown custom scope is shown by name');
});

test('UI-01 UI-07 login page, consent page, failed login and stale interaction carry the security headers', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { page, form, url } = await start(browser, client.clientId);
  assertPageHeaders(page, 'login page');
  const failed = await browser.post(form.action, { ...form.fields, username: user.username, password: 'wrong' });
  assertPageHeaders(failed, 'failed login');
  const consent = await browser.get(locationOf(await login(browser, form, user)));
  assertPageHeaders(consent, 'consent page');
  await browser.post(parseForm(consent.body).action, { ...parseForm(consent.body).fields, decision: 'allow' });
  const stale = await browser.get(url);
  assertErrorPage(stale);
  assertPageHeaders(stale, 'stale interaction page');
});

test('RU-09 the login and consent POSTs answer 303, never 307/308', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const afterLogin = await login(browser, form, user);
  assert.equal(afterLogin.statusCode, 303);
  const consent = parseForm((await browser.get(locationOf(afterLogin))).body);
  const afterConsent = await browser.post(consent.action, { ...consent.fields, decision: 'allow' });
  assert.equal(afterConsent.statusCode, 303);
  assert.ok(new URL(locationOf(afterConsent)).searchParams.get('code'));
  // deny is a POST answer too
  const b2 = new Browser(server.app);
  const { form: f2 } = await start(b2, client.clientId, { prompt: 'consent' });
  const c2 = parseForm((await b2.get(locationOf(await login(b2, f2, user)))).body);
  assert.equal((await b2.post(c2.action, { ...c2.fields, decision: 'deny' })).statusCode, 303);
});

test('UI-02 a login POST without the CSRF token is refused with 403 and no code', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const { csrf_token: _csrf, ...rest } = form.fields;
  const res = await browser.post(form.action, { ...rest, username: user.username, password: user.password });
  assert.equal(res.statusCode, 403);
  await assertNoCode(server, res);
  assert.equal(await countRows(server.deps.storage, 'sessions'), 0, 'no session was started');
});

test('UI-02 a wrong, empty or repeated CSRF token is refused with 403', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const body = { username: user.username, password: user.password };
  for (const token of ['', 'x'.repeat(43), form.fields.csrf_token!.slice(1), form.fields.csrf_token!.toUpperCase()]) {
    assert.equal((await browser.post(form.action, { ...body, csrf_token: token })).statusCode, 403);
  }
  const repeated = `csrf_token=${encodeURIComponent(form.fields.csrf_token!)}&csrf_token=${encodeURIComponent(form.fields.csrf_token!)}&username=${user.username}&password=${encodeURIComponent(user.password)}`;
  assert.equal((await browser.post(form.action, repeated)).statusCode, 403);
  await assertNoCode(server, { headers: {} } as LightMyRequestResponse);
});

test('UI-02 the CSRF token of another interaction is refused with 403', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const a = await start(browser, client.clientId);
  const b = await start(browser, client.clientId);
  assert.notEqual(a.form.fields.csrf_token, b.form.fields.csrf_token);
  const res = await browser.post(a.form.action, { csrf_token: b.form.fields.csrf_token, username: user.username, password: user.password });
  assert.equal(res.statusCode, 403);
  await assertNoCode(server, res);
});

test('UI-02 a POST from a foreign Origin is refused with 403, on login and on consent', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  for (const origin of [
    'https://evil.example',
    'http://127.0.0.1:9001',
    'https://127.0.0.1:9000',
    'http://127.0.0.1:9000.evil.example',
    'http://127.0.0.1',
  ]) {
    const res = await login(browser, form, user, { origin });
    assert.equal(res.statusCode, 403, origin);
  }
  // same origin is fine
  const ok = await login(browser, form, user, { origin: server.issuer });
  assert.equal(ok.statusCode, 303);
  const consent = parseForm((await browser.get(locationOf(ok))).body);
  const res = await browser.post(consent.action, { ...consent.fields, decision: 'allow' }, { origin: 'https://evil.example' });
  assert.equal(res.statusCode, 403);
  await assertNoCode(server, res);
});

test('UI-02 Origin: null (sent by browsers under Referrer-Policy: no-referrer) still needs the CSRF token', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const { csrf_token: _csrf, ...rest } = form.fields;
  const without = await browser.post(form.action, { ...rest, username: user.username, password: user.password }, { origin: 'null' });
  assert.equal(without.statusCode, 403);
  await assertNoCode(server, without);
  const withToken = await login(browser, form, user, { origin: 'null' });
  assert.equal(withToken.statusCode, 303);
});

test("UI-02 a consent POST without the CSRF token, or with another interaction's, is refused with 403", async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const a = await start(browser, client.clientId);
  const consentA = parseForm((await browser.get(locationOf(await login(browser, a.form, user)))).body);
  const b = await start(browser, client.clientId, { prompt: 'consent' });
  assert.ok(isConsentForm(b.form));
  assert.equal((await browser.post(consentA.action, { decision: 'allow' })).statusCode, 403);
  const res = await browser.post(consentA.action, { csrf_token: b.form.fields.csrf_token, decision: 'allow' });
  assert.equal(res.statusCode, 403);
  // interaction A's consent replayed against interaction B's URL
  const replay = await browser.post(b.form.action, { csrf_token: consentA.fields.csrf_token, decision: 'allow' });
  assert.equal(replay.statusCode, 403);
  await assertNoCode(server, replay);
});

test('UI-02 UI-09 an interaction is bound to its browser: another cookie jar cannot see or use it', async (t) => {
  const { server, client, user } = await setup(t);
  const victim = new Browser(server.app);
  const { url, form } = await start(victim, client.clientId);
  const attacker = new Browser(server.app);
  const page = await attacker.get(url);
  assertErrorPage(page);
  assert.ok(!page.body.includes(form.fields.csrf_token!), 'no CSRF token for another browser');
  const res = await attacker.post(form.action, { ...form.fields, username: user.username, password: user.password });
  assert.ok(res.statusCode === 400 || res.statusCode === 403, `got ${res.statusCode}`);
  assert.equal(res.headers.location, undefined);
  await assertNoCode(server, res);
  assert.equal(await countRows(server.deps.storage, 'sessions'), 0);
});

test('UI-02 the consent of another signed-in user cannot complete an interaction', async (t) => {
  const { server, client, user } = await setup(t);
  const bob = await server.createUser('bob', 'bobs password 123');
  const browser = new Browser(server.app);
  const { form, url } = await start(browser, client.clientId);
  const consent = parseForm((await browser.get(locationOf(await login(browser, form, user)))).body);
  // the same browser signs in as bob in another interaction, replacing alice's session
  const other = await start(browser, client.clientId, { prompt: 'login' });
  await login(browser, other.form, bob);
  const res = await browser.post(consent.action, { ...consent.fields, decision: 'allow' });
  assert.ok(!String(res.headers.location ?? '').includes('code='), `alice's consent must not be given by bob: ${res.statusCode} ${url}`);
});

test('UI-03 login issues a new session cookie; a planted pre-login value is worthless', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const planted = 'A'.repeat(43);
  browser.cookies.set('gatehouse.session', planted);
  const { form } = await start(browser, client.clientId);
  await login(browser, form, user);
  const issued = browser.cookies.get('gatehouse.session');
  assert.ok(issued && issued !== planted, 'a fresh session id at login');
  const attacker = new Browser(server.app);
  attacker.cookies.set('gatehouse.session', planted);
  const res = await attacker.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: C1, state: 'S', challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  assert.equal(new URL(locationOf(res)).searchParams.get('error'), 'login_required');
});

test('UI-03 a second login replaces the session id and the previous one stops working', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const first = browser.cookies.get('gatehouse.session')!;
  const { form } = await start(browser, client.clientId, { prompt: 'login' });
  await login(browser, form, user);
  const second = browser.cookies.get('gatehouse.session')!;
  assert.notEqual(second, first);
  const old = new Browser(server.app);
  old.cookies.set('gatehouse.session', first);
  const res = await old.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: C1, challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  assert.equal(new URL(locationOf(res)).searchParams.get('error'), 'login_required');
  const cur = new Browser(server.app);
  cur.cookies.set('gatehouse.session', second);
  const ok = await cur.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: C1, challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  assert.ok(new URL(locationOf(ok)).searchParams.get('code'), 'the new session works');
});

function cookieAttributes(res: LightMyRequestResponse, name: RegExp): string[] {
  return setCookies(res).filter((c) => name.test(c.split('=')[0]!));
}

test('UI-04 cookies are HttpOnly, SameSite=Lax and Path=/ (http loopback issuer)', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const authz = await browser.get(authorizeUrl({ clientId: client.clientId, redirectUri: C1, challenge: pkce().challenge }));
  const ic = cookieAttributes(authz, /gatehouse\.browser$/);
  assert.equal(ic.length, 1);
  const page = parseForm((await browser.get(locationOf(authz))).body);
  const loggedIn = await login(browser, page, user);
  const sc = cookieAttributes(loggedIn, /gatehouse\.session$/);
  assert.equal(sc.length, 1);
  for (const c of [...ic, ...sc]) {
    assert.match(c, /;\s*HttpOnly/i, c);
    assert.match(c, /;\s*SameSite=Lax/i, c);
    assert.match(c, /;\s*Path=\/(;|$)/i, c);
  }
});

test('UI-04 with an https issuer cookies are __Host- prefixed and Secure', async (t) => {
  const { server, client, user } = await setup(t, { GATEHOUSE_ISSUER: 'https://as.example' });
  const browser = new Browser(server.app);
  const authz = await browser.get(authorizeUrl({ clientId: client.clientId, redirectUri: C1, challenge: pkce().challenge }));
  const all = [...setCookies(authz)];
  const page = parseForm((await browser.get(locationOf(authz))).body);
  const loggedIn = await login(browser, page, user);
  assert.equal(loggedIn.statusCode, 303, loggedIn.body.slice(0, 300));
  all.push(...setCookies(loggedIn));
  assert.ok(
    all.some((c) => c.startsWith('__Host-gatehouse.session=')),
    'session cookie is __Host-',
  );
  for (const c of all) {
    if (/=;|Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c)) continue; // deletions
    assert.match(c, /^__Host-/, c);
    assert.match(c, /;\s*Secure/i, c);
    assert.match(c, /;\s*HttpOnly/i, c);
    assert.match(c, /;\s*SameSite=Lax/i, c);
    assert.match(c, /;\s*Path=\/(;|$)/i, c);
    assert.doesNotMatch(c, /;\s*Domain=/i, c);
  }
  assert.ok(all.length >= 2);
  // the whole flow still works under the https issuer
  const consent = parseForm((await browser.get(locationOf(loggedIn))).body);
  const done = await browser.post(consent.action, { ...consent.fields, decision: 'allow' });
  const location = new URL(locationOf(done));
  assert.ok(location.searchParams.get('code'));
  assert.equal(location.searchParams.get('iss'), 'https://as.example');
  assert.equal(header(done, 'strict-transport-security') !== undefined, true, 'TL-04: HSTS on https');
});

test('UI-05 an unknown user and a wrong password get the same status and body', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const unknown = await browser.post(form.action, { ...form.fields, username: 'nobody', password: 'whatever it is' });
  const wrong = await browser.post(form.action, { ...form.fields, username: user.username, password: 'whatever it is' });
  assert.equal(unknown.statusCode, wrong.statusCode);
  assert.ok(unknown.statusCode >= 400 && unknown.statusCode < 500);
  assert.equal(unknown.body.replaceAll('nobody', 'USER'), wrong.body.replaceAll(user.username, 'USER'));
  assert.equal(unknown.headers['content-type'], wrong.headers['content-type']);
  assert.equal(unknown.headers.location, undefined);
  // a disabled user's right password looks the same too
  await server.deps.storage.users.setDisabled('user-alice', true, nowSeconds());
  const disabled = await browser.post(form.action, { ...form.fields, username: user.username, password: user.password });
  assert.equal(disabled.statusCode, wrong.statusCode);
  assert.equal(disabled.body, wrong.body);
});

test('UI-06 after the configured failures the account is throttled with 429 and Retry-After, the right password included', async (t) => {
  const { server, client, user } = await setup(t, { GATEHOUSE_LOGIN_MAX_FAILURES: '3' });
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  for (let i = 0; i < 3; i++) {
    const res = await postAs(
      server.app,
      browser,
      form.action,
      { ...form.fields, username: user.username, password: `wrong ${i}` },
      { remoteAddress: `10.0.0.${i + 1}` },
    );
    assert.equal(res.statusCode, 401, `failure ${i}`);
  }
  const wrong = await postAs(
    server.app,
    browser,
    form.action,
    { ...form.fields, username: user.username, password: 'wrong again' },
    { remoteAddress: '10.0.0.50' },
  );
  assert.equal(wrong.statusCode, 429);
  assert.match(String(wrong.headers['retry-after']), /^\d+$/);
  assert.ok(Number(wrong.headers['retry-after']) > 0);
  // the right password from yet another IP during the lock gets the same answer and no session
  const right = await postAs(
    server.app,
    browser,
    form.action,
    { ...form.fields, username: user.username, password: user.password },
    { remoteAddress: '10.0.0.99' },
  );
  assert.equal(right.statusCode, 429);
  assert.equal(right.body, wrong.body);
  assert.equal(right.headers.location, undefined);
  assert.equal(await countRows(server.deps.storage, 'sessions'), 0);
  assert.equal(await countRows(server.deps.storage, 'authorization_codes'), 0);
});

test('UI-06 the account lock is case-insensitive on the username', async (t) => {
  const { server, client, user } = await setup(t, { GATEHOUSE_LOGIN_MAX_FAILURES: '2' });
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  await postAs(server.app, browser, form.action, { ...form.fields, username: 'alice', password: 'x1' }, { remoteAddress: '10.1.0.1' });
  await postAs(server.app, browser, form.action, { ...form.fields, username: 'ALICE', password: 'x2' }, { remoteAddress: '10.1.0.2' });
  const res = await postAs(
    server.app,
    browser,
    form.action,
    { ...form.fields, username: user.username, password: user.password },
    { remoteAddress: '10.1.0.3' },
  );
  assert.equal(res.statusCode, 429);
});

test('UI-06 one IP guessing across many accounts is throttled, without locking those accounts elsewhere', async (t) => {
  const { server, client, user } = await setup(t, { GATEHOUSE_LOGIN_MAX_FAILURES: '3' });
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  for (const name of ['u1', 'u2', 'u3']) {
    await postAs(server.app, browser, form.action, { ...form.fields, username: name, password: 'guess' }, { remoteAddress: '10.2.0.1' });
  }
  const blocked = await postAs(
    server.app,
    browser,
    form.action,
    { ...form.fields, username: user.username, password: user.password },
    { remoteAddress: '10.2.0.1' },
  );
  assert.equal(blocked.statusCode, 429);
  assert.ok(Number(blocked.headers['retry-after']) > 0);
  const elsewhere = await postAs(
    server.app,
    browser,
    form.action,
    { ...form.fields, username: user.username, password: user.password },
    { remoteAddress: '10.2.0.2' },
  );
  assert.equal(elsewhere.statusCode, 303, 'alice herself is not locked');
});

test('UI-08 client name and custom scopes are rendered escaped; template syntax stays literal', async (t) => {
  const { server, user } = await setup(t);
  const evilScope = '<img/src=x/onerror=alert(1)>';
  const name = '<script>alert(1)</script> {{7*7}} ${7*7} #{7*7} "quoted" \'single\'';
  const client = await server.createClient({ redirectUris: [C1], clientName: name, scope: `openid profile ${evilScope}` });
  const browser = new Browser(server.app);
  const { page, form } = await start(browser, client.clientId, { login_hint: '"><script>alert(2)</script>' }, `openid ${evilScope}`);
  const consent = await browser.get(locationOf(await login(browser, form, user)));
  for (const [where, body] of [
    ['login', page.body],
    ['consent', consent.body],
  ] as const) {
    assert.ok(!body.includes('<script>alert('), `${where}: no raw script tag`);
    assert.ok(body.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `${where}: the client name is shown escaped`);
    assert.ok(
      body.includes('{{7*7}}') && body.includes('${7*7}') && body.includes('#{7*7}'),
      `${where}: template syntax rendered literally`,
    );
    assert.ok(!body.includes('"quoted"') || !/=\s*"[^"]*"quoted"/.test(body), `${where}: quotes escaped`);
  }
  assert.ok(!consent.body.includes(evilScope), 'the custom scope is not raw HTML');
  assert.ok(consent.body.includes(escapeHtml(evilScope)), 'the custom scope is shown by name, escaped');
});

test('UI-08 the username echoed after a failed login is escaped', async (t) => {
  const { server, client } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const res = await browser.post(form.action, { ...form.fields, username: '"><script>alert(1)</script>', password: 'x' });
  assert.ok(!res.body.includes('<script>alert(1)</script>'));
  assert.ok(res.body.includes('&quot;&gt;&lt;script&gt;'));
});

test('ST-08 Deny gives access_denied with state and iss, and stores no consent', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const res = await browser.get(authorizeUrl({ clientId: client.clientId, redirectUri: C1, state: 'S-1', challenge: pkce().challenge }));
  const location = await continueFlow(browser, res, user, 'deny');
  assert.equal(`${location.origin}${location.pathname}`, C1);
  assert.equal(location.searchParams.get('error'), 'access_denied');
  assert.equal(location.searchParams.get('state'), 'S-1');
  assert.equal(location.searchParams.get('iss'), server.issuer);
  assert.equal(await server.deps.storage.grants.find('user-alice', client.clientId), undefined);
  // the next request asks again
  const again = await start(browser, client.clientId);
  assert.ok(isConsentForm(again.form));
});

test('a decision other than allow or deny issues nothing', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const consent = parseForm((await browser.get(locationOf(await login(browser, form, user)))).body);
  for (const decision of [undefined, 'ALLOW', 'yes']) {
    const res = await browser.post(consent.action, { ...consent.fields, decision });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${decision}: ${res.statusCode}`);
    await assertNoCode(server, res);
  }
});

test('RU-12 consent is remembered for a confidential client: same or narrower scopes skip the page', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1, scope: 'openid profile offline_access' }, user);
  for (const scope of ['openid profile offline_access', 'openid', 'profile openid']) {
    const res = await browser.get(
      authorizeUrl({ clientId: client.clientId, redirectUri: C1, scope, state: 'S', challenge: pkce().challenge }),
    );
    const location = new URL(locationOf(res));
    assert.equal(`${location.origin}${location.pathname}`, C1, `${scope}: straight back to the client`);
    assert.ok(location.searchParams.get('code'), scope);
    assert.equal(location.searchParams.get('state'), 'S');
  }
});

test('RU-12 a wider scope asks again and shows the new scope', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1, scope: 'openid profile' }, user);
  const { form, page } = await start(browser, client.clientId, {}, 'openid profile email photos:read');
  assert.ok(isConsentForm(form), 'consent asked again');
  assert.ok(page.body.includes(escapeHtml(describeScopes(['email'])[0]!.description!)), 'the new scope email is shown');
  assert.ok(page.body.includes('photos:read'), 'the new custom scope is shown');
});

test('RU-12 a public client is asked for consent every time', async (t) => {
  const { server, user } = await setup(t);
  const p1 = await createPublicClient(server, ['https://p1.example/cb']);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: p1.clientId, redirectUri: 'https://p1.example/cb' }, user);
  const { form } = await start(browser, p1.clientId, {}, undefined, 'https://p1.example/cb');
  assert.ok(isConsentForm(form), 'consent page again for the public client');
  assert.ok(!isLoginForm(form), 'but no new login');
  const none = await browser.get(
    authorizeUrl({ clientId: p1.clientId, redirectUri: 'https://p1.example/cb', challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  assert.equal(new URL(locationOf(none)).searchParams.get('error'), 'consent_required');
});

test('UI-09 an expired interaction shows an error page and issues no code', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form, url } = await start(browser, client.clientId);
  server.clock.advance(server.config.interactionTtl);
  assertErrorPage(await browser.get(url));
  const res = await login(browser, form, user);
  assertErrorPage(res);
  await assertNoCode(server, res);
  assert.equal(await countRows(server.deps.storage, 'sessions'), 0);
});

test('UI-09 an interaction that expires between login and consent issues no code', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form } = await start(browser, client.clientId);
  const consent = parseForm((await browser.get(locationOf(await login(browser, form, user)))).body);
  server.clock.advance(server.config.interactionTtl);
  const res = await browser.post(consent.action, { ...consent.fields, decision: 'allow' });
  assertErrorPage(res);
  await assertNoCode(server, res);
});

test('UI-09 the interaction lifetime comes from GATEHOUSE_INTERACTION_TTL', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_INTERACTION_TTL: '42' });
  const { id } = await start(new Browser(server.app), client.clientId);
  const row = await server.deps.storage.db.selectFrom('interactions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  assert.equal(row.expires_at - row.created_at, 42);
});

test('UI-09 a completed interaction cannot be replayed for a second code', async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  const { form, url } = await start(browser, client.clientId);
  const consent = parseForm((await browser.get(locationOf(await login(browser, form, user)))).body);
  const first = await browser.post(consent.action, { ...consent.fields, decision: 'allow' });
  assert.ok(new URL(locationOf(first)).searchParams.get('code'));
  // the browser still has the cookie value it had: put it back and replay
  const replay = await browser.post(consent.action, { ...consent.fields, decision: 'allow' });
  assertErrorPage(replay);
  assertErrorPage(await browser.get(url));
  assert.equal(await countRows(server.deps.storage, 'authorization_codes'), 1);
});

test('UI-09 unknown or malformed interaction ids give an error page', async (t) => {
  const { server } = await setup(t);
  const browser = new Browser(server.app);
  for (const id of ['A'.repeat(43), 'nope', '..%2F..%2Fetc%2Fpasswd', 'A'.repeat(300)]) {
    const res = await browser.get(`/interaction/${id}`);
    assert.ok([400, 404, 414].includes(res.statusCode), `${id.slice(0, 50)}: ${res.statusCode}`);
    assert.equal(res.headers.location, undefined);
  }
  assertErrorPage(await browser.post(`/interaction/${'A'.repeat(43)}/login`, { username: 'a', password: 'b', csrf_token: 'c' }));
});

test("a disabled user's live session no longer counts as signed in", async (t) => {
  const { server, client, user } = await setup(t);
  const browser = new Browser(server.app);
  await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  await server.deps.storage.users.setDisabled('user-alice', true, nowSeconds());
  const res = await browser.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: C1, challenge: pkce().challenge, extra: { prompt: 'none' } }),
  );
  assert.equal(new URL(locationOf(res)).searchParams.get('error'), 'login_required');
});
