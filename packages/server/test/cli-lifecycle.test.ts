// The lifecycle commands of the real `gatehouse` CLI (bin/gatehouse.js) against the database of a
// running server: after each, the server's own endpoints refuse what was revoked. Checklist LC-01, LC-02.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { basic, Browser, form, issueTokens, refresh, startServer, type TestServer } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
type Creds = { clientId: string; clientSecret: string | undefined; redirectUri: string };
type Tokens = { access_token: string; refresh_token?: string };

function gatehouse(args: string[], database: string, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { env: { ...env, GATEHOUSE_DATABASE_URL: database }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

async function jsonOf(r: Promise<{ code: number; stdout: string; stderr: string }>): Promise<Record<string, unknown>> {
  const done = await r;
  assert.equal(done.code, 0, done.stderr);
  return JSON.parse(done.stdout) as Record<string, unknown>;
}

async function setup(t: { after(fn: () => void | Promise<void>): void }, clientInput: Record<string, unknown> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lifecycle-'));
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const server = await startServer({ GATEHOUSE_DATABASE_URL: database });
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = await server.createClient(clientInput);
  const user = await server.createUser();
  return { server, database, client, user };
}

async function assertRevoked(server: TestServer, client: Creds, tokens: Tokens, what: string) {
  const info = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(info.statusCode, 401, `${what}: userinfo`);
  for (const token of [tokens.access_token, tokens.refresh_token!]) {
    const res = await server.app.inject({
      method: 'POST',
      url: '/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.clientId, client.clientSecret!) },
      payload: form({ token }),
    });
    assert.deepEqual(res.json(), { active: false }, `${what}: introspection`);
  }
  const refreshed = await refresh(server, client, tokens.refresh_token!);
  assert.equal(refreshed.json().error, 'invalid_grant', `${what}: refresh`);
}

const tokensOf = async (server: TestServer, client: Creds, user: { username: string; password: string }) =>
  (await issueTokens(server, new Browser(server.app), client, user)).body;

test('LC-01 gatehouse users disable, enable, set-password and delete: after each, userinfo 401, introspection inactive, refresh invalid_grant', async (t) => {
  const { server, database, client, user } = await setup(t);

  let tokens = await tokensOf(server, client, user);
  const disabled = await jsonOf(gatehouse(['users', 'disable', 'alice', '--json'], database));
  assert.equal(disabled.user, 'alice');
  assert.equal(disabled.sessions, 1);
  assert.equal(disabled.refresh_token_families, 1);
  assert.equal(disabled.access_tokens_denied, 1);
  await assertRevoked(server, client, tokens, 'disable');
  await assert.rejects(tokensOf(server, client, user), 'a disabled user cannot sign in');

  const enabled = await gatehouse(['users', 'enable', 'alice'], database);
  assert.equal(enabled.code, 0, enabled.stderr);
  assert.match(enabled.stdout, /enabled user alice/);
  tokens = await tokensOf(server, client, user);

  const reset = await jsonOf(gatehouse(['users', 'set-password', 'alice', '--password-stdin', '--json'], database, 'a fresh passphrase\n'));
  assert.equal(reset.refresh_token_families, 1);
  await assertRevoked(server, client, tokens, 'set-password');
  await assert.rejects(tokensOf(server, client, user), 'the old password is gone');
  tokens = await tokensOf(server, client, { username: 'alice', password: 'a fresh passphrase' });

  const deleted = await gatehouse(['users', 'delete', 'alice'], database);
  assert.equal(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /deleted user alice:\n\s+sessions deleted:\s+1\n\s+refresh-token families revoked:\s+1/);
  await assertRevoked(server, client, tokens, 'delete');
  assert.equal(await server.deps.storage.users.findByUsername('alice'), undefined);

  // Usage errors and unknown users.
  assert.equal((await gatehouse(['users', 'delete', 'alice'], database)).code, 1);
  assert.equal((await gatehouse(['users', 'disable'], database)).code, 2);
  assert.equal((await gatehouse(['users', 'set-password', 'bob'], database)).code, 2, 'needs --password-stdin');
  assert.equal((await gatehouse(['users', 'set-password', 'bob', '--password-stdin'], database, 'short\n')).code, 2);
  const events = await server.deps.storage.securityEvents.list({
    types: ['user.disabled', 'user.enabled', 'user.password_set', 'user.deleted'],
  });
  assert.deepEqual(events.map((e) => e.type).sort(), ['user.deleted', 'user.disabled', 'user.enabled', 'user.password_set']);
  assert.ok(events.every((e) => e.details.by === 'cli'));
});

test('LC-02 gatehouse grants list and revoke --user --client: that client refreshes no more, the other client keeps its grant', async (t) => {
  const { server, database, client, user } = await setup(t);
  const other = await server.createClient({ redirectUris: ['https://c2.example/cb'], clientName: 'Other App' });
  const tokens = await tokensOf(server, client, user);
  const otherTokens = await tokensOf(server, other, user);

  const listed = await gatehouse(['grants', 'list', '--user', 'alice', '--json'], database);
  assert.equal(listed.code, 0, listed.stderr);
  const grants = JSON.parse(listed.stdout) as { client_id: string; client_name: string; scope: string }[];
  assert.deepEqual(grants.map((g) => g.client_id).sort(), [client.clientId, other.clientId].sort());
  assert.equal(grants.find((g) => g.client_id === other.clientId)?.client_name, 'Other App');
  assert.equal(grants[0]!.scope, 'openid profile offline_access');

  const revoked = await jsonOf(gatehouse(['grants', 'revoke', '--user', 'alice', '--client', client.clientId, '--json'], database));
  assert.equal(revoked.grants_deleted, 1);
  assert.equal(revoked.refresh_token_families, 1);
  assert.equal(revoked.sessions, 0);
  await assertRevoked(server, client, tokens, 'grants revoke');
  assert.equal((await refresh(server, other, otherTokens.refresh_token!)).statusCode, 200, 'the other client is untouched');

  const left = JSON.parse((await gatehouse(['grants', 'list', '--user', 'alice', '--json'], database)).stdout) as { client_id: string }[];
  assert.deepEqual(
    left.map((g) => g.client_id),
    [other.clientId],
  );
  const text = await gatehouse(['grants', 'list', '--user', 'alice', '--client', client.clientId], database);
  assert.match(text.stdout, /no grants of alice/);
  assert.equal((await gatehouse(['grants', 'revoke', '--user', 'nobody'], database)).code, 1);
  assert.equal((await gatehouse(['grants', 'revoke', '--user', 'alice', '--client', 'no-such-client'], database)).code, 1);
  assert.equal((await gatehouse(['grants', 'revoke'], database)).code, 2);
});

test("LC-01 gatehouse clients delete revokes every user's tokens of the client and sends a back-channel logout token per user", async (t) => {
  const received: URLSearchParams[] = [];
  const rp = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      received.push(new URLSearchParams(body));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => rp.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => rp.close(() => resolve())));
  const uri = `http://127.0.0.1:${(rp.address() as AddressInfo).port}/bcl`;
  const { server, database, client, user } = await setup(t, { backchannelLogoutUri: uri });
  const bob = await server.createUser('bob');
  const aliceTokens = await tokensOf(server, client, user);
  const bobTokens = await tokensOf(server, client, bob);

  const deleted = await jsonOf(gatehouse(['clients', 'delete', client.clientId, '--issuer', server.issuer, '--json'], database));
  assert.equal(deleted.client_id, client.clientId);
  assert.equal(deleted.grants_deleted, 2);
  assert.equal(deleted.refresh_token_families, 2);
  assert.equal(deleted.access_tokens_denied, 2);
  assert.deepEqual(deleted.backchannel_logout, { tokens: 2, delivered: 2 });
  for (const tokens of [aliceTokens, bobTokens]) {
    const info = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(info.statusCode, 401);
    assert.equal((await refresh(server, client, tokens.refresh_token!)).json().error, 'invalid_client');
  }
  assert.equal(await server.deps.storage.grants.find(user.id, client.clientId), undefined);
  const jwks = createLocalJWKSet(server.deps.keys.jwks() as JSONWebKeySet);
  const subjects: string[] = [];
  for (const body of received) {
    const { payload } = await jwtVerify(body.get('logout_token')!, jwks, {
      issuer: server.issuer,
      audience: client.clientId,
      typ: 'logout+jwt',
    });
    subjects.push(String(payload.sub));
  }
  assert.deepEqual(subjects.sort(), [bob.id, user.id].sort());
  assert.equal((await gatehouse(['clients', 'delete', client.clientId], database)).code, 1, 'gone');
});
