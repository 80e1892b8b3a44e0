// The peer: node-oidc-provider configured like Gatehouse for the scenarios of bench/run.mjs.
//   - one confidential client, client_secret_basic, grants authorization_code + refresh_token +
//     client_credentials, ID tokens ES256 (the bench registers Gatehouse's client the same way);
//   - JWT (ES256) access tokens through a resource indicator (RFC 8707) for client_credentials and,
//     with the resource requested at /auth and `useGrantedResource`, for the code and refresh grants;
//   - refresh tokens on every code exchange of a client allowed the refresh grant (as Gatehouse
//     does for offline_access), rotated on every use, not bound to the browser session;
//   - introspection on; PKCE as sent; JWKS with one RS256, one ES256 and one EdDSA key (as Gatehouse);
//   - storage: a SQLite adapter (better-sqlite3, WAL, synchronous=NORMAL, as Gatehouse's default),
//     because the bundled memory adapter is an LRU of 1,000 entries that would drop live tokens.
// Interactions are answered without a page (the bench signs the user in once to create the session
// and the grant; the measured flow never sees an interaction). Prints `listening on URL`.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import SQLite from 'better-sqlite3';
import Provider from 'oidc-provider';

const { values: opt } = parseArgs({
  options: {
    db: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
    'redirect-uri': { type: 'string' },
    resource: { type: 'string' },
    account: { type: 'string' },
  },
});

// --- storage -------------------------------------------------------------------------------------
const sqlite = new SQLite(opt.db);
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');
sqlite.exec(`CREATE TABLE IF NOT EXISTS oidc (
  model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, user_code TEXT, uid TEXT,
  expires_at INTEGER, consumed_at INTEGER, PRIMARY KEY (model, id));
  CREATE INDEX IF NOT EXISTS oidc_grant ON oidc (grant_id);
  CREATE INDEX IF NOT EXISTS oidc_uid ON oidc (model, uid);
  CREATE INDEX IF NOT EXISTS oidc_user_code ON oidc (model, user_code);`);
const st = {
  upsert: sqlite.prepare(`INSERT INTO oidc (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload,
    grant_id = excluded.grant_id, user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`),
  find: sqlite.prepare('SELECT payload, expires_at, consumed_at FROM oidc WHERE model = ? AND id = ?'),
  findByUid: sqlite.prepare('SELECT payload, expires_at, consumed_at FROM oidc WHERE model = ? AND uid = ?'),
  findByUserCode: sqlite.prepare('SELECT payload, expires_at, consumed_at FROM oidc WHERE model = ? AND user_code = ?'),
  consume: sqlite.prepare('UPDATE oidc SET consumed_at = ? WHERE model = ? AND id = ?'),
  destroy: sqlite.prepare('DELETE FROM oidc WHERE model = ? AND id = ?'),
  revokeByGrantId: sqlite.prepare('DELETE FROM oidc WHERE grant_id = ?'),
};
const now = () => Math.floor(Date.now() / 1000);
function row(r) {
  if (!r || (r.expires_at !== null && r.expires_at <= now())) return undefined;
  const payload = JSON.parse(r.payload);
  if (r.consumed_at !== null) payload.consumed = r.consumed_at;
  return payload;
}
class SqliteAdapter {
  constructor(model) {
    this.model = model;
  }
  async upsert(id, payload, expiresIn) {
    st.upsert.run(
      this.model,
      id,
      JSON.stringify(payload),
      payload.grantId ?? null,
      payload.userCode ?? null,
      payload.uid ?? null,
      expiresIn ? now() + expiresIn : null,
    );
  }
  async find(id) {
    return row(st.find.get(this.model, id));
  }
  async findByUid(uid) {
    return row(st.findByUid.get(this.model, uid));
  }
  async findByUserCode(userCode) {
    return row(st.findByUserCode.get(this.model, userCode));
  }
  async consume(id) {
    st.consume.run(now(), this.model, id);
  }
  async destroy(id) {
    st.destroy.run(this.model, id);
  }
  async revokeByGrantId(grantId) {
    st.revokeByGrantId.run(grantId);
  }
}

// --- keys ----------------------------------------------------------------------------------------
const jwk = (pair, alg) => ({ ...pair.privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-bench` });
const keys = [
  jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), 'RS256'),
  jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'ES256'),
  jwk(generateKeyPairSync('ed25519'), 'EdDSA'),
];

// --- server --------------------------------------------------------------------------------------
const server = createServer();
server.keepAliveTimeout = 60_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const resource = opt.resource;

const provider = new Provider(issuer, {
  adapter: SqliteAdapter,
  clients: [
    {
      client_id: opt['client-id'],
      client_secret: opt['client-secret'],
      redirect_uris: [opt['redirect-uri']],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: 'openid offline_access api:read',
    },
  ],
  jwks: { keys },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef0123456789abcdef'] },
  findAccount: async (_ctx, sub) => ({
    accountId: sub,
    claims: async () => ({ sub, email: 'alice@example.com', email_verified: true, name: 'Alice Bench' }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'api:read'],
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new Provider.errors.InvalidTarget();
        return { scope: 'api:read', audience: resource, accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
      },
    },
  },
  pkce: { required: () => false },
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: 600,
    AuthorizationCode: 600,
    ClientCredentials: 600,
    IdToken: 3600,
    Interaction: 600,
    Session: 86400,
    Grant: 30 * 86400,
    RefreshToken: 30 * 86400,
  },
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  },
});

// Interactions: sign the bench account in, and grant what the client asked for.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    return provider.interactionFinished(req, res, { login: { accountId: opt.account } }, { mergeWithLastSubmission: false });
  }
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify(details.prompt));
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope('openid offline_access api:read');
  if (resource) grant.addResourceScope(resource, 'api:read');
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.statusCode = 500;
      res.end(String(error));
    });
    return;
  }
  callback(req, res);
});
process.stdout.write(`listening on ${issuer}\n`);
process.on('SIGTERM', () => process.exit(0));
