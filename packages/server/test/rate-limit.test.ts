// DS-01: per-endpoint rate limits (http/rate-limit.ts): 429 with Retry-After, the protocol's JSON
// (temporarily_unavailable) on JSON endpoints and a "too many attempts" page on browser routes;
// keyed by client IP (and client_id where clients authenticate); probes, keys and discovery never limited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { authorizeUrl, basic, Browser, form, pkce, postAs, startInteraction, startServer } from './helpers.js';

const C1 = 'https://c1.example/cb';

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient({
    redirectUris: [C1],
    grantTypes: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
  });
  return { server, client };
}

function assertLimitedJson(res: LightMyRequestResponse, where: string) {
  assert.equal(res.statusCode, 429, `${where}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  assert.match(String(res.headers['retry-after']), /^\d+$/, `${where}: Retry-After`);
  assert.ok(Number(res.headers['retry-after']) > 0, `${where}: Retry-After > 0`);
  assert.match(String(res.headers['content-type']), /^application\/json/, `${where}: JSON`);
  const body = res.json() as { error?: string; error_description?: string };
  assert.equal(body.error, 'temporarily_unavailable', where);
  assert.equal(typeof body.error_description, 'string', where);
  assert.ok(!res.body.includes('    at '), `${where}: no stack trace`);
}

function assertLimitedPage(res: LightMyRequestResponse, where: string) {
  assert.equal(res.statusCode, 429, `${where}: ${res.statusCode} ${res.body.slice(0, 200)}`);
  assert.ok(Number(res.headers['retry-after']) > 0, `${where}: Retry-After`);
  assert.match(String(res.headers['content-type']), /^text\/html/, `${where}: a page`);
  assert.match(res.body, /too many attempts/i, `${where}: says too many attempts`);
  assert.doesNotMatch(res.body, /malformed/i, `${where}: not "the request is malformed"`);
  assert.equal(res.headers.location, undefined, `${where}: no redirect`);
}

test('DS-01 150 anonymous /authorize from one IP: 429 with Retry-After and a "too many attempts" page; another IP goes on', async (t) => {
  const { server, client } = await setup(t);
  const url = authorizeUrl({ clientId: client.clientId, redirectUri: C1, state: 'S', challenge: pkce().challenge });
  const statuses: number[] = [];
  let limited: LightMyRequestResponse | undefined;
  for (let i = 0; i < 150; i++) {
    const res = await server.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.23' });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) limited ??= res;
  }
  const accepted = statuses.filter((s) => s === 303).length;
  assert.equal(accepted, server.config.rateLimitAuthorize, 'exactly the configured budget was served');
  assert.equal(statuses.filter((s) => s === 429).length, 150 - accepted);
  assertLimitedPage(limited!, '/authorize');
  const rows = await server.deps.storage.db.selectFrom('interactions').select('id').execute();
  assert.equal(rows.length, server.config.rateLimitAuthorize, 'refused requests wrote no interaction');
  const other = await server.app.inject({ method: 'GET', url, remoteAddress: '198.51.100.24' });
  assert.equal(other.statusCode, 303, 'another address has its own budget');
});

test('DS-01 every client endpoint answers 429 temporarily_unavailable JSON with Retry-After past its limit', async (t) => {
  const { server, client } = await setup(t, {
    GATEHOUSE_RATE_LIMIT_TOKEN: '2',
    GATEHOUSE_RATE_LIMIT_INTROSPECT: '2',
    GATEHOUSE_RATE_LIMIT_REVOKE: '2',
    GATEHOUSE_RATE_LIMIT_PAR: '2',
    GATEHOUSE_RATE_LIMIT_DEVICE_AUTHORIZATION: '2',
    GATEHOUSE_RATE_LIMIT_USERINFO: '2',
    GATEHOUSE_RATE_LIMIT_REGISTER: '2',
    GATEHOUSE_OPEN_REGISTRATION: 'true',
  });
  const auth = { authorization: basic(client.clientId, client.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' };
  const requests: [string, () => Promise<LightMyRequestResponse>][] = [
    [
      '/token',
      () => server.app.inject({ method: 'POST', url: '/token', headers: auth, payload: form({ grant_type: 'client_credentials' }) }),
    ],
    ['/introspect', () => server.app.inject({ method: 'POST', url: '/introspect', headers: auth, payload: form({ token: 'x' }) })],
    ['/revoke', () => server.app.inject({ method: 'POST', url: '/revoke', headers: auth, payload: form({ token: 'x' }) })],
    [
      '/par',
      () =>
        server.app.inject({
          method: 'POST',
          url: '/par',
          headers: auth,
          payload: form({
            response_type: 'code',
            redirect_uri: C1,
            scope: 'openid',
            code_challenge: pkce().challenge,
            code_challenge_method: 'S256',
          }),
        }),
    ],
    [
      '/device_authorization',
      () => server.app.inject({ method: 'POST', url: '/device_authorization', headers: auth, payload: form({ scope: 'openid' }) }),
    ],
    ['/userinfo', () => server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: 'Bearer nope' } })],
    [
      '/register',
      () =>
        server.app.inject({
          method: 'POST',
          url: '/register',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify({ redirect_uris: ['http://127.0.0.1/cb'], token_endpoint_auth_method: 'none' }),
        }),
    ],
  ];
  for (const [where, send] of requests) {
    for (let i = 0; i < 2; i++) assert.notEqual((await send()).statusCode, 429, `${where}: request ${i + 1} is within the limit`);
    assertLimitedJson(await send(), where);
  }
});

test('DS-01 the limit of client endpoints is per IP and client_id: one client cannot spend the budget of another', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_RATE_LIMIT_TOKEN: '3' });
  const other = await server.createClient({ redirectUris: [C1], grantTypes: ['client_credentials'] });
  const cc = (c: { clientId: string; clientSecret: string | undefined }, ip = '192.0.2.1') =>
    server.app.inject({
      method: 'POST',
      url: '/token',
      remoteAddress: ip,
      headers: { authorization: basic(c.clientId, c.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'client_credentials' }),
    });
  for (let i = 0; i < 3; i++) assert.equal((await cc(client)).statusCode, 200);
  assertLimitedJson(await cc(client), 'the first client, over its budget');
  assert.equal((await cc(other)).statusCode, 200, 'another client from the same address has its own budget');
  assert.equal((await cc(client, '192.0.2.2')).statusCode, 200, 'the same client from another address has its own budget');
});

test('DS-01 the sign-in form past its rate limit says "too many attempts", not "the request is malformed"', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_RATE_LIMIT_LOGIN: '3' });
  const browser = new Browser(server.app);
  const { form: login } = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: C1,
    state: 'S',
    challenge: pkce().challenge,
  });
  for (let i = 0; i < 3; i++) {
    const res = await postAs(
      server.app,
      browser,
      login.action,
      { ...login.fields, username: `u${i}`, password: 'x' },
      { remoteAddress: '192.0.2.9' },
    );
    assert.equal(res.statusCode, 401);
  }
  const res = await postAs(
    server.app,
    browser,
    login.action,
    { ...login.fields, username: 'u', password: 'x' },
    { remoteAddress: '192.0.2.9' },
  );
  assertLimitedPage(res, 'login form');
  const device = await server.app.inject({
    method: 'POST',
    url: '/device',
    remoteAddress: '192.0.2.9',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ user_code: 'ABCD-EFGH' }),
  });
  assert.notEqual(device.statusCode, 429, 'the device page has a budget of its own');
});

test('DS-01 /healthz, /readyz, /jwks and discovery are never rate-limited', async (t) => {
  const limits = Object.fromEntries(
    ['AUTHORIZE', 'TOKEN', 'INTROSPECT', 'REVOKE', 'REGISTER', 'PAR', 'DEVICE_AUTHORIZATION', 'USERINFO', 'LOGIN'].map((n) => [
      `GATEHOUSE_RATE_LIMIT_${n}`,
      '1',
    ]),
  );
  const { server } = await setup(t, limits);
  for (const url of ['/healthz', '/readyz', '/jwks', '/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    for (let i = 0; i < 25; i++) {
      const res = await server.app.inject({ method: 'GET', url, remoteAddress: '192.0.2.50' });
      assert.equal(res.statusCode, 200, `${url} #${i + 1}`);
      assert.equal(res.headers['retry-after'], undefined);
    }
  }
});

/** The defaults stay out of real clients' way (README "Rate limits and lockout"). */
test('DS-01 rate limits have defaults per minute that a real client does not reach, and 0 turns one off', async (t) => {
  const { server, client } = await setup(t, { GATEHOUSE_RATE_LIMIT_TOKEN: '0' });
  assert.equal(server.config.rateLimitWindow, 60);
  assert.ok(server.config.rateLimitAuthorize >= 60 && server.config.rateLimitAuthorize < 150);
  assert.ok(server.config.rateLimitIntrospect >= 600 && server.config.rateLimitUserinfo >= 600);
  const statuses = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const res = await server.app.inject({
      method: 'POST',
      url: '/token',
      headers: { authorization: basic(client.clientId, client.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ grant_type: 'client_credentials' }),
    });
    statuses.add(res.statusCode);
  }
  assert.deepEqual([...statuses], [200], '--rate-limit-token 0: no limit');
});
