// The hot statements are compiled once per dialect and reused (storage/repositories/prepared.ts); the
// joined lookups (session + user, refresh token + user) return the same domain records as the separate
// ones. SQLite always, PostgreSQL when GATEHOUSE_TEST_POSTGRES_URL names a server.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStorage, type Storage } from '../src/storage/index.js';
import { PreparedQuery } from '../src/storage/repositories/prepared.js';
import { randomToken, sha256 } from '../src/oauth/crypto.js';

interface Backend {
  name: string;
  url(): Promise<string>;
  dispose(): Promise<void>;
}

const backends: Backend[] = [{ name: 'sqlite', url: async () => 'sqlite::memory:', dispose: async () => undefined }];
const pgUrl = process.env.GATEHOUSE_TEST_POSTGRES_URL;
if (pgUrl) {
  let created: string | undefined;
  const admin = () => new pg.Client({ connectionString: pgUrl });
  backends.push({
    name: 'postgres',
    async url() {
      created = `gatehouse_test_${randomBytes(6).toString('hex')}`;
      const c = admin();
      await c.connect();
      await c.query(`CREATE DATABASE ${created}`);
      await c.end();
      const u = new URL(pgUrl);
      u.pathname = `/${created}`;
      return u.href;
    },
    async dispose() {
      if (!created) return;
      const c = admin();
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${created} WITH (FORCE)`);
      await c.end();
    },
  });
}

const NOW = 1_800_000_000;

function user(id: string, disabled = false) {
  return {
    id,
    username: id,
    passwordHash: 'h',
    email: `${id}@example.com`,
    name: `User ${id}`,
    claims: { locale: 'de' },
    disabled,
    createdAt: 10,
    updatedAt: 20,
    role: null,
  };
}

function refreshToken(userId: string, over: Record<string, unknown> = {}) {
  return {
    tokenHash: sha256(randomToken()),
    familyId: randomToken(16),
    clientId: 'c1',
    userId,
    scopes: ['openid', 'offline_access'],
    resources: ['https://api.example'],
    authTime: NOW - 5,
    sid: 'sid-1',
    createdAt: NOW,
    expiresAt: NOW + 3600,
    idleExpiresAt: NOW + 600,
    rotatedAt: null,
    revokedAt: null,
    accessToken: { jti: 'j1', expiresAt: NOW + 300 },
    successor: null,
    ...over,
  };
}

for (const backend of backends) {
  describe(`prepared statements on ${backend.name}`, () => {
    let storage: Storage;
    before(async () => {
      storage = await openStorage(await backend.url());
      await storage.users.create(user('u1'));
      await storage.users.create(user('u2', true));
    });
    after(async () => {
      await storage.close();
      await backend.dispose();
    });

    test('a prepared query runs with new parameters each time, in and out of transactions, and its parameters stay values', async () => {
      const q = new PreparedQuery<{ id: string }, [string]>(1, (db, id) => db.selectFrom('users').select('id').where('id', '=', id));
      assert.deepEqual((await q.run(storage.db, 'u1')).rows, [{ id: 'u1' }]);
      assert.deepEqual((await q.run(storage.db, 'u2')).rows, [{ id: 'u2' }]);
      assert.equal(await q.first(storage.db, "u1' or '1'='1"), undefined);
      assert.deepEqual(await storage.db.transaction().execute((tx) => q.first(tx, 'u2')), { id: 'u2' });
      await assert.rejects(
        new PreparedQuery<{ id: string }, [string]>(1, (db) => db.selectFrom('users').select('id').where('id', '=', 'literal')).run(
          storage.db,
          'x',
        ),
        /not an argument/,
      );
    });

    test('the joined session lookup returns the session and user records findActive and findById return', async () => {
      const session = {
        idHash: sha256(randomToken()),
        sid: 's1',
        userId: 'u1',
        authTime: NOW - 5,
        createdAt: NOW - 5,
        expiresAt: NOW + 100,
      };
      await storage.sessions.create(session);
      const joined = await storage.sessions.findActiveWithUser(session.idHash, NOW);
      assert.deepEqual(joined, {
        session: await storage.sessions.findActive(session.idHash, NOW),
        user: await storage.users.findById('u1'),
      });
      assert.deepEqual(joined?.session, session);
      assert.deepEqual(joined?.user, user('u1'));
      assert.equal(await storage.sessions.findActiveWithUser(session.idHash, NOW + 100), undefined, 'expired');
      assert.equal(await storage.sessions.findActiveWithUser(sha256('nothing'), NOW), undefined, 'unknown');
      const orphan = { ...session, idHash: sha256(randomToken()), userId: 'gone' };
      await storage.sessions.create(orphan).catch(() => undefined); // a foreign key may refuse it
      assert.equal(await storage.sessions.findActiveWithUser(orphan.idHash, NOW), undefined, 'a session without its user');
    });

    test('LC-01 the access-token state reads the denylist, the client and the subject user in one statement', async () => {
      await storage.clients.create({
        clientId: 'state-client',
        clientName: 'State',
        secretHash: null,
        redirectUris: [],
        grantTypes: ['client_credentials'],
        scopes: [],
        authMethod: 'none',
        isPublic: true,
        metadata: {},
        createdAt: NOW,
      });
      assert.deepEqual(await storage.revokedAccessTokens.accessTokenState('jti-a', 'state-client', 'u1'), {
        revoked: false,
        user: user('u1'),
      });
      assert.deepEqual(await storage.revokedAccessTokens.accessTokenState('jti-a', 'state-client', 'u2'), {
        revoked: false,
        user: user('u2', true),
      });
      assert.deepEqual(await storage.revokedAccessTokens.accessTokenState('jti-a', 'state-client', 'nobody'), {
        revoked: false,
        user: undefined,
      });
      await storage.revokedAccessTokens.add([{ jti: 'jti-a', expiresAt: NOW + 60 }]);
      assert.equal((await storage.revokedAccessTokens.accessTokenState('jti-a', 'state-client', 'u1'))?.revoked, true);
      assert.equal((await storage.revokedAccessTokens.accessTokenState('jti-b', 'state-client', 'u1'))?.revoked, false);
      assert.equal(await storage.revokedAccessTokens.accessTokenState('jti-b', 'no-such-client', 'u1'), undefined, 'a deleted client');
    });

    test('the joined refresh-token lookup returns the token and user records findByHash and findById return; conditional rotation stays single-winner', async () => {
      const token = refreshToken('u1');
      await storage.refreshTokens.create(token);
      const joined = await storage.refreshTokens.findByHashWithUser(token.tokenHash);
      assert.deepEqual(joined, {
        token: await storage.refreshTokens.findByHash(token.tokenHash),
        user: await storage.users.findById('u1'),
        grant: undefined,
      });
      assert.deepEqual(joined?.token, token);
      // LC-02: the user's grant to the token's client comes in the same statement.
      await storage.grants.save('u1', token.clientId, ['openid', 'offline_access'], NOW);
      assert.deepEqual(
        (await storage.refreshTokens.findByHashWithUser(token.tokenHash))?.grant,
        await storage.grants.find('u1', token.clientId),
      );
      await storage.grants.delete('u1', token.clientId);
      const disabled = refreshToken('u2', { sid: null, accessToken: null, resources: [] });
      await storage.refreshTokens.create(disabled);
      assert.deepEqual(await storage.refreshTokens.findByHashWithUser(disabled.tokenHash), {
        token: disabled,
        user: user('u2', true),
        grant: undefined,
      });
      assert.equal(await storage.refreshTokens.findByHashWithUser(sha256('nothing')), undefined);
      // Introspection's narrower lookup: the same token record, and whether its user can still use it.
      assert.deepEqual(await storage.refreshTokens.findByHashWithUserState(token.tokenHash), { token, userEnabled: true });
      assert.deepEqual(await storage.refreshTokens.findByHashWithUserState(disabled.tokenHash), { token: disabled, userEnabled: false });
      const orphan = refreshToken('no-such-user');
      await storage.refreshTokens.create(orphan);
      assert.deepEqual(await storage.refreshTokens.findByHashWithUserState(orphan.tokenHash), { token: orphan, userEnabled: false });
      assert.equal(await storage.refreshTokens.findByHashWithUserState(sha256('nothing')), undefined);

      const successor = { hash: sha256('next'), sealed: 'sealed-response', expiresAt: NOW + 31 };
      const results = await Promise.all([1, 2, 3].map(() => storage.refreshTokens.markRotated(token.tokenHash, NOW + 1, successor)));
      assert.deepEqual(results.filter(Boolean).length, 1);
      assert.deepEqual(await storage.refreshTokens.findByHash(token.tokenHash), { ...token, rotatedAt: NOW + 1, successor });
      const withSuccessor = refreshToken('u1', { successor });
      await storage.refreshTokens.create(withSuccessor);
      assert.deepEqual((await storage.refreshTokens.findByHashWithUser(withSuccessor.tokenHash))?.token, withSuccessor);
      assert.equal(await storage.refreshTokens.markRotated(token.tokenHash, NOW + 2), false);
    });

    test('prepared code inserts and the conditional consume keep their records and single use', async () => {
      const code = {
        codeHash: sha256(randomToken()),
        familyId: randomToken(16),
        clientId: 'c1',
        userId: 'u1',
        redirectUri: 'https://c1.example/cb',
        redirectUriProvided: false,
        scopes: ['openid'],
        resources: [],
        codeChallenge: 'x'.repeat(43),
        codeChallengeMethod: 'S256',
        nonce: null,
        authTime: NOW,
        sid: 's1',
        createdAt: NOW,
        expiresAt: NOW + 60,
        consumedAt: null,
        accessToken: null,
      };
      await storage.codes.create(code);
      assert.deepEqual(await storage.codes.findByHash(code.codeHash), code);
      const wins = await Promise.all([1, 2].map(() => storage.codes.consume(code.codeHash, NOW + 1, { jti: 'j9', expiresAt: NOW + 300 })));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.deepEqual(await storage.codes.findByHash(code.codeHash), {
        ...code,
        consumedAt: NOW + 1,
        accessToken: { jti: 'j9', expiresAt: NOW + 300 },
      });
      assert.equal(await storage.revokedAccessTokens.isRevoked('j9'), false);
      await storage.revokedAccessTokens.add([{ jti: 'j9', expiresAt: NOW + 300 }]);
      assert.equal(await storage.revokedAccessTokens.isRevoked('j9'), true);
      assert.equal(await storage.grants.find('u1', 'c1'), undefined);
      await storage.grants.save('u1', 'c1', ['openid'], NOW);
      assert.deepEqual(await storage.grants.find('u1', 'c1'), {
        userId: 'u1',
        clientId: 'c1',
        scopes: ['openid'],
        createdAt: NOW,
        updatedAt: NOW,
        lastUsedAt: null,
      });
    });
  });
}
