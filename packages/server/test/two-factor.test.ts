// Two-factor sign-in over HTTP: TOTP enrolment at /account/security, the second-factor step after the
// password, single-use codes and recovery codes, the guess throttle, secrets at rest, amr/acr in the
// ID token, acr_values step-up and its errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Secret, TOTP } from 'otpauth';
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import { AtRest } from '../src/oauth/at-rest.js';
import { ACR_1FA, ACR_2FA } from '../src/oauth/two-factor/acr.js';
import { createGatehouse } from '../src/server.js';
import { loadConfig } from '../src/config/config.js';
import { hashPassword } from '../src/oauth/passwords.js';
import {
  assertErrorRedirect,
  Browser,
  decodeJwt,
  dumpDatabase,
  header,
  ISSUER,
  locationOf,
  parseForm,
  pkce,
  setupWithClientAndUser,
  startInteraction,
  testClock,
  tokenRequest,
  type TestServer,
} from './helpers.js';

type Client = { clientId: string; clientSecret: string | undefined; redirectUri: string };
type User = { id: string; username: string; password: string };

const SESSION_COOKIE = 'gatehouse.session';
const ACR_2FA_VALUES = { acr_values: ACR_2FA };

function totpCode(secret: string, at: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: at * 1000 });
}

/** Signs in with the password only (no second factor yet), through consent, so the browser has a 1FA session. */
async function passwordSession(server: TestServer, browser: Browser, client: Client, user: User): Promise<void> {
  const res = await passwordStep(browser, client, user);
  await finishFlow(server, browser, client, res);
}

interface Flow {
  verifier: string;
  res: LightMyRequestResponse;
}

/** /authorize, then the password on the login page; returns the login POST's answer. */
async function passwordStep(
  browser: Browser,
  client: Client,
  user: User,
  extra: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return (await passwordFlow(browser, client, user, extra)).res;
}

const verifiers = new WeakMap<Browser, string>();

async function passwordFlow(browser: Browser, client: Client, user: User, extra: Record<string, string> = {}): Promise<Flow> {
  const p = pkce();
  verifiers.set(browser, p.verifier);
  const started = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: client.redirectUri,
    challenge: p.challenge,
    extra,
  });
  const res = await browser.post(started.form.action, { ...started.form.fields, username: user.username, password: user.password });
  return { verifier: p.verifier, res };
}

/** Follows redirects through the consent page to the client; returns the token response of the code. */
async function finishFlow(
  server: TestServer,
  browser: Browser,
  client: Client,
  res: LightMyRequestResponse,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 4; i++) {
    const location = locationOf(res);
    if (!location.startsWith('/interaction/')) {
      const code = new URL(location).searchParams.get('code');
      assert.ok(code, `no code in ${location}`);
      const token = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifiers.get(browser) },
        client,
      );
      assert.equal(token.statusCode, 200, token.body);
      return token.json() as Record<string, unknown>;
    }
    const page = await browser.get(location);
    assert.equal(page.statusCode, 200, page.body.slice(0, 300));
    const f = parseForm(page.body);
    res = await browser.post(f.action, { ...f.fields, decision: 'allow' });
  }
  throw new Error('too many steps');
}

/** Enrols TOTP at /account/security for the signed-in user of `browser`; returns the secret and the recovery codes. */
async function enrolTotp(server: TestServer, browser: Browser): Promise<{ secret: string; recoveryCodes: string[] }> {
  const security = await browser.get('/account/security');
  assert.equal(security.statusCode, 200, security.body.slice(0, 300));
  const begin = parseForm(security.body);
  assert.equal(begin.action, '/account/security/totp');
  const started = await browser.post(begin.action, begin.fields);
  assert.equal(locationOf(started), '/account/security/totp');
  const enrol = await browser.get('/account/security/totp');
  assert.equal(enrol.statusCode, 200);
  assert.match(enrol.body, /<img class="qr" src="data:image\/svg\+xml;base64,/);
  const secret = /<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.body)![1]!.replace(/ /g, '');
  assert.equal(Buffer.from(Secret.fromBase32(secret).buffer).length, 20, '160-bit secret');
  const confirm = parseForm(enrol.body);
  const done = await browser.post(confirm.action, { ...confirm.fields, code: totpCode(secret, server.clock()) });
  assert.equal(done.statusCode, 200, done.body.slice(0, 300));
  assert.equal(header(done, 'cache-control'), 'no-store');
  const recoveryCodes = [...done.body.matchAll(/<li><code>([a-z2-7-]+)<\/code><\/li>/g)].map((m) => m[1]!);
  return { secret, recoveryCodes };
}

