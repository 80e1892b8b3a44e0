// The authorization_code grant (RFC 6749 §4.1.3, RFC 7636 §4.6, OAuth 2.1 §4.1.3): AC-01..AC-08, RU-07,
// PK-03..PK-05, TE-01, TE-03, R3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Browser,
  getCode,
  pkce,
  startServer,
  tokenRequest,
  assertOAuthError,
  decodeJwt,
  issueTokens,
  nowSeconds,
  refresh,
  type TokenBody,
} from './helpers.js';
import { s256 } from '../src/oauth/pkce.js';

const C1 = 'https://c1.example/cb';

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: [C1] });
  const user = await server.createUser();
  return { server, client, user, browser: new Browser(server.app) };
}

const redeem = (
  server: Awaited<ReturnType<typeof setup>>['server'],
  client: { clientId: string; clientSecret?: string | undefined },
  code: string,
  verifier: string | undefined,
  redirectUri = C1,
) => tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }, client);

test('TE-01 TE-03 a redeemed code returns Bearer tokens with no-store caching headers', async (t) => {
  const { server, client, user, browser } = await setup(t, { GATEHOUSE_ACCESS_TOKEN_TTL: '300' });
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid profile offline_access' },
    user,
  );
  const res = await redeem(server, client, code, verifier);
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.match(String(res.headers['cache-control']), /no-store/);
  assert.equal(res.headers.pragma, 'no-cache');
  const body = res.json() as TokenBody;
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.expires_in, 300);
  assert.equal(body.scope, 'openid profile offline_access');
  assert.ok(body.access_token && body.refresh_token && body.id_token);
});

test('AC-01 a code is single use: the second redemption gets invalid_grant and revokes what the first issued', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid offline_access' },
    user,
  );
  const first = await redeem(server, client, code, verifier);
  assert.equal(first.statusCode, 200, first.body);
  const tokens = first.json() as TokenBody;
  const jti = String(decodeJwt(tokens.access_token).jti);
  assert.equal(await server.deps.storage.revokedAccessTokens.isRevoked(jti), false, 'the access token is live before the reuse');
  const second = await redeem(server, client, code, verifier);
  assertOAuthError(second, 400, 'invalid_grant');
  assert.equal(await server.deps.storage.revokedAccessTokens.isRevoked(jti), true, 'the first access token is on the denylist');
  assertOAuthError(await refresh(server, client, tokens.refresh_token!), 400, 'invalid_grant');
  // and a third attempt is still refused
  assertOAuthError(await redeem(server, client, code, verifier), 400, 'invalid_grant');
});

test('AC-01 code reuse revokes the access token even when no refresh token was issued', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1, scope: 'openid profile' }, user);
  const first = (await redeem(server, client, code, verifier)).json() as TokenBody;
  assert.equal(first.refresh_token, undefined);
  assertOAuthError(await redeem(server, client, code, verifier), 400, 'invalid_grant');
  assert.equal(await server.deps.storage.revokedAccessTokens.isRevoked(String(decodeJwt(first.access_token).jti)), true);
});

test('AC-01 code reuse also kills refresh tokens already rotated from that code', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid offline_access' },
    user,
  );
  const tokens = (await redeem(server, client, code, verifier)).json() as TokenBody;
  const r2 = await refresh(server, client, tokens.refresh_token!);
  assert.equal(r2.statusCode, 200, r2.body);
  const rotated = r2.json() as TokenBody;
  assertOAuthError(await redeem(server, client, code, verifier), 400, 'invalid_grant');
  assertOAuthError(await refresh(server, client, rotated.refresh_token!), 400, 'invalid_grant');
  assert.equal(await server.deps.storage.revokedAccessTokens.isRevoked(String(decodeJwt(rotated.access_token).jti)), true);
});

test('AC-02 an expired code gets invalid_grant', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  server.clock.advance(server.config.codeTtl);
  assertOAuthError(await redeem(server, client, code, verifier), 400, 'invalid_grant');
});

test('AC-02 the code lifetime comes from GATEHOUSE_CODE_TTL (60 s by default)', async (t) => {
  for (const [env, ttl] of [
    [{}, 60],
    [{ GATEHOUSE_CODE_TTL: '5' }, 5],
  ] as const) {
    const { server, client, user, browser } = await setup(t, env);
    await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
    const row = await server.deps.storage.db.selectFrom('authorization_codes').selectAll().executeTakeFirstOrThrow();
    assert.equal(row.expires_at - row.created_at, ttl);
  }
});

test('AC-03 a code redeemed by another client gets invalid_grant and stays usable by its own client', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const c2 = await server.createClient({ redirectUris: [C1] });
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  assertOAuthError(await redeem(server, c2, code, verifier), 400, 'invalid_grant');
  assert.equal((await redeem(server, client, code, verifier)).statusCode, 200, 'a foreign attempt does not burn the code');
});

test("AC-03 a public client cannot redeem a confidential client's code with only its client_id", async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const res = await tokenRequest(server.app, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: C1,
    code_verifier: verifier,
    client_id: client.clientId,
  });
  assertOAuthError(res, [400, 401], 'invalid_client');
});

