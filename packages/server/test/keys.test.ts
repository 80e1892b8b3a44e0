// Signing keys: KR-01 (public JWKS), KR-02 / R5 (two-phase rotation with overlap), the automatic
// schedule, `keys retire`, and the `gatehouse keys` CLI. Time is driven through the pure functions of
// oauth/keys/rotation.ts with an explicit `now`; nothing sleeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config/config.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { KeyStore } from '../src/oauth/keys/key-store.js';
import {
  createNextKey,
  keyPolicy,
  KeyRotationError,
  PUBLISH_DELAY,
  retireKey,
  rotateKeys,
  runKeySchedule,
  type KeyPolicy,
} from '../src/oauth/keys/rotation.js';
import { JWKS_MAX_AGE } from '../src/oauth/keys/key-store.js';
import { openStorage } from '../src/storage/index.js';
import { Browser, getCode, startServer, tokenRequest, type TestServer } from './helpers.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];
const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

async function getJwks(app: FastifyInstance): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: 'GET', url: '/jwks' });
  assert.equal(res.statusCode, 200);
  return res.json() as JSONWebKeySet;
}

const kids = (jwks: JSONWebKeySet) => jwks.keys.map((k) => k.kid);

/** Signs in (first time: pages; later: silently) and redeems a code: an access token and an ID token. */
async function issueTokens(
  server: TestServer,
  browser: Browser,
  client: { clientId: string; clientSecret: string | undefined; redirectUri: string },
  user: { username: string; password: string },
) {
  const { code, verifier } = await getCode(
    server,
    browser,
    { clientId: client.clientId, redirectUri: client.redirectUri, scope: 'openid profile' },
    user,
  );
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { access_token: string; id_token: string };
  return { accessToken: body.access_token, idToken: body.id_token };
}

async function verifiesWith(jwks: JSONWebKeySet, token: string, issuer: string): Promise<boolean> {
  try {
    await jwtVerify(token, createLocalJWKSet(jwks), { issuer, currentDate: new Date() });
    return true;
  } catch {
    return false;
  }
}

