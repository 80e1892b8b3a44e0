// The admin console in a real browser (Debian's Chromium through playwright-core): an admin signs in
// (through the login page of an authorization request: the session cookie is the console's), disables
// a user — that user's access token is then inactive at introspection and userinfo answers 401 — and
// rotates a client secret — the old secret then gets invalid_client and the new one works.
// Without /usr/bin/chromium this test FAILS (apt-get install -y chromium). With GATEHOUSE_SHOTS_DIR set
// it also saves a screenshot of every console page at 1280x800 and 390x844 there.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { registerClient } from '../src/oauth/clients.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { pkce } from './helpers.js';
import { assertAccessible } from './axe.js';
import { listen, postClientForm, UserAgent, type ListeningServer } from './user-agent.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'];
const root = { username: 'root', password: 'root admin password' };
const erin = { username: 'erin', password: 'erin secret password' };

let server: ListeningServer;
let browser: Browser | undefined;
let app: { id: string; secret: string; redirectUri: string };

async function addUser(id: string, user: { username: string; password: string }, role: 'admin' | null): Promise<void> {
  const now = nowSeconds();
  await server.deps.storage.users.create({
    id,
    username: user.username,
    passwordHash: await hashPassword(user.password),
    email: `${user.username}@example.com`,
    name: `${user.username[0]!.toUpperCase()}${user.username.slice(1)} Example`,
    claims: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
    role,
  });
}

before(async () => {
  server = await listen();
  await addUser('root-id', root, 'admin');
  await addUser('erin-id', erin, null);
  const redirectUri = `${server.issuer}/cb`;
  const c = await registerClient(
    server.deps.storage.clients,
    {
      clientName: 'Photo Album',
      redirectUris: [redirectUri],
      scope: 'openid profile',
      grantTypes: ['authorization_code', 'client_credentials'],
    },
    nowSeconds(),
  );
  app = { id: c.client.clientId, secret: c.clientSecret!, redirectUri };
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.close();
});

const form = (path: string, body: Record<string, string>, secret = app.secret) =>
  postClientForm(server.issuer, path, body, { id: app.id, secret });

function authorizeUrl(challenge: string): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: app.id,
    redirect_uri: app.redirectUri,
    scope: 'openid profile',
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return `${server.issuer}/authorize?${q.toString()}`;
}

/** Erin's access token, through the login and consent pages of a scripted user agent. */
async function erinToken(): Promise<string> {
  const p = pkce();
  const location = await new UserAgent().authorize(authorizeUrl(p.challenge), app.redirectUri, erin);
  const tokens = await form('/token', {
    grant_type: 'authorization_code',
    code: location.searchParams.get('code')!,
    redirect_uri: app.redirectUri,
    code_verifier: p.verifier,
  });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
  return String(tokens.json.access_token);
}

/** axe in light and dark mode (no serious or critical violation); screenshots when GATEHOUSE_SHOTS_DIR is set. */
async function shoot(page: Page, name: string): Promise<void> {
  const dir = process.env.GATEHOUSE_SHOTS_DIR;
  if (dir) mkdirSync(dir, { recursive: true });
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await assertAccessible(page, `admin ${name} (${colorScheme})`);
    if (!dir) continue;
    for (const [width, height] of [
      [1280, 800],
      [390, 844],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.screenshot({ path: join(dir, `admin-${name}-${width}${colorScheme === 'dark' ? '-dark' : ''}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

test('UI-01 in Chromium: an admin signs in, disables a user (their token dies at introspection and userinfo) and rotates a client secret (the old one is invalid_client)', async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: install it with apt-get install -y chromium`);
  const token = await erinToken();
  assert.equal((await form('/introspect', { token })).json.active, true);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Signing in: the console sends a browser without a session to the account sign-in, which returns to /admin.
  await page.goto(`${server.issuer}/admin`);
  assert.match(page.url(), /\/interaction\//, 'the account sign-in’s login page');
  await page.fill('input[name="username"]', root.username);
  await page.fill('input[name="password"]', root.password);
  await Promise.all([page.waitForURL(`${server.issuer}/admin**`), page.click('button[type="submit"]')]);

  const users = await page.goto(`${server.issuer}/admin/users`);
  assert.equal(users?.status(), 200);
  assert.equal(users?.headers()['x-frame-options'], 'DENY');
  assert.match(users?.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
  await shoot(page, 'users');
  await Promise.all([page.waitForURL(/\/admin\/users\/erin-id/), page.click('a:text("erin")')]);
  await shoot(page, 'user');
  await Promise.all([page.waitForURL(/done=disabled/), page.click('button:text("Disable")')]);
  assert.match((await page.textContent('.admin-facts')) ?? '', /disabled/);
  await shoot(page, 'user-disabled');

  assert.deepEqual((await form('/introspect', { token })).json, { active: false }, 'the disabled user’s token is inactive');
  const userinfo = await fetch(`${server.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(userinfo.status, 401);

  await page.goto(`${server.issuer}/admin/clients`);
  await shoot(page, 'clients');
  await Promise.all([page.waitForURL(/\/admin\/clients\/.+/), page.click('a:text("Photo Album")')]);
  await shoot(page, 'client');
  await page.click('button:text("Rotate secret")');
  await page.waitForSelector('.admin-secret code');
  const secret = ((await page.textContent('.admin-secret code')) ?? '').trim();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  await shoot(page, 'secret');

  const old = await form('/token', { grant_type: 'client_credentials' });
  assert.equal(old.status, 401);
  assert.equal(old.json.error, 'invalid_client');
  const fresh = await form('/token', { grant_type: 'client_credentials' }, secret);
  assert.equal(fresh.status, 200, JSON.stringify(fresh.json));

  await page.goto(`${server.issuer}/admin/resources`);
  await page.fill('input[name="uri"]', 'https://orders.example/api');
  await page.fill('input[name="scope"]', 'orders:read orders:write');
  await Promise.all([page.waitForSelector('text=Resource registered'), page.click('button:text("Register resource")')]);
  assert.deepEqual((await server.deps.storage.resources.find('https://orders.example/api'))?.scopes, ['orders:read', 'orders:write']);
  await shoot(page, 'resource-created');

  for (const name of ['resources', 'keys', 'events'] as const) {
    const res = await page.goto(`${server.issuer}/admin/${name}`);
    assert.equal(res?.status(), 200, name);
    await shoot(page, name);
  }
});
