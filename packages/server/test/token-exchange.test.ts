// RFC 8693 token exchange (oauth/grants/token-exchange.ts), TX-01: only the client→resource pairs
// the operator allowed, a live subject token, `act` for delegation (nested across exchanges), no
// impersonation unless the client was registered for it, scope never wider than the subject token's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPair, SignJWT } from 'jose';
import type { LightMyRequestResponse } from 'fastify';
import { ACCESS_TOKEN_TYPE, tokenExchangeGrant } from '../src/oauth/grants/token-exchange.js';
import { registerResource } from '../src/oauth/resources.js';
import { registerClient } from '../src/oauth/clients.js';
import { mintAccessToken } from '../src/oauth/tokens/jwt.js';
import { createRegistrationToken } from '../src/oauth/registration.js';
import { openStorage } from '../src/storage/index.js';
import { assertOAuthError, basic, Browser, decodeJwt, form, issueTokens, startServer, tokenRequest, type TestServer } from './helpers.js';

const PHOTOS = 'https://photos.example/api';
const PRINT = 'https://print.example/api';
const ARCHIVE = 'https://archive.example/api';
const UNREGISTERED = 'https://unregistered.example/api';
const GRANT = tokenExchangeGrant.grantType;

interface Client {
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string;
}

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer();
  t.after(() => server.close());
  const now = server.clock();
  await registerResource(server.deps.storage, { uri: PHOTOS, name: 'Photo Library', scopes: ['photos:read', 'photos:write'] }, now);
  await registerResource(server.deps.storage, { uri: PRINT, name: 'Print Shop', scopes: ['photos:read', 'print'] }, now);
  await registerResource(server.deps.storage, { uri: ARCHIVE, name: 'Archive', scopes: ['photos:read'] }, now);
  // The app the user signs in to: its token is for the photo library.
  const app = await server.createClient({ scope: 'openid photos:read photos:write', grantTypes: ['authorization_code'] });
  // The photo library's back end, which calls the print shop for the user.
  const service = await server.createClient({
    clientName: 'Photo Library back end',
    redirectUris: [],
    scope: 'photos:read',
    grantTypes: [GRANT, 'client_credentials'],
    tokenExchangeResources: [PRINT, UNREGISTERED],
  });
  const user = await server.createUser();
  const browser = new Browser(server.app);
  const { body } = await issueTokens(server, browser, app, user, { scope: 'photos:read photos:write', extra: { resource: PHOTOS } });
  return { server, app, service, user, subjectToken: body.access_token };
}

function exchange(
  server: TestServer,
  client: Pick<Client, 'clientId' | 'clientSecret'>,
  params: Record<string, string | undefined>,
): Promise<LightMyRequestResponse> {
  return tokenRequest(server.app, { grant_type: GRANT, subject_token_type: ACCESS_TOKEN_TYPE, ...params }, client);
}

interface ExchangeBody {
  access_token: string;
  issued_token_type: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
}

test('TX-01 a delegated exchange: a token for the allowed resource, the user as sub, the client as actor in act, no refresh token', async (t) => {
  const { server, service, user, subjectToken } = await setup(t);
  const res = await exchange(server, service, { subject_token: subjectToken, resource: PRINT });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as ExchangeBody;
  assert.equal(body.issued_token_type, ACCESS_TOKEN_TYPE);
  assert.equal(body.token_type, 'Bearer');
  assert.equal(body.refresh_token, undefined, 'an exchange never issues a refresh token');
  assert.equal(body.scope, 'photos:read', 'only the subject token scopes that the print shop offers');
  const claims = decodeJwt(body.access_token);
  const subject = decodeJwt(subjectToken);
  assert.equal(claims.aud, PRINT);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.client_id, service.clientId);
  assert.deepEqual(claims.act, { sub: service.clientId, client_id: service.clientId });
  assert.ok(claims.exp! <= subject.exp!, 'never outlives the subject token');

  // Introspection by the exchanging client shows the actor.
  const intro = await server.app.inject({
    method: 'POST',
    url: '/introspect',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(service.clientId, service.clientSecret!) },
    payload: form({ token: body.access_token }),
  });
  assert.equal(intro.statusCode, 200);
  const seen = intro.json() as { active: boolean; act?: unknown; sub: string };
  assert.equal(seen.active, true);
  assert.equal(seen.sub, user.id);
  assert.deepEqual(seen.act, { sub: service.clientId, client_id: service.clientId });
});

