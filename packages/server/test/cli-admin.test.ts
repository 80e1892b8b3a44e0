// The admin commands of the real `gatehouse` CLI (bin/gatehouse.js): the first admin, the role, and
// client secret rotation and disabling, against the database of a running server. They go through the
// same service layer as the admin API (oauth/admin/), so each is one security event `by: cli`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../src/oauth/crypto.js';
import { startServer, tokenRequest } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

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

async function setup(t: { after(fn: () => void | Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-'));
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const server = await startServer({ GATEHOUSE_DATABASE_URL: database });
  t.after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, database };
}

test('gatehouse users create --admin makes the first admin; users set-admin --off and --on change the role; each is one event by cli', async (t) => {
  const { server, database } = await setup(t);
  const created = await gatehouse(
    ['users', 'create', '--username', 'root', '--password-stdin', '--admin', '--json'],
    database,
    'root admin password\n',
  );
  assert.equal(created.code, 0, created.stderr);
  const view = JSON.parse(created.stdout) as { id: string; admin: boolean };
  assert.equal(view.admin, true);
  assert.equal((await server.deps.storage.users.findById(view.id))?.role, 'admin');
  const plain = await gatehouse(['users', 'create', '--username', 'pat', '--password-stdin', '--json'], database, 'pat secret password\n');
  assert.equal(JSON.parse(plain.stdout).admin, false);

  assert.equal((await gatehouse(['users', 'set-admin', 'root', '--off'], database)).code, 0);
  assert.equal((await server.deps.storage.users.findById(view.id))?.role, null);
  assert.equal((await gatehouse(['users', 'set-admin', 'root', '--on'], database)).code, 0);
  assert.equal((await server.deps.storage.users.findById(view.id))?.role, 'admin');
  assert.equal((await gatehouse(['users', 'set-admin', 'root'], database)).code, 2, 'one of --on and --off is needed');
  assert.equal((await gatehouse(['users', 'set-admin', 'nobody', '--on'], database)).code, 1);

  const events = await server.deps.storage.securityEvents.list({ limit: 100 });
  assert.deepEqual(events.map((e) => e.type).reverse(), ['user.created', 'user.created', 'admin.role_revoked', 'admin.role_granted']);
  for (const e of events) assert.equal(e.details.by, 'cli');
});

test('CR-02 gatehouse clients rotate-secret: the old secret is invalid_client at once, the new one works; clients disable refuses it until enabled', async (t) => {
  const { server, database } = await setup(t);
  const client = await server.createClient();
  const old = { clientId: client.clientId, clientSecret: client.clientSecret };
  assert.equal((await tokenRequest(server.app, { grant_type: 'client_credentials' }, old)).statusCode, 200);
  const rotated = await gatehouse(['clients', 'rotate-secret', client.clientId, '--json'], database);
  assert.equal(rotated.code, 0, rotated.stderr);
  const secret = String(JSON.parse(rotated.stdout).client_secret);
  assert.equal((await server.deps.storage.clients.find(client.clientId))?.secretHash, sha256(secret));
  const refused = await tokenRequest(server.app, { grant_type: 'client_credentials' }, old);
  assert.equal(refused.statusCode, 401);
  assert.equal(refused.json().error, 'invalid_client');
  const fresh = { clientId: client.clientId, clientSecret: secret };
  assert.equal((await tokenRequest(server.app, { grant_type: 'client_credentials' }, fresh)).statusCode, 200);

  assert.equal((await gatehouse(['clients', 'disable', client.clientId], database)).code, 0);
  assert.equal((await tokenRequest(server.app, { grant_type: 'client_credentials' }, fresh)).json().error, 'invalid_client');
  assert.equal((await gatehouse(['clients', 'enable', client.clientId], database)).code, 0);
  assert.equal((await tokenRequest(server.app, { grant_type: 'client_credentials' }, fresh)).statusCode, 200);
  const pub = await server.createClient({ isPublic: true, grantTypes: ['authorization_code'] });
  assert.equal((await gatehouse(['clients', 'rotate-secret', pub.clientId], database)).code, 1, 'a public client has no secret');
  const types = (await server.deps.storage.securityEvents.list({ limit: 100 })).map((e) => e.type).reverse();
  assert.deepEqual(
    types.filter((t) => t !== 'client_auth.failed'),
    ['client.secret_rotated', 'admin.client_disabled', 'admin.client_enabled'],
  );
});
