// The refresh_token grant (RFC 6749 §6, RFC 9700 §4.14.2): RT-01..RT-05, RT-07, TE-01, and the grace
// window for replays just after a rotation (RG-01).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Browser,
  startServer,
  tokenRequest,
  type TestServer,
  assertOAuthError,
  decodeJwt,
  issueTokens,
  nowSeconds,
  refresh,
  type TokenBody,
} from './helpers.js';
import { sha256 } from '../src/oauth/crypto.js';

const C1 = 'https://c1.example/cb';

async function setup(
  t: { after(fn: () => Promise<void>): void },
  env: Record<string, string> = {},
  scope = 'openid profile email offline_access',
) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const { body } = await issueTokens(server, browser, client, user, { scope });
  assert.ok(body.refresh_token, 'a refresh token with offline_access');
  return { server, client, user, browser, tokens: body };
}

const isRevoked = (server: TestServer, accessToken: string) =>
  server.deps.storage.revokedAccessTokens.isRevoked(String(decodeJwt(accessToken).jti));

test('RT-01 TE-01 refreshing rotates the refresh token and returns no-store JSON', async (t) => {
  const { server, client, tokens } = await setup(t);
  const res = await refresh(server, client, tokens.refresh_token!);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['cache-control']), /no-store/);
  assert.equal(res.headers.pragma, 'no-cache');
  const next = res.json() as TokenBody;
  assert.equal(next.token_type, 'Bearer');
  assert.ok(next.refresh_token && next.refresh_token !== tokens.refresh_token, 'a new refresh token');
  assert.notEqual(next.access_token, tokens.access_token);
  assert.equal(next.scope, tokens.scope);
  assert.ok(next.id_token, 'openid in the grant: a fresh id_token');
});

test('RT-01 the old refresh token is refused after rotation, once the grace window is over', async (t) => {
  const { server, client, tokens } = await setup(t);
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200);
  server.clock.advance(server.config.refreshReuseGrace + 1);
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
});

test('RT-01 with the grace window off (strict), the old refresh token is refused at once', async (t) => {
  const { server, client, tokens } = await setup(t, { GATEHOUSE_REFRESH_REUSE_GRACE: '0' });
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200);
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
});

test('RT-02 replaying a rotated token whose successor was already used revokes the whole family, even inside the grace window', async (t) => {
  const { server, client, tokens } = await setup(t);
  const r2 = (await refresh(server, client, tokens.refresh_token!)).json() as TokenBody;
  const r3 = (await refresh(server, client, r2.refresh_token!)).json() as TokenBody;
  assert.ok(r3.refresh_token);
  for (const at of [tokens.access_token, r2.access_token, r3.access_token]) assert.equal(await isRevoked(server, at), false);
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
  assertOAuthError(await refresh(server, client, r3.refresh_token!), 400, 'invalid_grant');
  for (const at of [tokens.access_token, r2.access_token, r3.access_token])
    assert.equal(await isRevoked(server, at), true, 'access token of the family denied');
});

test('RT-02 replay revokes only that family, not another grant of the same user', async (t) => {
  const { server, client, user, browser, tokens } = await setup(t);
  const other = (await issueTokens(server, browser, client, user, { scope: 'openid offline_access' })).body;
  await refresh(server, client, tokens.refresh_token!);
  server.clock.advance(server.config.refreshReuseGrace + 1);
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
  assert.equal((await refresh(server, client, other.refresh_token!)).statusCode, 200, 'the other family is untouched');
  assert.equal(await isRevoked(server, other.access_token), false);
});

test('RT-03 scope may narrow: a subset gives that subset', async (t) => {
  const { server, client, tokens } = await setup(t);
  const res = await refresh(server, client, tokens.refresh_token!, 'openid profile');
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as TokenBody;
  assert.equal(body.scope, 'openid profile');
  assert.equal(decodeJwt(body.access_token).scope, 'openid profile');
});

test('RT-03 scope may never widen: a superset gets invalid_scope', async (t) => {
  const { server, client, tokens } = await setup(t, {}, 'openid profile offline_access');
  for (const scope of ['openid profile offline_access email', 'photos:read', 'openid profile offline_access phone']) {
    assertOAuthError(await refresh(server, client, tokens.refresh_token!, scope), 400, 'invalid_scope');
  }
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200, 'a refused widening does not burn the token');
});