/** A user signed in once with the password, who then turned TOTP on. */
async function userWithTotp(t: { after(fn: () => Promise<void>): void }) {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  await passwordSession(server, browser, client, user);
  const enrolled = await enrolTotp(server, browser);
  return { server, client, user, browser, ...enrolled };
}

/** A fresh browser at the second-factor page after the password; returns its form. */
async function atSecondFactor(server: TestServer, client: Client, user: User) {
  const browser = new Browser(server.app);
  const res = await passwordStep(browser, client, user);
  const location = locationOf(res);
  assert.match(location, /^\/interaction\/[A-Za-z0-9_-]+\/second-factor$/);
  assert.equal(browser.cookies.get(SESSION_COOKIE), undefined, 'no session before the second factor');
  const page = await browser.get(location);
  assert.equal(page.statusCode, 200);
  return { browser, form: parseForm(page.body), location };
}

test('enrolling TOTP shows a QR code and the key, needs a first valid code, and shows 10 recovery codes once', async (t) => {
  const { server, user, recoveryCodes } = await userWithTotp(t);
  assert.equal(recoveryCodes.length, 10);
  assert.equal(new Set(recoveryCodes).size, 10);
  const stored = await server.deps.storage.totpCredentials.find(user.id);
  assert.ok(stored?.confirmedAt, 'confirmed');
  assert.equal(await server.deps.storage.recoveryCodes.countUnused(user.id), 10);
});

test('a wrong first code does not turn TOTP on', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  await passwordSession(server, browser, client, user);
  const begin = parseForm((await browser.get('/account/security')).body);
  await browser.post(begin.action, begin.fields);
  const enrol = await browser.get('/account/security/totp');
  const secret = /<code class="secret">([A-Z2-7 ]+)<\/code>/.exec(enrol.body)![1]!.replace(/ /g, '');
  const wrong = String((Number(totpCode(secret, server.clock())) + 1) % 1_000_000).padStart(6, '0');
  const res = await browser.post('/account/security/totp/confirm', { ...parseForm(enrol.body).fields, code: wrong });
  assert.equal(res.statusCode, 400);
  assert.equal((await server.deps.storage.totpCredentials.find(user.id))?.confirmedAt, null);
  // A user with an unconfirmed enrolment signs in with the password alone.
  const other = new Browser(server.app);
  const login = await passwordStep(other, client, user);
  assert.doesNotMatch(locationOf(login), /second-factor/);
});

test('with TOTP on, the session starts only after a valid code; the ID token says amr pwd+otp and acr 2fa', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  server.clock.advance(30); // the enrolment used this step's code
  const { browser, form } = await atSecondFactor(server, client, user);
  const wrong = await browser.post(form.action, {
    ...form.fields,
    code: '000000' === totpCode(secret, server.clock()) ? '111111' : '000000',
  });
  assert.equal(wrong.statusCode, 401);
  assert.equal(browser.cookies.get(SESSION_COOKIE), undefined, 'a wrong code starts no session');
  const ok = await browser.post(form.action, { ...form.fields, code: totpCode(secret, server.clock()) });
  assert.ok(browser.cookies.get(SESSION_COOKIE), 'the session starts after the code');
  const tokens = await finishFlow(server, browser, client, ok);
  const idToken = decodeJwt(String(tokens.id_token));
  assert.deepEqual(idToken.amr, ['pwd', 'otp']);
  assert.equal(idToken.acr, ACR_2FA);
  // A refreshed ID token repeats how the user signed in (the family keeps amr and acr).
  assert.ok(tokens.refresh_token);
  const refreshed = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) }, client);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const again = decodeJwt(String((refreshed.json() as { id_token: string }).id_token));
  assert.deepEqual([again.amr, again.acr, again.auth_time], [['pwd', 'otp'], ACR_2FA, idToken.auth_time]);
});

