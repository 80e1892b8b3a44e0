// The people's side in a real browser (Debian's Chromium through playwright-core): every page checked
// with axe-core in light and dark mode, and the account pages' promise kept end to end: an app gets a
// refresh token through the real code flow, the user signs in at /account through the login page,
// sees the app, removes its access, and the app's refresh fails and its access token is inactive at
// once. Screenshots at 1280 and 390 px go to $GATEHOUSE_SCREENSHOTS (default test-artifacts/).
// Without /usr/bin/chromium this test FAILS (apt-get install -y chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { registerClient } from '../src/oauth/clients.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { assertAccessible } from './axe.js';
import { listen, postClientForm, type ListeningServer } from './user-agent.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../../..');
const SHOTS = process.env.GATEHOUSE_SCREENSHOTS ?? join(ROOT, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
];
const REDIRECT = 'https://photos.example/callback';
const dana = { username: 'dana', password: 'dana account password' };

let server: ListeningServer;
let browser: Browser | undefined;
let app: { id: string; secret: string };

before(async () => {
  server = await listen();
  const now = nowSeconds();
  await server.deps.storage.users.create({
    id: 'dana-id',
    username: dana.username,
    passwordHash: await hashPassword(dana.password),
    email: 'dana@example.com',
    name: 'Dana Example',
    claims: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  });
  const c = await registerClient(
    server.deps.storage.clients,
    {
      clientName: 'Photo Printer',
      redirectUris: [REDIRECT],
      scope: 'openid profile email offline_access',
      grantTypes: ['authorization_code', 'refresh_token'],
    },
    now,
  );
  app = { id: c.client.clientId, secret: c.clientSecret! };
  assert.ok(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: install it with apt-get install -y chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.close();
});

async function newContext(): Promise<BrowserContext> {
  return browser!.newContext({ viewport: { width: 1280, height: 800 } });
}

/** axe in light and dark mode, with screenshots at 1280 and 390 px wide in both. */
async function check(page: Page, name: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await assertAccessible(page, `${name} (${colorScheme})`);
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: join(SHOTS, `account-${name}-${width}${colorScheme === 'dark' ? '-dark' : ''}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const token = (body: Record<string, string>, path = '/token') => postClientForm(server.issuer, path, body, app);

test('in Chromium: the landing, login, consent, device, logout, error and account pages pass axe in light and dark mode, and Remove access ends the app’s refresh at once', async () => {
  // 1. The app gets a refresh token through the real code flow (login and consent pages on the way).
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = `${server.issuer}/authorize?${new URLSearchParams({
    response_type: 'code',
    client_id: app.id,
    redirect_uri: REDIRECT,
    scope: 'openid profile email offline_access',
    state: 'st-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })}`;
  const first = await newContext();
  const page = await first.newPage();
  let tokens: Record<string, unknown>;
  try {
    const login = await page.goto(authorize);
    assert.equal(login?.headers()['x-frame-options'], 'DENY');
    await page.waitForSelector('input[name="password"]');
    await check(page, 'login');
    await page.fill('input[name="username"]', dana.username);
    await page.fill('input[name="password"]', dana.password);
    await page.click('button[type="submit"]');
    await page.waitForSelector('button[name="decision"][value="allow"]');
    await check(page, 'consent');
    // The app's host does not exist here: the browser's request to it is answered in the test, so the
    // navigation ends before the next one starts (a failed one would interrupt the next page.goto).
    await page.route(`${REDIRECT}**`, (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'the app' }));
    const [back] = await Promise.all([
      page.waitForResponse((r) => r.status() === 303 && (r.headers().location ?? '').startsWith(REDIRECT)),
      page.click('button[name="decision"][value="allow"]'),
    ]);
    await page.waitForURL(`${REDIRECT}**`);
    const code = new URL(back.headers().location!).searchParams.get('code');
    assert.ok(code, 'a code at the redirect URI');
    const exchanged = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.json));
    tokens = exchanged.json;
    assert.ok(tokens.refresh_token, 'a refresh token');

    // The other pages of a signed-in browser: sign-out confirmation, device entry, an error page, the landing page.
    await page.goto(`${server.issuer}/end-session`);
    await page.waitForSelector('button[name="logout"][value="yes"]');
    await check(page, 'logout');
    await page.goto(`${server.issuer}/device`);
    await page.waitForSelector('input[name="user_code"]');
    await check(page, 'device');
    const error = await page.goto(`${server.issuer}/interaction/${'x'.repeat(43)}`);
    assert.equal(error?.status(), 400);
    await check(page, 'error');
    await page.goto(`${server.issuer}/`);
    await check(page, 'landing');
  } catch (e) {
    await page.screenshot({ path: join(SHOTS, 'failure-account-flow-1.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await first.close();
  }

  // 2. Another browser: /account sends the user through the login page, then shows the app.
  const second = await newContext();
  const account = await second.newPage();
  try {
    await account.goto(`${server.issuer}/account`);
    await account.waitForSelector('input[name="password"]');
    assert.match(new URL(account.url()).pathname, /^\/interaction\//, 'the login page of an account sign-in');
    assert.match((await account.textContent('h1')) ?? '', /Sign in to your account/);
    await check(account, 'sign-in');
    await account.fill('input[name="username"]', dana.username);
    await account.fill('input[name="password"]', dana.password);
    await account.click('button[type="submit"]');
    await account.waitForSelector('#apps');
    assert.equal(new URL(account.url()).pathname, '/account');
    const apps = (await account.textContent('#apps')) ?? '';
    assert.match(apps, /Photo Printer/, 'the connected app is listed');
    await check(account, 'page');
    for (const section of ['profile', 'password', 'apps', 'sessions', 'second-factors']) {
      await account.locator(`#${section}`).screenshot({ path: join(SHOTS, `account-section-${section}-1280.png`) });
    }
    // Keyboard: the first Tab stop is the first link of the page, and focus is visible.
    await account.keyboard.press('Tab');
    const focused = await account.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return { tag: el?.tagName, outline: el ? getComputedStyle(el).outlineStyle : '' };
    });
    assert.equal(focused.tag, 'A');
    assert.notEqual(focused.outline, 'none', 'a visible focus ring');

    await account.click('#apps button:has-text("Remove access")');
    await account.waitForSelector('.notice');
    assert.doesNotMatch((await account.textContent('#apps')) ?? '', /Photo Printer/, 'the app is gone from the list');
    await check(account, 'removed');
  } catch (e) {
    await account.screenshot({ path: join(SHOTS, 'failure-account-flow-2.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await second.close();
  }

  // 3. Right after: the app's refresh fails and its access token is inactive.
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
  assert.equal(refreshed.status, 400);
  assert.equal(refreshed.json.error, 'invalid_grant');
  const introspected = await token({ token: String(tokens.access_token) }, '/introspect');
  assert.equal(introspected.status, 200);
  assert.deepEqual(introspected.json, { active: false });
});

test('in Chromium: with a light brand colour and another name, the landing and sign-in pages still pass axe in light and dark mode', async () => {
  const branded = await listen({ GATEHOUSE_BRAND_NAME: 'Acme Identity', GATEHOUSE_BRAND_COLOR: '#ffd400' });
  const context = await newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${branded.issuer}/`);
    assert.match((await page.textContent('.brand')) ?? '', /Acme Identity/);
    assert.match(await page.title(), /Acme Identity/);
    const button = await page.evaluate(() => {
      const a = document.querySelector('a.button.primary')!;
      const style = getComputedStyle(a);
      return { background: style.backgroundColor, color: style.color };
    });
    assert.equal(button.background, 'rgb(255, 212, 0)', 'the brand colour from /assets/brand.css');
    assert.equal(button.color, 'rgb(17, 20, 24)', 'dark text on the light brand colour');
    await check(page, 'branded-landing');
    await page.goto(`${branded.issuer}/account`);
    await page.waitForSelector('input[name="password"]');
    await check(page, 'branded-sign-in');
  } finally {
    await context.close();
    await branded.close();
  }
});