test('RT-03 after narrowing, a refresh without scope gets the originally granted scope back', async (t) => {
  const { server, client, tokens } = await setup(t);
  const narrowed = (await refresh(server, client, tokens.refresh_token!, 'profile')).json() as TokenBody;
  assert.equal(narrowed.scope, 'profile');
  assert.equal(narrowed.id_token, undefined, 'no id_token without openid');
  const back = await refresh(server, client, narrowed.refresh_token!);
  assert.equal(back.statusCode, 200, back.body);
  assert.equal((back.json() as TokenBody).scope, tokens.scope);
  // and the narrowed step did not shrink what may be asked for later
  const again = await refresh(server, client, (back.json() as TokenBody).refresh_token!, 'email');
  assert.equal(again.statusCode, 200, again.body);
});

test("RT-04 another client's refresh token gets invalid_grant and stays valid for its owner", async (t) => {
  const { server, client, tokens } = await setup(t);
  const c2 = await server.createClient({ redirectUris: [C1] });
  assertOAuthError(await refresh(server, c2, tokens.refresh_token!), 400, 'invalid_grant');
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200);
});

test('RT-04 refreshing needs client authentication: none or a wrong secret gets invalid_client', async (t) => {
  const { server, client, tokens } = await setup(t);
  const none = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! });
  assertOAuthError(none, [400, 401], 'invalid_client');
  const wrong = await refresh(server, { clientId: client.clientId, clientSecret: 'wrong' }, tokens.refresh_token!);
  assertOAuthError(wrong, 401, 'invalid_client');
  const idOnly = await tokenRequest(
    server.app,
    { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! },
    { clientId: client.clientId },
  );
  assertOAuthError(idOnly, [400, 401], 'invalid_client');
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200, 'failed attempts do not burn the token');
});

test('RT-05 absolute expiry: a refresh token past its lifetime gets invalid_grant', async (t) => {
  const { server, client, tokens } = await setup(t);
  await server.deps.storage.db
    .updateTable('refresh_tokens')
    .set({ expires_at: nowSeconds() - 1 })
    .where('token_hash', '=', sha256(tokens.refresh_token!))
    .execute();
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
});

test('RT-05 idle expiry: a refresh token unused for the idle lifetime gets invalid_grant', async (t) => {
  const { server, client, tokens } = await setup(t);
  server.clock.advance(server.config.refreshTokenIdleTtl);
  assert.ok(server.config.refreshTokenIdleTtl < server.config.refreshTokenTtl, 'the absolute lifetime is still running');
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
});

test('RT-05 lifetimes come from the configuration; rotation renews the idle time but never the absolute one', async (t) => {
  const { server, client, tokens } = await setup(t, { GATEHOUSE_REFRESH_TOKEN_TTL: '5000', GATEHOUSE_REFRESH_TOKEN_IDLE_TTL: '1000' });
  const db = server.deps.storage.db;
  const first = await db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', sha256(tokens.refresh_token!))
    .executeTakeFirstOrThrow();
  assert.equal(first.expires_at - first.created_at, 5000);
  assert.equal(first.idle_expires_at - first.created_at, 1000);
  // pretend the family started long ago: its absolute end is close
  await db
    .updateTable('refresh_tokens')
    .set({ expires_at: nowSeconds() + 100 })
    .where('family_id', '=', first.family_id)
    .execute();
  const next = (await refresh(server, client, tokens.refresh_token!)).json() as TokenBody;
  const second = await db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('token_hash', '=', sha256(next.refresh_token!))
    .executeTakeFirstOrThrow();
  assert.ok(second.expires_at <= nowSeconds() + 100, 'the family never outlives its absolute lifetime');
  assert.ok(second.idle_expires_at <= second.expires_at);
  assert.equal(second.family_id, first.family_id);
});