test('TX-01 an exchange for a resource the client may not reach is invalid_target: not on its list, unregistered, or missing', async (t) => {
  const { server, service, subjectToken } = await setup(t);
  assertOAuthError(await exchange(server, service, { subject_token: subjectToken, resource: PHOTOS }), 400, 'invalid_target');
  assertOAuthError(await exchange(server, service, { subject_token: subjectToken, audience: ARCHIVE }), 400, 'invalid_target');
  assertOAuthError(await exchange(server, service, { subject_token: subjectToken, resource: UNREGISTERED }), 400, 'invalid_target');
  assertOAuthError(await exchange(server, service, { subject_token: subjectToken, resource: 'not a uri' }), 400, 'invalid_target');
  // One allowed and one not: refused as a whole.
  const mixed = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(service.clientId, service.clientSecret!) },
    payload: `${form({ grant_type: GRANT, subject_token: subjectToken, subject_token_type: ACCESS_TOKEN_TYPE, resource: PRINT })}&resource=${encodeURIComponent(PHOTOS)}`,
  });
  assertOAuthError(mixed, 400, 'invalid_target');
  assertOAuthError(await exchange(server, service, { subject_token: subjectToken }), 400, 'invalid_request');
  // `audience` names a resource like `resource` does.
  assert.equal((await exchange(server, service, { subject_token: subjectToken, audience: PRINT })).statusCode, 200);
});

test('TX-01 an inactive subject token is invalid_grant: expired, revoked, another issuer, a foreign key, garbage, a disabled user', async (t) => {
  const { server, app, service, user, subjectToken } = await setup(t);
  const refused = async (token: string, why: string) => {
    const res = await exchange(server, service, { subject_token: token, resource: PRINT });
    assertOAuthError(res, 400, 'invalid_grant');
    assert.ok(!res.body.includes('eyJ'), `${why}: no token in the error`);
  };
  await refused('garbage', 'garbage');
  await refused('a.b.c', 'three garbage parts');
  await refused(`${subjectToken}x`, 'a broken signature');

  const now = server.clock();
  const common = {
    alg: 'ES256' as const,
    audience: [PHOTOS],
    ttl: 300,
    subject: user.id,
    clientId: app.clientId,
    scope: 'photos:read',
    now,
  };
  const otherIssuer = await mintAccessToken(server.deps.keys, { ...common, issuer: 'https://other.example' });
  await refused(otherIssuer.token, 'our key, another issuer');
  const { privateKey } = await generateKeyPair('ES256');
  const kid = server.deps.keys.signingKey('ES256').kid;
  const foreign = await new SignJWT({ client_id: app.clientId, scope: 'photos:read', jti: 'j1' })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
    .setIssuer(server.issuer)
    .setSubject(user.id)
    .setAudience(PHOTOS)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(privateKey);
  await refused(foreign, 'our issuer and kid, a foreign key');

  // Revoked by the app that holds it (RFC 7009): on the jti denylist.
  const own = await mintAccessToken(server.deps.keys, { ...common, issuer: server.issuer });
  assert.equal((await exchange(server, service, { subject_token: own.token, resource: PRINT })).statusCode, 200, 'live before');
  const revoked = await server.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, app.clientSecret!) },
    payload: form({ token: own.token }),
  });
  assert.equal(revoked.statusCode, 200);
  await refused(own.token, 'revoked');

  // The user disabled.
  const other = await server.createUser('bob');
  const bobs = await mintAccessToken(server.deps.keys, { ...common, issuer: server.issuer, subject: other.id });
  assert.equal((await exchange(server, service, { subject_token: bobs.token, resource: PRINT })).statusCode, 200);
  await server.deps.storage.users.setDisabled(other.id, true, server.clock());
  await refused(bobs.token, 'disabled user');

  // A client's own token has no user to act for.
  const cc = await tokenRequest(server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, service);
  assert.equal(cc.statusCode, 200, cc.body);
  await refused((cc.json() as ExchangeBody).access_token, 'a client_credentials token');

  // Expired (the server's clock moves past the token's exp).
  server.clock.advance(server.config.accessTokenTtl + 1);
  await refused(subjectToken, 'expired');
});

