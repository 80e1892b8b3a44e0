// Two-factor sign-in in a real browser (Debian's Chromium through playwright-core): enrol TOTP at
// /account/security and sign in with the password and a code computed with otpauth; register a
// passkey with a CDP virtual authenticator and use it as the second factor and as a passwordless
// sign-in. WebAuthn RP IDs cannot be IP addresses, so the issuer is http://localhost:PORT (a secure
// context). Screenshots of every page at 1280x800 and 390x844 go to /tmp/shots/twofactor-*.png.
// Without /usr/bin/chromium this test FAILS (apt-get install -y chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { loadConfig } from '../src/config/config.js';
import { registerClient } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { ACR_2FA } from '../src/oauth/two-factor/acr.js';
import { createGatehouse, type Gatehouse } from '../src/server.js';
import { assertAccessible } from './axe.js';
import { testClock, pkce, type TestClock } from './helpers.js';
import { freePort } from './user-agent.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const SHOTS = '/tmp/shots';
const SIZES = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

let gatehouse: Gatehouse;
let issuer: string;
let clock: TestClock;
let browser: Browser | undefined;
let client: { id: string; secret: string; redirectUri: string };

async function createUser(id: string, username: string, password: string, name: string) {
  const now = clock();
  await gatehouse.deps.storage.users.create({
    id,
    username,
    passwordHash: await hashPassword(password),
    email: null,
    name,
    claims: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  });
}

before(async () => {
  const port = await freePort();
  issuer = `http://localhost:${port}`;
  clock = testClock();
  gatehouse = await createGatehouse(
    loadConfig({
      GATEHOUSE_DATABASE_URL: 'sqlite::memory:',
      GATEHOUSE_ISSUER: issuer,
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_LOG_LEVEL: 'silent',
    }),
    { clock },
  );
  await gatehouse.app.listen({ host: '127.0.0.1', port });
  const redirectUri = `${issuer}/test-callback`;
  const c = await registerClient(
    gatehouse.deps.storage.clients,
    { clientName: 'Photo Album', redirectUris: [redirectUri], scope: 'openid profile', grantTypes: ['authorization_code'] },
    clock(),
  );
  client = { id: c.client.clientId, secret: c.clientSecret!, redirectUri };
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await gatehouse?.close();
});

async function launch(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: install it with apt-get install -y chromium`);
  browser ??= await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return browser;
}

/** axe in light and dark mode (no serious or critical violation), and screenshots at both sizes in both. */
async function shoot(page: Page, name: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await assertAccessible(page, `${name} (${colorScheme})`);
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.screenshot({
        path: `${SHOTS}/twofactor-${name}-${size.width}${colorScheme === 'dark' ? '-dark' : ''}.png`,
        fullPage: true,
      });
    }
    await page.setViewportSize(SIZES[0]!);
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

function code(secret: string, at: number): string {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate({ timestamp: at * 1000 });
}

/** Starts an authorization request in the page; returns the PKCE verifier. */
async function authorize(page: Page): Promise<string> {
  const p = pkce();
  const url = new URL(`${issuer}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code',
    client_id: client.id,
    redirect_uri: client.redirectUri,
    scope: 'openid profile',
    state: 'st',
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(k, v);
  await page.goto(url.href);
  return p.verifier;
}

/** Allows on the consent page when it shows, waits for the callback, redeems the code; returns the ID token claims. */
async function finish(page: Page, verifier: string): Promise<Record<string, unknown>> {
  // Until the browser is back at the client: allow on the consent page if one shows.
  const allow = page.locator('button[name="decision"][value="allow"]');
  const deadline = Date.now() + 15_000;
  while (new URL(page.url()).pathname !== '/test-callback') {
    assert.ok(Date.now() < deadline, `still at ${page.url()}`);
    if (await allow.isVisible().catch(() => false)) await allow.click().catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.waitForLoadState();
  const codeValue = new URL(page.url()).searchParams.get('code');
  assert.ok(codeValue, page.url());
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: codeValue,
      redirect_uri: client.redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, 200, JSON.stringify(body));
  return decodeJwt(String(body.id_token)) as Record<string, unknown>;
}

async function passwordLogin(page: Page, username: string, password: string): Promise<void> {
  await page.waitForSelector('input[name="password"]');
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await page.click('form[action$="/login"] button[type="submit"]');
}

async function withPage<T>(context: BrowserContext, name: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
    if (process.env.TWOFACTOR_DEBUG) console.log('console:', m.type(), m.text());
  });
  try {
    const result = await fn(page);
    assert.deepEqual(
      errors.filter((e) => /Content Security Policy|Refused/.test(e)),
      [],
      'no CSP violations',
    );
    return result;
  } catch (error) {
    await page.screenshot({ path: `${SHOTS}/twofactor-failure-${name}.png`, fullPage: true }).catch(() => {});
    throw error;
  }
}

