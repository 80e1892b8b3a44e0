// Fault scenarios on PostgreSQL (issue 12; SECURITY-CHECKLIST §4 R1, R2, R3, R5, R6, R7), run by
// `npm run test:faults`. Every scenario runs real `gatehouse serve` processes on loopback, bounded
// to a minute, and checks after the fault:
//   I1  a code is redeemed at most once;
//   I4  nothing returned 200 unless it was committed;
//   I5  no 5xx other than 503 temporarily_unavailable JSON with Retry-After;
//   the nodes survive, and recover within 5 s of the database returning.
// Each prints one `# [fault] …` line with its counts and recovery time.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { TcpProxy } from './proxy.js';
import {
  adminQuery,
  badServerErrors,
  sha256,
  basicAuth,
  checkExchanges,
  countOutcomes,
  createDatabase,
  createFixture,
  destroyAgents,
  exchange,
  exchangeBody,
  killAllNodes,
  PG_URL,
  PGBOUNCER,
  startPgBouncer,
  recoveryMs,
  report,
  request,
  seedCodes,
  SKIP_PG,
  sleep,
  startLoad,
  startNode,
  terminateNodeSessions,
  type NodeProcess,
  type Outcome,
  type TestDatabase,
} from './harness.js';

const RECOVERY_TARGET_MS = 5000;
const MINUTE = 60_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  killAllNodes();
  destroyAgents();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
after(() => killAllNodes());

async function database(): Promise<TestDatabase> {
  const db = await createDatabase();
  cleanups.push(() => db.drop());
  return db;
}

async function proxyTo(): Promise<TcpProxy> {
  const target = new URL(PG_URL!);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  cleanups.push(() => proxy.stop());
  return proxy;
}

function assertAlive(nodes: NodeProcess[]): void {
  for (const [i, n] of nodes.entries()) assert.equal(n.exited(), false, `node ${i} exited:\n${n.output().slice(-3000)}`);
}

/** The checks every load scenario ends with; returns the counts it prints. */
async function verify(
  name: string,
  db: TestDatabase,
  nodes: NodeProcess[],
  outcomes: Outcome[],
  since: number | undefined,
  extra: Record<string, unknown> = {},
) {
  const counts = countOutcomes(outcomes);
  const exchanges = await checkExchanges(db.url, outcomes);
  const recovery = since === undefined ? undefined : recoveryMs(outcomes, since, nodes.length);
  report(name, { ...counts, codesRedeemed: exchanges.wins, recoveryMs: recovery ?? 'never', ...extra });
  assertAlive(nodes);
  assert.deepEqual(exchanges.doubleWins, [], 'I1: a code was redeemed twice');
  assert.deepEqual(exchanges.uncommitted, [], 'I4: a 200 was returned for a redemption that is not in the database');
  const bad = badServerErrors(outcomes);
  assert.equal(bad.length, 0, `I5: 5xx other than protocol 503: ${JSON.stringify(bad.slice(0, 3).map((o) => [o.status, o.body]))}`);
  if (since !== undefined) {
    assert.ok(recovery !== undefined, 'the nodes never answered 200 again after the database came back');
    assert.ok(recovery <= RECOVERY_TARGET_MS, `recovery took ${recovery} ms (target ${RECOVERY_TARGET_MS} ms)`);
  }
  return counts;
}

// Each scenario skips by itself (so that the summary counts the skips) when there is no PostgreSQL.
type TestOptions = { timeout: number; skip?: string | false };
const pgTest = (name: string, options: TestOptions, fn: () => Promise<void>) =>
  test(name, { ...options, skip: SKIP_PG || options.skip }, fn);

