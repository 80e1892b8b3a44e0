// Data for the bench, through Gatehouse's own repositories (the user and the client) and, for the
// growth scenarios, direct SQL (a million rows must take seconds, not minutes).
import { createHash, randomBytes } from 'node:crypto';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { openStorage } from '../../packages/server/dist/src/index.js';
import { registerClient } from '../../packages/server/dist/src/oauth/clients.js';
import { hashPassword } from '../../packages/server/dist/src/oauth/passwords.js';
import { GATEHOUSE_SCOPE, REDIRECT_URI } from './browser.mjs';

export const USERNAME = 'alice';
export const PASSWORD = 'correct horse battery staple';
export const USER_ID = 'bench-user-000000000001';
const now = () => Math.floor(Date.now() / 1000);
const sha256 = (v) => createHash('sha256').update(v, 'utf8').digest('base64url');

/** Migrates the database and registers the bench user and client; returns the client's credentials. */
export async function setupGatehouse(databaseUrl) {
  const storage = await openStorage(databaseUrl);
  try {
    const t = now();
    await storage.users.create({
      id: USER_ID,
      username: USERNAME,
      passwordHash: await hashPassword(PASSWORD),
      email: 'alice@example.com',
      name: 'Alice Bench',
      claims: {},
      disabled: false,
      createdAt: t,
      updatedAt: t,
    });
    const { client, clientSecret } = await registerClient(
      storage.clients,
      {
        clientName: 'Bench client',
        redirectUris: [REDIRECT_URI],
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        scope: GATEHOUSE_SCOPE,
        idTokenSignedResponseAlg: 'ES256',
      },
      t,
    );
    return { clientId: client.clientId, clientSecret };
  } finally {
    await storage.close();
  }
}

/** `count` live refresh tokens of the bench client and user whose raw values the bench knows. */
function usableTokens(clientId, count) {
  const t = now();
  const raw = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const token = randomBytes(32).toString('base64url');
    raw.push(token);
    rows.push([
      sha256(token),
      randomBytes(16).toString('base64url'),
      clientId,
      USER_ID,
      GATEHOUSE_SCOPE,
      t,
      null,
      t,
      t + 30 * 86400,
      t + 14 * 86400,
      null,
      null,
      randomBytes(16).toString('base64url'),
      t + 600,
    ]);
  }
  return { raw, rows };
}

const RT_COLUMNS =
  'token_hash, family_id, client_id, user_id, scope, auth_time, sid, created_at, expires_at, idle_expires_at, rotated_at, revoked_at, access_token_jti, access_token_expires_at';
const CLIENT_COLUMNS =
  'client_id, client_secret_hash, client_name, redirect_uris, grant_types, scope, token_endpoint_auth_method, is_public, metadata, created_at';

/**
 * Seeds `fillers` further live refresh tokens (other users, other clients) and `clients` further
 * clients, straight into the tables, plus `usable` tokens of the bench client; returns the raw
 * usable tokens. Works on `sqlite:PATH` and `postgres://…`.
 */
export async function seedTokens(databaseUrl, clientId, { usable, fillers = 0, clients = 0 }) {
  const { raw, rows } = usableTokens(clientId, usable);
  const t = now();
  // The user's consent to the bench client: without it every refresh of a seeded token is refused
  // (LC-02 re-checks the grant), and the growth run would measure error answers.
  const storage = await openStorage(databaseUrl);
  try {
    await storage.grants.save(USER_ID, clientId, GATEHOUSE_SCOPE.split(' '), t);
  } finally {
    await storage.close();
  }
  const scope = GATEHOUSE_SCOPE;
  const spread = Math.max(clients, 1);
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new SQLite(databaseUrl.slice('sqlite:'.length));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    try {
      const insert = db.prepare(
        `INSERT INTO refresh_tokens (${RT_COLUMNS}) VALUES (${RT_COLUMNS.split(',')
          .map(() => '?')
          .join(', ')})`,
      );
      // Secondary indexes are dropped for the bulk insert and rebuilt after it, from their own definitions.
      const indexes =
        fillers > 0
          ? db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'refresh_tokens' AND sql IS NOT NULL").all()
          : [];
      db.transaction(() => {
        for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`);
        for (const r of rows) insert.run(...r);
        if (clients > 0) {
          db.prepare(
            `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO clients (${CLIENT_COLUMNS})
            SELECT 'filler-client-' || i, substr(hex(randomblob(22)), 1, 43), 'Filler ' || i, '["https://app.example/cb"]',
              '["authorization_code","refresh_token","client_credentials"]', ?, 'client_secret_basic', 0, '{}', ? FROM n`,
          ).run(clients, scope, t);
        }
        if (fillers > 0) {
          db.prepare(
            `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO refresh_tokens (${RT_COLUMNS})
            SELECT substr(hex(randomblob(22)), 1, 43), substr(hex(randomblob(11)), 1, 22), 'filler-client-' || (i % ?),
              'filler-user-' || (i % 200000), ?, ?, NULL, ?, ?, ?, NULL, NULL, substr(hex(randomblob(11)), 1, 22), ? FROM n`,
          ).run(fillers, spread, scope, t, t, t + 30 * 86400, t + 14 * 86400, t + 600);
        }
        for (const ix of indexes) db.exec(ix.sql);
      })();
    } finally {
      db.close();
    }
    return raw;
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    const indexes =
      fillers > 0
        ? (
            await client.query(
              "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'refresh_tokens' AND indexname NOT LIKE '%_pkey'",
            )
          ).rows
        : [];
    for (const ix of indexes) await client.query(`DROP INDEX ${ix.indexname}`);
    const width = rows[0]?.length ?? 14;
    for (let i = 0; i < rows.length; i += 1000) {
      const chunk = rows.slice(i, i + 1000);
      const values = chunk.map((_, j) => `(${Array.from({ length: width }, (_, k) => `$${j * width + k + 1}`).join(', ')})`).join(', ');
      await client.query(`INSERT INTO refresh_tokens (${RT_COLUMNS}) VALUES ${values}`, chunk.flat());
    }
    if (clients > 0) {
      await client.query(
        `INSERT INTO clients (${CLIENT_COLUMNS})
        SELECT 'filler-client-' || g, substr(md5(random()::text) || md5(random()::text), 1, 43), 'Filler ' || g, '["https://app.example/cb"]',
          '["authorization_code","refresh_token","client_credentials"]', $2, 'client_secret_basic', 0, '{}', $3 FROM generate_series(1, $1) g`,
        [clients, scope, t],
      );
    }
    if (fillers > 0) {
      await client.query(
        `INSERT INTO refresh_tokens (${RT_COLUMNS})
        SELECT substr(md5(random()::text) || md5(random()::text), 1, 43), substr(md5(random()::text), 1, 22), 'filler-client-' || (g % $2),
          'filler-user-' || (g % 200000), $3, $4, NULL, $4, $5, $6, NULL, NULL, substr(md5(random()::text), 1, 22), $7
        FROM generate_series(1, $1) g`,
        [fillers, spread, scope, t, t + 30 * 86400, t + 14 * 86400, t + 600],
      );
    }
    for (const ix of indexes) await client.query(ix.indexdef);
    await client.query('COMMIT');
    await client.query('ANALYZE refresh_tokens');
    await client.query('ANALYZE clients');
  } finally {
    await client.end();
  }
  return raw;
}

/** A fresh PostgreSQL database with a random name, or undefined when the server is not reachable. */
export async function createPostgresDatabase(adminUrl) {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch {
    return undefined;
  }
  const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