test('in Chromium: enrol TOTP at the security page (QR code, recovery codes), then sign in with the password and a code', async () => {
  await createUser('erin-id', 'erin', 'erin totp password', 'Erin Example');
  const context = await (await launch()).newContext({ viewport: SIZES[0] });
  try {
    await withPage(context, 'totp', async (page) => {
      // A first sign-in with the password alone, then the security page of that session.
      let verifier = await authorize(page);
      await shoot(page, 'login');
      await passwordLogin(page, 'erin', 'erin totp password');
      await finish(page, verifier);

      await page.goto(`${issuer}/account/security`);
      await shoot(page, 'security-off');
      await page.click('form[action="/account/security/totp"] button');
      await page.waitForSelector('img.qr');
      const qr = await page.$eval('img.qr', (img) => ({ w: (img as HTMLImageElement).naturalWidth, src: (img as HTMLImageElement).src }));
      assert.ok(qr.w > 0, 'the QR code image renders');
      assert.match(qr.src, /^data:image\/svg\+xml;base64,/);
      await shoot(page, 'totp-enrol');
      const secret = ((await page.textContent('code.secret')) ?? '').replace(/\s/g, '');
      await page.fill('input[name="code"]', code(secret, clock()));
      await page.click('form[action="/account/security/totp/confirm"] button[type="submit"]');
      await page.waitForSelector('ol.recovery-codes');
      assert.equal(await page.locator('ol.recovery-codes li').count(), 10);
      await shoot(page, 'recovery-codes');
      await page.goto(`${issuer}/account/security`);
      assert.match((await page.textContent('.status')) ?? '', /on/);
      await shoot(page, 'security-on');

      // Sign in again from a browser without a session: the password, then the second-factor page.
      await context.clearCookies();
      clock.advance(30); // the enrolment used this step's code
      verifier = await authorize(page);
      await passwordLogin(page, 'erin', 'erin totp password');
      await page.waitForURL((u) => u.pathname.endsWith('/second-factor'));
      const headers = (await page.reload())?.headers() ?? {};
      assert.equal(headers['x-frame-options'], 'DENY');
      await page.fill('input[name="code"]', '000000' === code(secret, clock()) ? '111111' : '000000');
      await page.click('form[action$="/second-factor"] button[type="submit"]');
      await page.waitForSelector('#code-error');
      await shoot(page, 'second-factor-error');
      await page.fill('input[name="code"]', code(secret, clock()));
      await page.click('form[action$="/second-factor"] button[type="submit"]');
      const idToken = await finish(page, verifier);
      assert.deepEqual(idToken.amr, ['pwd', 'otp']);
      assert.equal(idToken.acr, ACR_2FA);
    });
  } finally {
    await context.close();
  }
});

test('in Chromium: register a passkey with a virtual authenticator, then use it as a second factor and for a passwordless sign-in', async () => {
  await createUser('frank-id', 'frank', 'frank passkey password', 'Frank Example');
  const context = await (await launch()).newContext({ viewport: SIZES[0] });
  try {
    await withPage(context, 'passkey', async (page) => {
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      });

      let verifier = await authorize(page);
      await passwordLogin(page, 'frank', 'frank passkey password');
      await finish(page, verifier);

      await page.goto(`${issuer}/account/security`);
      await page.waitForSelector('button[data-webauthn="register"]:visible');
      await page.fill('input[name="name"]', 'Work laptop');
      await page.click('button[data-webauthn="register"]');
      await page.waitForURL((u) => u.search === '?done=passkey-added');
      assert.equal(await page.textContent('.passkey-name'), 'Work laptop');
      const stored = await gatehouse.deps.storage.passkeys.listOf('frank-id');
      assert.equal(stored.length, 1);
      await shoot(page, 'security-passkey');

      // As the second factor after the password.
      await context.clearCookies();
      verifier = await authorize(page);
      await passwordLogin(page, 'frank', 'frank passkey password');
      await page.waitForURL((u) => u.pathname.endsWith('/second-factor'));
      await page.waitForSelector('button[data-webauthn="authenticate"]:visible');
      assert.equal(await page.$('input[name="code"]'), null, 'no code form for a passkey-only user');
      await shoot(page, 'second-factor-passkey');
      await page.click('button[data-webauthn="authenticate"]');
      let idToken = await finish(page, verifier);
      assert.deepEqual(idToken.amr, ['pwd', 'hwk']);
      assert.equal(idToken.acr, ACR_2FA);

      // Passwordless: "Sign in with a passkey" on the login page (a discoverable credential).
      await context.clearCookies();
      verifier = await authorize(page);
      await page.waitForSelector('button[data-webauthn="authenticate"]:visible');
      await shoot(page, 'login-passkey');
      await page.click('button[data-webauthn="authenticate"]');
      idToken = await finish(page, verifier);
      assert.deepEqual(idToken.amr, ['hwk', 'user']);
      assert.equal(idToken.acr, ACR_2FA);
      assert.equal(idToken.sub, 'frank-id');
      const after = await gatehouse.deps.storage.passkeys.listOf('frank-id');
      assert.ok(after[0]!.lastUsedAt !== null);

      // Removing it: the security page lists none, and the password alone signs in again.
      await page.goto(`${issuer}/account/security`);
      await page.click('.passkeys button.danger');
      await page.waitForURL((u) => u.search === '?done=passkey-removed');
      assert.equal((await gatehouse.deps.storage.passkeys.listOf('frank-id')).length, 0);
    });
  } finally {
    await context.close();
  }
});