async function userinfoStatus(app: FastifyInstance, accessToken: string): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${accessToken}` } });
  return res.statusCode;
}

test('KR-01: the JWKS holds public members only, each key with kid, use and alg, and a modest max-age', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const now = nowSeconds();
  await rotateKeys(server.deps.storage, ['ES256', 'RS256', 'EdDSA'], keyPolicy(server.config), now);
  await server.deps.keys.reload(now);
  const res = await server.app.inject({ method: 'GET', url: '/jwks' });
  const maxAge = Number(/max-age=(\d+)/.exec(String(res.headers['cache-control']))?.[1]);
  assert.ok(maxAge > 0 && maxAge <= 600, `max-age ${maxAge}`);
  const jwks = res.json() as JSONWebKeySet;
  assert.equal(jwks.keys.length, 6, 'three active keys and three next keys');
  for (const key of jwks.keys) {
    assert.ok(key.kid && key.use === 'sig' && key.alg, JSON.stringify(key));
    for (const member of PRIVATE_MEMBERS)
      assert.equal((key as Record<string, unknown>)[member], undefined, `private member ${member} in the JWKS`);
  }
});

test('KR-02, R5: a rotated key is published before it signs, old tokens verify through the overlap, and the old key leaves the JWKS only after remove_after', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage, keys } = server.deps;
  const policy = keyPolicy(server.config);
  assert.equal(policy.publishDelay, JWKS_MAX_AGE + 60 + 60); // JWKS cache, node reload, clock leeway (R4)
  const client = await server.createClient();
  const user = await server.createUser();
  const browser = new Browser(server.app);

  const before = await issueTokens(server, browser, client, user);
  const oldAccessKid = decodeProtectedHeader(before.accessToken).kid!;
  const oldIdKid = decodeProtectedHeader(before.idToken).kid!;
  const jwks0 = await getJwks(server.app);
  assert.ok(await verifiesWith(jwks0, before.accessToken, server.issuer));

  // Phase 1: the new keys are published, but tokens are still signed with the old ones.
  const t0 = nowSeconds();
  const started = await rotateKeys(storage, ['ES256', 'RS256'], policy, t0);
  assert.deepEqual(
    started.map((o) => o.action),
    ['created', 'created'],
  );
  await keys.reload(t0);
  const newAccessKid = started.find((o) => o.alg === 'ES256')!.kid;
  const newIdKid = started.find((o) => o.alg === 'RS256')!.kid;
  const jwks1 = await getJwks(server.app);
  assert.ok(kids(jwks1).includes(newAccessKid) && kids(jwks1).includes(newIdKid), 'the next keys are in the JWKS');
  assert.ok(kids(jwks1).includes(oldAccessKid) && kids(jwks1).includes(oldIdKid));
  const during = await issueTokens(server, browser, client, user);
  assert.equal(decodeProtectedHeader(during.accessToken).kid, oldAccessKid, 'a next key does not sign');
  assert.equal(decodeProtectedHeader(during.idToken).kid, oldIdKid);

  // Not yet: the JWKS max-age plus the reload interval has not passed.
  const early = await runKeySchedule(storage, policy, t0 + PUBLISH_DELAY - 1);
  assert.equal(early.promoted.length, 0);
  await keys.reload(t0 + PUBLISH_DELAY - 1);
  assert.equal(decodeProtectedHeader((await issueTokens(server, browser, client, user)).accessToken).kid, oldAccessKid);

  // Phase 2: promoted; new tokens carry the new kids; every earlier token still verifies.
  const t1 = t0 + PUBLISH_DELAY;
  const promoted = await runKeySchedule(storage, policy, t1);
  assert.deepEqual(promoted.promoted.map((k) => k.kid).sort(), [newAccessKid, newIdKid].sort());
  await keys.reload(t1);
  const after = await issueTokens(server, browser, client, user);
  assert.equal(decodeProtectedHeader(after.accessToken).kid, newAccessKid);
  assert.equal(decodeProtectedHeader(after.idToken).kid, newIdKid);
  const jwks2 = await getJwks(server.app);
  for (const token of [before.accessToken, before.idToken, during.accessToken, during.idToken, after.accessToken, after.idToken]) {
    assert.ok(await verifiesWith(jwks2, token, server.issuer), 'every token verifies with the JWKS during the overlap');
  }
  assert.equal(await userinfoStatus(server.app, before.accessToken), 200, 'an old-kid token still works at our own endpoints');

  const rows = await storage.signingKeys.list();
  const retired = rows.find((r) => r.kid === oldAccessKid)!;
  assert.equal(retired.status, 'retired');
  assert.equal(retired.removeAfter, t1 + Math.max(server.config.accessTokenTtl, server.config.idTokenTtl) + 300);
  assert.equal(rows.filter((r) => r.alg === 'ES256' && r.status === 'active').length, 1, 'one active key per algorithm');

  // The old keys stay published until remove_after, then vanish; their tokens stop verifying.
  await keys.reload(retired.removeAfter! - 1);
  assert.ok(kids(await getJwks(server.app)).includes(oldAccessKid));
  await keys.reload(retired.removeAfter!);
  const jwks3 = await getJwks(server.app);
  assert.ok(!kids(jwks3).includes(oldAccessKid) && !kids(jwks3).includes(oldIdKid), 'retired keys leave the JWKS after remove_after');
  assert.ok(kids(jwks3).includes(newAccessKid));
  assert.equal(await verifiesWith(jwks3, before.accessToken, server.issuer), false);
  assert.equal(await userinfoStatus(server.app, before.accessToken), 401, 'an old-kid token is refused once its key is gone');
  assert.equal(await userinfoStatus(server.app, after.accessToken), 200);
});

test('KR-02: promotion is one conditional update — two nodes racing end with one active key per algorithm', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage } = server.deps;
  const policy = keyPolicy(server.config);
  const t0 = nowSeconds();
  // Two nodes start a rotation at the same moment: only one next key survives.
  await Promise.all([createNextKey(storage, 'ES256', t0), createNextKey(storage, 'ES256', t0)]);
  assert.equal((await storage.signingKeys.list()).filter((r) => r.alg === 'ES256' && r.status === 'next').length, 1);
  // Two nodes run the schedule at the same moment: the key is promoted once.
  const [a, b] = await Promise.all([
    runKeySchedule(storage, policy, t0 + PUBLISH_DELAY),
    runKeySchedule(storage, policy, t0 + PUBLISH_DELAY),
  ]);
  assert.equal(a.promoted.length + b.promoted.length, 1);
  const es = (await storage.signingKeys.list()).filter((r) => r.alg === 'ES256');
  assert.equal(es.filter((r) => r.status === 'active').length, 1);
  assert.equal(es.filter((r) => r.status === 'retired').length, 1);
  // Nodes that reload agree on the signing key.
  const nodeA = new KeyStore(storage.signingKeys);
  const nodeB = new KeyStore(storage.signingKeys);
  await nodeA.reload(t0 + PUBLISH_DELAY);
  await nodeB.reload(t0 + PUBLISH_DELAY);
  assert.equal(nodeA.signingKey('ES256').kid, nodeB.signingKey('ES256').kid);
});

test('the automatic schedule starts a rotation once the signing key is older than keyRotationInterval, and never when it is 0', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage } = server.deps;
  assert.equal(server.config.keyRotationInterval, 90 * 86400, 'default: 90 days');
  assert.equal(loadConfig({ GATEHOUSE_KEY_ROTATION_INTERVAL: '0' }).keyRotationInterval, 0);
  assert.equal(loadConfig({ GATEHOUSE_KEY_ROTATION_INTERVAL: '0' }, { 'key-rotation-interval': '86400' }).keyRotationInterval, 86400);
  assert.throws(() => loadConfig({ GATEHOUSE_KEY_ROTATION_INTERVAL: '-1' }));

  const activatedAt = Math.max(...(await storage.signingKeys.list()).map((r) => r.activatedAt ?? 0));
  const policy: KeyPolicy = { ...keyPolicy(server.config), rotationInterval: 1000 };
  const off: KeyPolicy = { ...policy, rotationInterval: 0 };
  assert.equal((await runKeySchedule(storage, off, activatedAt + 10 * 365 * 86400)).created.length, 0, 'interval 0: no automatic rotation');
  assert.equal((await runKeySchedule(storage, policy, activatedAt + 999)).created.length, 0);
  const due = await runKeySchedule(storage, policy, activatedAt + 1000);
  assert.deepEqual(due.created.map((k) => k.alg).sort(), ['ES256', 'EdDSA', 'RS256'], 'every algorithm with an active key');
  assert.equal((await runKeySchedule(storage, policy, activatedAt + 1001)).created.length, 0, 'no second next key while one is pending');
  const done = await runKeySchedule(storage, policy, activatedAt + 1000 + PUBLISH_DELAY);
  assert.equal(done.promoted.length, 3);
  assert.equal(done.created.length, 0, 'the freshly promoted keys are not due');
});

test('keys retire refuses the last active key; after an immediate rotation it withdraws the old key at once (or keeps it published)', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const { storage, keys } = server.deps;
  const policy = keyPolicy(server.config);
  const now = nowSeconds();
  const original = keys.signingKey('ES256').kid;
  await assert.rejects(
    retireKey(storage, original, policy, now),
    (e: unknown) => e instanceof KeyRotationError && /only active ES256 key/.test(e.message),
  );
  await assert.rejects(retireKey(storage, 'no-such-kid', policy, now), KeyRotationError);
  assert.equal((await storage.signingKeys.find(original))!.status, 'active', 'nothing changed');

  // Emergency: a key that signs at once (the old one is retired with the usual overlap) ...
  const [emergency] = await rotateKeys(storage, ['ES256'], policy, now, { immediate: true });
  assert.equal(emergency!.action, 'promoted');
  await keys.reload(now);
  assert.equal(keys.signingKey('ES256').kid, emergency!.kid);
  assert.ok(kids(await getJwks(server.app)).includes(original), 'still published after an immediate rotation');
  // ... then the compromised key is withdrawn from the JWKS at once.
  const withdrawn = await retireKey(storage, original, policy, now);
  assert.equal(withdrawn.removeAfter, now);
  await keys.reload(now);
  assert.ok(!kids(await getJwks(server.app)).includes(original));

  // A surplus active key retired with --keep-published stays published for the retention.
  const extra = await storage.signingKeys.list().then((rows) => rows.find((r) => r.alg === 'RS256' && r.status === 'active')!);
  const [second] = await rotateKeys(storage, ['RS256'], policy, now, { immediate: true });
  await storage.signingKeys.update(extra.kid, { status: 'active', retiredAt: null, removeAfter: null }); // two active RS256 keys
  const kept = await retireKey(storage, extra.kid, policy, now, { keepPublished: true });
  assert.equal(kept.removeAfter, now + policy.retention);
  await keys.reload(now);
  assert.ok(kids(await getJwks(server.app)).includes(extra.kid));
  assert.equal(keys.signingKey('RS256').kid, second!.kid);
  // A next key that is retired never signed anything: it leaves at once.
  const [pending] = await rotateKeys(storage, ['EdDSA'], policy, now);
  assert.equal((await retireKey(storage, pending!.kid, policy, now)).removeAfter, now);
  await keys.reload(now);
  assert.ok(!kids(await getJwks(server.app)).includes(pending!.kid));
});

function gatehouse(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [GATEHOUSE_BIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('CLI: gatehouse keys list, rotate and retire on a SQLite database', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const database = `sqlite:${join(dir, 'gatehouse.db')}`;
  const env = { GATEHOUSE_DATABASE_URL: database };
  const storage = await openStorage(database);
  await new KeyStore(storage.signingKeys).initialise(nowSeconds());
  await storage.close();

  const list = async () => {
    const r = await gatehouse(['keys', 'list', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    for (const member of ['"d"', '"p"', '"q"', '"dp"', '"dq"', '"qi"', 'private'])
      assert.ok(!r.stdout.includes(member), `keys list printed ${member}`);
    return JSON.parse(r.stdout) as {
      kid: string;
      alg: string;
      status: string;
      signing: boolean;
      published: boolean;
      remove_after: number | null;
      promotes_after?: number;
    }[];
  };
  const initial = await list();
  assert.deepEqual(
    initial.map((k) => k.status),
    ['active', 'active', 'active'],
  );
  const es256 = initial.find((k) => k.alg === 'ES256')!;
  assert.ok(es256.signing);

  const text = await gatehouse(['keys', 'list'], env);
  assert.match(text.stdout, /^KID\s+ALG\s+STATUS/);
  assert.ok(text.stdout.includes(es256.kid));

  const rotated = await gatehouse(['keys', 'rotate', '--alg', 'ES256', '--json'], env);
  assert.equal(rotated.code, 0, rotated.stderr);
  const [outcome] = JSON.parse(rotated.stdout) as { kid: string; action: string; promotes_at: number }[];
  assert.equal(outcome!.action, 'created');
  const afterRotate = await list();
  const next = afterRotate.find((k) => k.kid === outcome!.kid)!;
  assert.equal(next.status, 'next');
  assert.ok(next.published && !next.signing);
  assert.equal(next.promotes_after, outcome!.promotes_at);

  const refused = await gatehouse(['keys', 'retire', es256.kid], env);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /only active ES256 key/);

  const immediate = await gatehouse(['keys', 'rotate', '--alg', 'ES256', '--immediate', '--json'], env);
  assert.equal(immediate.code, 0, immediate.stderr);
  assert.deepEqual(
    JSON.parse(immediate.stdout).map((o: { kid: string; action: string }) => [o.kid, o.action]),
    [[outcome!.kid, 'promoted']],
    'the pending key is promoted',
  );
  const afterPromote = await list();
  assert.equal(afterPromote.find((k) => k.kid === es256.kid)!.status, 'retired');
  assert.ok(afterPromote.find((k) => k.kid === es256.kid)!.published, 'retired but still published');

  const retired = await gatehouse(['keys', 'retire', es256.kid, '--json'], env);
  assert.equal(retired.code, 0, retired.stderr);
  const final = await list();
  assert.equal(final.find((k) => k.kid === es256.kid)!.published, false, 'withdrawn from the JWKS');

  const bad = await gatehouse(['keys', 'rotate', '--alg', 'HS256'], env);
  assert.equal(bad.code, 2);
  const help = await gatehouse(['keys', '--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /keys rotate/);
});