test('a password-only sign-in carries amr pwd and acr 1fa in the ID token', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const tokens = await finishFlow(server, browser, client, await passwordStep(browser, client, user));
  const idToken = decodeJwt(String(tokens.id_token));
  assert.deepEqual(idToken.amr, ['pwd']);
  assert.equal(idToken.acr, ACR_1FA);
});

test('a TOTP code is single-use: replayed in the same step it is refused, and of two parallel uses only one passes', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  // The enrolment used the code of this step: move to a fresh step.
  server.clock.advance(30);
  const first = await atSecondFactor(server, client, user);
  const code = totpCode(secret, server.clock());
  const ok = await first.browser.post(first.form.action, { ...first.form.fields, code });
  assert.equal(ok.statusCode, 303);
  const again = await atSecondFactor(server, client, user);
  const replay = await again.browser.post(again.form.action, { ...again.form.fields, code });
  assert.equal(replay.statusCode, 401, 'the same code again in its step is refused');
  assert.equal(again.browser.cookies.get(SESSION_COOKIE), undefined);
  // An older step's code after a newer one was used is refused too (steps only move forward).
  const older = await again.browser.post(again.form.action, { ...again.form.fields, code: totpCode(secret, server.clock() - 30) });
  assert.equal(older.statusCode, 401);

  server.clock.advance(30);
  const a = await atSecondFactor(server, client, user);
  const b = await atSecondFactor(server, client, user);
  const fresh = totpCode(secret, server.clock());
  const results = await Promise.all([
    a.browser.post(a.form.action, { ...a.form.fields, code: fresh }),
    b.browser.post(b.form.action, { ...b.form.fields, code: fresh }),
  ]);
  assert.deepEqual(results.map((r) => r.statusCode).sort(), [303, 401]);
});

test('a code of the previous or the next step is accepted (±1 step), two steps away it is not', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  server.clock.advance(90);
  const far = await atSecondFactor(server, client, user);
  const tooOld = await far.browser.post(far.form.action, { ...far.form.fields, code: totpCode(secret, server.clock() - 60) });
  assert.equal(tooOld.statusCode, 401);
  const tooNew = await far.browser.post(far.form.action, { ...far.form.fields, code: totpCode(secret, server.clock() + 60) });
  assert.equal(tooNew.statusCode, 401);
  const previous = await far.browser.post(far.form.action, { ...far.form.fields, code: totpCode(secret, server.clock() - 30) });
  assert.equal(previous.statusCode, 303);
  const near = await atSecondFactor(server, client, user);
  const next = await near.browser.post(near.form.action, { ...near.form.fields, code: totpCode(secret, server.clock() + 30) });
  assert.equal(next.statusCode, 303);
});

test('a recovery code signs in once only, in any letter case and without dashes', async (t) => {
  const { server, client, user, recoveryCodes } = await userWithTotp(t);
  const code = recoveryCodes[0]!;
  const first = await atSecondFactor(server, client, user);
  const ok = await first.browser.post(first.form.action, { ...first.form.fields, code: code.toUpperCase().replace(/-/g, '') });
  assert.equal(ok.statusCode, 303);
  const tokens = await finishFlow(server, first.browser, client, ok);
  assert.deepEqual(decodeJwt(String(tokens.id_token)).amr, ['pwd', 'otp']);
  const second = await atSecondFactor(server, client, user);
  const reused = await second.browser.post(second.form.action, { ...second.form.fields, code });
  assert.equal(reused.statusCode, 401, 'a used recovery code is refused');
  assert.equal(await server.deps.storage.recoveryCodes.countUnused(user.id), 9);
  const events = await server.deps.storage.securityEvents.list({ userId: user.id, types: ['two_factor.recovery_code_used'] });
  assert.equal(events.length, 1);
});

