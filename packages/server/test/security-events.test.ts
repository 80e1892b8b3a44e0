// EV-01: security events — one row and one warn-level log line per event, with its ids and no secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSince } from '../src/cli/events.js';
import { UsageError } from '../src/cli/common.js';
import { eventTypesMatching, SecurityEvents } from '../src/oauth/security-events.js';
import { openStorage } from '../src/storage/index.js';
import { sweepExpiredRows } from '../src/storage/cleanup.js';
import {
  basic,
  Browser,
  dumpDatabase,
  form,
  issueTokens,
  pkce,
  refresh,
  setupWithClientAndUser,
  startInteraction,
  tokenRequest,
} from './helpers.js';

const BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

test('EV-01 a failed and a successful sign-in are events with the username and IP, never the password', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t);
  const browser = new Browser(server.app);
  const started = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: client.redirectUri,
    challenge: pkce().challenge,
  });
  const wrong = 'not-the-password-7f3a';
  const refused = await browser.post(started.form.action, { ...started.form.fields, username: user.username, password: wrong });
  assert.equal(refused.statusCode, 401);
  const ok = await browser.post(started.form.action, { ...started.form.fields, username: user.username, password: user.password });
  assert.ok([302, 303].includes(ok.statusCode), ok.body.slice(0, 200));

  const events = await server.deps.storage.securityEvents.list({ types: eventTypesMatching('login') });
  assert.deepEqual(
    events.map((e) => e.type),
    ['login.succeeded', 'login.failed'],
  );
  for (const e of events) {
    assert.equal(e.username, user.username);
    assert.equal(e.userId, user.id);
    assert.equal(e.ip, '127.0.0.1');
  }
  assert.equal(events[1]!.details.reason, 'wrong password');
  const dump = await dumpDatabase(server.deps.storage);
  assert.ok(!dump.includes(wrong), 'the typed password is nowhere in the database');
  assert.ok(!dump.includes(user.password));
});

test('EV-01 a replayed code and a replayed refresh token are events naming the client, the user and the family', async (t) => {
  const { server, client, user } = await setupWithClientAndUser(t, { GATEHOUSE_REFRESH_REUSE_GRACE: '0' });
  const browser = new Browser(server.app);
  const { code, verifier, body } = await issueTokens(server, browser, client, user);
  const replay = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(replay.statusCode, 400);

  const second = await issueTokens(server, browser, client, user);
  const rotated = await refresh(server, client, second.body.refresh_token!);
  assert.equal(rotated.statusCode, 200);
  const reused = await refresh(server, client, second.body.refresh_token!);
  assert.equal(reused.statusCode, 400);

  const [refreshEvent] = await server.deps.storage.securityEvents.list({ types: ['refresh.reused'] });
  const [codeEvent] = await server.deps.storage.securityEvents.list({ types: ['code.reused'] });
  assert.ok(codeEvent && refreshEvent);
  for (const e of [codeEvent, refreshEvent]) {
    assert.equal(e.clientId, client.clientId);
    assert.equal(e.userId, user.id);
    assert.equal(typeof e.details.family, 'string');
  }
  assert.notEqual(codeEvent.details.family, refreshEvent.details.family);
  const rows = JSON.stringify(await server.deps.storage.securityEvents.list());
  for (const secret of [code, body.access_token, second.body.refresh_token!, client.clientSecret!]) assert.ok(!rows.includes(secret));
});

test('EV-01 a registered client refused at the token endpoint is an event; an unknown client_id is not recorded', async (t) => {
  const { server, client } = await setupWithClientAndUser(t);
  const res = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: basic(client.clientId, 'wrong-secret-0000'), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials' }),
  });
  assert.equal(res.statusCode, 401);
  const unknown = await server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: basic('no-such-client', 'x'), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials' }),
  });
  assert.equal(unknown.statusCode, 401);
  const events = await server.deps.storage.securityEvents.list({ types: ['client_auth.failed'] });
  assert.equal(events.length, 1);
  assert.equal(events[0]!.clientId, client.clientId);
  assert.equal(events[0]!.details.method, 'client_secret_basic');
  assert.ok(!JSON.stringify(events).includes('wrong-secret-0000'));
});