test('RU-07 the redirect_uri at the token endpoint must equal the one used at authorize', async (t) => {
  const { server, user, browser } = await setup(t);
  const two = await server.createClient({ redirectUris: [C1, 'https://c1.example/other'] });
  const { code, verifier } = await getCode(server, browser, { clientId: two.clientId, redirectUri: C1 }, user);
  assertOAuthError(await redeem(server, two, code, verifier, 'https://c1.example/other'), 400, 'invalid_grant');
  assertOAuthError(await redeem(server, two, code, verifier, `${C1}/`), 400, 'invalid_grant');
});

test('RU-07 a loopback code is bound to the exact port used at authorize', async (t) => {
  const { server, user, browser } = await setup(t);
  const p1 = await server.createClient({
    redirectUris: ['http://127.0.0.1/cb'],
    isPublic: true,
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  const { code, verifier } = await getCode(server, browser, { clientId: p1.clientId, redirectUri: 'http://127.0.0.1:51234/cb' }, user);
  assertOAuthError(await redeem(server, p1, code, verifier, 'http://127.0.0.1:51235/cb'), 400, 'invalid_grant');
  assertOAuthError(await redeem(server, p1, code, verifier, 'http://127.0.0.1/cb'), 400, 'invalid_grant');
  assert.equal((await redeem(server, p1, code, verifier, 'http://127.0.0.1:51234/cb')).statusCode, 200);
});

test('RU-07 a redirect_uri sent at authorize must be sent at the token endpoint', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const res = await tokenRequest(server.app, { grant_type: 'authorization_code', code, code_verifier: verifier }, client);
  assertOAuthError(res, 400, ['invalid_request', 'invalid_grant']);
});

test('AC-05 garbage codes get 400 invalid_grant, never 5xx', async (t) => {
  const { server, client } = await setup(t);
  const cases: [string, string][] = [
    ['unknown', 'A'.repeat(43)],
    ['10 KB', 'x'.repeat(10 * 1024)],
    ['unicode', 'ｃｏｄｅ-\u{1F600}-ü-\u0000'],
    ['SQL metacharacters', "' OR '1'='1' --; DROP TABLE authorization_codes; --"],
    ['LIKE wildcards', '%'],
    ['a JSON object', '{"$ne":null}'],
    ['whitespace', '   '],
  ];
  for (const [name, code] of cases) {
    await t.test(name, async () => {
      const res = await redeem(server, client, code, pkce().verifier);
      assertOAuthError(res, 400, 'invalid_grant');
    });
  }
  const tables = await server.deps.storage.db.selectFrom('authorization_codes').select('code_hash').execute();
  assert.ok(Array.isArray(tables), 'the table survived');
});

test('AC-05 a missing code is invalid_request', async (t) => {
  const { server, client } = await setup(t);
  assertOAuthError(
    await tokenRequest(server.app, { grant_type: 'authorization_code', redirect_uri: C1, code_verifier: pkce().verifier }, client),
    400,
    'invalid_request',
  );
});

test('AC-06 a refresh token, access token, session id or interaction id presented as a code gets invalid_grant', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { body } = await issueTokens(server, browser, client, user, { scope: 'openid offline_access' });
  const session = browser.cookies.get('gatehouse.session')!;
  assert.ok(session);
  const interaction = await server.deps.storage.db.selectFrom('interactions').select('id').executeTakeFirstOrThrow();
  const familyRow = await server.deps.storage.db.selectFrom('refresh_tokens').select(['family_id', 'token_hash']).executeTakeFirstOrThrow();
  for (const [name, value] of [
    ['refresh token', body.refresh_token!],
    ['access token', body.access_token],
    ['id token', body.id_token!],
    ['session cookie', session],
    ['interaction id', interaction.id],
    ['a stored digest', familyRow.token_hash],
    ['a family id', familyRow.family_id],
  ] as const) {
    const res = await redeem(server, client, value, pkce().verifier);
    assertOAuthError(res, 400, 'invalid_grant');
    assert.ok(res.statusCode === 400, name);
  }
});

test('AC-07 the code dies when the user is disabled before redemption', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  await server.deps.storage.users.setDisabled('user-alice', true, nowSeconds());
  assertOAuthError(await redeem(server, client, code, verifier), 400, 'invalid_grant');
});

test('AC-07 the code dies when the user is deleted or the consent revoked before redemption', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const a = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  await server.deps.storage.grants.delete('user-alice', client.clientId);
  assertOAuthError(await redeem(server, client, a.code, a.verifier), 400, 'invalid_grant');
  const b = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  await server.deps.storage.users.delete('user-alice');
  assertOAuthError(await redeem(server, client, b.code, b.verifier), 400, 'invalid_grant');
});

