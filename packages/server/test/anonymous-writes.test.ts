// DS-01 (size caps and cookies; the per-IP rate limit is tested with the other rate limits): what an
// anonymous GET /authorize can make the server store is bounded, and a browser holds one binding cookie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSweeper } from '../src/storage/cleanup.js';
import { authorizeUrl, Browser, countRows, locationOf, parseForm, pkce, setCookies, setupWithClientAndUser } from './helpers.js';

test('DS-01 oversized state, nonce, login_hint, scope or too many resources at /authorize are an error redirect and store nothing', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const base = { clientId: client.clientId, redirectUri: client.redirectUri, challenge: pkce().challenge };
  const cases: [string, string][] = [
    ['state', 'a'.repeat(2049)],
    ['nonce', 'n'.repeat(2049)],
    ['login_hint', 'h'.repeat(256)],
    ['scope', `openid ${'profile '.repeat(300)}`],
  ];
  for (const [name, value] of cases) {
    const url = new URL(authorizeUrl(base), 'http://x');
    url.searchParams.set(name, value);
    const res = await server.app.inject({ method: 'GET', url: `${url.pathname}${url.search}` });
    assert.equal(res.statusCode, 303, name);
    const location = new URL(locationOf(res));
    assert.equal(`${location.origin}${location.pathname}`, client.redirectUri, name);
    assert.equal(location.searchParams.get('error'), 'invalid_request', name);
    assert.ok((location.searchParams.get('state') ?? '').length <= 2048, name);
  }
  const many = new URL(authorizeUrl(base), 'http://x');
  for (let i = 0; i < 11; i++) many.searchParams.append('resource', `https://api${i}.example/`);
  const res = await server.app.inject({ method: 'GET', url: `${many.pathname}${many.search}` });
  assert.equal(new URL(locationOf(res)).searchParams.get('error'), 'invalid_request');
  assert.equal(await countRows(server.deps.storage, 'interactions'), 0);
  // Within the caps the request is accepted.
  const ok = new URL(authorizeUrl(base), 'http://x');
  ok.searchParams.set('state', 's'.repeat(2048));
  ok.searchParams.set('login_hint', 'h'.repeat(255));
  const accepted = await server.app.inject({ method: 'GET', url: `${ok.pathname}${ok.search}` });
  assert.match(locationOf(accepted), /^\/interaction\//);
});

test('DS-01 a browser keeps one binding cookie: repeated anonymous authorization requests set it once', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const bindingCookies: string[] = [];
  const tokens = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const res = await browser.get(
      authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, challenge: pkce().challenge }),
    );
    bindingCookies.push(...setCookies(res).filter((c) => c.startsWith('gatehouse.browser=')));
    assert.equal(setCookies(res).length, bindingCookies.length === 1 && i === 0 ? 1 : 0, `request ${i + 1} sets no further cookie`);
    // Every interaction of this browser works, each with its own CSRF token.
    const page = await browser.get(locationOf(res));
    assert.equal(page.statusCode, 200);
    tokens.add(parseForm(page.body).fields.csrf_token!);
  }
  assert.equal(bindingCookies.length, 1);
  assert.equal(browser.cookies.size, 1);
  assert.equal(tokens.size, 5);
  assert.equal(await countRows(server.deps.storage, 'interactions'), 5);
  // A binding cookie too old to outlive a new interaction is replaced.
  server.clock.advance(server.config.sessionTtl);
  const later = await browser.get(
    authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, challenge: pkce().challenge }),
  );
  assert.equal(setCookies(later).filter((c) => c.startsWith('gatehouse.browser=')).length, 1);
});

test('DS-01 a sweep that stops at its batch cap is followed at once by another, not after the interval', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  for (let i = 0; i < 7; i++) {
    await server.app.inject({
      method: 'GET',
      url: authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, challenge: pkce().challenge }),
    });
  }
  assert.equal(await countRows(server.deps.storage, 'interactions'), 7);
  const expired = server.clock() + server.config.interactionTtl + 1;
  const quiet = { info: () => undefined, warn: () => undefined } as unknown as Parameters<typeof startSweeper>[2];
  // Two rows per run and an hour between runs: only the backlog rule can empty the table in time.
  const sweeper = startSweeper(
    server.deps.storage,
    {
      codeRetention: 60,
      batchSize: 2,
      maxBatches: 1,
      pauseMs: 0,
      intervalMs: 3_600_000,
      firstDelayMs: 0,
      backlogDelayMs: 5,
      now: () => expired,
    },
    quiet,
  );
  t.after(() => sweeper.stop());
  for (let i = 0; i < 200 && (await countRows(server.deps.storage, 'interactions')) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(await countRows(server.deps.storage, 'interactions'), 0);
});
