// The device flow's pages in a real browser (Debian's Chromium through playwright-core): a person
// types the code a TV shows at the verification URI, signs in, reads the confirmation and allows;
// the TV's next poll gets tokens. Without /usr/bin/chromium this test FAILS (apt-get install -y chromium).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { registerClient } from '../src/oauth/clients.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { deviceCodeGrant } from '../src/oauth/grants/device-code.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { listen, postClientForm, type ListeningServer } from './user-agent.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];
const carol = { username: 'carol', password: 'carol device password' };

let server: ListeningServer;
let browser: Browser | undefined;
let tv: { id: string; secret: string };

before(async () => {
  server = await listen({ GATEHOUSE_DEVICE_CODE_INTERVAL: '1' });
  const now = nowSeconds();
  await server.deps.storage.users.create({
    id: 'carol-id',
    username: carol.username,
    passwordHash: await hashPassword(carol.password),
    email: 'carol@example.com',
    name: 'Carol Example',
    claims: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  });
  const c = await registerClient(
    server.deps.storage.clients,
    {
      clientName: 'Kitchen Radio',
      redirectUris: [],
      scope: 'openid profile offline_access',
      grantTypes: [deviceCodeGrant.grantType, 'refresh_token'],
    },
    now,
  );
  tv = { id: c.client.clientId, secret: c.clientSecret! };
});

after(async () => {
  await browser?.close().catch(() => {});
  await server.close();
});

const post = (path: string, body: Record<string, string>) => postClientForm(server.issuer, path, body, tv);

test('DV-01 UI-01 in Chromium: the code typed at the verification URI, the login and the confirmation complete the device flow', async () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is missing at ${CHROMIUM}: install it with apt-get install -y chromium`);
  const started = await post('/device_authorization', { scope: 'openid profile offline_access' });
  assert.equal(started.status, 200);
  const userCode = String(started.json.user_code);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const page = await browser.newPage();
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
    const entry = await page.goto(String(started.json.verification_uri));
    assert.equal(entry?.headers()['x-frame-options'], 'DENY');
    assert.match(entry?.headers()['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    // People type the code as they read it: lower case, a space for the dash.
    await page.fill('input[name="user_code"]', userCode.toLowerCase().replace('-', ' '));
    await page.screenshot({ path: join(ARTIFACTS, 'device-1-code.png'), fullPage: true });
    await page.click('button[type="submit"]');

    await page.waitForSelector('input[name="password"]');
    assert.match((await page.textContent('body')) ?? '', /Kitchen Radio/);
    await page.fill('input[name="username"]', carol.username);
    await page.fill('input[name="password"]', carol.password);
    await page.click('button[type="submit"]');

    await page.waitForSelector('button[name="decision"][value="allow"]');
    const consent = (await page.textContent('body')) ?? '';
    assert.match(consent, /A device wants to use Kitchen Radio/);
    assert.ok(consent.includes(userCode), 'the confirmation shows the code to compare');
    assert.ok(await page.$('button[name="decision"][value="deny"]'));
    await page.screenshot({ path: join(ARTIFACTS, 'device-2-confirm.png'), fullPage: true });
    await page.click('button[name="decision"][value="allow"]');

    await page.waitForSelector('text=Device connected');
    await page.screenshot({ path: join(ARTIFACTS, 'device-3-done.png'), fullPage: true });
  } catch (error) {
    await page.screenshot({ path: join(ARTIFACTS, 'failure-device-flow.png'), fullPage: true }).catch(() => {});
    throw error;
  }

  const tokens = await post('/token', { grant_type: deviceCodeGrant.grantType, device_code: String(started.json.device_code) });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.json));
  assert.ok(tokens.json.access_token && tokens.json.refresh_token && tokens.json.id_token);
});