test('UI-06 wrong second-factor codes are throttled: after 5 failures even the right code gets 429 with Retry-After', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  server.clock.advance(30);
  const { browser, form } = await atSecondFactor(server, client, user);
  const right = totpCode(secret, server.clock());
  const wrong = right === '123456' ? '654321' : '123456';
  for (let i = 0; i < 5; i++) {
    const res = await browser.post(form.action, { ...form.fields, code: wrong });
    assert.equal(res.statusCode, 401, `failure ${i + 1}`);
  }
  const locked = await browser.post(form.action, { ...form.fields, code: right });
  assert.equal(locked.statusCode, 429);
  assert.ok(Number(header(locked, 'retry-after')) > 0);
  assert.equal(browser.cookies.get(SESSION_COOKIE), undefined);
  // Another browser of the same user is locked too (per user, not per browser).
  const other = await atSecondFactor(server, client, user);
  const alsoLocked = await other.browser.post(other.form.action, { ...other.form.fields, code: right });
  assert.equal(alsoLocked.statusCode, 429);
  // After the lock the right code works.
  server.clock.advance(61);
  const later = await atSecondFactor(server, client, user);
  const ok = await later.browser.post(later.form.action, { ...later.form.fields, code: totpCode(secret, server.clock()) });
  assert.equal(ok.statusCode, 303);
  const failures = await server.deps.storage.securityEvents.list({ userId: user.id, types: ['login.second_factor_failed'] });
  assert.equal(failures.length, 5);
});

test('UI-02 the second-factor form and the security page forms refuse a missing CSRF token or a foreign Origin', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  const { browser, form } = await atSecondFactor(server, client, user);
  const code = totpCode(secret, server.clock() + 30);
  const noToken = await browser.post(form.action, { code });
  assert.equal(noToken.statusCode, 403);
  const foreign = await browser.post(form.action, { ...form.fields, code }, { origin: 'https://evil.example' });
  assert.equal(foreign.statusCode, 403);
  assert.equal(browser.cookies.get(SESSION_COOKIE), undefined);
  // The security page of a signed-in user.
  const ok = await browser.post(form.action, { ...form.fields, code });
  assert.equal(ok.statusCode, 303);
  const removeWithoutToken = await browser.post('/account/security/totp/remove', { proof: user.password });
  assert.equal(removeWithoutToken.statusCode, 403);
  const page = parseForm((await browser.get('/account/security')).body);
  const removeForeign = await browser.post(
    '/account/security/totp/remove',
    { ...page.fields, proof: user.password },
    { origin: 'https://evil.example' },
  );
  assert.equal(removeForeign.statusCode, 403);
  assert.ok((await server.deps.storage.totpCredentials.find(user.id))?.confirmedAt, 'TOTP is still on');
});