test('EV-01 fields named like secrets are dropped from an event, and a database that refuses the row does not fail the caller', async () => {
  const lines: Record<string, unknown>[] = [];
  const log = { info: () => undefined, warn: (obj: Record<string, unknown>) => void lines.push(obj) };
  const stored: unknown[] = [];
  const events = new SecurityEvents({ insert: async (e) => void stored.push(e) }, () => 1000, log);
  await events.record({
    type: 'login.failed',
    username: 'bob',
    details: { password: 'hunter2', refresh_token: 'rt', client_secret: 's', reason: 'wrong password' },
  });
  assert.deepEqual((stored[0] as { details: unknown }).details, { reason: 'wrong password' });
  assert.ok(!JSON.stringify(lines).includes('hunter2'));
  assert.equal(lines[0]!.security_event, 'login.failed');

  const broken = new SecurityEvents(
    {
      insert: async () => {
        throw new Error('database is down');
      },
    },
    () => 1000,
    log,
  );
  const event = await broken.record({ type: 'user.disabled', username: 'bob' });
  assert.equal(event.type, 'user.disabled');
  assert.ok(lines.some((l) => l.security_event === 'user.disabled' && l.err instanceof Error));
});

test('EV-01 events are swept once older than the retention, and newer ones stay', async () => {
  const storage = await openStorage('sqlite::memory:');
  try {
    const old = new SecurityEvents(storage.securityEvents, () => 1_000, { info: () => undefined, warn: () => undefined });
    const recent = new SecurityEvents(storage.securityEvents, () => 1_000 + 10 * 86400, { info: () => undefined, warn: () => undefined });
    await old.record({ type: 'login.failed', username: 'a' });
    await recent.record({ type: 'login.failed', username: 'b' });
    const counts = await sweepExpiredRows(storage, 1_000 + 10 * 86400, { codeRetention: 1800, securityEventRetention: 5 * 86400 });
    assert.equal(counts.securityEvents, 1);
    assert.deepEqual(
      (await storage.securityEvents.list()).map((e) => e.username),
      ['b'],
    );
  } finally {
    await storage.close();
  }
});

test('EV-01 gatehouse events list filters by type subject, user and time, and prints JSON', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-events-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = `sqlite:${join(dir, 'g.db')}`;
  const storage = await openStorage(db);
  const now = Math.floor(Date.now() / 1000);
  try {
    const at = (s: number) => new SecurityEvents(storage.securityEvents, () => s, { info: () => undefined, warn: () => undefined });
    await at(now - 3 * 86400).record({ type: 'login.failed', username: 'alice', userId: 'u1', ip: '10.0.0.1' });
    await at(now - 60).record({ type: 'login.succeeded', username: 'alice', userId: 'u1', ip: '10.0.0.1' });
    await at(now - 30).record({ type: 'refresh.reused', userId: 'u2', clientId: 'c1', details: { family: 'f1' } });
  } finally {
    await storage.close();
  }
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'events', 'list', '--database', db, ...args], { encoding: 'utf8' });

  const logins = run('--type', 'login', '--json');
  assert.equal(logins.status, 0, logins.stderr);
  assert.deepEqual(
    (JSON.parse(logins.stdout) as { type: string }[]).map((e) => e.type),
    ['login.succeeded', 'login.failed'],
  );
  const lastDay = JSON.parse(run('--since', '1d', '--json').stdout) as { type: string }[];
  assert.deepEqual(
    lastDay.map((e) => e.type),
    ['refresh.reused', 'login.succeeded'],
  );
  const text = run('--type', 'refresh.reused');
  assert.match(text.stdout, /refresh\.reused .*client c1.*family=f1/);
  const bad = run('--type', 'nonsense');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no security event type is nonsense/);
});

test('events list --since takes ISO times and durations, and refuses anything else', () => {
  assert.equal(parseSince('90s', 1000), 910);
  assert.equal(parseSince('2d', 200_000), 200_000 - 172_800);
  assert.equal(parseSince('2026-12-01T00:00:00Z', 0), Date.UTC(2026, 11, 1) / 1000);
  assert.throws(() => parseSince('yesterday', 0), UsageError);
  assert.throws(() => parseSince('5w', 0), UsageError);
});
