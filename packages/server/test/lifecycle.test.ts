// Lifecycle actions (oauth/lifecycle.ts) called as the CLI, the admin console and the account pages
// call them, checked through the real endpoints: userinfo, introspection and the token endpoint.
// Checklist LC-01, LC-02, EV-01.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deleteClient,
  deleteUser,
  disableUser,
  enableUser,
  listGrants,
  revokeGrant,
  setUserPassword,
  signOutEverywhere,
  type Actor,
  type LifecycleDeps,
} from '../src/oauth/lifecycle.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sha256 } from '../src/oauth/crypto.js';
import { basic, Browser, countRows, form, getCode, issueTokens, refresh, startServer, tokenRequest, type TestServer } from './helpers.js';

type Creds = { clientId: string; clientSecret: string | undefined; redirectUri: string };

function deps(server: TestServer, by: Actor = 'cli'): LifecycleDeps {
  return { storage: server.deps.storage, events: server.deps.events, now: server.clock(), by };
}

async function userinfoStatus(server: TestServer, accessToken: string): Promise<number> {
  const res = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${accessToken}` } });
  return res.statusCode;
}

async function introspect(server: TestServer, client: Creds, token: string): Promise<Record<string, unknown>> {
  const res = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
    payload: form({ token }),
  });
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as Record<string, unknown>;
}

/** The three LC-01 observations: userinfo 401, introspection inactive, refresh invalid_grant. */
async function assertAllRevoked(server: TestServer, client: Creds, tokens: { access_token: string; refresh_token?: string }) {
  assert.equal(await userinfoStatus(server, tokens.access_token), 401, 'userinfo refuses the access token');
  assert.deepEqual(await introspect(server, client, tokens.access_token), { active: false }, 'the access token introspects inactive');
  assert.deepEqual(await introspect(server, client, tokens.refresh_token!), { active: false }, 'the refresh token introspects inactive');
  const res = await refresh(server, client, tokens.refresh_token!);
  assert.equal(res.statusCode, 400, res.body);
  assert.equal(res.json().error, 'invalid_grant');
}

async function assertAllLive(server: TestServer, client: Creds, tokens: { access_token: string; refresh_token?: string }) {
  assert.equal(await userinfoStatus(server, tokens.access_token), 200);
  assert.equal((await introspect(server, client, tokens.access_token)).active, true);
  assert.equal((await introspect(server, client, tokens.refresh_token!)).active, true);
}

async function setup(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient();
  const other = await server.createClient({ redirectUris: ['https://c2.example/cb'] });
  const user = await server.createUser();
  const bob = await server.createUser('bob');
  const browser = new Browser(server.app);
  const tokens = (await issueTokens(server, browser, client, user)).body;
  const otherTokens = (await issueTokens(server, browser, other, user)).body;
  const bobTokens = (await issueTokens(server, new Browser(server.app), client, bob)).body;
  return { server, client, other, user, bob, browser, tokens, otherTokens, bobTokens };
}

async function eventsOf(server: TestServer, type: string) {
  return (await server.deps.storage.securityEvents.list({ types: [type as never], limit: 100 })).filter((e) => e.type === type);
}

test('LC-01 disableUser revokes at once: userinfo 401, introspection inactive, refresh invalid_grant; other users untouched; enableUser lets the user sign in again', async (t) => {
  const { server, client, other, user, browser, tokens, otherTokens, bobTokens } = await setup(t);
  const result = await disableUser(deps(server), user.id);
  assert.ok(result);
  assert.equal(result.sessions, 1);
  assert.equal(result.families, 2);
  assert.equal(result.accessTokens, 2);
  await assertAllRevoked(server, client, tokens);
  await assertAllRevoked(server, other, otherTokens);
  await assertAllLive(server, client, bobTokens);
  assert.equal((await server.deps.storage.users.findById(user.id))?.disabled, true);
  assert.equal((await server.deps.storage.grants.listOf(user.id)).length, 2, 'the grants stay while disabled');
  const [event] = await eventsOf(server, 'user.disabled');
  assert.equal(event?.userId, user.id);
  assert.equal(event?.details.by, 'cli');
  assert.equal(event?.details.families, 2);

  assert.ok(await enableUser(deps(server, 'admin'), user.id));
  assert.equal((await server.deps.storage.users.findById(user.id))?.disabled, false);
  const again = (await issueTokens(server, browser, client, user)).body;
  await assertAllLive(server, client, again);
  assert.equal((await eventsOf(server, 'user.enabled'))[0]?.details.by, 'admin');
  assert.equal(await disableUser(deps(server), 'no-such-user'), undefined);
});

test('LC-01 disableUser voids the unredeemed code: a code issued before, redeemed after, gets invalid_grant', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient();
  const user = await server.createUser();
  const { code, verifier } = await getCode(
    server,
    new Browser(server.app),
    { clientId: client.clientId, redirectUri: client.redirectUri },
    user,
  );
  const result = await disableUser(deps(server), user.id);
  assert.equal(result?.codes, 1);
  assert.ok(await enableUser(deps(server), user.id));
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.json().error, 'invalid_grant', 'the code stays void after the user is enabled again');
});

test('LC-01 deleteUser revokes everything and deletes the user, sessions and grants', async (t) => {
  const { server, client, other, user, tokens, otherTokens, bobTokens } = await setup(t);
  const result = await deleteUser(deps(server, 'admin'), user.id);
  assert.equal(result?.grants, 2);
  await assertAllRevoked(server, client, tokens);
  await assertAllRevoked(server, other, otherTokens);
  await assertAllLive(server, client, bobTokens);
  assert.equal(await server.deps.storage.users.findById(user.id), undefined);
  assert.deepEqual(await server.deps.storage.grants.listOf(user.id), []);
  assert.deepEqual(await server.deps.storage.sessions.listOf(user.id), []);
  assert.equal((await eventsOf(server, 'user.deleted'))[0]?.username, 'alice');
});

test('LC-01 setUserPassword everywhere: the new password signs in, the old does not, every token of the user is revoked', async (t) => {
  const { server, client, user, tokens, bobTokens } = await setup(t);
  await assert.rejects(setUserPassword(deps(server), user.id, 'short'), RangeError);
  const result = await setUserPassword(deps(server), user.id, 'a brand new passphrase');
  assert.equal(result?.families, 2);
  await assertAllRevoked(server, client, tokens);
  await assertAllLive(server, client, bobTokens);
  const stored = await server.deps.storage.users.findById(user.id);
  assert.ok(!stored!.passwordHash.includes('a brand new passphrase'));
  await assert.rejects(issueTokens(server, new Browser(server.app), client, user), 'the old password no longer signs in');
  const fresh = (await issueTokens(server, new Browser(server.app), client, { username: 'alice', password: 'a brand new passphrase' }))
    .body;
  await assertAllLive(server, client, fresh);
  const [event] = await eventsOf(server, 'user.password_set');
  assert.equal(event?.details.sign_out, 'everywhere');
  assert.ok(!JSON.stringify(event).includes('a brand new passphrase'), 'no password in the event');
});

test('LC-01 setUserPassword other-sessions keeps the session that changed it and revokes the others', async (t) => {
  const { server, client, user, browser, tokens } = await setup(t);
  const second = new Browser(server.app);
  const secondTokens = (await issueTokens(server, second, client, user)).body;
  const kept = await server.deps.storage.sessions.findActive(sha256(browser.cookies.get('gatehouse.session')!), server.clock());
  assert.ok(kept);
  const result = await setUserPassword(deps(server, 'user'), user.id, 'another long passphrase', {
    signOut: 'other-sessions',
    keepSession: kept,
  });
  assert.equal(result?.sessions, 1);
  await assertAllLive(server, client, tokens);
  await assertAllRevoked(server, client, secondTokens);
  assert.deepEqual(
    (await server.deps.storage.sessions.listOf(user.id)).map((s) => s.idHash),
    [kept.idHash],
  );
});

test("LC-02 revokeGrant of one client: that client's tokens die (refresh invalid_grant), the other client's live on, the grant row is gone", async (t) => {
  const { server, client, other, user, tokens, otherTokens } = await setup(t);
  assert.deepEqual(
    (await listGrants(server.deps.storage, user.id)).map((g) => [g.clientId, g.clientName]).sort(),
    [client.clientId, other.clientId].sort().map((id) => [id, 'Test Client']),
  );
  const result = await revokeGrant(deps(server, 'user'), user.id, client.clientId);
  assert.equal(result?.grants, 1);
  assert.equal(result?.families, 1);
  assert.equal(result?.sessions, 0);
  await assertAllRevoked(server, client, tokens);
  await assertAllLive(server, other, otherTokens);
  assert.deepEqual(
    (await listGrants(server.deps.storage, user.id)).map((g) => g.clientId),
    [other.clientId],
  );
  const [event] = await eventsOf(server, 'consent.revoked');
  assert.equal(event?.clientId, client.clientId);

  const all = await revokeGrant(deps(server), user.id);
  assert.equal(all?.grants, 1);
  await assertAllRevoked(server, other, otherTokens);
  assert.equal((await eventsOf(server, 'grant.revoked')).length, 1);
});

test("LC-01 deleteClient revokes every user's tokens of that client and deletes its grants; other clients untouched", async (t) => {
  const { server, client, other, user, tokens, otherTokens, bobTokens } = await setup(t);
  const result = await deleteClient(deps(server), client.clientId);
  assert.equal(result?.grants, 2, 'alice and bob had granted it');
  assert.equal(result?.families, 2);
  assert.equal(await server.deps.storage.clients.find(client.clientId), undefined);
  for (const t of [tokens, bobTokens]) {
    assert.equal(await userinfoStatus(server, t.access_token), 401);
    assert.equal((await refresh(server, client, t.refresh_token!)).json().error, 'invalid_client', 'the client itself is gone');
  }
  await assertAllLive(server, other, otherTokens);
  assert.deepEqual(
    (await server.deps.storage.grants.listOf(user.id)).map((g) => g.clientId),
    [other.clientId],
  );
  assert.equal(await countRows(server.deps.storage, 'clients'), 1);
  assert.equal((await eventsOf(server, 'client.deleted'))[0]?.clientId, client.clientId);
});

test('signOutEverywhere reuses sessions revoke: sessions, families and access tokens of the user, grants kept', async (t) => {
  const { server, client, user, tokens, bobTokens } = await setup(t);
  const result = await signOutEverywhere(deps(server), user.id);
  assert.equal(result?.sessions, 1);
  assert.equal(result?.families, 2);
  await assertAllRevoked(server, client, tokens);
  await assertAllLive(server, client, bobTokens);
  assert.equal((await server.deps.storage.grants.listOf(user.id)).length, 2);
  assert.equal((await eventsOf(server, 'session.revoked'))[0]?.userId, user.id);
});

test('lifecycle actions run inside a transaction the caller holds', async (t) => {
  const { server, client, user, tokens } = await setup(t);
  const { SecurityEvents } = await import('../src/oauth/security-events.js');
  await server.deps.storage.transaction(async (tx) => {
    const events = new SecurityEvents(tx.securityEvents, server.clock, { info: () => undefined, warn: () => undefined });
    const result = await disableUser({ storage: tx, events, now: server.clock(), by: 'admin' }, user.id);
    assert.equal(result?.families, 2);
  });
  await assertAllRevoked(server, client, tokens);
  assert.equal((await eventsOf(server, 'user.disabled')).length, 1);
});

// The checks at the endpoints themselves, without the revocation the lifecycle actions do: a row
// changed behind the server's back is enough.

test('LC-02 a refresh whose grant (consent) row is gone gets invalid_grant, though its family was never revoked', async (t) => {
  const { server, client, user, tokens } = await setup(t);
  assert.ok(await server.deps.storage.grants.delete(user.id, client.clientId));
  const res = await refresh(server, client, tokens.refresh_token!);
  assert.equal(res.statusCode, 400);
  assert.equal(res.json().error, 'invalid_grant');
  const family = await server.deps.storage.refreshTokens.findByHash(sha256(tokens.refresh_token!));
  assert.equal(family?.revokedAt, null, 'nothing revoked the family: the grant check refused it');
});

test("LC-02 a refresh whose grant no longer covers the family's scope gets invalid_grant", async (t) => {
  const { server, client, user, tokens } = await setup(t);
  await server.deps.storage.grants.delete(user.id, client.clientId);
  await server.deps.storage.grants.save(user.id, client.clientId, ['openid'], server.clock());
  const res = await refresh(server, client, tokens.refresh_token!);
  assert.equal(res.json().error, 'invalid_grant');
  // Granted again in full, the family refreshes.
  await server.deps.storage.grants.save(user.id, client.clientId, ['openid', 'profile', 'offline_access'], server.clock());
  assert.equal((await refresh(server, client, tokens.refresh_token!)).statusCode, 200);
});

test('LC-01 a user disabled in the database: userinfo 401 invalid_token and introspection inactive, without any denylist entry', async (t) => {
  const { server, client, user, tokens } = await setup(t);
  await server.deps.storage.users.setDisabled(user.id, true, server.clock());
  const res = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(res.statusCode, 401);
  assert.match(String(res.headers['www-authenticate']), /error="invalid_token"/);
  assert.deepEqual(await introspect(server, client, tokens.access_token), { active: false });
  assert.equal((await refresh(server, client, tokens.refresh_token!)).json().error, 'invalid_grant');
  await server.deps.storage.users.setDisabled(user.id, false, server.clock());
  assert.equal(await userinfoStatus(server, tokens.access_token), 200, 'the same token is good again: it was the user check');
});

test('LC-01 a client deleted from the database: its user tokens and its client_credentials tokens are inactive', async (t) => {
  const { server, client, tokens, otherTokens } = await setup(t);
  const cc = await tokenRequest(server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, client);
  assert.equal(cc.statusCode, 200, cc.body);
  const ccToken = (cc.json() as { access_token: string }).access_token;
  const { activeAccessToken } = await import('../src/oauth/tokens/status.js');
  const status = { keys: server.deps.keys, issuer: server.issuer, storage: server.deps.storage };
  assert.ok(await activeAccessToken(status, ccToken, server.clock()));
  assert.ok(await activeAccessToken(status, tokens.access_token, server.clock()));
  await server.deps.storage.clients.delete(client.clientId);
  assert.equal(await activeAccessToken(status, ccToken, server.clock()), undefined);
  assert.equal(await activeAccessToken(status, tokens.access_token, server.clock()), undefined);
  assert.equal(await userinfoStatus(server, tokens.access_token), 401);
  assert.ok(await activeAccessToken(status, otherTokens.access_token, server.clock()), "another client's token stays active");
});

const pgUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;

test(
  'LC-01 on PostgreSQL: disableUser, revokeGrant, deleteClient and the per-request checks work there too',
  { skip: pgUrl ? false : 'GATEHOUSE_TEST_POSTGRES_URL is not set: PostgreSQL not tested in this run' },
  async (t) => {
    const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    t.after(async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    });
    const url = new URL(pgUrl!);
    url.pathname = `/${name}`;
    const { server, client, other, user, bob, browser, tokens, otherTokens, bobTokens } = await setup(t, {
      GATEHOUSE_DATABASE_URL: url.href,
    });

    assert.equal((await revokeGrant(deps(server), user.id, other.clientId))?.families, 1);
    await assertAllRevoked(server, other, otherTokens);
    await assertAllLive(server, client, tokens);

    const { code } = await getCode(server, browser, { clientId: client.clientId, redirectUri: client.redirectUri }, user);
    const disabled = await disableUser(deps(server), user.id);
    assert.equal(disabled?.families, 1);
    assert.equal(disabled?.codes, 1);
    await assertAllRevoked(server, client, tokens);
    const redeemed = await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri }, client);
    assert.equal(redeemed.json().error, 'invalid_grant');

    await server.deps.storage.grants.delete(bob.id, client.clientId);
    assert.equal((await refresh(server, client, bobTokens.refresh_token!)).json().error, 'invalid_grant', 'LC-02 on PostgreSQL');
    assert.equal((await deleteClient(deps(server), client.clientId))?.families, 1);
    assert.equal(await userinfoStatus(server, bobTokens.access_token), 401);
  },
);
