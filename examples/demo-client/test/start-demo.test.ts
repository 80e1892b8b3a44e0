// scripts/start-demo.mjs registers the demo user and client idempotently with the real
// `gatehouse` CLI (needs packages/server built, as `npm test` does).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../../..');

interface RegisteredClient {
  client_id: string;
  client_secret: string;
  client_name: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  scope: string;
  grant_types: string[];
  token_endpoint_auth_method: string;
}
interface StartDemoModule {
  DEMO_USER: { username: string; password: string; email: string; name: string };
  ensureUser(user: { username: string; password: string; email?: string; name?: string }, database: string): Promise<boolean>;
  ensureClient(options: {
    redirectUri: string;
    postLogoutRedirectUri?: string;
    credentialsFile: string;
    database: string;
  }): Promise<{ client: RegisteredClient; created: boolean }>;
  runGatehouse(args: string[], options?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function load(t: TestContext) {
  const mod = (await import(pathToFileURL(join(ROOT, 'scripts/start-demo.mjs')).href)) as StartDemoModule;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-start-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { mod, dir, database: `sqlite:${join(dir, 'gatehouse.db')}` };
}

async function listJson<T>(mod: StartDemoModule, what: 'users' | 'clients', database: string): Promise<T[]> {
  const result = await mod.runGatehouse([what, 'list', '--database', database, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T[];
}

test('the demo user is created once; a second run keeps it', { timeout: 120_000 }, async (t) => {
  const { mod, database } = await load(t);
  assert.equal(await mod.ensureUser(mod.DEMO_USER, database), true);
  assert.equal(await mod.ensureUser(mod.DEMO_USER, database), false);
  const users = await listJson<{ username: string; email: string; name: string }>(mod, 'users', database);
  assert.deepEqual(
    users.map((u) => [u.username, u.email, u.name]),
    [[mod.DEMO_USER.username, mod.DEMO_USER.email, mod.DEMO_USER.name]],
  );
});

test('the demo client is registered once and its secret kept in a private file', { timeout: 120_000 }, async (t) => {
  const { mod, dir, database } = await load(t);
  const credentialsFile = join(dir, 'demo-client.json');
  const redirectUri = 'http://127.0.0.1:8080/callback';
  const postLogoutRedirectUri = 'http://127.0.0.1:8080/signed-out';
  const first = await mod.ensureClient({ redirectUri, postLogoutRedirectUri, credentialsFile, database });
  assert.equal(first.created, true);
  assert.equal(first.client.client_name, 'Photo Printer');
  assert.deepEqual(first.client.redirect_uris, [redirectUri]);
  assert.deepEqual(first.client.post_logout_redirect_uris, [postLogoutRedirectUri]);
  assert.deepEqual(first.client.grant_types, ['authorization_code', 'refresh_token']);
  assert.equal(first.client.scope, 'openid profile email offline_access photos:read photos:write');
  assert.equal(first.client.token_endpoint_auth_method, 'client_secret_basic');
  assert.ok(first.client.client_secret);
  assert.equal(statSync(credentialsFile).mode & 0o777, 0o600);

  const second = await mod.ensureClient({ redirectUri, postLogoutRedirectUri, credentialsFile, database });
  assert.equal(second.created, false);
  assert.equal(second.client.client_id, first.client.client_id);
  assert.equal((await listJson(mod, 'clients', database)).length, 1);
});

test('without its credentials file the demo client is replaced, never duplicated', { timeout: 120_000 }, async (t) => {
  const { mod, dir, database } = await load(t);
  const credentialsFile = join(dir, 'demo-client.json');
  const redirectUri = 'http://127.0.0.1:8080/callback';
  const first = await mod.ensureClient({ redirectUri, credentialsFile, database });
  unlinkSync(credentialsFile);
  const again = await mod.ensureClient({ redirectUri, credentialsFile, database });
  assert.equal(again.created, true);
  assert.notEqual(again.client.client_id, first.client.client_id);
  const clients = await listJson<{ client_id: string; client_name: string }>(mod, 'clients', database);
  assert.deepEqual(
    clients.map((c) => c.client_id),
    [again.client.client_id],
  );
});

test('a different redirect URI (another port) registers the client again', { timeout: 120_000 }, async (t) => {
  const { mod, dir, database } = await load(t);
  const credentialsFile = join(dir, 'demo-client.json');
  await mod.ensureClient({ redirectUri: 'http://127.0.0.1:8080/callback', credentialsFile, database });
  const moved = await mod.ensureClient({ redirectUri: 'http://127.0.0.1:8081/callback', credentialsFile, database });
  assert.equal(moved.created, true);
  assert.deepEqual(moved.client.redirect_uris, ['http://127.0.0.1:8081/callback']);
  assert.equal((await listJson(mod, 'clients', database)).length, 1);
});
