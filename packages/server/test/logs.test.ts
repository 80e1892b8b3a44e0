// CR-05 and PK-06: nothing secret reaches the logs. The server logs through Fastify's logger, configured
// as `gatehouse serve` configures it (loggerOptions), into a stream this test captures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { basic, Browser, getCode, ISSUER, pkce, tokenRequest, type TestServer, refresh, type TokenBody } from './helpers.js';
import { loadConfig } from '../src/config/config.js';
import { createGatehouse } from '../src/server.js';
import { loggerOptions } from '../src/main.js';
import { registerClient } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';

const C1 = 'https://c1.example/cb';

test('CR-05 PK-06 after a full flow with failures, the log holds no secret, code, token, challenge, verifier or password', async (t) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'info' });
  const gatehouse = await createGatehouse(config, { logger: { ...loggerOptions(config), level: 'info', stream } });
  t.after(() => gatehouse.close());
  const server = gatehouse as unknown as TestServer;
  const now = Math.floor(Date.now() / 1000);
  const { client: c, clientSecret } = await registerClient(
    gatehouse.deps.storage.clients,
    {
      clientName: 'Logged',
      redirectUris: [C1],
      scope: 'openid profile offline_access photos:read',
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    },
    now,
  );
  const client = { clientId: c.clientId, clientSecret, redirectUri: C1 };
  const password = 'log-test password 42';
  await gatehouse.deps.storage.users.create({
    id: 'user-alice',
    username: 'alice',
    passwordHash: await hashPassword(password),
    email: null,
    name: null,
    claims: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  });
  const user = { username: 'alice', password };
  const browser = new Browser(gatehouse.app);

  // a failed login first (the password of the failed attempt is a near-miss of the real one)
  const p = pkce();
  const start = await browser.get(
    `/authorize?response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(C1)}&scope=openid+profile+offline_access&state=st-log&code_challenge=${p.challenge}&code_challenge_method=S256`,
  );
  const page = await browser.get(String(start.headers.location));
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)![1]!;
  const wrongPassword = `${password}-wrong`;
  await browser.post(String(/action="([^"]+)"/.exec(page.body)![1]), { csrf_token: csrf, username: 'alice', password: wrongPassword });

  const { code } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid profile offline_access', challenge: p.challenge },
    user,
  );
  const tok = (
    await tokenRequest(gatehouse.app, { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: p.verifier }, client)
  ).json() as TokenBody;
  // reuse (logs a revocation), refresh, replay, wrong secrets, secret in query, client_credentials
  await tokenRequest(gatehouse.app, { grant_type: 'authorization_code', code, redirect_uri: C1, code_verifier: p.verifier }, client);
  await refresh(server, client, tok.refresh_token!);
  await refresh(server, client, tok.refresh_token!);
  await gatehouse.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, `${clientSecret}x`) },
    payload: 'grant_type=client_credentials',
  });
  await gatehouse.app.inject({
    method: 'POST',
    url: `/token?client_secret=${clientSecret}&code=${code}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=${client.clientId}`,
  });
  await gatehouse.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${clientSecret}&client_secret=${clientSecret}`,
  });
  const cc = (await tokenRequest(gatehouse.app, { grant_type: 'client_credentials', scope: 'photos:read' }, client)).json() as TokenBody;
  await gatehouse.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, clientSecret!) },
    payload: `grant_type=refresh_token&refresh_token=${tok.access_token}`,
  });
  await gatehouse.app.inject({ method: 'GET', url: `/nope?access_token=${tok.access_token}` });

  const log = lines.join('');
  assert.ok(lines.length > 10, 'the logger did write (the test would be vacuous otherwise)');
  assert.match(log, /"statusCode":\s*200/, 'responses are logged');
  const secrets: [string, string][] = [
    ['client secret', clientSecret!],
    ['authorization code', code],
    ['access token', tok.access_token],
    ['refresh token', tok.refresh_token!],
    ['id token', tok.id_token!],
    ['client_credentials token', cc.access_token],
    ['code_challenge', p.challenge],
    ['code_verifier', p.verifier],
    ['password', password],
    ['failed password', wrongPassword],
    ['session cookie', browser.cookies.get('gatehouse.session')!],
    ['CSRF token', csrf],
  ];
  for (const [name, value] of secrets) assert.ok(!log.includes(value), `${name} appears in the log`);
  // also not in their common encodings
  for (const [name, value] of secrets) assert.ok(!log.includes(encodeURIComponent(value)), `${name} (URL-encoded) appears in the log`);
});