test('AC-08 no id_token without openid; an id_token with it', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const without = await issueTokens(server, browser, client, user, { scope: 'profile offline_access' });
  assert.equal(without.body.id_token, undefined);
  assert.equal(without.body.scope, 'profile offline_access');
  const withOpenid = await issueTokens(server, browser, client, user, { scope: 'openid profile' });
  assert.ok(withOpenid.body.id_token);
});

test('PK-03 a missing code_verifier gets invalid_grant', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  assertOAuthError(await redeem(server, client, code, undefined), 400, 'invalid_grant');
});

test('PK-03 a wrong code_verifier, or the verifier of another flow, gets invalid_grant', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const a = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  const b = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1 }, user);
  assertOAuthError(await redeem(server, client, a.code, pkce().verifier), 400, 'invalid_grant');
  assertOAuthError(await redeem(server, client, a.code, b.verifier), 400, 'invalid_grant');
  assertOAuthError(await redeem(server, client, b.code, a.verifier), 400, 'invalid_grant');
  // plain PKCE: the challenge itself as verifier
  const row = await server.deps.storage.db
    .selectFrom('authorization_codes')
    .select('code_challenge')
    .where('consumed_at', 'is', null)
    .executeTakeFirstOrThrow();
  assertOAuthError(await redeem(server, client, a.code, row.code_challenge!), 400, 'invalid_grant');
});

test("PK-03 a public client's code needs the verifier too", async (t) => {
  const { server, user, browser } = await setup(t);
  const p1 = await server.createClient({
    redirectUris: ['https://p1.example/cb'],
    isPublic: true,
    grantTypes: ['authorization_code', 'refresh_token'],
  });
  const { code, verifier } = await getCode(server, browser, { clientId: p1.clientId, redirectUri: 'https://p1.example/cb' }, user);
  assertOAuthError(await redeem(server, p1, code, undefined, 'https://p1.example/cb'), 400, 'invalid_grant');
  assertOAuthError(await redeem(server, p1, code, pkce().verifier, 'https://p1.example/cb'), 400, 'invalid_grant');
  assert.equal((await redeem(server, p1, code, verifier, 'https://p1.example/cb')).statusCode, 200);
});

test('PK-04 a code_verifier for a code issued without a challenge is rejected with 400', async (t) => {
  const { server, client, user, browser } = await setup(t, { GATEHOUSE_PKCE_REQUIRED_FOR_CONFIDENTIAL: 'false' });
  for (const verifier of ['x', pkce().verifier]) {
    const { code } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1, challenge: null }, user);
    const res = await redeem(server, client, code, verifier);
    assertOAuthError(res, 400, ['invalid_request', 'invalid_grant']);
  }
  // without a verifier the same kind of code works (the opt-out is honoured)
  const { code } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1, challenge: null }, user);
  assert.equal((await redeem(server, client, code, undefined)).statusCode, 200);
});

test('PK-05 a verifier that breaks RFC 7636 syntax is rejected even when its S256 hash matches the challenge', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const cases: [string, string][] = [
    ['42 characters', 'a'.repeat(42)],
    ['129 characters', 'b'.repeat(129)],
    ['a plus sign', `${'c'.repeat(42)}+`],
    ['a space', `${'d'.repeat(42)} `],
  ];
  for (const [name, verifier] of cases) {
    await t.test(name, async () => {
      const { code } = await getCode(server, browser, { clientId: client.clientId, redirectUri: C1, challenge: s256(verifier) }, user);
      const res = await redeem(server, client, code, verifier);
      assert.equal(res.statusCode, 400, res.body);
      assertOAuthError(res, 400, ['invalid_grant', 'invalid_request']);
    });
  }
});

test('R3 twenty concurrent redemptions of one code: exactly one 200, the rest invalid_grant, the winner revoked', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: C1, scope: 'openid offline_access' },
    user,
  );
  const results = await Promise.all(Array.from({ length: 20 }, () => redeem(server, client, code, verifier)));
  const ok = results.filter((r) => r.statusCode === 200);
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.statusCode).join(',')}`);
  for (const r of results.filter((x) => x.statusCode !== 200)) assertOAuthError(r, 400, 'invalid_grant');
  const winner = ok[0]!.json() as TokenBody;
  assert.equal(
    await server.deps.storage.revokedAccessTokens.isRevoked(String(decodeJwt(winner.access_token).jti)),
    true,
    'reuse revokes the winner (AC-01)',
  );
  assertOAuthError(await refresh(server, client, winner.refresh_token!), 400, 'invalid_grant');
  const live = await server.deps.storage.db.selectFrom('refresh_tokens').selectAll().where('revoked_at', 'is', null).execute();
  assert.equal(live.length, 0, 'no live refresh token remains from a reused code');
});

test('the user and scope bound into the code end up in the access token', async (t) => {
  const { server, client, user, browser } = await setup(t);
  const { body } = await issueTokens(server, browser, client, user, { scope: 'openid profile' });
  const claims = decodeJwt(body.access_token);
  assert.equal(claims.sub, 'user-alice');
  assert.equal(claims.client_id, client.clientId);
  assert.equal(claims.scope, 'openid profile');
});