test('TX-01 impersonation is refused by default (the client is named in act) and allowed only with --token-exchange-impersonation', async (t) => {
  const { server, subjectToken } = await setup(t);
  const plain = await server.createClient({ redirectUris: [], scope: '', grantTypes: [GRANT], tokenExchangeResources: [PRINT] });
  const impersonator = await server.createClient({
    redirectUris: [],
    scope: '',
    grantTypes: [GRANT, 'client_credentials'],
    tokenExchangeResources: [PRINT],
    tokenExchangeImpersonation: true,
  });
  const byPlain = await exchange(server, plain, { subject_token: subjectToken, resource: PRINT });
  assert.equal(byPlain.statusCode, 200, byPlain.body);
  assert.deepEqual(decodeJwt((byPlain.json() as ExchangeBody).access_token).act, { sub: plain.clientId, client_id: plain.clientId });

  const byImpersonator = await exchange(server, impersonator, { subject_token: subjectToken, resource: PRINT });
  assert.equal(byImpersonator.statusCode, 200, byImpersonator.body);
  const claims = decodeJwt((byImpersonator.json() as ExchangeBody).access_token);
  assert.equal(claims.act, undefined, 'impersonation: no act');
  assert.equal(claims.client_id, impersonator.clientId);

  // Even an impersonating client is named when it sends an actor token (its own).
  const cc = await tokenRequest(server.app, { grant_type: 'client_credentials', scope: '' }, impersonator);
  assert.equal(cc.statusCode, 200, cc.body);
  const delegated = await exchange(server, impersonator, {
    subject_token: subjectToken,
    resource: PRINT,
    actor_token: (cc.json() as ExchangeBody).access_token,
    actor_token_type: ACCESS_TOKEN_TYPE,
  });
  assert.equal(delegated.statusCode, 200, delegated.body);
  assert.deepEqual(decodeJwt((delegated.json() as ExchangeBody).access_token).act, {
    sub: impersonator.clientId,
    client_id: impersonator.clientId,
  });

  // The policy is the operator's: the flags need the grant.
  await assert.rejects(
    registerClient(
      server.deps.storage.clients,
      { clientName: 'x', redirectUris: [], grantTypes: ['client_credentials'], tokenExchangeImpersonation: true },
      0,
    ),
    /invalid_client_metadata|needs the/,
  );
});

test('TX-01 act nests: a second exchange keeps the first actor inside the new one; an actor token must be the client’s own', async (t) => {
  const { server, service, user, subjectToken } = await setup(t);
  const first = await exchange(server, service, { subject_token: subjectToken, resource: PRINT });
  assert.equal(first.statusCode, 200, first.body);
  const printShop = await server.createClient({
    clientName: 'Print Shop back end',
    redirectUris: [],
    scope: '',
    grantTypes: [GRANT],
    tokenExchangeResources: [ARCHIVE],
  });
  const second = await exchange(server, printShop, { subject_token: (first.json() as ExchangeBody).access_token, resource: ARCHIVE });
  assert.equal(second.statusCode, 200, second.body);
  const claims = decodeJwt((second.json() as ExchangeBody).access_token);
  assert.equal(claims.sub, user.id);
  assert.equal(claims.aud, ARCHIVE);
  assert.deepEqual(claims.act, {
    sub: printShop.clientId,
    client_id: printShop.clientId,
    act: { sub: service.clientId, client_id: service.clientId },
  });

  // An actor token issued to another client names somebody else: refused.
  const cc = await tokenRequest(server.app, { grant_type: 'client_credentials', scope: 'photos:read' }, service);
  const someoneElses = await exchange(server, printShop, {
    subject_token: subjectToken,
    resource: ARCHIVE,
    actor_token: (cc.json() as ExchangeBody).access_token,
    actor_token_type: ACCESS_TOKEN_TYPE,
  });
  assertOAuthError(someoneElses, 400, 'invalid_grant');
  // actor_token_type without actor_token, and the other way round.
  assertOAuthError(
    await exchange(server, service, { subject_token: subjectToken, resource: PRINT, actor_token_type: ACCESS_TOKEN_TYPE }),
    400,
    'invalid_request',
  );
  // Only access tokens are taken and issued.
  assertOAuthError(
    await exchange(server, service, {
      subject_token: subjectToken,
      resource: PRINT,
      requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token',
    }),
    400,
    'invalid_request',
  );
  assertOAuthError(
    await exchange(server, service, {
      subject_token: subjectToken,
      resource: PRINT,
      subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
    }),
    400,
    'invalid_request',
  );
});

