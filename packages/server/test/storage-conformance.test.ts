// One storage suite for every backend (DESIGN.md; Hydra's fosite_store_helpers): SQLite always,
// PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL names a server (CI sets it). Each PostgreSQL run uses a
// database of its own, dropped afterwards.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createRepositories, openStorage, isUniqueViolation, type Storage } from '../src/storage/index.js';
import { AtRest } from '../src/oauth/at-rest.js';
import { loadConfig } from '../src/config/config.js';
import { createGatehouse } from '../src/server.js';
import { registerClient } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { nowSeconds, randomToken, sha256 } from '../src/oauth/crypto.js';
import { Browser, getCode, tokenRequest } from './helpers.js';

interface Backend {
  name: string;
  url(): Promise<string>;
  dispose(): Promise<void>;
}

const backends: Backend[] = [{ name: 'sqlite', url: async () => 'sqlite::memory:', dispose: async () => undefined }];
const pgUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
if (pgUrl) {
  const created: string[] = [];
  const admin = () => new pg.Client({ connectionString: pgUrl });
  backends.push({
    name: 'postgres',
    async url() {
      const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
      const c = admin();
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      created.push(name);
      const u = new URL(pgUrl);
      u.pathname = `/${name}`;
      return u.href;
    },
    async dispose() {
      const c = admin();
      await c.connect();
      for (const name of created.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  });
}

const row = (over: Partial<Parameters<Storage['codes']['create']>[0]> = {}) => ({
  codeHash: sha256(randomToken()),
  familyId: randomToken(16),
  clientId: 'c1',
  userId: 'u1',
  redirectUri: 'https://c1.example/cb',
  redirectUriProvided: true,
  scopes: ['openid'],
  resources: [],
  codeChallenge: null,
  codeChallengeMethod: null,
  nonce: null,
  authTime: 1,
  sid: null,
  createdAt: 1,
  expiresAt: nowSeconds() + 60,
  consumedAt: null,
  accessToken: null,
  ...over,
});

for (const backend of backends) {
  describe(`storage conformance on ${backend.name}`, () => {
    let storage: Storage;
    before(async () => {
      storage = await openStorage(await backend.url());
    });
    after(async () => {
      await storage.close();
      await backend.dispose();
    });

    test('R3 of 20 concurrent consumes of one code exactly one wins', async () => {
      const code = row();
      await storage.codes.create(code);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          storage.transaction((tx) => tx.codes.consume(code.codeHash, 100 + i, { jti: `jti${i}`, expiresAt: 999 })),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const stored = await storage.codes.findByHash(code.codeHash);
      assert.notEqual(stored?.consumedAt, null);
    });

    test('PJ-01 of 20 concurrent records of one client assertion jti exactly one is fresh; the others are replays', async () => {
      const jtiHash = sha256(randomToken());
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.clientAssertionJtis.record(jtiHash, nowSeconds() + 60)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await storage.clientAssertionJtis.record(jtiHash, nowSeconds() + 60), false);
      assert.equal(await storage.clientAssertionJtis.record(sha256(randomToken()), nowSeconds() + 60), true);
    });

    test('the jti repository keeps each table apart: one digest is fresh once per table, and each sweep deletes only its expired rows', async () => {
      const jtiHash = sha256(randomToken());
      const now = nowSeconds();
      assert.equal(await storage.dpopJtis.record(jtiHash, now - 10), true);
      assert.equal(await storage.clientAssertionJtis.record(jtiHash, now - 10), true, 'another table, not a replay');
      const results = await Promise.all(Array.from({ length: 10 }, () => storage.dpopJtis.record(jtiHash, now + 60)));
      assert.equal(results.filter(Boolean).length, 0, 'still a replay in dpop_jtis');
      assert.ok((await storage.dpopJtis.deleteExpired(now, 1000)) >= 1);
      assert.equal(await storage.dpopJtis.record(jtiHash, now + 60), true, 'swept from dpop_jtis');
      assert.equal(await storage.clientAssertionJtis.record(jtiHash, now + 60), false, 'client_assertion_jtis untouched');
    });

    test('KP-01 of 10 concurrent first uses of the DPoP nonce key with a sealer, all get one secret, stored sealed', async () => {
      const sealer = AtRest.fromKeys(randomBytes(32));
      const sealed = createRepositories(storage.db, { sealer });
      await storage.db.deleteFrom('dpop_nonce_keys').execute();
      const secrets = await Promise.all(Array.from({ length: 10 }, () => sealed.dpopNonceKeys.getOrCreate(randomToken(32), nowSeconds())));
      assert.equal(new Set(secrets).size, 1);
      const row = await storage.db.selectFrom('dpop_nonce_keys').select('secret').executeTakeFirstOrThrow();
      assert.ok(sealer.isSealed(row.secret) && !row.secret.includes(secrets[0]!));
      await storage.db.deleteFrom('dpop_nonce_keys').execute();
    });

    test('PR-01 of 20 concurrent consumes of one pushed request exactly one gets it; another client, or too late, gets nothing', async () => {
      const now = nowSeconds();
      const pushed = (idHash: string, clientId = 'c1') =>
        storage.pushedRequests.create({
          idHash,
          clientId,
          params: [
            ['client_id', [clientId]],
            ['resource', ['https://a.example', 'https://b.example']],
          ],
          createdAt: now,
          expiresAt: now + 60,
          consumedAt: null,
        });
      const idHash = sha256(randomToken());
      await pushed(idHash);
      assert.equal(await storage.pushedRequests.consume(idHash, 'c2', now), undefined, 'another client');
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.pushedRequests.consume(idHash, 'c1', now + 1)));
      const winners = results.filter((r) => r !== undefined);
      assert.equal(winners.length, 1);
      assert.deepEqual(winners[0]!.params, [
        ['client_id', ['c1']],
        ['resource', ['https://a.example', 'https://b.example']],
      ]);
      assert.equal(winners[0]!.consumedAt, now + 1);
      const late = sha256(randomToken());
      await pushed(late);
      assert.equal(await storage.pushedRequests.consume(late, 'c1', now + 60), undefined, 'expired');
    });

    test('R3 of 20 concurrent rotations of one refresh token exactly one wins', async () => {
      const hash = sha256(randomToken());
      await storage.refreshTokens.create({
        tokenHash: hash,
        familyId: 'fam-r3',
        clientId: 'c1',
        userId: 'u1',
        scopes: ['openid'],
        resources: [],
        authTime: 1,
        sid: null,
        createdAt: 1,
        expiresAt: nowSeconds() + 100,
        idleExpiresAt: nowSeconds() + 100,
        rotatedAt: null,
        revokedAt: null,
        accessToken: { jti: 'a', expiresAt: nowSeconds() + 50 },
        successor: null,
      });
      const results = await Promise.all(
        Array.from({ length: 20 }, () => storage.transaction((tx) => tx.refreshTokens.markRotated(hash, 5))),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    test('DR-01 of 10 concurrent registrations with a 3-use initial access token exactly 3 win, and an expired one never does', async () => {
      const now = nowSeconds();
      const hash = sha256(randomToken());
      await storage.registrationTokens.create({ tokenHash: hash, usesLeft: 3, createdAt: now, expiresAt: now + 60 });
      const results = await Promise.all(
        Array.from({ length: 10 }, () => storage.transaction((tx) => tx.registrationTokens.consume(hash, now))),
      );
      assert.equal(results.filter(Boolean).length, 3);
      assert.equal((await storage.registrationTokens.find(hash))?.usesLeft, 0);
      assert.equal(await storage.registrationTokens.consume(hash, now), false);
      const expired = sha256(randomToken());
      await storage.registrationTokens.create({ tokenHash: expired, usesLeft: 5, createdAt: now - 120, expiresAt: now });
      assert.equal(await storage.registrationTokens.consume(expired, now), false, 'expires_at is exclusive');
      assert.equal((await storage.registrationTokens.find(expired))?.usesLeft, 5);
    });

    test('DR-01 a client keeps its registration access token digest, and update replaces its metadata but not its secret', async () => {
      const { client } = await registerClient(storage.clients, { clientName: 'Dyn', redirectUris: ['https://dyn.example/cb'] }, 10, {
        registrationAccessTokenHash: 'rat-digest',
      });
      const found = await storage.clients.find(client.clientId);
      assert.equal(found?.registrationAccessTokenHash, 'rat-digest');
      assert.equal(
        await storage.clients.update({
          ...found!,
          clientName: 'Dyn 2',
          redirectUris: ['https://dyn.example/cb2'],
          registrationAccessTokenHash: 'rat-2',
        }),
        true,
      );
      const updated = await storage.clients.find(client.clientId);
      assert.equal(updated?.clientName, 'Dyn 2');
      assert.deepEqual(updated?.redirectUris, ['https://dyn.example/cb2']);
      assert.equal(updated?.secretHash, client.secretHash);
      assert.equal(updated?.createdAt, 10);
      assert.equal(updated?.registrationAccessTokenHash, 'rat-2');
      assert.equal(await storage.clients.update({ ...updated!, clientId: 'no-such-client' }), false);
    });

    test('of 10 concurrent secret rotations of one client exactly one replaces the digest; the previous digest is gone', async () => {
      const { client } = await registerClient(storage.clients, { clientName: 'Rot', redirectUris: ['https://rot.example/cb'] }, 10);
      const digests = Array.from({ length: 10 }, () => sha256(randomToken()));
      const results = await Promise.all(digests.map((d) => storage.clients.setSecretHash(client.clientId, d, client.secretHash)));
      assert.equal(results.filter(Boolean).length, 1);
      const stored = (await storage.clients.find(client.clientId))!.secretHash;
      assert.equal(stored, digests[results.indexOf(true)]);
      assert.notEqual(stored, client.secretHash);
      assert.equal(await storage.clients.setSecretHash('no-such-client', digests[0]!), false);
    });

    test('a client is disabled and enabled, update keeps the flag, and the access tokens of a disabled client have no state (inactive)', async () => {
      const { client } = await registerClient(storage.clients, { clientName: 'Off', redirectUris: ['https://off.example/cb'] }, 10);
      assert.equal((await storage.clients.find(client.clientId))?.disabled, false);
      assert.equal(await storage.clients.setDisabled(client.clientId, true), true);
      assert.equal((await storage.clients.find(client.clientId))?.disabled, true);
      assert.equal(await storage.clients.update({ ...client, clientName: 'Off 2' }), true);
      assert.equal((await storage.clients.find(client.clientId))?.disabled, true, 'update never enables');
      assert.equal(await storage.revokedAccessTokens.accessTokenState('jti-off', client.clientId, client.clientId), undefined);
      await storage.clients.setDisabled(client.clientId, false);
      assert.deepEqual(await storage.revokedAccessTokens.accessTokenState('jti-off', client.clientId, client.clientId), {
        revoked: false,
        user: undefined,
      });
    });

    test("a user's admin role is stored, read through the session and token joins, and taken away", async () => {
      const now = nowSeconds();
      const { client } = await registerClient(storage.clients, { clientName: 'Role', redirectUris: ['https://role.example/cb'] }, 10);
      await storage.users.create({
        id: 'role-user',
        username: 'role-user',
        passwordHash: 'x',
        email: null,
        name: null,
        claims: {},
        disabled: false,
        createdAt: now,
        updatedAt: now,
      });
      assert.equal((await storage.users.findById('role-user'))?.role, null);
      assert.equal(await storage.users.setRole('role-user', 'admin', now), true);
      assert.equal((await storage.users.findById('role-user'))?.role, 'admin');
      await storage.sessions.create({
        idHash: 'role-session',
        sid: 'role-sid',
        userId: 'role-user',
        authTime: now,
        createdAt: now,
        expiresAt: now + 60,
      });
      assert.equal((await storage.sessions.findActiveWithUser('role-session', now))?.user.role, 'admin');
      assert.equal((await storage.revokedAccessTokens.accessTokenState('jti-role', client.clientId, 'role-user'))?.user?.role, 'admin');
      await storage.users.setRole('role-user', null, now);
      assert.equal((await storage.users.findByUsername('role-user'))?.role, null);
      assert.equal(await storage.users.setRole('nobody', 'admin', now), false);
    });

    test('revoking a family marks every token and returns the live access tokens issued with them', async () => {
      const now = nowSeconds();
      for (const [i, exp] of [
        [1, now + 100],
        [2, now - 5],
      ] as const) {
        await storage.refreshTokens.create({
          tokenHash: sha256(`fam-token-${i}`),
          familyId: 'fam-x',
          clientId: 'c1',
          userId: 'u1',
          scopes: ['openid'],
          resources: [],
          authTime: 1,
          sid: null,
          createdAt: 1,
          expiresAt: now + 100,
          idleExpiresAt: now + 100,
          rotatedAt: null,
          revokedAt: null,
          accessToken: { jti: `jti-${i}`, expiresAt: exp },
          successor: null,
        });
      }
      const tokens = await storage.refreshTokens.revokeFamily('fam-x', now);
      assert.deepEqual(
        tokens.map((t) => t.jti),
        ['jti-1'],
      );
      assert.notEqual((await storage.refreshTokens.findByHash(sha256('fam-token-1')))?.revokedAt, null);
      await storage.revokedAccessTokens.add(tokens);
      await storage.revokedAccessTokens.add(tokens); // idempotent
      assert.equal(await storage.revokedAccessTokens.isRevoked('jti-1'), true);
      assert.equal(await storage.revokedAccessTokens.isRevoked('jti-2'), false);
    });

    test('a grant is inserted, then updated in place', async () => {
      await storage.grants.save('u1', 'c1', ['openid'], 1);
      await storage.grants.save('u1', 'c1', ['openid', 'profile'], 2);
      const g = await storage.grants.find('u1', 'c1');
      assert.deepEqual(g?.scopes, ['openid', 'profile']);
      assert.equal(g?.updatedAt, 2);
    });

    test("a grant's last use is written at most once per resolution: of 10 concurrent touches one writes", async () => {
      await storage.grants.save('u-touch', 'c1', ['openid'], 1);
      assert.equal((await storage.grants.find('u-touch', 'c1'))?.lastUsedAt, null);
      const results = await Promise.all(Array.from({ length: 10 }, () => storage.grants.touch('u-touch', 'c1', 1000, 60)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await storage.grants.touch('u-touch', 'c1', 1059, 60), false, 'within the minute: no write');
      assert.equal((await storage.grants.find('u-touch', 'c1'))?.lastUsedAt, 1000);
      assert.equal(await storage.grants.touch('u-touch', 'c1', 1060, 60), true);
      assert.equal((await storage.grants.find('u-touch', 'c1'))?.lastUsedAt, 1060);
      assert.equal(await storage.grants.touch('u-none', 'c1', 2000, 60), false, 'no grant, nothing written');
    });

    test('an account interaction is found only as one, an authorization interaction only as the other; each is consumed once', async () => {
      const now = nowSeconds();
      const base = {
        browserHash: sha256('b'),
        userId: null,
        authTime: null,
        sid: null,
        createdAt: now,
        expiresAt: now + 600,
        consumedAt: null,
      };
      await storage.interactions.createAccount({ id: 'acct-1', purpose: 'account', returnTo: '/admin', ...base });
      assert.equal((await storage.interactions.findActiveAccount('acct-1', now))?.returnTo, '/admin');
      assert.equal(await storage.interactions.findActive('acct-1', now), undefined, 'not an authorization request');
      assert.equal(await storage.interactions.findActiveAccount('acct-1', now + 600), undefined, 'expired');
      const results = await Promise.all(Array.from({ length: 10 }, () => storage.interactions.consume('acct-1', now)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await storage.interactions.findActiveAccount('acct-1', now), undefined, 'consumed');
    });

    test("a user's profile (name, email, claims) is updated in place", async () => {
      const now = nowSeconds();
      await storage.users.create({
        id: 'prof-1',
        username: 'prof',
        passwordHash: 'h',
        email: 'a@example.com',
        name: 'A',
        claims: { email_verified: true, locale: 'en' },
        disabled: false,
        createdAt: now,
        updatedAt: now,
      });
      assert.equal(
        await storage.users.setProfile('prof-1', { name: null, email: 'b@example.com', claims: { locale: 'en' } }, now + 1),
        true,
      );
      const u = await storage.users.findById('prof-1');
      assert.equal(u?.name, null);
      assert.equal(u?.email, 'b@example.com');
      assert.deepEqual(u?.claims, { locale: 'en' });
      assert.equal(u?.updatedAt, now + 1);
      assert.equal(await storage.users.setProfile('nobody', { name: 'x', email: null, claims: {} }, now), false);
    });

    test('a duplicate username is reported as a unique violation and nothing is overwritten', async () => {
      const user = {
        id: 'dup-1',
        username: 'dup',
        passwordHash: 'h1',
        email: null,
        name: null,
        claims: {},
        disabled: false,
        createdAt: 1,
        updatedAt: 1,
      };
      await storage.users.create(user);
      await assert.rejects(storage.users.create({ ...user, id: 'dup-2', passwordHash: 'h2' }), (e) => isUniqueViolation(e));
      assert.equal((await storage.users.findByUsername('dup'))?.passwordHash, 'h1');
    });

    test('a transaction that throws leaves nothing behind', async () => {
      const code = row();
      await assert.rejects(
        storage.transaction(async (tx) => {
          await tx.codes.create(code);
          throw new Error('boom');
        }),
      );
      assert.equal(await storage.codes.findByHash(code.codeHash), undefined);
    });

    test('expired sessions are not active and epoch seconds round-trip as numbers', async () => {
      const now = nowSeconds();
      await storage.sessions.create({ idHash: 'live', sid: 'sid-live', userId: 'u1', authTime: now, createdAt: now, expiresAt: now + 60 });
      await storage.sessions.create({ idHash: 'dead', sid: 'sid-dead', userId: 'u1', authTime: now, createdAt: now, expiresAt: now - 1 });
      const live = await storage.sessions.findActive('live', now);
      assert.equal(live?.expiresAt, now + 60);
      assert.equal(typeof live?.authTime, 'number');
      assert.equal(await storage.sessions.findActive('dead', now), undefined);
    });

    test('DV-01 device codes: of concurrent decisions, polls and redemptions exactly one wins; user codes are unique', async () => {
      const now = nowSeconds();
      const device = (over: Partial<Parameters<Storage['deviceCodes']['create']>[0]> = {}) => ({
        deviceCodeHash: sha256(randomToken()),
        userCodeHash: sha256(randomToken()),
        clientId: 'c1',
        scopes: ['openid', 'offline_access'],
        status: 'pending' as const,
        userId: null,
        authTime: null,
        sid: null,
        interval: 5,
        lastPolledAt: null,
        createdAt: now,
        expiresAt: now + 600,
        decidedAt: null,
        consumedAt: null,
        familyId: randomToken(16),
        accessToken: null,
        resources: ['https://api.example/'],
        ...over,
      });
      const code = device();
      assert.equal(await storage.deviceCodes.create(code), true);
      assert.equal(
        await storage.deviceCodes.create(device({ userCodeHash: code.userCodeHash })),
        false,
        'a colliding user code is refused, not overwritten',
      );
      assert.deepEqual((await storage.deviceCodes.findPendingByUserCodeHash(code.userCodeHash, now))?.scopes, ['openid', 'offline_access']);
      assert.deepEqual((await storage.deviceCodes.findByDeviceCodeHash(code.deviceCodeHash))?.resources, ['https://api.example/']);

      const polls = await Promise.all(Array.from({ length: 10 }, () => storage.deviceCodes.recordPoll(code.deviceCodeHash, null, now, 10)));
      assert.equal(polls.filter(Boolean).length, 1, 'one poll recorded against the poll time it read');
      const polled = await storage.deviceCodes.findByDeviceCodeHash(code.deviceCodeHash);
      assert.equal(polled?.lastPolledAt, now);
      assert.equal(polled?.interval, 10);

      const decisions = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          storage.deviceCodes.decide(
            code.deviceCodeHash,
            { status: i % 2 === 0 ? 'approved' : 'denied', userId: `u${i}`, authTime: now, sid: null },
            now,
          ),
        ),
      );
      assert.equal(decisions.filter(Boolean).length, 1, 'one decision');
      const decided = await storage.deviceCodes.findByDeviceCodeHash(code.deviceCodeHash);
      assert.equal(
        await storage.deviceCodes.findPendingByUserCodeHash(code.userCodeHash, now),
        undefined,
        'a decided code is no longer pending',
      );

      const approved = device();
      await storage.deviceCodes.create(approved);
      await storage.deviceCodes.decide(approved.deviceCodeHash, { status: 'approved', userId: 'u1', authTime: now, sid: 'sid1' }, now);
      const redemptions = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          storage.transaction((tx) => tx.deviceCodes.consume(approved.deviceCodeHash, now, { jti: `dv-jti${i}`, expiresAt: now + 600 })),
        ),
      );
      assert.equal(redemptions.filter(Boolean).length, 1, 'one redemption');
      assert.deepEqual((await storage.deviceCodes.liveAccessTokensOf('u1', now)).length, 1);
      if (decided?.status === 'denied')
        assert.equal(
          await storage.deviceCodes.consume(code.deviceCodeHash, now, { jti: 'x', expiresAt: now + 1 }),
          false,
          'a denied code is never redeemed',
        );

      const expired = device({ expiresAt: now - 1 });
      await storage.deviceCodes.create(expired);
      assert.equal(await storage.deviceCodes.findPendingByUserCodeHash(expired.userCodeHash, now), undefined);
      assert.equal(
        await storage.deviceCodes.decide(expired.deviceCodeHash, { status: 'approved', userId: 'u1', authTime: now, sid: null }, now),
        false,
        'an expired code cannot be approved',
      );
    });

    test('R3 over HTTP: of 20 concurrent token requests with one code exactly one gets tokens', async () => {
      const config = loadConfig({
        GATEHOUSE_DATABASE_URL: await backend.url(),
        GATEHOUSE_ISSUER: 'http://127.0.0.1:9000',
        GATEHOUSE_LOG_LEVEL: 'silent',
      });
      const gh = await createGatehouse(config);
      try {
        const now = nowSeconds();
        const { client, clientSecret } = await registerClient(
          gh.deps.storage.clients,
          { clientName: 'C1', redirectUris: ['https://c1.example/cb'], scope: 'openid offline_access' },
          now,
        );
        await gh.deps.storage.users.create({
          id: 'u-r3',
          username: 'r3',
          passwordHash: await hashPassword('pw-r3-pw-r3'),
          email: null,
          name: null,
          claims: {},
          disabled: false,
          createdAt: now,
          updatedAt: now,
        });
        const server = { ...gh, config, issuer: config.issuer } as unknown as Parameters<typeof getCode>[0];
        const { code, verifier } = await getCode(
          server,
          new Browser(gh.app),
          { clientId: client.clientId, redirectUri: 'https://c1.example/cb', scope: 'openid offline_access' },
          { username: 'r3', password: 'pw-r3-pw-r3' },
        );
        const auth = { clientId: client.clientId, clientSecret };
        const responses = await Promise.all(
          Array.from({ length: 20 }, () =>
            tokenRequest(
              gh.app,
              { grant_type: 'authorization_code', code, redirect_uri: 'https://c1.example/cb', code_verifier: verifier },
              auth,
            ),
          ),
        );
        const ok = responses.filter((r) => r.statusCode === 200);
        assert.equal(ok.length, 1);
        for (const r of responses.filter((x) => x.statusCode !== 200)) assert.equal(r.json().error, 'invalid_grant');
        // The losers revoked the winner's refresh token (AC-01 applied to the race).
        const refresh = await tokenRequest(gh.app, { grant_type: 'refresh_token', refresh_token: ok[0]!.json().refresh_token }, auth);
        assert.equal(refresh.json().error, 'invalid_grant');
      } finally {
        await gh.close();
      }
    });

    test('two-factor: of 20 concurrent uses of one TOTP step exactly one wins, and steps only move forward', async () => {
      const userId = `totp-${randomToken(8)}`;
      assert.equal(await storage.totpCredentials.begin(userId, 'JBSWY3DPEHPK3PXP', 1), true);
      assert.equal(await storage.totpCredentials.useStep(userId, 100, 1, false), false, 'an unconfirmed credential does not sign in');
      assert.equal(await storage.totpCredentials.useStep(userId, 100, 1, true), true, 'the first code confirms it');
      assert.equal(await storage.totpCredentials.begin(userId, 'OTHERSECRET', 2), false, 'a confirmed credential is not replaced');
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.totpCredentials.useStep(userId, 101, 3, false)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await storage.totpCredentials.useStep(userId, 100, 4, false), false, 'an older step');
      const stored = await storage.totpCredentials.find(userId);
      assert.equal(stored?.lastUsedStep, 101);
      assert.equal(stored?.secret, 'JBSWY3DPEHPK3PXP');
      assert.equal(await storage.totpCredentials.delete(userId), 1);
    });

    test('two-factor: of 20 concurrent uses of one recovery code exactly one wins; another user cannot use it', async () => {
      const userId = `rc-${randomToken(8)}`;
      const hashes = [sha256(randomToken()), sha256(randomToken())];
      await storage.recoveryCodes.replace(userId, hashes, 1);
      assert.equal(await storage.recoveryCodes.use('someone-else', hashes[0]!, 2), false);
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.recoveryCodes.use(userId, hashes[0]!, 2)));
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(await storage.recoveryCodes.countUnused(userId), 1);
      await storage.recoveryCodes.replace(userId, [], 3);
      assert.equal(await storage.recoveryCodes.use(userId, hashes[1]!, 4), false, 'replaced codes are gone');
    });

    test('two-factor: a WebAuthn challenge is consumed once, only for its purpose and binding, and not once expired', async () => {
      const now = nowSeconds();
      const make = async (expiresAt: number) => {
        const challengeHash = sha256(randomToken());
        await storage.webauthnChallenges.create({ challengeHash, purpose: 'authenticate', bindingHash: 'b1', userId: null, expiresAt });
        return challengeHash;
      };
      const live = await make(now + 300);
      assert.equal(await storage.webauthnChallenges.consume(live, 'register', 'b1', now), false, 'another purpose');
      assert.equal(await storage.webauthnChallenges.consume(live, 'authenticate', 'b2', now), false, 'another binding');
      const results = await Promise.all(
        Array.from({ length: 20 }, () => storage.webauthnChallenges.consume(live, 'authenticate', 'b1', now)),
      );
      assert.equal(results.filter(Boolean).length, 1);
      const dead = await make(now - 1);
      assert.equal(await storage.webauthnChallenges.consume(dead, 'authenticate', 'b1', now), false, 'expired');
    });

    test('two-factor: a passkey counter moves by one conditional update: of 20 concurrent uses from one counter exactly one wins', async () => {
      const credentialId = randomToken();
      await storage.passkeys.create({
        credentialId,
        userId: 'pk-user',
        name: 'Laptop',
        publicKey: 'cHVibGlj',
        counter: 5,
        transports: ['internal'],
        createdAt: 1,
        lastUsedAt: null,
      });
      const results = await Promise.all(Array.from({ length: 20 }, () => storage.passkeys.recordUse(credentialId, 5, 6, 10)));
      assert.equal(results.filter(Boolean).length, 1);
      const stored = await storage.passkeys.find(credentialId);
      assert.deepEqual([stored?.counter, stored?.lastUsedAt, stored?.transports], [6, 10, ['internal']]);
      assert.equal(await storage.passkeys.delete('another-user', credentialId), false);
      assert.equal((await storage.passkeys.listOf('pk-user')).length, 1);
      assert.equal(await storage.passkeys.delete('pk-user', credentialId), true);
    });

    test('two-factor: amr and acr of sessions and codes, and the pending user of an interaction, round-trip', async () => {
      const now = nowSeconds();
      const idHash = sha256(randomToken());
      await storage.sessions.create({
        idHash,
        sid: randomToken(16),
        userId: 'u1',
        authTime: now,
        createdAt: now,
        expiresAt: now + 60,
        amr: ['pwd', 'otp'],
        acr: 'urn:gatehouse:acr:2fa',
      });
      const session = await storage.sessions.findActive(idHash, now);
      assert.deepEqual([session?.amr, session?.acr], [['pwd', 'otp'], 'urn:gatehouse:acr:2fa']);
      const code = row({ amr: ['hwk', 'user'], acr: 'urn:gatehouse:acr:2fa' });
      await storage.codes.create(code);
      const stored = await storage.codes.findByHash(code.codeHash);
      assert.deepEqual([stored?.amr, stored?.acr], [['hwk', 'user'], 'urn:gatehouse:acr:2fa']);
      const id = randomToken();
      await storage.interactions.create({
        id,
        clientId: 'c1',
        request: {
          clientId: 'c1',
          redirectUri: 'https://c1.example/cb',
          redirectUriProvided: true,
          scopes: ['openid'],
          resources: [],
          prompt: [],
        },
        browserHash: sha256('b'),
        userId: null,
        authTime: null,
        sid: null,
        createdAt: now,
        expiresAt: now + 60,
        consumedAt: null,
      });
      assert.equal((await storage.interactions.findActive(id, now))?.pendingUserId, null);
      await storage.interactions.setPending(id, 'u1', ['pwd']);
      const pending = await storage.interactions.findActive(id, now);
      assert.deepEqual([pending?.pendingUserId, pending?.pendingAmr], ['u1', ['pwd']]);
    });
  });
}

test(
  'the PostgreSQL conformance run is enabled when GATEHOUSE_TEST_POSTGRES_URL is set',
  { skip: pgUrl ? false : 'GATEHOUSE_TEST_POSTGRES_URL is not set: PostgreSQL not tested in this run' },
  () => {
    assert.ok(backends.some((b) => b.name === 'postgres'));
  },
);