test('UI-01 the second-factor page and the security pages cannot be framed and carry no inline script', async (t) => {
  const { server, client, user, browser: enrolled } = await userWithTotp(t);
  const { browser, location } = await atSecondFactor(server, client, user);
  const pages = [await browser.get(location), await enrolled.get('/account/security')];
  for (const res of pages) {
    assert.equal(res.statusCode, 200);
    assert.equal(header(res, 'x-frame-options'), 'DENY');
    assert.match(String(header(res, 'content-security-policy')), /frame-ancestors 'none'/);
    assert.match(String(header(res, 'content-security-policy')), /script-src 'self'/);
    assert.doesNotMatch(res.body, /<script>|<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+="/i, 'no inline script or handler');
  }
  const script = await browser.get('/assets/two-factor.js');
  assert.equal(script.statusCode, 200);
  assert.match(String(header(script, 'content-type')), /^text\/javascript/);
  const bundle = await browser.get('/assets/simplewebauthn-browser.js');
  assert.equal(bundle.statusCode, 200);
  assert.match(bundle.body, /SimpleWebAuthnBrowser/);
});

test('the security page needs a session: without one it redirects to the account sign-in', async (t) => {
  const { server } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const res = await browser.get('/account/security');
  assert.equal(locationOf(res), '/account/sign-in?return_to=%2Faccount%2Fsecurity');
  const post = await browser.post('/account/security/totp', {});
  assert.equal(locationOf(post), '/account/sign-in?return_to=%2Faccount%2Fsecurity');
});

test('turning TOTP off needs the password or a current code; then the password alone signs in again', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  server.clock.advance(30);
  const { browser, form } = await atSecondFactor(server, client, user);
  await browser.post(form.action, { ...form.fields, code: totpCode(secret, server.clock()) });
  const page = parseForm((await browser.get('/account/security')).body);
  const removeForm = /<form method="post" action="\/account\/security\/totp\/remove">/.test((await browser.get('/account/security')).body);
  assert.ok(removeForm);
  const wrong = await browser.post('/account/security/totp/remove', { ...page.fields, proof: 'not my password' });
  assert.equal(wrong.statusCode, 400);
  assert.ok((await server.deps.storage.totpCredentials.find(user.id))?.confirmedAt, 'still on');
  const byPassword = await browser.post('/account/security/totp/remove', { ...page.fields, proof: user.password });
  assert.equal(locationOf(byPassword), '/account/security?done=totp-off');
  assert.equal(await server.deps.storage.totpCredentials.find(user.id), undefined);
  assert.equal(await server.deps.storage.recoveryCodes.countUnused(user.id), 0, 'recovery codes go with the last second factor');
  const again = new Browser(server.app);
  assert.doesNotMatch(locationOf(await passwordStep(again, client, user)), /second-factor/);

  // A current code works as the proof too.
  const enrolled = await enrolTotp(server, browser);
  server.clock.advance(30);
  const page2 = parseForm((await browser.get('/account/security')).body);
  const byCode = await browser.post('/account/security/totp/remove', { ...page2.fields, proof: totpCode(enrolled.secret, server.clock()) });
  assert.equal(locationOf(byCode), '/account/security?done=totp-off');
});