describe('fault scenarios on PostgreSQL', { concurrency: 1 }, () => {
  pgTest(
    "R1 connections terminated under load: pg_terminate_backend of all the nodes' sessions 20 times in a row, every node survives",
    { timeout: MINUTE },
    async () => {
      const db = await database();
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 2000);
      const nodes = await Promise.all([startNode(db.url), startNode(db.url)]);
      const load = startLoad(() => nodes.map((n) => n.url), f, codes, 100);
      await sleep(1500);
      let terminated = 0;
      for (let i = 0; i < 20; i++) {
        terminated += await terminateNodeSessions(db.name);
        await sleep(250);
      }
      const since = Date.now();
      await sleep(4000);
      const outcomes = await load.stop();
      await verify('R1 terminated x20', db, nodes, outcomes, since, { sessionsTerminated: terminated });
      assert.ok(terminated >= 20, `only ${terminated} sessions were terminated: the scenario did not bite`);
    },
  );

  pgTest(
    'R1 database paused for 10 s: requests answer 503 within the timeouts, /readyz fails, recovery after it returns',
    { timeout: MINUTE },
    async () => {
      const db = await database();
      const proxy = await proxyTo();
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 2000);
      const nodes = await Promise.all([startNode(db.urlVia(proxy.port)), startNode(db.urlVia(proxy.port))]);
      const load = startLoad(() => nodes.map((n) => n.url), f, codes, 100);
      await sleep(2000);
      const pausedAt = Date.now();
      proxy.pause();
      await sleep(3000);
      const readyStart = Date.now();
      const ready = await request(nodes[0]!.url, 'GET', '/readyz', { keepAlive: false });
      const readyMs = Date.now() - readyStart;
      await sleep(Math.max(0, pausedAt + 10_000 - Date.now()));
      proxy.resume();
      const since = Date.now();
      await sleep(6000);
      const outcomes = await load.stop();
      const during = outcomes.filter((o) => o.start >= pausedAt && o.start < since);
      const counts = await verify('R1 paused 10 s', db, nodes, outcomes, since, {
        readyzDuringPause: ready.status,
        readyzMs: readyMs,
        duringPause: countOutcomes(during),
      });
      assert.equal(ready.status, 503, '/readyz must fail while the database does not answer');
      assert.ok(readyMs < 3000, `/readyz took ${readyMs} ms`);
      assert.ok(counts.maxms < 8000, `a request took ${counts.maxms} ms: the timeouts do not bound the wait`);
      assert.ok((countOutcomes(during).status['503'] ?? 0) > 0, 'no 503 during the pause: the scenario did not bite');
    },
  );

  pgTest(
    'R1 connections refused (listener gone, CONNECTION LIMIT 0, ALLOW_CONNECTIONS false): 503 temporarily_unavailable, never 500',
    { timeout: MINUTE },
    async () => {
      const db = await database();
      const proxy = await proxyTo();
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 3000);
      const nodes = await Promise.all([startNode(db.urlVia(proxy.port)), startNode(db.urlVia(proxy.port))]);
      const load = startLoad(() => nodes.map((n) => n.url), f, codes, 100);
      await sleep(1500);
      const recoveries: Record<string, number | string> = {};
      const phases: [string, () => Promise<void>, () => Promise<void>][] = [
        ['refused', () => proxy.refuse(), () => proxy.restore()],
        [
          'connection limit 0',
          async () => {
            await adminQuery(`ALTER DATABASE ${db.name} CONNECTION LIMIT 0`);
            await terminateNodeSessions(db.name);
          },
          async () => {
            await adminQuery(`ALTER DATABASE ${db.name} CONNECTION LIMIT -1`);
          },
        ],
        [
          'not accepting connections',
          async () => {
            await adminQuery(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
            await terminateNodeSessions(db.name);
          },
          async () => {
            await adminQuery(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
          },
        ],
      ];
      const phaseCounts: Record<string, unknown> = {};
      for (const [name, fault, heal] of phases) {
        const from = Date.now();
        await fault();
        await sleep(4000);
        await heal();
        const since = Date.now();
        await sleep(3500);
        const slice = load.outcomes.filter((o) => o.start >= from);
        phaseCounts[name] = countOutcomes(slice.filter((o) => o.start < since)).status;
        recoveries[name] = recoveryMs(slice, since, nodes.length) ?? 'never';
      }
      const outcomes = await load.stop();
      await verify('R1 refused', db, nodes, outcomes, undefined, { phases: phaseCounts, recoveryMs: recoveries });
      for (const [name, ms] of Object.entries(recoveries)) {
        assert.ok(typeof ms === 'number' && ms <= RECOVERY_TARGET_MS, `${name}: recovery ${ms} ms`);
      }
      for (const [name, st] of Object.entries(phaseCounts)) {
        assert.ok(((st as Record<string, number>)['503'] ?? 0) > 0, `${name}: no 503 while refused: the scenario did not bite`);
      }
    },
  );

  pgTest(
    'R7 latency of 1 s on every database round trip: bounded waits, 503 instead of piling up, recovery',
    { timeout: MINUTE },
    async () => {
      const db = await database();
      const proxy = await proxyTo();
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 2000);
      const nodes = await Promise.all([startNode(db.urlVia(proxy.port)), startNode(db.urlVia(proxy.port))]);
      const load = startLoad(() => nodes.map((n) => n.url), f, codes, 100, 200);
      await sleep(1500);
      const from = Date.now();
      proxy.setLatency(1000);
      await sleep(10_000);
      proxy.setLatency(0);
      const since = Date.now();
      await sleep(6000);
      const outcomes = await load.stop();
      const during = outcomes.filter((o) => o.start >= from && o.start < since);
      const counts = await verify('R7 latency 1 s', db, nodes, outcomes, since, {
        duringLatency: countOutcomes(during),
        shedByLoadGenerator: load.shed,
      });
      // A token request makes about eight round trips (~10 s at 1 s each): the request's database
      // deadline (--database-request-timeout, 6 s by default) must cut that short.
      assert.ok(counts.maxms < 8000, `a request took ${counts.maxms} ms: the request deadline does not bound it`);
    },
  );

  pgTest(
    'R2 kill -9 during code exchanges: at most once, the retry on another node gets invalid_grant, no orphaned tokens',
    { timeout: MINUTE },
    async () => {
      const db = await database();
      // 60 ms on every answer from the database stretches each step of an exchange (lookups, the
      // consuming UPDATE, the COMMIT), so that kills land in each of them, including "PostgreSQL has
      // committed, its answer is on the way, the node dies": the code is consumed, the client got nothing.
      const proxy = await proxyTo();
      proxy.setLatency(60, true);
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 200);
      const survivor = await startNode(db.url);
      let cut = 0;
      let retried = 0;
      let retryWins = 0;
      let consumedByKilled = 0;
      const all: Outcome[] = [];
      for (let round = 0; round < 4; round++) {
        const victim = await startNode(db.urlVia(proxy.port));
        // open the victim's pool first, so that the batch's exchanges run, rather than wait to connect
        await Promise.all(
          Array.from({ length: 10 }, () =>
            request(victim.url, 'POST', '/token', {
              body: 'grant_type=client_credentials&scope=photos%3Aread',
              headers: { authorization: basicAuth(f) },
              keepAlive: false,
            }),
          ),
        );
        const batch = codes.splice(0, 40);
        const pending = batch.map((code) => exchange(victim.url, f, code, 1, false));
        // Kill while exchanges are at every step: some not yet read, some between the consume and the
        // response, some answered.
        await sleep(800 + Math.floor(Math.random() * 1800));
        victim.proc.kill('SIGKILL');
        const first = await Promise.all(pending);
        await victim.exit;
        all.push(...first);
        for (const o of first.filter((x) => x.status === undefined)) {
          cut++;
          const consumed =
            (
              await adminQuery<{ consumed_at: string | null }>(
                'SELECT consumed_at FROM authorization_codes WHERE code_hash = $1',
                [sha256(o.code!)],
                db.url,
              )
            )[0]!.consumed_at !== null;
          const retry = await exchange(survivor.url, f, o.code!, 0);
          retried++;
          all.push(retry);
          if (retry.status === 200) retryWins++;
          if (consumed) consumedByKilled++;
          if (consumed) assert.equal(retry.status, 400, 'R2: a code consumed by the killed node was redeemable again');
          else assert.ok(retry.status === 200 || retry.status === 400, `retry answered ${retry.status}`);
        }
      }
      const orphans = await adminQuery<{ n: string }>(
        `SELECT count(*)::text AS n FROM refresh_tokens r WHERE NOT EXISTS (SELECT 1 FROM authorization_codes c WHERE c.family_id = r.family_id AND c.consumed_at IS NOT NULL)`,
        [],
        db.url,
      );
      await verify('R2 kill -9', db, [survivor], all, undefined, {
        cutByKill: cut,
        consumedByKilledNode: consumedByKilled,
        retried,
        retryWins,
        orphanedRefreshTokens: Number(orphans[0]!.n),
      });
      assert.equal(Number(orphans[0]!.n), 0, 'R2: refresh tokens without a consumed code');
    },
  );

  pgTest(
    'R6 SIGTERM under load: in-flight requests finish, keep-alive connections close, late requests get protocol 503, exit 0 within the grace',
    { timeout: MINUTE },
    async () => {
      const db = await database();
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 1500);
      const grace = 3000;
      let sigterm = 0;
      const [a, b] = await Promise.all([
        startNode(db.url, { GATEHOUSE_SHUTDOWN_GRACE: String(grace), GATEHOUSE_LOG_LEVEL: process.env.FAULT_DEBUG ? 'debug' : 'info' }),
        startNode(db.url),
      ]);
      const nodes = [a!, b!];
      let targets: (string | undefined)[] = nodes.map((n) => n.url);
      const load = startLoad(() => targets, f, codes, 100);
      await sleep(1500);
      // A keep-alive connection with one request in flight: its body is still being sent at SIGTERM.
      const code = codes.pop()!;
      const body = exchangeBody(f, code);
      const { port } = new URL(a!.url);
      const inflight = net.connect(Number(port), '127.0.0.1');
      let answer = '';
      let ended = false;
      inflight.on('data', (c: Buffer) => (answer += c.toString()));
      inflight.on('end', () => (ended = true));
      let inflightEvents = '';
      inflight.on('error', (e: NodeJS.ErrnoException) => (inflightEvents += `error ${e.code} at ${Date.now() - sigterm}; `));
      inflight.on('close', () => (inflightEvents += `close at ${Date.now() - sigterm}; `));
      await new Promise((r) => inflight.once('connect', r));
      inflight.write(
        `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nAuthorization: ${basicAuth(f)}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
      );
      // A slow client that never finishes its body: it must not hold the shutdown past the grace.
      const slowloris = net.connect(Number(port), '127.0.0.1');
      slowloris.on('error', () => undefined);
      await new Promise((r) => slowloris.once('connect', r));
      slowloris.write(
        'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\ngrant_type=',
      );
      await sleep(200);
      sigterm = Date.now();
      a!.proc.kill('SIGTERM');
      await sleep(300);
      inflight.write(body.slice(10));
      // The load balancer notices within a second; until then requests still go to the draining node.
      await sleep(700);
      targets = [undefined, b!.url];
      const exit = await a!.exit;
      const exitMs = Date.now() - sigterm;
      await sleep(1500);
      const outcomes = await load.stop();
      inflight.destroy();
      slowloris.destroy();
      const fromA = outcomes.filter((o) => o.node === 0 && o.start < sigterm + 1000);
      // A request fully written more than 50 ms before SIGTERM was accepted by the server: it must be answered.
      // (A request an agent had queued and writes on a keep-alive connection the server closes as idle at
      // that very moment may be reset: that is HTTP's keep-alive race, which clients and proxies retry.)
      const resets = fromA.filter((o) => o.status === undefined && o.sent !== undefined && o.sent < sigterm - 50);
      const late = fromA.filter((o) => o.start >= sigterm && o.status !== undefined);
      await verify('R6 SIGTERM', db, [b!], outcomes, undefined, {
        exitCode: exit.code,
        exitMs,
        lateResponses: countOutcomes(late).status,
        resetsOfAcceptedRequests: resets.length,
        noResponse: countOutcomes(fromA.filter((o) => o.status === undefined && !resets.includes(o))).errors,
        inflightEvents,
        inflightStatus: /^HTTP\/1\.1 (\d+)/.exec(answer)?.[1],
        inflightConnectionClosed: ended,
      });
      assert.equal(exit.code, 0, `exit ${exit.code ?? exit.signal}:\n${a!.output().slice(-2000)}`);
      assert.ok(exitMs < grace + 2000, `exit took ${exitMs} ms (grace ${grace} ms)`);
      assert.equal(
        resets.length,
        0,
        `R6: requests accepted before SIGTERM were reset: ${JSON.stringify(resets.slice(0, 3).map((o) => [o.kind, o.start - sigterm, o.sent! - sigterm, o.end - sigterm, o.error]))}\n${a!
          .output()
          .split('\n')
          .filter((l) => !/incoming request|request completed/.test(l))
          .slice(-30)
          .join('\n')}`,
      );
      assert.match(answer, /^HTTP\/1\.1 200 /, 'the request in flight at SIGTERM was answered');
      assert.match(answer, /\r\nconnection: close\r\n/i, 'its response closes the keep-alive connection');
      assert.equal(ended, true, 'the keep-alive connection was closed after its response');
      for (const o of late.filter((x) => (x.status ?? 0) >= 500)) {
        assert.equal(o.status, 503);
        assert.ok(o.headers?.['retry-after'], 'late 503 has Retry-After');
      }
    },
  );

  pgTest(
    'R5 R6 three nodes started at once on an empty database: one migration, one key per algorithm, every node signs with a kid every node publishes',
    { timeout: MINUTE },
    async () => {
      const summary: unknown[] = [];
      for (let round = 0; round < 3; round++) {
        const db = await database();
        const nodes = await Promise.all([startNode(db.url), startNode(db.url), startNode(db.url)]);
        const f = await createFixture(db.url);
        const jwks = await Promise.all(
          nodes.map(async (n) => JSON.parse((await request(n.url, 'GET', '/jwks')).body!) as { keys: { kid: string }[] }),
        );
        const kidSets = jwks.map((j) =>
          j.keys
            .map((k) => k.kid)
            .sort()
            .join(','),
        );
        const signed = await Promise.all(
          nodes.map(async (n) => {
            const r = await request(n.url, 'POST', '/token', {
              body: 'grant_type=client_credentials&scope=photos%3Aread',
              headers: { authorization: basicAuth(f) },
            });
            assert.equal(r.status, 200, r.body);
            const token = (JSON.parse(r.body!) as { access_token: string }).access_token;
            return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
          }),
        );
        const keys = await adminQuery<{ alg: string; n: string }>(
          `SELECT alg, count(*)::text AS n FROM signing_keys WHERE status = 'active' GROUP BY alg`,
          [],
          db.url,
        );
        const migrationsRun = await adminQuery<{ n: string }>('SELECT count(*)::text AS n FROM gatehouse_migrations', [], db.url);
        summary.push({
          round,
          activeKeysPerAlg: Object.fromEntries(keys.map((k) => [k.alg, Number(k.n)])),
          migrations: Number(migrationsRun[0]!.n),
        });
        assertAlive(nodes);
        for (const k of keys) assert.equal(Number(k.n), 1, `R5: ${k.n} active ${k.alg} keys after a concurrent start`);
        assert.equal(new Set(kidSets).size, 1, 'every node publishes the same keys');
        for (const kid of signed)
          for (const j of jwks)
            assert.ok(
              j.keys.some((k) => k.kid === kid),
              `R5: a node signs with ${kid}, missing from another node's JWKS`,
            );
        killAllNodes();
      }
      report('R6 three nodes at once (PostgreSQL)', { rounds: summary });
    },
  );

  pgTest(
    "R3 parallel redemptions of one code across three nodes: exactly one 200, the others invalid_grant, the winner's tokens revoked",
    { timeout: MINUTE },
    async () => {
      const db = await database();
      const f = await createFixture(db.url);
      const codes = await seedCodes(db.url, f, 40);
      const nodes = await Promise.all([startNode(db.url), startNode(db.url), startNode(db.url)]);
      const all: Outcome[] = [];
      let exactlyOne = 0;
      for (const code of codes) {
        const results = await Promise.all(Array.from({ length: 9 }, (_, i) => exchange(nodes[i % 3]!.url, f, code, i % 3)));
        all.push(...results);
        const wins = results.filter((r) => r.status === 200).length;
        if (wins === 1) exactlyOne++;
        assert.equal(wins, 1, `R3: ${wins} successes for one code: ${JSON.stringify(results.map((r) => r.status))}`);
        for (const r of results.filter((x) => x.status !== 200)) {
          assert.equal(r.status, 400);
          assert.equal((JSON.parse(r.body!) as { error: string }).error, 'invalid_grant');
        }
      }
      const live = await adminQuery<{ n: string }>('SELECT count(*)::text AS n FROM refresh_tokens WHERE revoked_at IS NULL', [], db.url);
      await verify('R3 parallel redemptions', db, nodes, all, undefined, {
        codes: codes.length,
        exactlyOneWinner: exactlyOne,
        liveRefreshTokensAfter: Number(live[0]!.n),
      });
      assert.equal(Number(live[0]!.n), 0, 'AC-01: the tokens of a code redeemed twice are revoked');
    },
  );

  pgTest(
    'PgBouncer in transaction pooling: three nodes started at once migrate and create keys once, redemptions stay at most once, server sessions terminated under load',
    {
      timeout: MINUTE,
      skip: PGBOUNCER ? false : 'pgbouncer is not installed (Debian package pgbouncer)',
    },
    async () => {
      const db = await database();
      const bouncer = await startPgBouncer(db);
      cleanups.push(() => bouncer.stop());
      const nodes = await Promise.all([startNode(bouncer.url), startNode(bouncer.url), startNode(bouncer.url)]);
      const f = await createFixture(db.url);
      const keys = await adminQuery<{ alg: string; n: string }>(
        `SELECT alg, count(*)::text AS n FROM signing_keys WHERE status = 'active' GROUP BY alg`,
        [],
        db.url,
      );
      for (const k of keys) assert.equal(Number(k.n), 1, `${k.n} active ${k.alg} keys`);
      // parallel redemptions through the bouncer
      const racing = await seedCodes(db.url, f, 20);
      const raced: Outcome[] = [];
      for (const code of racing) {
        const results = await Promise.all(Array.from({ length: 6 }, (_, i) => exchange(nodes[i % 3]!.url, f, code, i % 3)));
        raced.push(...results);
        assert.equal(results.filter((r) => r.status === 200).length, 1, 'R3 through PgBouncer');
      }
      const codes = await seedCodes(db.url, f, 1500);
      const load = startLoad(() => nodes.map((n) => n.url), f, codes, 100);
      await sleep(1500);
      let terminated = 0;
      for (let i = 0; i < 5; i++) {
        terminated += await terminateNodeSessions(db.name);
        await sleep(500);
      }
      const since = Date.now();
      await sleep(4000);
      const outcomes = await load.stop();
      await verify('PgBouncer transaction pooling', db, nodes, [...raced, ...outcomes], since, {
        activeKeysPerAlg: Object.fromEntries(keys.map((k) => [k.alg, Number(k.n)])),
        serverSessionsTerminated: terminated,
      });
    },
  );
});
