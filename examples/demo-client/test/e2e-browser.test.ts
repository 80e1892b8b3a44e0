// The whole story in a real browser (Debian's Chromium through playwright-core): the
// authorization server, the photos API and Photo Printer are started by the same code as
// `npm start` (scripts/start-demo.mjs), on free ports with a temporary SQLite database, so a
// running demo is never disturbed. Screenshots go to test-artifacts/.
//
// Chromium is required: without /usr/bin/chromium these tests FAIL (apt-get install -y chromium).
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

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
const SECOND_USER = { username: 'bob', password: 'bob-e2e-password-9', email: 'bob@example.com', name: 'Bob Example' };

/** What scripts/start-demo.mjs exports (plain JS, typed here). */
interface RunningDemo {
  issuer: string;
  apiUrl: string;
  clientUrl: string;
  database: string;
  user: { username: string; password: string; name: string; email: string };
  client: { client_id: string; client_name: string };
  stop(): Promise<void>;
}
interface StartDemoModule {
  startDemo(options: {
    dataDir: string;
    serverPort: number;
    apiPort: number;
    clientPort: number;
    mcpPort: number;
    log: (name: string, line: string) => void;
  }): Promise<RunningDemo>;
  runGatehouse(args: string[], options?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

const logs: string[] = [];
let dataDir: string | undefined;
let demoPromise: Promise<RunningDemo> | undefined;
let browserPromise: Promise<Browser> | undefined;

function requireChromium(): void {
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is missing at ${CHROMIUM}: the browser end-to-end test needs it. ` +
      'Install it with `apt-get update && apt-get install -y chromium` (Debian package).',
  );
}

/** Starts the demo once for this file (lazily, so a missing Chromium fails before anything starts). */
function demo(): Promise<RunningDemo> {
  demoPromise ??= (async () => {
    const { startDemo, runGatehouse } = (await import(pathToFileURL(join(ROOT, 'scripts/start-demo.mjs')).href)) as StartDemoModule;
    // The demo picks its free ports before its parts bind them (the issuer, audience and redirect URI
    // name them), so a test running beside it can take one in between: then it starts again, on new
    // ports with a new data directory (the client registered there names the old redirect URI).
    let running: RunningDemo | undefined;
    for (let attempt = 1; running === undefined; attempt++) {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'));
      try {
        running = await startDemo({
          dataDir,
          serverPort: 0,
          apiPort: 0,
          clientPort: 0,
          mcpPort: 0,
          log: (name, line) => logs.push(`[${name}] ${line}`),
        });
      } catch (error) {
        if (attempt >= 3 || !String((error as Error).message).includes('EADDRINUSE')) throw error;
      }
    }
    const bob = await runGatehouse(
      [
        'users',
        'create',
        '--username',
        SECOND_USER.username,
        '--password-stdin',
        '--email',
        SECOND_USER.email,
        '--name',
        SECOND_USER.name,
        '--database',
        running.database,
        '--json',
      ],
      { input: SECOND_USER.password },
    );
    assert.equal(bob.code, 0, `creating the second user failed: ${bob.stderr}`);
    return running;
  })();
  return demoPromise;
}

function browser(): Promise<Browser> {
  browserPromise ??= chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return browserPromise;
}

after(async () => {
  const closing: Array<Promise<unknown>> = [];
  if (browserPromise) closing.push(browserPromise.then((b) => b.close()).catch(() => {}));
  if (demoPromise) closing.push(demoPromise.then((d) => d.stop()).catch(() => {}));
  await Promise.all(closing);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** On failure: a screenshot of where the browser was and the last lines the three parts printed. */
async function diagnose<T>(t: TestContext, page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    await screenshot(page, `failure-${name}`).catch(() => {});
    t.diagnostic(`browser was at ${page.url()}`);
    t.diagnostic(logs.slice(-40).join('\n'));
    throw error;
  }
}

/** Every visible form control has an accessible label. */
async function assertLabelled(page: Page): Promise<void> {
  const unlabelled = await page.evaluate(() =>
    Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
      .filter((el) => {
        const control = el as HTMLInputElement;
        return (control.labels?.length ?? 0) === 0 && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby');
      })
      .map((el) => (el as HTMLInputElement).name || el.outerHTML.slice(0, 80)),
  );
  assert.deepEqual(unlabelled, [], `form controls without a label on ${page.url()}`);
}

async function logIn(page: Page, running: RunningDemo, username: string, password: string, shot?: string): Promise<void> {
  await page.waitForURL((url) => url.origin === running.issuer);
  const form = page.locator('form:has(input[name="password"])');
  await form.locator('input[name="username"]').fill(username);
  await form.locator('input[name="password"]').fill(password);
  await assertLabelled(page);
  if (shot) await screenshot(page, shot);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).origin === running.issuer),
    form.locator('button[type="submit"], input[type="submit"]').click(),
  ]);
  if (response.status() >= 400) {
    await page.waitForLoadState('load');
    const heading = await page
      .locator('h1')
      .first()
      .textContent()
      .catch(() => '');
    const origin = await response.request().headerValue('origin');
    assert.fail(`Gatehouse refused the login form: HTTP ${response.status()} "${heading}" (the browser sent Origin: ${origin})`);
  }
}

test('a user connects Photo Printer, logs in at Gatehouse, allows access and sees their photos', { timeout: 180_000 }, async (t) => {
  requireChromium();
  const running = await demo();
  const context = await (await browser()).newContext({ viewport: { width: 1100, height: 820 } });
  t.after(() => context.close());
  const page = await context.newPage();

  await diagnose(t, page, 'allow', async () => {
    await page.goto(running.clientUrl);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Print your photos, beautifully');
    await page.keyboard.press('Tab'); // skip link
    await page.keyboard.press('Tab'); // brand link
    await page.keyboard.press('Tab'); // the connect button: its focus ring must show
    await screenshot(page, '0-home-keyboard-focus');

    // RFC 9126: the authorization request goes through /par; the browser brings only the request_uri.
    const authorizeRequests: URL[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.origin === running.issuer && url.pathname === '/authorize') authorizeRequests.push(url);
    });
    await page.getByRole('button', { name: 'Connect with Gatehouse' }).click();
    await logIn(page, running, running.user.username, running.user.password, '1-login');
    assert.ok(authorizeRequests.length > 0, 'the browser went to /authorize');
    assert.match(authorizeRequests[0]!.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(authorizeRequests[0]!.searchParams.get('code_challenge'), null, 'no request parameter in the browser URL');
    assert.equal(authorizeRequests[0]!.searchParams.get('state'), null);

    // Consent: names the client, lists the scopes, offers allow and deny.
    const allow = page.locator('button[type="submit"][name="decision"][value="allow"]');
    await allow.waitFor();
    assert.equal(new URL(page.url()).origin, running.issuer);
    await page.locator('button[type="submit"][name="decision"][value="deny"]').waitFor();
    const consent = (await page.locator('body').innerText()).toLowerCase();
    assert.match(consent, /photo printer/);
    assert.match(consent, /photos:read/, 'the custom scope is shown by name');
    assert.match(consent, /email/);
    await screenshot(page, '2-consent');
    await allow.click();

    // Back at Photo Printer, signed in, with the photos from the API.
    await page.waitForURL(`${running.clientUrl}/`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `Welcome, ${running.user.name}`);
    assert.ok((await page.locator('main').innerText()).includes(running.user.email));
    const photos = page.locator('ul.photos > li');
    assert.ok((await photos.count()) >= 3, 'the seeded photos are listed');
    assert.match(await page.locator('ul.photos').innerText(), /Harbour at dusk/);
    assert.equal(await page.locator('[role="alert"]').count(), 0, 'no error shown');
    await screenshot(page, '3-photos');
    // What the API saw (GET /me): this client and the granted scope.
    await page.getByText('Technical details').click();
    const details = await page.locator('details.technical').innerText();
    assert.ok(details.includes(running.client.client_id), 'the API saw the Photo Printer client');
    assert.match(details, /photos:read/);

    // The browser holds one opaque, HttpOnly, SameSite=Lax session cookie and no token. (Cookies
    // ignore ports: Gatehouse's own cookies on 127.0.0.1 are in the same jar, under their names.)
    const cookies = await context.cookies(running.clientUrl);
    const ours = cookies.filter((c) => !c.name.startsWith('gatehouse.') && !c.name.startsWith('__Host-gatehouse.'));
    assert.deepEqual(
      ours.map((c) => c.name),
      ['photo_printer_session'],
    );
    assert.equal(ours[0]?.httpOnly, true);
    assert.equal(ours[0]?.sameSite, 'Lax');
    for (const cookie of cookies) {
      // Gatehouse's known-device cookie (DS-03) is a signed statement that this browser signed in before;
      // it grants nothing without the password, and it is not a token.
      if (cookie.name.endsWith('gatehouse.known')) {
        const header = JSON.parse(Buffer.from(cookie.value.split('.')[0]!, 'base64url').toString()) as { typ?: string };
        assert.equal(header.typ, 'gatehouse-known-device+jwt', 'the known-device cookie is no access or ID token');
        continue;
      }
      assert.doesNotMatch(cookie.value, /^eyJ/, `${cookie.name} holds no JWT`);
    }

    // A reload is served from the server-side session.
    await page.reload();
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `Welcome, ${running.user.name}`);

    // Sign out: local logout, then RP-initiated logout at Gatehouse's end_session_endpoint,
    // which sends the browser back to the registered post_logout_redirect_uri.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${running.clientUrl}/signed-out`);
    assert.match(await page.getByRole('status').innerText(), /You are signed out/);
    await screenshot(page, '4-signed-out');
    // Gatehouse's session ended too: connecting again asks for the password again.
    await page.getByRole('button', { name: 'Connect with Gatehouse' }).click();
    await page.waitForURL((url) => url.origin === running.issuer);
    await page.locator('input[name="password"]').waitFor();
  });
});