test('RT-07 strict policy (grace 0): concurrent refreshes with one token give exactly one 200 and never two live families', async (t) => {
  const { server, client, tokens } = await setup(t, { GATEHOUSE_REFRESH_REUSE_GRACE: '0' });
  const results = await Promise.all(Array.from({ length: 10 }, () => refresh(server, client, tokens.refresh_token!)));
  const ok = results.filter((r) => r.statusCode === 200);
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.statusCode).join(',')}`);
  for (const r of results.filter((x) => x.statusCode !== 200)) assertOAuthError(r, 400, 'invalid_grant');
  const live = await server.deps.storage.db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('revoked_at', 'is', null)
    .where('rotated_at', 'is', null)
    .execute();
  assert.ok(live.length <= 1, `at most one live refresh token, found ${live.length}`);
});

test('refresh tokens are issued only with offline_access and only to clients allowed the refresh_token grant', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const withGrant = await server.createClient({ redirectUris: [C1] });
  const noOffline = await issueTokens(server, browser, withGrant, user, { scope: 'openid profile' });
  assert.equal(noOffline.body.refresh_token, undefined, 'no offline_access: no refresh token');
  const noGrant = await server.createClient({ redirectUris: [C1], grantTypes: ['authorization_code'] });
  const noRefresh = await issueTokens(server, browser, noGrant, user, { scope: 'openid offline_access' });
  assert.equal(noRefresh.body.refresh_token, undefined, 'no refresh_token grant: no refresh token');
  const stored = await server.deps.storage.db.selectFrom('refresh_tokens').selectAll().execute();
  assert.equal(stored.length, 0);
});

test('a client without the refresh_token grant cannot refresh', async (t) => {
  const { server, tokens } = await setup(t);
  const noGrant = await server.createClient({ redirectUris: [C1], grantTypes: ['authorization_code'] });
  assertOAuthError(await refresh(server, noGrant, tokens.refresh_token!), 400, ['unauthorized_client', 'invalid_grant']);
});

test('garbage, missing and cross-artefact refresh tokens get invalid_grant / invalid_request, never 5xx', async (t) => {
  const { server, client, user, browser, tokens } = await setup(t);
  const { code } = await issueTokens(server, browser, client, user, { scope: 'openid' });
  for (const value of [
    'A'.repeat(43),
    'x'.repeat(10_000),
    "' OR 1=1 --",
    '\u{1F600}',
    tokens.access_token,
    code,
    browser.cookies.get('gatehouse.session')!,
    sha256(tokens.refresh_token!),
  ]) {
    assertOAuthError(await refresh(server, client, value), 400, 'invalid_grant');
  }
  assertOAuthError(await tokenRequest(server.app, { grant_type: 'refresh_token' }, client), 400, 'invalid_request');
});

test('refresh is refused once the user is disabled', async (t) => {
  const { server, client, tokens } = await setup(t);
  await server.deps.storage.users.setDisabled('user-alice', true, nowSeconds());
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
});

test('RG-01 parallel refreshes with one token all get the same successor, and exactly one live refresh token exists', async (t) => {
  const { server, client, tokens } = await setup(t);
  const results = await Promise.all(Array.from({ length: 10 }, () => refresh(server, client, tokens.refresh_token!)));
  assert.deepEqual(
    results.map((r) => r.statusCode),
    Array(10).fill(200),
    results.map((r) => r.body).join('\n'),
  );
  const bodies = results.map((r) => r.json() as TokenBody);
  assert.equal(new Set(bodies.map((b) => b.refresh_token)).size, 1, 'one successor for everyone');
  assert.equal(new Set(bodies.map((b) => b.access_token)).size, 1, 'the same response, not a second mint');
  const live = await server.deps.storage.db
    .selectFrom('refresh_tokens')
    .selectAll()
    .where('revoked_at', 'is', null)
    .where('rotated_at', 'is', null)
    .execute();
  assert.equal(live.length, 1);
  assert.equal((await refresh(server, client, bodies[0]!.refresh_token!)).statusCode, 200, 'the successor works');
});

test('RG-01 a retry after a lost response gets the same successor; after the window the replay revokes the family', async (t) => {
  const { server, client, tokens } = await setup(t);
  const first = (await refresh(server, client, tokens.refresh_token!)).json() as TokenBody;
  server.clock.advance(server.config.refreshReuseGrace - 1);
  const retry = await refresh(server, client, tokens.refresh_token!);
  assert.equal(retry.statusCode, 200);
  assert.deepEqual(retry.json(), first, 'byte for byte the response the first request got');
  server.clock.advance(2);
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
  assertOAuthError(await refresh(server, client, first.refresh_token!), 400, 'invalid_grant');
  assert.equal(await isRevoked(server, first.access_token), true, 'reuse after the window revokes the family');
});

test('RG-01 the grace answer goes only to the same client, and the stored successor reveals no token', async (t) => {
  const { server, client, tokens } = await setup(t);
  const other = await server.createClient({ redirectUris: [C1] });
  const first = (await refresh(server, client, tokens.refresh_token!)).json() as TokenBody;
  assertOAuthError(await refresh(server, other, tokens.refresh_token!), 400, 'invalid_grant');
  const rows = JSON.stringify(await server.deps.storage.db.selectFrom('refresh_tokens').selectAll().execute());
  for (const secret of [first.refresh_token!, first.access_token, tokens.refresh_token!])
    assert.ok(!rows.includes(secret), 'no raw token in the database');
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200, "the other client's attempt changed nothing");
});
