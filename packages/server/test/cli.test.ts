// The `gatehouse` command (CONTRACT.md): users, clients, serve; RU-06 at registration, TL-01, CR-02, CR-04.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../src/storage/index.js';
import { sha256 } from '../src/oauth/crypto.js';
import { RU06_UNSAFE } from './cases.js';

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
  return env;
}

function run(args: string[], input?: string, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gatehouse ${args.join(' ')} timed out; stdout=${stdout} stderr=${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

function tempDb(t: { after(fn: () => void): void }): { db: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, db: `sqlite:${join(dir, 'gatehouse.db')}` };
}

const json = <T>(r: Run): T => {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

test('users create reads the password from stdin and prints id and username as JSON', async (t) => {
  const { db } = tempDb(t);
  const r = await run(
    [
      'users',
      'create',
      '--username',
      'alice',
      '--password-stdin',
      '--email',
      'alice@example.com',
      '--name',
      'Alice A',
      '--database',
      db,
      '--json',
    ],
    'correct horse battery\n',
  );
  const user = json<{ id: string; username: string }>(r);
  assert.equal(user.username, 'alice');
  assert.equal(typeof user.id, 'string');
  assert.ok(user.id.length > 0);
  assert.ok(!r.stdout.includes('correct horse battery'), 'the password is not echoed');
  const list = json<{ id: string; username: string }[]>(await run(['users', 'list', '--database', db, '--json']));
  assert.deepEqual(
    list.map((u) => [u.id, u.username]),
    [[user.id, 'alice']],
  );
});

test('CR-04 a user created by the CLI has an argon2id m=19456,t=2,p=1 hash of exactly the stdin password', async (t) => {
  const { db } = tempDb(t);
  json(await run(['users', 'create', '--username', 'bob', '--password-stdin', '--database', db, '--json'], 'pa ss wo rd with spaces\n'));
  const storage = await openStorage(db);
  try {
    const row = await storage.users.findByUsername('bob');
    assert.match(row!.passwordHash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const { verify } = await import('@node-rs/argon2');
    assert.equal(await verify(row!.passwordHash, 'pa ss wo rd with spaces'), true, 'the trailing newline is stripped, inner spaces kept');
  } finally {
    await storage.close();
  }
});

test('users create with a duplicate username exits non-zero with a message naming the user', async (t) => {
  const { db } = tempDb(t);
  json(await run(['users', 'create', '--username', 'alice', '--password-stdin', '--database', db, '--json'], 'password one\n'));
  const dup = await run(['users', 'create', '--username', 'alice', '--password-stdin', '--database', db, '--json'], 'password two\n');
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /alice/);
  assert.equal(dup.stdout.trim(), '');
  assert.equal(json<unknown[]>(await run(['users', 'list', '--database', db, '--json'])).length, 1);
});

test('users create refuses a missing --password-stdin, an empty or short password, or a bad username', async (t) => {
  const { db } = tempDb(t);
  for (const [args, input] of [
    [['users', 'create', '--username', 'carol', '--database', db], 'password long enough\n'],
    [['users', 'create', '--username', 'carol', '--password-stdin', '--database', db], ''],
    [['users', 'create', '--username', 'carol', '--password-stdin', '--database', db], 'short\n'],
    [['users', 'create', '--username', 'bad name<script>', '--password-stdin', '--database', db], 'password long enough\n'],
    [['users', 'create', '--password-stdin', '--database', db], 'password long enough\n'],
  ] as [string[], string][]) {
    const r = await run(args, input);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.ok(r.stderr.length > 0, 'a message on stderr');
  }
  assert.deepEqual(json<unknown[]>(await run(['users', 'list', '--database', db, '--json'])), []);
});

test('CR-02 clients create --json prints client_id and client_secret; the database keeps only the SHA-256 digest', async (t) => {
  const { db, dir } = tempDb(t);
  const created = json<{ client_id: string; client_secret: string; redirect_uris: string[]; token_endpoint_auth_method: string }>(
    await run([
      'clients',
      'create',
      '--name',
      'C1',
      '--redirect-uri',
      'https://c1.example/cb',
      '--scope',
      'openid profile photos:read',
      '--database',
      db,
      '--json',
    ]),
  );
  assert.match(created.client_id, /^[A-Za-z0-9_-]{16,}$/);
  assert.match(created.client_secret, /^[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(created.redirect_uris, ['https://c1.example/cb']);
  assert.equal(created.token_endpoint_auth_method, 'client_secret_basic');
  const storage = await openStorage(db);
  try {
    const row = await storage.clients.find(created.client_id);
    assert.ok(row);
    assert.equal(row.secretHash, sha256(created.client_secret));
    assert.deepEqual(row.scopes, ['openid', 'profile', 'photos:read']);
  } finally {
    await storage.close();
  }
  // no copy of the raw secret in any database file (main, WAL, SHM)
  for (const f of readdirSync(dir)) assert.ok(!readFileSync(join(dir, f)).includes(created.client_secret), `raw secret in ${f}`);
  // clients list shows the client but never its secret or digest
  const list = await run(['clients', 'list', '--database', db, '--json']);
  const clients = json<{ client_id: string }[]>(list);
  assert.deepEqual(
    clients.map((c) => c.client_id),
    [created.client_id],
  );
  assert.ok(!list.stdout.includes(created.client_secret));
  assert.ok(!list.stdout.includes(sha256(created.client_secret)));
});

test('clients create --public makes a client without a secret', async (t) => {
  const { db } = tempDb(t);
  const created = json<Record<string, unknown>>(
    await run([
      'clients',
      'create',
      '--name',
      'P1',
      '--redirect-uri',
      'https://p1.example/cb',
      '--redirect-uri',
      'http://127.0.0.1/cb',
      '--public',
      '--database',
      db,
      '--json',
    ]),
  );
  assert.equal(created.client_secret, undefined);
  assert.equal(created.token_endpoint_auth_method, 'none');
  assert.deepEqual(created.redirect_uris, ['https://p1.example/cb', 'http://127.0.0.1/cb']);
  const storage = await openStorage(db);
  try {
    assert.equal((await storage.clients.find(String(created.client_id)))!.secretHash, null);
  } finally {
    await storage.close();
  }
});

test('clients create refuses client_credentials for a public client, unknown grant types or methods, bad scopes and a missing redirect URI', async (t) => {
  const { db } = tempDb(t);
  for (const extra of [
    ['--redirect-uri', 'https://x.example/cb', '--public', '--grant-types', 'authorization_code,client_credentials'],
    ['--redirect-uri', 'https://x.example/cb', '--grant-types', 'password'],
    ['--redirect-uri', 'https://x.example/cb', '--auth-method', 'bogus'],
    ['--redirect-uri', 'https://x.example/cb', '--scope', 'openid "quoted"'],
    [], // the authorization_code grant needs a redirect URI
  ]) {
    const r = await run(['clients', 'create', '--name', 'X', ...extra, '--database', db, '--json']);
    assert.notEqual(r.code, 0, extra.join(' '));
  }
  assert.deepEqual(json<unknown[]>(await run(['clients', 'list', '--database', db, '--json'])), []);
});

test('clients delete removes a client; deleting an unknown one exits non-zero', async (t) => {
  const { db } = tempDb(t);
  const a = json<{ client_id: string }>(
    await run(['clients', 'create', '--name', 'A', '--redirect-uri', 'https://a.example/cb', '--database', db, '--json']),
  );
  const b = json<{ client_id: string }>(
    await run(['clients', 'create', '--name', 'B', '--redirect-uri', 'https://b.example/cb', '--database', db, '--json']),
  );
  const del = await run(['clients', 'delete', a.client_id, '--database', db]);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(
    json<{ client_id: string }[]>(await run(['clients', 'list', '--database', db, '--json'])).map((c) => c.client_id),
    [b.client_id],
  );
  const again = await run(['clients', 'delete', a.client_id, '--database', db]);
  assert.notEqual(again.code, 0);
  assert.notEqual((await run(['clients', 'delete', '--database', db])).code, 0, 'no id');
});

test('RU-06 clients create rejects unsafe redirect URIs with a non-zero exit and creates nothing', async (t) => {
  const { db } = tempDb(t);
  for (const [name, uri] of RU06_UNSAFE) {
    await t.test(`${name}: ${uri}`, async () => {
      const r = await run([
        'clients',
        'create',
        '--name',
        'Bad',
        '--redirect-uri',
        'https://ok.example/cb',
        '--redirect-uri',
        uri,
        '--database',
        db,
        '--json',
      ]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /invalid_redirect_uri/);
      assert.equal(r.stdout.trim(), '', 'no client printed');
    });
  }
  assert.deepEqual(json<unknown[]>(await run(['clients', 'list', '--database', db, '--json'])), [], 'no client was created');
});

test('--help on every command exits 0 and prints usage', async (t) => {
  for (const args of [
    ['--help'],
    ['-h'],
    ['serve', '--help'],
    ['users', '--help'],
    ['users', 'create', '--help'],
    ['users', 'list', '--help'],
    ['clients', '--help'],
    ['clients', 'create', '--help'],
    ['clients', 'list', '--help'],
    ['clients', 'delete', '--help'],
  ]) {
    await t.test(args.join(' '), async () => {
      const r = await run(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /gatehouse/);
      assert.match(r.stdout, /--/);
    });
  }
});

test('bad flags, unknown commands and missing arguments exit non-zero with a message', async (t) => {
  const { db } = tempDb(t);
  for (const args of [
    ['bogus'],
    ['users', 'bogus'],
    ['clients', 'bogus'],
    ['users', 'list', '--bogus'],
    ['clients', 'list', '--database', db, '--nope'],
    ['clients', 'create', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--frobnicate', '--database', db],
    ['clients', 'create', '--redirect-uri', 'https://x.example/cb', '--database', db],
    ['serve', '--frobnicate'],
    ['serve', 'extra-positional'],
    ['serve', '--port', 'abc', '--database', db],
    ['serve', '--code-ttl', '0', '--database', db],
    [],
  ]) {
    await t.test(args.join(' ') || '(no arguments)', async () => {
      const r = await run(args, undefined, 15_000);
      assert.notEqual(r.code, 0);
      assert.equal(r.signal, null, 'it exited by itself');
      assert.ok(r.stderr.length > 0 || r.stdout.length > 0, 'it says why');
    });
  }
  assert.deepEqual(json<unknown[]>(await run(['clients', 'list', '--database', db, '--json'])), []);
});

test('TL-01 serve refuses a non-https, non-loopback issuer (and one with a query or fragment)', async (t) => {
  const { db } = tempDb(t);
  for (const issuer of ['http://example.com', 'http://as.example:9000', 'https://as.example?x=1', 'https://as.example#f']) {
    await t.test(issuer, async () => {
      const r = await run(['serve', '--issuer', issuer, '--port', '0', '--database', db], undefined, 15_000);
      assert.notEqual(r.code, 0);
      assert.equal(r.signal, null);
      assert.doesNotMatch(r.stdout, /listening on/);
      assert.match(r.stderr, /issuer/i);
    });
  }
});

interface Served {
  url: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

function serve(args: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
      child.on('close', (code, signal) => r({ code, signal })),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not print "listening on" in time; stdout=${stdout} stderr=${stderr}`));
    }, 20_000);
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.stdout.on('data', (d) => {
      stdout += String(d);
      const m = /^listening on (\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, exit, kill: (s) => child.kill(s) });
      }
    });
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening; stdout=${stdout} stderr=${stderr}`));
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test('serve prints "listening on URL", answers there, and exits 0 on SIGTERM', async (t) => {
  const { db } = tempDb(t);
  const port = await freePort();
  const s = await serve(['--port', String(port), '--database', db]);
  t.after(() => s.kill('SIGKILL'));
  assert.equal(s.url, `http://127.0.0.1:${port}`);
  const res = await fetch(`${s.url}/.well-known/oauth-authorization-server`);
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { issuer: string }).issuer, s.url);
  s.kill('SIGTERM');
  assert.deepEqual(await s.exit, { code: 0, signal: null });
});

test('serve on port 0 prints "listening on URL" with the port it really listens on, and exits 0 on SIGTERM', async (t) => {
  const { db } = tempDb(t);
  const s = await serve(['--port', '0', '--database', db]);
  t.after(() => s.kill('SIGKILL'));
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(s.url).port, '0', `the printed URL ${s.url} must be reachable`);
    const res = await fetch(`${s.url}/.well-known/oauth-authorization-server`);
    assert.equal(res.status, 200);
  } finally {
    s.kill('SIGTERM');
    assert.deepEqual(await s.exit, { code: 0, signal: null });
  }
});

test('serve applies migrations itself, a client created by the CLI works against it, and SIGINT exits 0', async (t) => {
  const { db } = tempDb(t);
  const port = await freePort();
  const c = json<{ client_id: string; client_secret: string }>(
    await run([
      'clients',
      'create',
      '--name',
      'svc',
      '--redirect-uri',
      'https://svc.example/cb',
      '--grant-types',
      'client_credentials',
      '--scope',
      'photos:read',
      '--default-scope',
      'photos:read',
      '--database',
      db,
      '--json',
    ]),
  );
  const s = await serve(['--port', String(port), '--database', db]);
  t.after(() => s.kill('SIGKILL'));
  const res = await fetch(`${s.url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(((await res.json()) as { scope: string }).scope, 'photos:read');
  s.kill('SIGINT');
  assert.deepEqual(await s.exit, { code: 0, signal: null }, 'SIGINT exits cleanly too');
});

test('clients delete and keys retire accept ids that start with "-" (base64url ids and thumbprints can)', async () => {
  const { spawnSync } = await import('node:child_process');
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openStorage } = await import('../src/storage/index.js');
  const { dashSafePositionals } = await import('../src/cli/common.js');
  const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'gh-dash-')), 'g.db')}`;
  const storage = await openStorage(db);
  await storage.clients.create({
    clientId: '-D1a0-GWZp-L9M8pvgzBew',
    secretHash: null,
    clientName: 'dash',
    redirectUris: ['https://c1.example/cb'],
    grantTypes: ['authorization_code'],
    scopes: ['openid'],
    authMethod: 'none',
    isPublic: true,
    metadata: {},
    createdAt: 1,
  });
  await storage.close();
  const bin = new URL('../../bin/gatehouse.js', import.meta.url).pathname;
  const res = spawnSync(process.execPath, [bin, 'clients', 'delete', '-D1a0-GWZp-L9M8pvgzBew', '--database', db], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  const check = await openStorage(db);
  assert.equal(await check.clients.find('-D1a0-GWZp-L9M8pvgzBew'), undefined);
  await check.close();
  assert.deepEqual(dashSafePositionals(['-abc', '--json', '-h']), ['--json', '-h', '--', '-abc']);
  assert.deepEqual(dashSafePositionals(['--database', 'x', '--', '-k']), ['--database', 'x', '--', '-k']);
});

test('resources create, list, update and delete work as CONTRACT.md writes them, and print the introspection credentials once', async (t) => {
  const { db } = tempDb(t);
  const created = json<{
    uri: string;
    name: string;
    scope: string;
    scope_descriptions: Record<string, string>;
    introspection_credentials: { client_id: string; client_secret: string };
  }>(
    await run([
      'resources',
      'create',
      '--uri',
      'https://orders.example/api',
      '--scope',
      'api:read api:write',
      '--name',
      'Orders',
      '--scope-description',
      'api:read=Read your orders',
      '--scope-description',
      'api:write=Place orders for you',
      '--database',
      db,
      '--json',
    ]),
  );
  assert.equal(created.uri, 'https://orders.example/api');
  assert.equal(created.scope, 'api:read api:write');
  assert.deepEqual(created.scope_descriptions, { 'api:read': 'Read your orders', 'api:write': 'Place orders for you' });
  assert.match(created.introspection_credentials.client_secret, /^[A-Za-z0-9_-]{43}$/);
  const list = json<Record<string, unknown>[]>(await run(['resources', 'list', '--database', db, '--json']));
  assert.equal(list.length, 1);
  assert.ok(!JSON.stringify(list).includes(created.introspection_credentials.client_secret), 'the secret is shown only once');
  const storage = await openStorage(db);
  const holder = await storage.clients.find(created.introspection_credentials.client_id);
  await storage.close();
  assert.equal(holder?.secretHash, sha256(created.introspection_credentials.client_secret), 'only the digest is stored');
  const updated = json<{ name: string; scope_descriptions: Record<string, string> }>(
    await run([
      'resources',
      'update',
      'https://orders.example/api',
      '--name',
      'Order desk',
      '--scope-description',
      'api:read=See your orders',
      '--database',
      db,
      '--json',
    ]),
  );
  assert.equal(updated.name, 'Order desk');
  assert.equal(updated.scope_descriptions['api:read'], 'See your orders');
  assert.equal((await run(['resources', 'delete', 'https://orders.example/api', '--database', db])).code, 0);
  assert.deepEqual(json<unknown[]>(await run(['resources', 'list', '--database', db, '--json'])), []);
  const again = await run(['resources', 'delete', 'https://orders.example/api', '--database', db]);
  assert.equal(again.code, 1);
});

test('AU-02 resources create refuses a fragment, a relative URI and a duplicate with a message and a non-zero exit', async (t) => {
  const { db } = tempDb(t);
  for (const uri of ['https://orders.example/api#x', '/api']) {
    const r = await run(['resources', 'create', '--uri', uri, '--scope', 'a', '--database', db]);
    assert.notEqual(r.code, 0, uri);
    assert.match(r.stderr, /invalid_target/);
  }
  assert.equal((await run(['resources', 'create', '--uri', 'https://orders.example/api', '--database', db])).code, 0);
  const dup = await run(['resources', 'create', '--uri', 'https://orders.example/api', '--database', db]);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /already registered/);
});

test('PJ-01 clients create --auth-method private_key_jwt with --jwks-file PATH or --jwks JSON: no client_secret, and the client authenticates against serve', async (t) => {
  const { db, dir } = tempDb(t);
  const { exportJWK, generateKeyPair, SignJWT } = await import('jose');
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'cli-1' }] };
  const { writeFileSync } = await import('node:fs');
  const file = join(dir, 'client.jwks.json');
  writeFileSync(file, JSON.stringify(jwks));
  const base = [
    'clients',
    'create',
    '--redirect-uri',
    'https://svc.example/cb',
    '--grant-types',
    'client_credentials',
    '--scope',
    'photos:read',
    '--auth-method',
    'private_key_jwt',
  ];
  const fromFile = json<Record<string, unknown>>(await run([...base, '--name', 'file', '--jwks-file', file, '--database', db, '--json']));
  const inline = json<Record<string, unknown>>(
    await run([...base, '--name', 'inline', '--jwks', JSON.stringify(jwks), '--require-par', '--dpop-bound', '--database', db, '--json']),
  );
  for (const created of [fromFile, inline]) {
    assert.equal(created.client_secret, undefined, 'a private_key_jwt client gets no client_secret');
    assert.equal(created.token_endpoint_auth_method, 'private_key_jwt');
    assert.deepEqual(
      (created.jwks as { keys: { kid: string }[] }).keys.map((k) => k.kid),
      ['cli-1'],
    );
  }
  assert.equal(inline.require_pushed_authorization_requests, true);
  assert.equal(inline.dpop_bound_access_tokens, true, '--dpop-bound registers dpop_bound_access_tokens');
  assert.equal(fromFile.dpop_bound_access_tokens, undefined);
  const text = await run([...base, '--name', 'text', '--jwks-file', file, '--database', db]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /private_key_jwt \(no secret\)/);
  assert.doesNotMatch(text.stdout, /client_secret:/);

  const port = await freePort();
  const s = await serve(['--port', String(port), '--database', db]);
  t.after(() => s.kill('SIGKILL'));
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({
    iss: String(fromFile.client_id),
    sub: String(fromFile.client_id),
    aud: s.url,
    jti: `cli-${now}`,
    iat: now,
    exp: now + 60,
  })
    .setProtectedHeader({ alg: 'ES256', kid: 'cli-1' })
    .sign(pair.privateKey);
  const token = (a: string) =>
    fetch(`${s.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: a,
      }),
    });
  const res = await token(assertion);
  assert.equal(res.status, 200, await res.clone().text());
  const replay = await token(assertion);
  assert.equal(replay.status, 401);
  assert.equal(((await replay.json()) as { error: string }).error, 'invalid_client');
  s.kill('SIGTERM');
  assert.deepEqual(await s.exit, { code: 0, signal: null });
});

test('clients create refuses private_key_jwt without keys, private or symmetric keys, two key flags, bad JSON, and keys for another method', async (t) => {
  const { db, dir } = tempDb(t);
  const { exportJWK, generateKeyPair } = await import('jose');
  const pair = await generateKeyPair('ES256', { extractable: true });
  const pub = JSON.stringify({ keys: [await exportJWK(pair.publicKey)] });
  const base = ['clients', 'create', '--name', 'X', '--redirect-uri', 'https://x.example/cb', '--database', db];
  const cases: [string[], RegExp][] = [
    [['--auth-method', 'private_key_jwt'], /jwks or jwks_uri/],
    [['--auth-method', 'private_key_jwt', '--jwks', JSON.stringify({ keys: [await exportJWK(pair.privateKey)] })], /private key material/],
    [['--auth-method', 'private_key_jwt', '--jwks', '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}'], /kty must be RSA, EC or OKP/],
    [['--auth-method', 'private_key_jwt', '--jwks', pub, '--jwks-file', join(dir, 'x.json')], /only one of/],
    [['--auth-method', 'private_key_jwt', '--jwks', '{not json'], /not valid JSON/],
    [['--auth-method', 'private_key_jwt', '--jwks-file', join(dir, 'missing.json')], /cannot read --jwks-file/],
    [['--auth-method', 'private_key_jwt', '--jwks-uri', 'http://keys.example/jwks'], /https/],
    [['--jwks', pub], /only with token_endpoint_auth_method private_key_jwt/],
    [['--public', '--auth-method', 'private_key_jwt', '--jwks', pub], /public/],
  ];
  for (const [extra, message] of cases) {
    const r = await run([...base, ...extra]);
    assert.notEqual(r.code, 0, extra.join(' '));
    assert.match(r.stderr, message, extra.join(' '));
  }
  assert.deepEqual(json<unknown[]>(await run(['clients', 'list', '--database', db, '--json'])), []);
});
