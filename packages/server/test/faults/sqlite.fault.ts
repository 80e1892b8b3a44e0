// Fault scenarios on the embedded SQLite default (issue 12 item 8; SECURITY-CHECKLIST R1, R5, R6).
// They need no server, so they always run.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  basicAuth,
  countOutcomes,
  destroyAgents,
  exchange,
  killAllNodes,
  report,
  request,
  runCli,
  sha256,
  sleep,
  startNode,
  type Fixture,
  type Outcome,
} from './harness.js';
import { randomBytes } from 'node:crypto';

const MINUTE = 60_000;
const dirs: string[] = [];
afterEach(() => {
  killAllNodes();
  destroyAgents();
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fault-'));
  dirs.push(dir);
  return join(dir, 'gatehouse.db');
}

async function fixture(file: string): Promise<Fixture> {
  const url = `sqlite:${file}`;
  const client = await runCli([
    'clients',
    'create',
    '--name',
    'Fault Client',
    '--redirect-uri',
    'https://c1.example/cb',
    '--scope',
    'openid offline_access photos:read',
    '--grant-types',
    'authorization_code,refresh_token,client_credentials',
    '--database',
    url,
    '--json',
  ]);
  assert.equal(client.code, 0, client.stderr);
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(client.stdout) as { client_id: string; client_secret: string };
  const user = await runCli(['users', 'create', '--username', 'alice', '--password-stdin', '--database', url], 'correct horse battery\n');
  assert.equal(user.code, 0, user.stderr);
  const db = new SQLite(file);
  try {
    const userId = (db.prepare('SELECT id FROM users WHERE username = ?').get('alice') as { id: string }).id;
    const now = Math.floor(Date.now() / 1000);
    db.prepare('INSERT INTO grants (user_id, client_id, scope, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(
      userId,
      clientId,
      'openid offline_access photos:read',
      now,
      now,
    );
    return { clientId, clientSecret, userId, redirectUri: 'https://c1.example/cb' };
  } finally {
    db.close();
  }
}

function seed(file: string, f: Fixture, n: number): string[] {
  const db = new SQLite(file);
  try {
    const now = Math.floor(Date.now() / 1000);
    const insert =
      db.prepare(`INSERT INTO authorization_codes (code_hash, family_id, client_id, user_id, redirect_uri, redirect_uri_provided, scope, auth_time, created_at, expires_at)
      VALUES (?, ?, ?, ?, ?, 1, 'openid offline_access', ?, ?, ?)`);
    const codes = Array.from({ length: n }, () => randomBytes(24).toString('base64url'));
    db.transaction(() => {
      for (const c of codes)
        insert.run(sha256(c), randomBytes(12).toString('hex'), f.clientId, f.userId, f.redirectUri, now, now, now + 600);
    })();
    return codes;
  } finally {
    db.close();
  }
}

describe('fault scenarios on SQLite', { concurrency: 1 }, () => {
  test(
    'R6 R5 three nodes started at once on a new SQLite file: all start, one migration, one key per algorithm, the same JWKS',
    { timeout: MINUTE },
    async () => {
      const rounds: unknown[] = [];
      for (let round = 0; round < 3; round++) {
        const file = newFile();
        const nodes = await Promise.all([startNode(`sqlite:${file}`), startNode(`sqlite:${file}`), startNode(`sqlite:${file}`)]);
        const jwks = await Promise.all(
          nodes.map(async (n) =>
            (JSON.parse((await request(n.url, 'GET', '/jwks')).body!) as { keys: { kid: string }[] }).keys
              .map((k) => k.kid)
              .sort()
              .join(','),
          ),
        );
        const db = new SQLite(file, { readonly: true });
        const migrations = (db.prepare('SELECT count(*) AS n FROM gatehouse_migrations').get() as { n: number }).n;
        const active = db.prepare(`SELECT alg, count(*) AS n FROM signing_keys WHERE status = 'active' GROUP BY alg`).all() as {
          alg: string;
          n: number;
        }[];
        db.close();
        rounds.push({ round, migrations, activeKeysPerAlg: Object.fromEntries(active.map((a) => [a.alg, a.n])) });
        for (const a of active) assert.equal(a.n, 1, `R5: ${a.n} active ${a.alg} keys`);
        assert.equal(new Set(jwks).size, 1, 'every node publishes the same keys');
        killAllNodes();
        await Promise.all(nodes.map((n) => n.exit));
      }
      report('R6 three nodes at once (SQLite)', { rounds });
    },
  );

  test(
    'R1 another process holds BEGIN EXCLUSIVE for 10 s: the event loop stays free, writes answer 503 within the acquire timeout, reads go on',
    { timeout: MINUTE },
    async () => {
      const file = newFile();
      const f = await fixture(file);
      const codes = seed(file, f, 200);
      const node = await startNode(`sqlite:${file}`);
      const holder = new SQLite(file);
      holder.exec('BEGIN EXCLUSIVE');
      holder.prepare('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)').run('fault-lock', 1);
      const from = Date.now();
      const outcomes: Outcome[] = [];
      const pending: Promise<void>[] = [];
      while (Date.now() - from < 10_000) {
        const start = Date.now();
        pending.push(
          request(node.url, 'GET', '/jwks').then((r) => void outcomes.push({ kind: 'jwks', node: 0, start, end: Date.now(), ...r })),
        );
        pending.push(
          request(node.url, 'GET', '/healthz').then((r) => void outcomes.push({ kind: 'readyz', node: 0, start, end: Date.now(), ...r })),
        );
        pending.push(
          request(node.url, 'POST', '/token', {
            body: 'grant_type=client_credentials&scope=photos%3Aread',
            headers: { authorization: basicAuth(f) },
          }).then((r) => void outcomes.push({ kind: 'client_credentials', node: 0, start, end: Date.now(), ...r })),
        );
        pending.push(exchange(node.url, f, codes.pop()!).then((o) => void outcomes.push(o)));
        await sleep(250);
      }
      await Promise.all(pending);
      holder.exec('ROLLBACK');
      const released = Date.now();
      let recovered: number | undefined;
      for (let i = 0; i < 50 && recovered === undefined; i++) {
        const o = await exchange(node.url, f, codes.pop()!);
        if (o.status === 200) recovered = Date.now() - released;
        else await sleep(100);
      }
      const integrity = (holder.pragma('integrity_check') as { integrity_check: string }[])[0]!.integrity_check;
      holder.close();
      const by = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind);
      const max = (list: Outcome[]) => Math.max(0, ...list.map((o) => o.end - o.start));
      const summary = {
        jwks: { ...countOutcomes(by('jwks')).status, maxMs: max(by('jwks')) },
        healthz: { ...countOutcomes(by('readyz')).status, maxMs: max(by('readyz')) },
        clientCredentials: { ...countOutcomes(by('client_credentials')).status, maxMs: max(by('client_credentials')) },
        exchanges: { ...countOutcomes(by('exchange')).status, maxMs: max(by('exchange')) },
        recoveryMs: recovered ?? 'never',
        integrity,
      };
      report('R1 SQLite BEGIN EXCLUSIVE 10 s', summary);
      assert.equal(node.exited(), false);
      assert.ok(max(by('jwks')) < 1000, `/jwks took ${max(by('jwks'))} ms: the event loop was blocked`);
      assert.ok(max(by('readyz')) < 1000, `/healthz took ${max(by('readyz'))} ms`);
      assert.ok(max(by('client_credentials')) < 2000, `reads took ${max(by('client_credentials'))} ms`);
      for (const o of by('exchange')) {
        assert.equal(o.status, 503, `a write during the lock answered ${o.status} ${o.body}`);
        assert.ok(o.headers?.['retry-after']);
        assert.equal((JSON.parse(o.body!) as { error: string }).error, 'temporarily_unavailable');
      }
      assert.ok(max(by('exchange')) < 5000, `a write waited ${max(by('exchange'))} ms`);
      assert.ok(recovered !== undefined && recovered < 5000, `recovery ${recovered} ms`);
      assert.equal(integrity, 'ok');
    },
  );
});