test('KP-01 the TOTP secret is sealed under the key-encryption key in the database and opens only for its row', async (t) => {
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent' });
  const atRest = AtRest.fromKeys(new Uint8Array(32).fill(7));
  const clock = testClock();
  const gatehouse = await createGatehouse(config, { clock, atRest });
  t.after(() => gatehouse.close());
  const { storage } = gatehouse.deps;
  await storage.users.create({
    id: 'u-sealed',
    username: 'sealed',
    passwordHash: await hashPassword('correct horse battery'),
    email: null,
    name: null,
    claims: {},
    disabled: false,
    createdAt: clock(),
    updatedAt: clock(),
  });
  assert.ok(await storage.totpCredentials.begin('u-sealed', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', clock()));
  const row = await sql<{ secret: string }>`select secret from totp_credentials where user_id = 'u-sealed'`.execute(storage.db);
  const stored = row.rows[0]!.secret;
  assert.ok(atRest.isSealed(stored), 'sealed');
  assert.ok(!stored.includes('JBSWY3DP'), 'no plaintext');
  assert.equal((await storage.totpCredentials.find('u-sealed'))?.secret, 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
  // Copied into another user's row it does not open.
  await sql`insert into totp_credentials (user_id, secret, confirmed_at, last_used_step, created_at) values ('u-other', ${stored}, null, null, 0)`.execute(
    storage.db,
  );
  await assert.rejects(storage.totpCredentials.find('u-other'));
});

test('without a key-encryption key the TOTP secret is kept in plaintext, and sealed at the next start with a key', async (t) => {
  const { server, user, secret } = await userWithTotp(t);
  const row = await sql<{ secret: string }>`select secret from totp_credentials where user_id = ${user.id}`.execute(server.deps.storage.db);
  assert.equal(row.rows[0]!.secret, secret, 'plaintext without a KEK (the server warns at start)');
  const sealer = AtRest.fromKeys(new Uint8Array(32).fill(9));
  const { createRepositories } = await import('../src/storage/index.js');
  const repos = createRepositories(server.deps.storage.db, { sealer });
  assert.equal(await repos.totpCredentials.sealAll(), 1);
  const after = await sql<{ secret: string }>`select secret from totp_credentials where user_id = ${user.id}`.execute(
    server.deps.storage.db,
  );
  assert.ok(sealer.isSealed(after.rows[0]!.secret));
  assert.equal((await repos.totpCredentials.find(user.id))?.secret, secret);
});

test('CR-02 a database dump holds no recovery code and no TOTP code in plain form, only digests', async (t) => {
  const { server, recoveryCodes } = await userWithTotp(t);
  const dump = await dumpDatabase(server.deps.storage);
  for (const code of recoveryCodes) {
    assert.ok(!dump.includes(code), 'no formatted recovery code');
    assert.ok(!dump.includes(code.replace(/-/g, '')), 'no normalised recovery code');
  }
});

test('step-up: acr_values asking for 2fa of a one-factor session asks only for the second factor, then the ID token says 2fa', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  await passwordSession(server, browser, client, user);
  const { secret } = await enrolTotp(server, browser);
  server.clock.advance(30);
  const p = pkce();
  verifiers.set(browser, p.verifier);
  const authorize = await browser.get(
    `/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(client.redirectUri)}&scope=openid&code_challenge=${p.challenge}&code_challenge_method=S256&acr_values=${encodeURIComponent(ACR_2FA)}`,
  );
  const location = locationOf(authorize);
  assert.match(location, /^\/interaction\/[A-Za-z0-9_-]+\/second-factor$/, 'straight to the second factor, no password');
  const page = await browser.get(location);
  const f = parseForm(page.body);
  assert.ok(!('password' in f.fields));
  const ok = await browser.post(f.action, { ...f.fields, code: totpCode(secret, server.clock()) });
  const tokens = await finishFlow(server, browser, client, ok);
  const idToken = decodeJwt(String(tokens.id_token));
  assert.equal(idToken.acr, ACR_2FA);
  assert.deepEqual(idToken.amr, ['pwd', 'otp']);
  // The two-factor session now meets acr_values without another step.
  const again = await browser.get(
    `/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(client.redirectUri)}&scope=openid&code_challenge=${p.challenge}&code_challenge_method=S256&acr_values=${encodeURIComponent(ACR_2FA)}`,
  );
  assert.ok(new URL(locationOf(again)).searchParams.get('code'), 'a code at once');
});

test('acr_values asking for 2fa of a user without a second factor ends in unmet_authentication_requirements; prompt=none step-up is interaction_required', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  // At the login: the password is right, the user has no second factor.
  const browser = new Browser(server.app);
  const login = await passwordStep(browser, client, user, { ...ACR_2FA_VALUES, state: 'S1' });
  assertErrorRedirect(login, { redirectUri: client.redirectUri, error: 'unmet_authentication_requirements', state: 'S1' });
  // With a one-factor session: at once at /authorize.
  const signedIn = new Browser(server.app);
  await passwordSession(server, signedIn, client, user);
  const p = pkce();
  const url = (extra: string) =>
    `/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(client.redirectUri)}&scope=openid&state=S2&code_challenge=${p.challenge}&code_challenge_method=S256&acr_values=${encodeURIComponent(ACR_2FA)}${extra}`;
  assertErrorRedirect(await signedIn.get(url('')), {
    redirectUri: client.redirectUri,
    error: 'unmet_authentication_requirements',
    state: 'S2',
  });
  await enrolTotp(server, signedIn);
  assertErrorRedirect(await signedIn.get(url('&prompt=none')), {
    redirectUri: client.redirectUri,
    error: 'interaction_required',
    state: 'S2',
  });
  // acr_values naming 1fa too, or only unknown classes, asks for nothing more.
  const lenient = await signedIn.get(url('').replace(encodeURIComponent(ACR_2FA), encodeURIComponent(`${ACR_2FA} ${ACR_1FA}`)));
  assert.ok(new URL(locationOf(lenient)).searchParams.get('code'));
});

test('max_age still forces the whole sign-in again, password and second factor, with a newer auth_time', async (t) => {
  const { server, client, user, secret } = await userWithTotp(t);
  server.clock.advance(30);
  const { browser, form } = await atSecondFactor(server, client, user);
  const first = await finishFlow(
    server,
    browser,
    client,
    await browser.post(form.action, { ...form.fields, code: totpCode(secret, server.clock()) }),
  );
  const authTime = Number(decodeJwt(String(first.id_token)).auth_time);
  server.clock.advance(60);
  const res = await passwordStep(browser, client, user, { max_age: '10' });
  assert.match(locationOf(res), /second-factor$/, 'the password page, then the second factor again');
  const page = parseForm((await browser.get(locationOf(res))).body);
  const second = await finishFlow(
    server,
    browser,
    client,
    await browser.post(page.action, { ...page.fields, code: totpCode(secret, server.clock()) }),
  );
  const idToken = decodeJwt(String(second.id_token));
  assert.ok(Number(idToken.auth_time) > authTime);
  assert.equal(idToken.acr, ACR_2FA);
});

test('a forged passkey assertion is refused at sign-in without a session or a 500', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const started = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: client.redirectUri,
    challenge: pkce().challenge,
  });
  const csrf = started.form.fields.csrf_token!;
  const options = await browser.post(`/interaction/${started.id}/passkey/options`, { csrf_token: csrf });
  assert.equal(options.statusCode, 200);
  const body = options.json() as { challenge: string; rpId: string; userVerification: string; allowCredentials?: unknown[] };
  assert.equal(body.rpId, '127.0.0.1');
  assert.equal(body.userVerification, 'required');
  assert.deepEqual(body.allowCredentials ?? [], [], 'passwordless: discoverable credentials');
  for (const response of ['', 'not json', '{}', JSON.stringify({ id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: {} })]) {
    const res = await browser.post(`/interaction/${started.id}/passkey`, { csrf_token: csrf, response });
    assert.equal(res.statusCode, 401, response);
    assert.ok('password' in parseForm(res.body).fields, 'the login page again');
    assert.equal(browser.cookies.get(SESSION_COOKIE), undefined);
  }
  const noCsrf = await browser.post(`/interaction/${started.id}/passkey/options`, {});
  assert.equal(noCsrf.statusCode, 403);
});