test('TX-01 scope narrows: at most the subject token’s, within what the target resource offers', async (t) => {
  const { server, service, subjectToken } = await setup(t);
  assert.equal(decodeJwt(subjectToken).scope, 'photos:read photos:write');
  const narrowed = await exchange(server, service, { subject_token: subjectToken, resource: PRINT, scope: 'photos:read' });
  assert.equal(narrowed.statusCode, 200, narrowed.body);
  assert.equal(decodeJwt((narrowed.json() as ExchangeBody).access_token).scope, 'photos:read');
  // print is offered by the print shop but the user never granted it: no widening.
  assertOAuthError(await exchange(server, service, { subject_token: subjectToken, resource: PRINT, scope: 'print' }), 400, 'invalid_scope');
  // photos:write was granted but the print shop does not offer it.
  assertOAuthError(
    await exchange(server, service, { subject_token: subjectToken, resource: PRINT, scope: 'photos:write' }),
    400,
    'invalid_scope',
  );
});

test('TX-01 a public client cannot register or use token exchange', async (t) => {
  const { server, subjectToken } = await setup(t);
  await assert.rejects(
    registerClient(server.deps.storage.clients, { clientName: 'SPA', redirectUris: [], isPublic: true, grantTypes: [GRANT] }, 0),
    /public clients cannot use/,
  );
  // A public client row that has the grant anyway (written past registration) is still refused.
  const now = server.clock();
  await server.deps.storage.clients.create({
    clientId: 'public-exchanger',
    clientName: 'Public',
    secretHash: null,
    redirectUris: [],
    grantTypes: [GRANT],
    scopes: ['photos:read'],
    authMethod: 'none',
    isPublic: true,
    metadata: { token_exchange_resources: [PRINT] },
    createdAt: now,
  });
  const res = await exchange(
    server,
    { clientId: 'public-exchanger', clientSecret: undefined },
    { subject_token: subjectToken, resource: PRINT },
  );
  assertOAuthError(res, 400, 'unauthorized_client');
});

test('TX-01 dynamic registration cannot set the exchange policy: token_exchange_resources and the impersonation flag are ignored', async (t) => {
  const { server, subjectToken } = await setup(t);
  const { token } = await createRegistrationToken(server.deps.storage.registrationTokens, {}, server.clock());
  const res = await server.app.inject({
    method: 'POST',
    url: '/register',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    payload: JSON.stringify({
      client_name: 'Self-registered',
      grant_types: [GRANT],
      token_exchange_resources: [PRINT],
      token_exchange_impersonation: true,
    }),
  });
  assert.equal(res.statusCode, 201, res.body);
  const registered = res.json() as { client_id: string; client_secret: string; token_exchange_resources?: unknown };
  assert.equal(registered.token_exchange_resources, undefined);
  const stored = await server.deps.storage.clients.find(registered.client_id);
  assert.deepEqual(stored?.metadata.token_exchange_resources, undefined);
  const attempt = await exchange(
    server,
    { clientId: registered.client_id, clientSecret: registered.client_secret },
    { subject_token: subjectToken, resource: PRINT },
  );
  assertOAuthError(attempt, 400, 'invalid_target');
});

test('TX-01 gatehouse clients create --token-exchange-resource and --token-exchange-impersonation store the policy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite:${join(dir, 'gatehouse.db')}`;
  const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += String(d)));
      child.stderr.on('data', (d) => (stderr += String(d)));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const created = await run([
    'clients',
    'create',
    '--name',
    'Photo Library back end',
    '--grant-types',
    GRANT,
    '--token-exchange-resource',
    PRINT,
    '--token-exchange-resource',
    ARCHIVE,
    '--token-exchange-impersonation',
    '--database',
    db,
    '--json',
  ]);
  assert.equal(created.code, 0, created.stderr);
  const { client_id } = JSON.parse(created.stdout) as { client_id: string };
  const storage = await openStorage(db);
  try {
    const client = await storage.clients.find(client_id);
    assert.deepEqual(client?.metadata.token_exchange_resources, [PRINT, ARCHIVE]);
    assert.equal(client?.metadata.token_exchange_impersonation, true);
  } finally {
    await storage.close();
  }
  const refused = await run(['clients', 'create', '--name', 'x', '--grant-types', GRANT, '--public', '--database', db]);
  assert.notEqual(refused.code, 0, 'a public client cannot register the grant');
  const noGrant = await run([
    'clients',
    'create',
    '--name',
    'y',
    '--token-exchange-resource',
    PRINT,
    '--redirect-uri',
    'https://y.example/cb',
    '--database',
    db,
  ]);
  assert.notEqual(noGrant.code, 0, 'the policy needs the grant');
});

test('TX-01 discovery lists the token-exchange grant type', async (t) => {
  const { server } = await setup(t);
  const meta = (await server.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json() as {
    grant_types_supported: string[];
  };
  assert.ok(meta.grant_types_supported.includes(GRANT));
});