test('a user who denies access sees the friendly page and can try again', { timeout: 180_000 }, async (t) => {
  requireChromium();
  const running = await demo();
  const context = await (await browser()).newContext({ viewport: { width: 1100, height: 820 } });
  t.after(() => context.close());
  const page = await context.newPage();

  await diagnose(t, page, 'deny', async () => {
    await page.goto(running.clientUrl);
    await page.getByRole('button', { name: 'Connect with Gatehouse' }).click();
    await logIn(page, running, SECOND_USER.username, SECOND_USER.password);

    const deny = page.locator('button[type="submit"][name="decision"][value="deny"]');
    await deny.waitFor();
    await deny.click();

    await page.waitForURL(`${running.clientUrl}/denied`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'You chose not to share your photos');
    assert.equal(await page.locator('ul.photos').count(), 0);
    await screenshot(page, '5-denied');
    // Nothing was shared: Photo Printer still offers to connect.
    const home = await context.newPage();
    await home.goto(running.clientUrl);
    await home.getByRole('button', { name: 'Connect with Gatehouse' }).waitFor();
    await home.close();

    // "Try again" starts a new authorization request at Gatehouse.
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.waitForURL((url) => url.origin === running.issuer);
    await page.locator('button[name="decision"][value="allow"], input[name="password"]').first().waitFor();
  });
});