test('discovery lists the acr values', async (t) => {
  const { server } = await setupWithClientAndUser(t);
  const res = await server.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' });
  assert.deepEqual((res.json() as { acr_values_supported: string[] }).acr_values_supported, [ACR_1FA, ACR_2FA]);
});

test('the device flow never signs in an account with a second factor on the password alone; a two-factor session goes straight to the confirmation', async (t) => {
  const { server, client: web, user, secret } = await userWithTotp(t);
  const tv = await server.createClient({
    clientName: 'Living Room TV',
    redirectUris: [],
    grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'],
  });
  const started = await server.app.inject({
    method: 'POST',
    url: '/device_authorization',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${tv.clientId}:${tv.clientSecret}`).toString('base64')}`,
    },
    payload: 'scope=openid',
  });
  assert.equal(started.statusCode, 200, started.body);
  const userCode = String((started.json() as { user_code: string }).user_code);
  const enter = async (b: Browser) => {
    const entry = parseForm((await b.get('/device')).body);
    return b.post(entry.action, { ...entry.fields, user_code: userCode });
  };
  const fresh = new Browser(server.app);
  const loginPage = parseForm((await enter(fresh)).body);
  assert.equal(loginPage.action, '/device/login');
  const refused = await fresh.post(loginPage.action, { ...loginPage.fields, username: user.username, password: user.password });
  assert.equal(refused.statusCode, 403);
  assert.equal(fresh.cookies.get(SESSION_COOKIE), undefined, 'no session from the password alone');
  // The browser that signed in with both factors sees the confirmation at once.
  server.clock.advance(30);
  const twoFactor = await atSecondFactor(server, web, user);
  await twoFactor.browser.post(twoFactor.form.action, { ...twoFactor.form.fields, code: totpCode(secret, server.clock()) });
  const confirm = parseForm((await enter(twoFactor.browser)).body);
  assert.equal(confirm.action, '/device/consent');
});

