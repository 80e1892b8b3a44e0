// The pages of the demo client that need no authorization server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildClientApp, SESSION_COOKIE } from '../src/app.js';
import { escapeHtml, html, raw } from '../src/views/html.js';
import { errorPage } from '../src/views/pages.js';
import type { ClientAppOptions } from '../src/config.js';

// An issuer that is never contacted: these pages must not need discovery.
const options: ClientAppOptions = {
  issuer: 'http://127.0.0.1:9',
  clientId: 'photo-printer',
  clientSecret: 'unused',
  baseUrl: 'http://127.0.0.1:8080',
  apiUrl: 'http://127.0.0.1:9',
  logger: false,
  discover: () => Promise.reject(new Error('discovery must not be needed here')),
};

async function withApp(fn: (app: ReturnType<typeof buildClientApp>) => Promise<void>): Promise<void> {
  const app = buildClientApp(options);
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

test('escapeHtml escapes the five HTML-significant characters', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('html templates escape interpolated values but not nested templates or raw()', () => {
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(
    html`<p>${inner}${raw('<br>')}${'"x"'}${['<', '>']}${undefined}${false}</p>`.value,
    '<p><b>&lt;i&gt;</b><br>&quot;x&quot;&lt;&gt;</p>',
  );
});

test('the error page escapes every reflected value', () => {
  const page = errorPage({
    heading: '<script>alert(1)</script>',
    message: '"><img src=x onerror=alert(2)>',
    code: "<svg onload='x'>",
    detail: '</code><script>',
  });
  assert.doesNotMatch(page, /<script>|<img|<svg onload/);
  assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('the home page invites to connect with a POST form and sets no cookie', async () => {
  await withApp(async (app) => {
    const response = await app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^text\/html; charset=utf-8/);
    assert.match(response.body, /<form method="post" action="\/login"[^>]*>\s*<button type="submit"[^>]*>Connect with Gatehouse<\/button>/);
    assert.match(response.body, /<html lang="en">/);
    assert.match(response.body, /<h1[^>]*>/);
    assert.equal(response.headers['set-cookie'], undefined);
  });
});

test('pages carry security headers: CSP without inline script, no framing, no cross-origin referrer', async () => {
  await withApp(async (app) => {
    const response = await app.inject({ method: 'GET', url: '/' });
    const csp = response.headers['content-security-policy'] as string;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:9/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(response.headers['x-frame-options'], 'DENY');
    assert.equal(response.headers['x-content-type-options'], 'nosniff');
    assert.equal(response.headers['referrer-policy'], 'same-origin');
    assert.equal(response.headers['cache-control'], 'no-store');
  });
});

test('the home page shows only known notices and never reflects the query', async () => {
  await withApp(async (app) => {
    const ended = await app.inject({ method: 'GET', url: '/?notice=session-ended' });
    assert.match(ended.body, /Your connection to Gatehouse has ended/);
    const signedOut = await app.inject({ method: 'GET', url: '/signed-out' });
    assert.match(signedOut.body, /You are signed out/);
    assert.match(signedOut.body, /Connect with Gatehouse/);
    const injected = await app.inject({ method: 'GET', url: '/?notice=%3Cscript%3Ealert(1)%3C/script%3E' });
    assert.equal(injected.statusCode, 200);
    assert.doesNotMatch(injected.body, /alert\(1\)/);
  });
});

test('the access_denied page is friendly and offers to try again', async () => {
  await withApp(async (app) => {
    const response = await app.inject({ method: 'GET', url: '/denied' });
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /<h1[^>]*>You chose not to share your photos<\/h1>/);
    assert.match(response.body, /<form method="post" action="\/login"[^>]*>\s*<button type="submit"[^>]*>Try again<\/button>/);
  });
});

test('the stylesheet is served by the app with visible keyboard focus styles', async () => {
  await withApp(async (app) => {
    const response = await app.inject({ method: 'GET', url: '/static/style.css' });
    assert.equal(response.statusCode, 200);
    assert.match(response.headers['content-type'] as string, /^text\/css/);
    assert.match(response.body, /:focus-visible\s*\{[^}]*outline/);
  });
});

test('a callback without a login started in this browser is refused (login CSRF)', async () => {
  await withApp(async (app) => {
    const response = await app.inject({
      method: 'GET',
      url: '/callback?code=attacker-code&state=attacker-state&iss=http%3A%2F%2F127.0.0.1%3A9',
      cookies: { [SESSION_COOKIE]: 'a-session-id-this-app-never-issued' },
    });
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /state_mismatch/);
    assert.doesNotMatch(response.body, /attacker-code/);
  });
});

test('connecting when the authorization server is unreachable shows a clear 503 page', async () => {
  await withApp(async (app) => {
    const response = await app.inject({ method: 'POST', url: '/login' });
    assert.equal(response.statusCode, 503);
    assert.match(response.body, /Gatehouse is not reachable/);
  });
});

test('unknown pages answer 404 with an HTML page', async () => {
  await withApp(async (app) => {
    const response = await app.inject({ method: 'GET', url: '/nope/<script>' });
    assert.equal(response.statusCode, 404);
    assert.doesNotMatch(response.body, /<script>/);
  });
});

test('building the app refuses a plain-http issuer that is not loopback', () => {
  assert.throws(() => buildClientApp({ ...options, issuer: 'http://login.example.com' }), /https/);
});
