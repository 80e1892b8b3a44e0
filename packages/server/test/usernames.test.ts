// UN-01: usernames are canonical (NFKC + lower case) on create, lookup, sign-in and the login throttle,
// unique in that form; migration 0013_canonical_usernames refuses existing collisions, naming them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { migrate } from '../src/storage/database.js';
import { migrations } from '../src/storage/migrations.js';
import { canonicalUsername, isUniqueViolation, openStorage } from '../src/storage/index.js';
import { Browser, getCode, nowSeconds, pkce, postAs, setupWithClientAndUser, startInteraction } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

function run(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) env[k] = v;
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

function tempDb(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-un-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return `sqlite:${join(dir, 'gatehouse.db')}`;
}

const userRow = (id: string, username: string) => {
  const now = nowSeconds();
  return { id, username, passwordHash: 'x', email: null, name: null, claims: {}, disabled: false, createdAt: now, updatedAt: now };
};

test('UN-01 the canonical form is NFKC then lower case', () => {
  assert.equal(canonicalUsername('Alice'), 'alice');
  assert.equal(canonicalUsername('ＡＬＩＣＥ'), 'alice'); // full-width letters
  assert.equal(canonicalUsername('ﬁona'), 'fiona'); // the fi ligature
  assert.equal(canonicalUsername('bob'), 'bob');
});

test('UN-01 Alice after alice is refused, by the CLI and by the unique index', async (t) => {
  const db = tempDb(t);
  const first = await run(
    ['users', 'create', '--username', 'alice', '--password-stdin', '--database', db, '--json'],
    'correct horse battery',
  );
  assert.equal(first.code, 0, first.stderr);
  const second = await run(['users', 'create', '--username', 'Alice', '--password-stdin', '--database', db, '--json'], 'another password');
  assert.equal(second.code, 1);
  assert.match(second.stderr, /already exists/);
  const mixed = await run(
    ['users', 'create', '--username', 'Bob', '--password-stdin', '--database', db, '--json'],
    'correct horse battery',
  );
  assert.equal(mixed.code, 0, mixed.stderr);
  const storage = await openStorage(db);
  t.after(() => storage.close());
  const users = await storage.users.list();
  assert.deepEqual(users.map((u) => u.username).sort(), ['alice', 'bob'], 'the CLI stores the canonical form');
  // Below the CLI's check, the database itself refuses a second user of the same canonical name.
  await assert.rejects(storage.users.create(userRow('u-2', 'ALICE')), (e) => isUniqueViolation(e));
  assert.equal((await storage.users.findByUsername('ＡＬＩＣＥ'))?.username, 'alice');
});

test('UN-01 sign-in as ALICE works for alice', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const { code } = await getCode(
    server,
    new Browser(server.app),
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid' },
    { username: 'ALICE', password: user.password },
  );
  assert.ok(code.length > 0);
});

test('UN-01 the login throttle counts failures under ＡＬＩＣＥ and Alice against alice', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t, { GATEHOUSE_LOGIN_MAX_FAILURES: '2' });
  const browser = new Browser(server.app);
  const { form } = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: client.redirectUri,
    challenge: pkce().challenge,
  });
  await postAs(server.app, browser, form.action, { ...form.fields, username: 'ＡＬＩＣＥ', password: 'x1' }, { remoteAddress: '10.9.0.1' });
  await postAs(server.app, browser, form.action, { ...form.fields, username: 'Alice', password: 'x2' }, { remoteAddress: '10.9.0.2' });
  const locked = await postAs(
    server.app,
    browser,
    form.action,
    { ...form.fields, username: user.username, password: user.password },
    { remoteAddress: '10.9.0.3' },
  );
  assert.equal(locked.statusCode, 429);
});

test('UN-01 migration 0013 refuses colliding usernames, naming them and changing nothing; once fixed it fills the canonical column', async (t) => {
  const db = tempDb(t);
  const storage = await openStorage(db);
  t.after(() => storage.close());
  // Back to the schema before 0013, with two users that the old schema allowed.
  await migrations['0013_canonical_usernames']!.down!(storage.db);
  await sql`delete from gatehouse_migrations where name = '0013_canonical_usernames'`.execute(storage.db);
  const now = nowSeconds();
  for (const [id, username] of [
    ['u-1', 'alice'],
    ['u-2', 'Alice'],
    ['u-3', 'carol'],
  ]) {
    await sql`insert into users (id, username, password_hash, claims, disabled, created_at, updated_at)
              values (${id}, ${username}, 'x', '{}', 0, ${now}, ${now})`.execute(storage.db);
  }
  await assert.rejects(migrate(storage.db), (e: Error) => {
    assert.match(e.message, /0013_canonical_usernames/);
    assert.match(e.message, /"Alice" \(id u-2\)/);
    assert.match(e.message, /"alice" \(id u-1\)/);
    assert.doesNotMatch(e.message, /carol/);
    return true;
  });
  const columns = await sql<{ name: string }>`select name from pragma_table_info('users')`.execute(storage.db);
  assert.ok(!columns.rows.some((c) => c.name === 'username_canonical'), 'nothing was changed');
  await sql`update users set username = 'alice-2' where id = 'u-2'`.execute(storage.db);
  await migrate(storage.db);
  const filled = await sql<{ id: string; username_canonical: string }>`select id, username_canonical from users order by id`.execute(
    storage.db,
  );
  assert.deepEqual(filled.rows, [
    { id: 'u-1', username_canonical: 'alice' },
    { id: 'u-2', username_canonical: 'alice-2' },
    { id: 'u-3', username_canonical: 'carol' },
  ]);
});