test('KP-01 a database whose TOTP secrets are sealed refuses to start without the key-encryption key that sealed them', async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gatehouse-2fa-')), 'db.sqlite')}`;
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: url, GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent' });
  const keyA = new Uint8Array(32).fill(1);
  // Signing keys in plaintext (no KEK at the first start); only the TOTP secret is sealed, under keyA.
  const first = await createGatehouse(config, { atRest: new AtRest() });
  const { createRepositories } = await import('../src/storage/index.js');
  const sealed = createRepositories(first.deps.storage.db, { sealer: AtRest.fromKeys(keyA) });
  assert.ok(await sealed.totpCredentials.begin('u1', 'JBSWY3DPEHPK3PXP', 1));
  await first.close();
  await assert.rejects(createGatehouse(config, { atRest: new AtRest() }), /sealed under key-encryption key .* is not configured/);
  await assert.rejects(
    createGatehouse(config, { atRest: AtRest.fromKeys(new Uint8Array(32).fill(2)) }),
    /sealed under key-encryption key .* is not the one configured/,
  );
  const again = await createGatehouse(config, { atRest: AtRest.fromKeys(keyA) });
  assert.equal((await again.deps.storage.totpCredentials.find('u1'))?.secret, 'JBSWY3DPEHPK3PXP');
  await again.close();
});

test('EV-01 turning TOTP on and off, a wrong second factor and a used recovery code are security events without a code or secret', async (t) => {
  const { server, client, user, secret, recoveryCodes, browser } = await userWithTotp(t);
  server.clock.advance(30);
  const { browser: other, form } = await atSecondFactor(server, client, user);
  await other.post(form.action, { ...form.fields, code: totpCode(secret, server.clock()) === '123456' ? '654321' : '123456' });
  await other.post(form.action, { ...form.fields, code: recoveryCodes[1]! });
  const page = parseForm((await browser.get('/account/security')).body);
  assert.equal(
    locationOf(await browser.post('/account/security/totp/remove', { ...page.fields, proof: user.password })),
    '/account/security?done=totp-off',
  );
  const events = await server.deps.storage.securityEvents.list({ userId: user.id });
  const types = events.map((e) => e.type);
  for (const type of [
    'two_factor.totp_enabled',
    'two_factor.recovery_codes_created',
    'login.second_factor_failed',
    'two_factor.recovery_code_used',
    'two_factor.totp_disabled',
  ]) {
    assert.ok(types.includes(type as (typeof types)[number]), `${type} in ${types.join(', ')}`);
  }
  const text = JSON.stringify(events);
  assert.ok(!text.includes(secret), 'no TOTP secret');
  for (const code of recoveryCodes) assert.ok(!text.includes(code) && !text.includes(code.replace(/-/g, '')), 'no recovery code');
  assert.ok(!text.includes(user.password), 'no password');
});

test('the account sign-in of a user with TOTP asks for the second factor before any session, then returns to the account page', async (t) => {
  const { server, user, secret } = await userWithTotp(t);
  const browser = new Browser(server.app);
  const start = await browser.get('/account/sign-in?return_to=/account/security');
  const login = await browser.get(locationOf(start));
  assert.equal(login.statusCode, 200);
  const form = parseForm(login.body);
  const afterPassword = await browser.post(form.action, { ...form.fields, username: user.username, password: user.password });
  const second = locationOf(afterPassword);
  assert.match(second, /^\/interaction\/[A-Za-z0-9_-]+\/second-factor$/);
  assert.equal(browser.cookies.get(SESSION_COOKIE), undefined, 'no session on the password alone');
  // The account pages stay closed until the second factor is given.
  assert.match(locationOf(await browser.get('/account')), /^\/account\/sign-in/);
  const page = await browser.get(second);
  assert.equal(page.statusCode, 200);
  assert.doesNotMatch(page.body, /continue to <strong/, 'an account sign-in names no client');
  const codeForm = parseForm(page.body);
  const wrong = await browser.post(codeForm.action, {
    ...codeForm.fields,
    code: '000000' === totpCode(secret, server.clock()) ? '111111' : '000000',
  });
  assert.equal(wrong.statusCode, 401);
  assert.equal(browser.cookies.get(SESSION_COOKIE), undefined);
  const again = parseForm((await browser.get(second)).body);
  const done = await browser.post(again.action, { ...again.fields, code: totpCode(secret, server.clock() + 30) });
  assert.equal(locationOf(done), '/account/security');
  assert.ok(browser.cookies.get(SESSION_COOKIE), 'the session starts after the second factor');
  assert.equal((await browser.get('/account')).statusCode, 200);
});
