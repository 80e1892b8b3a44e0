// Prometheus metrics (metrics/metrics.ts, metrics/listener.ts): off by default, on their own listener
// when --metrics-port is set, never on the public port; counters that move with what happens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { loadConfig, ConfigError } from '../src/config/config.js';
import { authorizeUrl, Browser, issueTokens, parseForm, refresh, startServer, tokenRequest, type TestServer } from './helpers.js';

/** A port that was free a moment ago (the listener binds it right after). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function withMetrics(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}): Promise<TestServer> {
  const server = await startServer({ GATEHOUSE_METRICS_PORT: String(await freePort()), ...env });
  t.after(() => server.close());
  return server;
}

async function scrape(server: TestServer): Promise<string> {
  const res = await fetch(server.metricsListener!.url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of one sample (`name{labels}`), 0 when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

test('metrics are off by default: no listener, and /metrics is not a route of the public port', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  assert.equal(server.metricsListener, undefined);
  assert.equal(server.deps.metrics, undefined);
  const res = await server.app.inject({ url: '/metrics' });
  assert.equal(res.statusCode, 404);
});

test('with --metrics-port the metrics are served on that listener only, never on the public port', async (t) => {
  const server = await withMetrics(t);
  const port = Number(new URL(server.metricsListener!.url).port);
  assert.equal(port, server.config.metricsPort);
  assert.equal(new URL(server.metricsListener!.url).hostname, '127.0.0.1', 'loopback by default');
  const onPublic = await server.app.inject({ url: '/metrics' });
  assert.equal(onPublic.statusCode, 404);
  assert.doesNotMatch(onPublic.body, /gatehouse_/);
  const text = await scrape(server);
  assert.match(text, /^# TYPE gatehouse_http_requests_total counter$/m);
  assert.match(text, /^process_cpu_user_seconds_total /m, 'process default metrics');
  const other = await fetch(server.metricsListener!.url.replace('/metrics', '/token'));
  assert.equal(other.status, 404);
});

test('the metrics port may not be the public port', () => {
  assert.throws(() => loadConfig({ GATEHOUSE_PORT: '9100', GATEHOUSE_METRICS_PORT: '9100' }), ConfigError);
  assert.equal(loadConfig({}).metricsPort, 0);
  assert.equal(loadConfig({ GATEHOUSE_METRICS_PORT: '9464' }).metricsHost, '127.0.0.1');
  assert.equal(loadConfig({}, { 'metrics-port': '9464', 'metrics-host': '10.0.0.5' }).metricsHost, '10.0.0.5');
});

test('a token issued moves the grant counter by one, a failed client authentication the failure counter', async (t) => {
  const server = await withMetrics(t);
  const client = await server.createClient();
  const before = await scrape(server);
  const ok = await tokenRequest(server.app, { grant_type: 'client_credentials' }, client);
  assert.equal(ok.statusCode, 200, ok.body);
  const bad = await tokenRequest(server.app, { grant_type: 'client_credentials' }, { ...client, clientSecret: 'wrong' });
  assert.equal(bad.statusCode, 401);
  const after = await scrape(server);
  const grant = { grant_type: 'client_credentials' };
  assert.equal(sample(after, 'gatehouse_tokens_issued_total', grant), sample(before, 'gatehouse_tokens_issued_total', grant) + 1);
  assert.equal(
    sample(after, 'gatehouse_client_authentication_failures_total'),
    sample(before, 'gatehouse_client_authentication_failures_total') + 1,
  );
  const route = { route: '/token', method: 'POST' };
  assert.equal(sample(after, 'gatehouse_http_requests_total', { ...route, status: '200' }), 1);
  assert.equal(sample(after, 'gatehouse_http_requests_total', { ...route, status: '401' }), 1);
  assert.equal(sample(after, 'gatehouse_http_request_duration_seconds_count', route), 2);
});

test('requests are labelled by route pattern, never by the raw URL', async (t) => {
  const server = await withMetrics(t);
  await server.app.inject({ url: '/no/such/path-7f3a9c' });
  await server.app.inject({ url: '/interaction/secret-looking-id-123' });
  const text = await scrape(server);
  assert.doesNotMatch(text, /path-7f3a9c|secret-looking-id-123/);
  assert.equal(sample(text, 'gatehouse_http_requests_total', { route: 'unmatched', method: 'GET', status: '404' }), 1);
  assert.ok(
    text.split('\n').some((l) => l.startsWith('gatehouse_http_requests_total{') && /route="\/interaction\/:[a-zA-Z]+/.test(l)),
    'the parametrised route, not the id',
  );
});

test('a failed login moves the failure counter by one, a successful one the success counter', async (t) => {
  const server = await withMetrics(t);
  const client = await server.createClient();
  const user = await server.createUser();
  const before = await scrape(server);
  const browser = new Browser(server.app);
  const start = await browser.get(authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, challenge: 'x'.repeat(43) }));
  const page = await browser.get(String(start.headers.location));
  const f = parseForm(page.body);
  const failed = await browser.post(f.action, { ...f.fields, username: user.username, password: 'not the password' });
  assert.equal(failed.statusCode, 401);
  const middle = await scrape(server);
  assert.equal(
    sample(middle, 'gatehouse_logins_total', { outcome: 'failure' }),
    sample(before, 'gatehouse_logins_total', { outcome: 'failure' }) + 1,
  );
  assert.equal(
    sample(middle, 'gatehouse_logins_total', { outcome: 'success' }),
    sample(before, 'gatehouse_logins_total', { outcome: 'success' }),
  );
  await issueTokens(server, new Browser(server.app), client, user);
  const after = await scrape(server);
  assert.equal(
    sample(after, 'gatehouse_logins_total', { outcome: 'success' }),
    sample(middle, 'gatehouse_logins_total', { outcome: 'success' }) + 1,
  );
});

test('logins refused during a lock count as locked, without a password check', async (t) => {
  const server = await withMetrics(t, { GATEHOUSE_LOGIN_MAX_FAILURES: '1' });
  const client = await server.createClient();
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const attempt = async () => {
    const start = await browser.get(
      authorizeUrl({ clientId: client.clientId, redirectUri: client.redirectUri, challenge: 'x'.repeat(43) }),
    );
    const page = await browser.get(String(start.headers.location));
    const f = parseForm(page.body);
    return browser.post(f.action, { ...f.fields, username: user.username, password: 'wrong' });
  };
  assert.equal((await attempt()).statusCode, 401);
  assert.equal((await attempt()).statusCode, 429);
  const text = await scrape(server);
  assert.equal(sample(text, 'gatehouse_logins_total', { outcome: 'failure' }), 1);
  assert.equal(sample(text, 'gatehouse_logins_total', { outcome: 'locked' }), 1);
});

test('a refresh token reuse moves the reuse counter by one', async (t) => {
  const server = await withMetrics(t, { GATEHOUSE_REFRESH_REUSE_GRACE: '0' });
  const client = await server.createClient();
  const user = await server.createUser();
  const { body } = await issueTokens(server, new Browser(server.app), client, user, { scope: 'openid offline_access' });
  const rotated = await refresh(server, client, body.refresh_token!);
  assert.equal(rotated.statusCode, 200, rotated.body);
  const before = await scrape(server);
  assert.equal(sample(before, 'gatehouse_refresh_token_reuse_total'), 0);
  const reused = await refresh(server, client, body.refresh_token!);
  assert.equal(reused.statusCode, 400);
  const after = await scrape(server);
  assert.equal(sample(after, 'gatehouse_refresh_token_reuse_total'), 1);
  const refreshGrant = { grant_type: 'refresh_token' };
  assert.equal(sample(after, 'gatehouse_tokens_issued_total', refreshGrant), 1, 'the refused reuse issued nothing');
});

test('signing key ages are a gauge per active kid; the pool gauge is absent on SQLite', async (t) => {
  const server = await withMetrics(t);
  server.clock.advance(3600);
  const text = await scrape(server);
  const active = server.deps.keys.list().filter((k) => k.status === 'active');
  assert.ok(active.length > 0);
  for (const key of active) {
    const age = sample(text, 'gatehouse_signing_key_age_seconds', { kid: key.kid, alg: key.alg });
    assert.ok(age >= 3600 && age < 3700, `${key.kid}: ${age}`);
  }
  assert.doesNotMatch(text, /^gatehouse_db_pool_connections\{/m);
});

test('PostgreSQL pool connections are reported by state', { skip: !process.env.GATEHOUSE_TEST_POSTGRES_URL }, async (t) => {
  const server = await withMetrics(t, { GATEHOUSE_DATABASE_URL: process.env.GATEHOUSE_TEST_POSTGRES_URL! });
  await tokenRequest(server.app, { grant_type: 'client_credentials' }, { clientId: 'nobody', clientSecret: 'x' });
  const text = await scrape(server);
  assert.ok(sample(text, 'gatehouse_db_pool_connections', { state: 'total' }) >= 1);
  assert.match(text, /^gatehouse_db_pool_connections\{state="waiting"\} \d+$/m);
  assert.match(text, /^gatehouse_db_pool_connections\{state="idle"\} \d+$/m);
});
