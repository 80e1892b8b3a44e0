// KP-01: private signing keys sealed at rest under the key-encryption key; start refused without it;
// plaintext keys sealed at start; `gatehouse keys rewrap` for a new key-encryption key; the warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/config.js';
import { AtRest } from '../src/oauth/at-rest.js';
import { keyPolicy, rotateKeys } from '../src/oauth/keys/rotation.js';
import { SUPPORTED_SIGNING_ALGS } from '../src/oauth/keys/key-store.js';
import { createGatehouse } from '../src/server.js';
import { openStorage } from '../src/storage/index.js';
import { ISSUER, nowSeconds } from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const keyA = randomBytes(32);
const keyB = randomBytes(32);
/** Private members of JWKs (RFC 7518 §6.2.2, §6.3.2, §6.4, OKP d): none may be readable at rest. */
const PRIVATE_MEMBER = /"(d|p|q|dp|dq|qi|k)"\s*:/;

function tempDb(t: { after(fn: () => void): void }): { url: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-kek-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'gatehouse.db');
  return { url: `sqlite:${file}`, file };
}

const configFor = (url: string) => loadConfig({ GATEHOUSE_DATABASE_URL: url, GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent' });

async function start(url: string, atRest: AtRest) {
  return createGatehouse(configFor(url), { atRest });
}

/** Every stored private_jwk, as the database holds it. */
async function storedPrivateJwks(url: string): Promise<{ kid: string; private_jwk: string }[]> {
  const storage = await openStorage(url);
  try {
    return await storage.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
  } finally {
    await storage.close();
  }
}

function fileText(file: string): string {
  return [file, `${file}-wal`]
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('\n');
}

test('KP-01 with a key-encryption key no private JWK member is readable in the database or its files', async (t) => {
  const { url, file } = tempDb(t);
  const atRest = AtRest.fromKeys(keyA);
  const first = await start(url, atRest);
  // A rotation creates more keys through the same repository.
  await rotateKeys(first.deps.storage, [...SUPPORTED_SIGNING_ALGS], keyPolicy(first.deps.config), nowSeconds(), { immediate: true });
  const signed = await first.app.inject({ method: 'GET', url: '/jwks' });
  assert.equal(signed.statusCode, 200);
  await first.close();
  const rows = await storedPrivateJwks(url);
  assert.equal(rows.length, 2 * SUPPORTED_SIGNING_ALGS.length);
  for (const row of rows) {
    assert.ok(atRest.isSealed(row.private_jwk), `${row.kid} is sealed`);
    assert.doesNotMatch(row.private_jwk, PRIVATE_MEMBER);
  }
  assert.doesNotMatch(fileText(file), PRIVATE_MEMBER);
  // The same key opens them again: a restarted server signs with the stored keys.
  const again = await start(url, AtRest.fromKeys(keyA));
  t.after(() => again.close());
  assert.deepEqual(
    again.deps.keys
      .list()
      .map((k) => k.kid)
      .sort(),
    rows.map((r) => r.kid).sort(),
  );
  assert.ok(again.deps.keys.signingKey('ES256'));
});

test('KP-01 a server refuses to start on sealed keys without the key-encryption key, or with another one', async (t) => {
  const { url } = tempDb(t);
  await (await start(url, AtRest.fromKeys(keyA))).close();
  await assert.rejects(start(url, new AtRest()), /sealed under key-encryption key .* is not configured/);
  await assert.rejects(start(url, AtRest.fromKeys(keyB)), /sealed under key-encryption key .* is not the one configured/);
  // Nothing was changed by the refused starts: the right key still opens every key.
  const ok = await start(url, AtRest.fromKeys(keyA));
  await ok.close();
});

test('KP-01 plaintext keys of an existing database are sealed at the next start with a key-encryption key', async (t) => {
  const { url } = tempDb(t);
  await (await start(url, new AtRest())).close();
  const before = await storedPrivateJwks(url);
  assert.ok(
    before.every((r) => PRIVATE_MEMBER.test(r.private_jwk)),
    'without a key they are plaintext (the warned default)',
  );
  const sealing = await start(url, AtRest.fromKeys(keyA));
  const kidsLoaded = sealing.deps.keys.list().map((k) => k.kid);
  await sealing.close();
  const after = await storedPrivateJwks(url);
  assert.deepEqual(
    after.map((r) => r.kid),
    before.map((r) => r.kid),
  );
  assert.ok(after.every((r) => AtRest.fromKeys(keyA).isSealed(r.private_jwk) && !PRIVATE_MEMBER.test(r.private_jwk)));
  assert.deepEqual(kidsLoaded.sort(), before.map((r) => r.kid).sort());
});

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_')) clean[k] = v;
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('KP-01 keys rewrap re-seals every key under a new key-encryption key; then the old key alone is refused', async (t) => {
  const { url } = tempDb(t);
  await (await start(url, AtRest.fromKeys(keyA))).close();
  const before = await storedPrivateJwks(url);
  // Without the previous key the command cannot open what keyA sealed, and changes nothing.
  const refused = await run(['keys', 'rewrap', '--database', url, '--json'], { GATEHOUSE_KEY_ENCRYPTION_KEY: keyB.toString('base64') });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS/);
  assert.deepEqual(await storedPrivateJwks(url), before);
  const r = await run(['keys', 'rewrap', '--database', url, '--json'], {
    GATEHOUSE_KEY_ENCRYPTION_KEY: keyB.toString('base64'),
    GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS: keyA.toString('base64url'),
  });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { total: number; resealed: number; kek: string };
  assert.deepEqual(report, {
    total: before.length,
    resealed: before.length,
    dpop_nonce_keys: { total: 0, resealed: 0 },
    kek: AtRest.fromKeys(keyB).kid,
  });
  const after = await storedPrivateJwks(url);
  assert.ok(after.every((row) => AtRest.fromKeys(keyB).sealedBy(row.private_jwk) === AtRest.fromKeys(keyB).kid));
  await assert.rejects(start(url, AtRest.fromKeys(keyA)), /not the one configured/);
  const withNew = await start(url, AtRest.fromKeys(keyB));
  t.after(() => withNew.close());
  assert.deepEqual(
    withNew.deps.keys
      .list()
      .map((k) => k.kid)
      .sort(),
    before.map((b) => b.kid).sort(),
  );
  // A second run has nothing left to do.
  const again = await run(['keys', 'rewrap', '--database', url, '--json'], { GATEHOUSE_KEY_ENCRYPTION_KEY: keyB.toString('base64') });
  assert.equal((JSON.parse(again.stdout) as { resealed: number }).resealed, 0);
});

/** The stored DPoP nonce key row, as the database holds it. */
async function storedNonceKey(url: string): Promise<string | undefined> {
  const storage = await openStorage(url);
  try {
    return (await storage.db.selectFrom('dpop_nonce_keys').select('secret').executeTakeFirst())?.secret;
  } finally {
    await storage.close();
  }
}

test('KP-01 the DPoP nonce key is sealed at rest: new ones, plaintext ones at the next start, and by keys rewrap', async (t) => {
  const secret = randomBytes(32).toString('base64url');
  // Stored before a key-encryption key was configured: plaintext.
  const { url } = tempDb(t);
  const plain = await start(url, new AtRest());
  assert.equal(await plain.deps.storage.dpopNonceKeys.getOrCreate(secret, nowSeconds()), secret);
  await plain.close();
  assert.equal(await storedNonceKey(url), secret);
  // The next start with a key seals it; the server still reads the same secret.
  const sealing = await start(url, AtRest.fromKeys(keyA));
  const sealed = await storedNonceKey(url);
  assert.ok(sealed !== undefined && AtRest.fromKeys(keyA).sealedBy(sealed) === AtRest.fromKeys(keyA).kid, sealed);
  assert.ok(!sealed.includes(secret));
  assert.equal(await sealing.deps.storage.dpopNonceKeys.getOrCreate('another candidate', nowSeconds()), secret);
  await sealing.close();
  // Without the key that sealed it, a server refuses to start (as for signing keys).
  await assert.rejects(start(url, AtRest.fromKeys(keyB)), /not the one configured/);
  // keys rewrap re-seals it under the new key.
  const r = await run(['keys', 'rewrap', '--database', url, '--json'], {
    GATEHOUSE_KEY_ENCRYPTION_KEY: keyB.toString('base64'),
    GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS: keyA.toString('base64url'),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { dpop_nonce_keys: unknown }).dpop_nonce_keys, { total: 1, resealed: 1 });
  const rewrapped = await storedNonceKey(url);
  assert.equal(AtRest.fromKeys(keyB).sealedBy(rewrapped!), AtRest.fromKeys(keyB).kid);
  const withNew = await start(url, AtRest.fromKeys(keyB));
  t.after(() => withNew.close());
  assert.equal(await withNew.deps.storage.dpopNonceKeys.getOrCreate('yet another', nowSeconds()), secret);
  // A nonce key created under a key-encryption key is sealed from the start.
  const fresh = tempDb(t);
  const created = await start(fresh.url, AtRest.fromKeys(keyA));
  await created.deps.storage.dpopNonceKeys.getOrCreate(secret, nowSeconds());
  await created.close();
  assert.ok(AtRest.fromKeys(keyA).isSealed((await storedNonceKey(fresh.url))!));
});

test('KP-01 a server without a key-encryption key warns once at start; with one it does not', async (t) => {
  const { url } = tempDb(t);
  for (const [atRest, expected] of [
    [new AtRest(), 1],
    [AtRest.fromKeys(keyA), 0],
  ] as const) {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    // A fresh database each time: the keyless start must not meet keys sealed by the other.
    const db = expected === 1 ? url : tempDb(t).url;
    const g = await createGatehouse(configFor(db), { atRest, logger: { level: 'warn', stream } });
    await g.close();
    const warnings = lines.filter((l) => /NO KEY-ENCRYPTION KEY/.test(l) && (JSON.parse(l) as { level: number }).level === 40);
    assert.equal(warnings.length, expected, lines.join(''));
  }
});
