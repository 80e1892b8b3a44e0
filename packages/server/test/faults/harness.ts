// The fault suite's rig (SECURITY-CHECKLIST §4): real `gatehouse serve` processes on ephemeral
// loopback ports sharing one PostgreSQL database of the test's own (created with a random name,
// dropped afterwards), optionally through a TcpProxy; fixtures made through the CLI and plain SQL
// (grey-box: authorization codes are inserted directly, so that load needs no browser); a bounded
// load generator; and the invariant checks of §4 (I1, I4, I5) plus the recovery time.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));
/** The `gatehouse` binary under test (GATEHOUSE_FAULTS_BIN may point at another checkout, to show a test fails there). */
export const BIN = process.env.GATEHOUSE_FAULTS_BIN ?? `${ROOT}packages/server/bin/gatehouse.js`;
export const PG_URL = process.env.GATEHOUSE_TEST_POSTGRES_URL;
export const SKIP_PG = PG_URL ? false : 'GATEHOUSE_TEST_POSTGRES_URL is not set: the PostgreSQL fault scenarios need a server';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** As the server stores codes and tokens: SHA-256, base64url. */
export const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64url');
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ------------------------------------------------------------------ databases

export function admin(url = PG_URL!): pg.Client {
  return new pg.Client({ connectionString: url, application_name: 'gatehouse-fault-test' });
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
  url = PG_URL!,
): Promise<T[]> {
  const c = admin(url);
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  /** The same database reached through a proxy on 127.0.0.1:port. */
  urlVia(port: number): string;
  drop(): Promise<void>;
}

/**
 * A database of the test's own, owned by a role of its own that is NOT a superuser (so that
 * CONNECTION LIMIT applies to the nodes, as it would in production); both dropped afterwards.
 */
export async function createDatabase(): Promise<TestDatabase> {
  const name = `gatehouse_fault_${randomBytes(5).toString('hex')}`;
  await adminQuery(`CREATE ROLE ${name} LOGIN`);
  await adminQuery(`CREATE DATABASE ${name} OWNER ${name}`);
  const at = (host: string) => {
    const u = new URL(PG_URL!);
    u.host = host;
    u.username = name;
    u.password = '';
    u.pathname = `/${name}`;
    return u.href;
  };
  const base = new URL(PG_URL!);
  return {
    name,
    url: at(base.host),
    urlVia: (port) => at(`127.0.0.1:${port}`),
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await adminQuery(`DROP ROLE IF EXISTS ${name}`);
    },
  };
}

/** Terminates every session of the Gatehouse nodes on that database; returns how many. */
export async function terminateNodeSessions(database: string): Promise<number> {
  const rows = await adminQuery<{ n: string }>(
    // The nodes connect as the database's own role; the test's admin sessions as the superuser.
    `SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity WHERE datname = $1 AND usename = $1 AND pid <> pg_backend_pid()`,
    [database],
  );
  return Number(rows[0]?.n ?? 0);
}

// ------------------------------------------------------------------ processes

export interface NodeProcess {
  url: string;
  proc: ChildProcess;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited(): boolean;
}

const started = new Set<ChildProcess>();

/** Starts `gatehouse serve --port 0` and waits for `listening on URL` (or its exit). */
export async function startNode(database: string, env: Record<string, string> = {}, timeoutMs = 30_000): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--database', database], {
    cwd: ROOT,
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  let out = '';
  let done = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      done = true;
      started.delete(proc);
      resolve({ code, signal });
    });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.length > 200_000) out = out.slice(-100_000);
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exit.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`node exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
  return { url, proc, output: () => out, exit, exited: () => done };
}

/** Kills every node a test left running (by its own pid). */
export function killAllNodes(): void {
  for (const proc of started) proc.kill('SIGKILL');
}

export function runCli(
  args: string[],
  input = '',
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(input);
  });
}

// ------------------------------------------------------------------ fixtures

export interface Fixture {
  clientId: string;
  clientSecret: string;
  userId: string;
  redirectUri: string;
}

/** A confidential client and a user (through the CLI) and the user's consent (SQL). */
export async function createFixture(databaseUrl: string): Promise<Fixture> {
  const redirectUri = 'https://c1.example/cb';
  const client = await runCli([
    'clients',
    'create',
    '--name',
    'Fault Client',
    '--redirect-uri',
    redirectUri,
    '--scope',
    'openid offline_access photos:read',
    '--grant-types',
    'authorization_code,refresh_token,client_credentials',
    '--database',
    databaseUrl,
    '--json',
  ]);
  if (client.code !== 0) throw new Error(`clients create failed: ${client.stderr}`);
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(client.stdout) as { client_id: string; client_secret: string };
  const user = await runCli(
    ['users', 'create', '--username', 'alice', '--password-stdin', '--database', databaseUrl],
    'correct horse battery\n',
  );
  if (user.code !== 0) throw new Error(`users create failed: ${user.stderr}`);
  const rows = await adminQuery<{ id: string }>('SELECT id FROM users WHERE username = $1', ['alice'], databaseUrl);
  const userId = rows[0]!.id;
  await adminQuery(
    'INSERT INTO grants (user_id, client_id, scope, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)',
    [userId, clientId, 'openid offline_access photos:read', nowSeconds()],
    databaseUrl,
  );
  return { clientId, clientSecret, userId, redirectUri };
}

/** Inserts `n` fresh authorization codes (no PKCE challenge), as the authorize endpoint would; returns the raw codes. */
export async function seedCodes(databaseUrl: string, fixture: Fixture, n: number, ttl = 600): Promise<string[]> {
  const codes = Array.from({ length: n }, () => randomBytes(24).toString('base64url'));
  const c = admin(databaseUrl);
  await c.connect();
  try {
    const now = nowSeconds();
    for (let i = 0; i < codes.length; i += 200) {
      const chunk = codes.slice(i, i + 200);
      const values: unknown[] = [];
      const tuples = chunk.map((code, j) => {
        values.push(sha256(code), randomBytes(12).toString('hex'));
        return `($${2 * j + 1}, $${2 * j + 2}, '${fixture.clientId}', '${fixture.userId}', '${fixture.redirectUri}', 1, 'openid offline_access', ${now}, ${now}, ${now + ttl})`;
      });
      await c.query(
        `INSERT INTO authorization_codes (code_hash, family_id, client_id, user_id, redirect_uri, redirect_uri_provided, scope, auth_time, created_at, expires_at) VALUES ${tuples.join(',')}`,
        values,
      );
    }
  } finally {
    await c.end();
  }
  return codes;
}

// ------------------------------------------------------------------ HTTP

export interface Outcome {
  kind: 'exchange' | 'client_credentials' | 'jwks' | 'readyz';
  node: number;
  code?: string;
  start: number;
  /** When the whole request had been written to the socket (an agent may queue it first). */
  sent?: number;
  end: number;
  status?: number;
  headers?: http.IncomingHttpHeaders;
  body?: string;
  error?: string;
}

const agents = new Map<string, http.Agent>();
function agentFor(url: string, keepAlive: boolean): http.Agent {
  const key = `${url}|${keepAlive}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new http.Agent({ keepAlive, maxSockets: 128 });
    agents.set(key, agent);
  }
  return agent;
}

export function destroyAgents(): void {
  for (const a of agents.values()) a.destroy();
  agents.clear();
}

export function request(
  url: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string>; timeoutMs?: number; keepAlive?: boolean } = {},
): Promise<{ status?: number; headers?: http.IncomingHttpHeaders; body?: string; error?: string; sent?: number }> {
  return new Promise((resolve) => {
    let sent: number | undefined;
    const u = new URL(path, url);
    const req = http.request(
      u,
      {
        method,
        agent: agentFor(url, options.keepAlive ?? true),
        headers: {
          ...(options.body !== undefined
            ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(options.body)) }
            : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 20_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body, sent }));
        res.on('error', (e) => resolve({ status: res.statusCode, headers: res.headers, error: e.message, sent }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('finish', () => (sent = Date.now()));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, sent }));
    req.end(options.body);
  });
}

export function basicAuth(f: Fixture): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(f.clientId)}:${encodeURIComponent(f.clientSecret)}`).toString('base64')}`;
}

export function exchangeBody(f: Fixture, code: string): string {
  return new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: f.redirectUri }).toString();
}

export async function exchange(url: string, f: Fixture, code: string, node = 0, keepAlive = true): Promise<Outcome> {
  const start = Date.now();
  const r = await request(url, 'POST', '/token', { body: exchangeBody(f, code), headers: { authorization: basicAuth(f) }, keepAlive });
  return { kind: 'exchange', node, code, start, end: Date.now(), ...r };
}

// ------------------------------------------------------------------ load

export interface Load {
  outcomes: Outcome[];
  /** Requests not sent because too many were in flight (the load generator's own bound). */
  shed: number;
  stop(): Promise<Outcome[]>;
}

/**
 * About `rate` requests per second spread round-robin over the nodes that are up: 60 % code
 * exchanges (each code used once), 30 % client_credentials, 10 % JWKS. At most `maxInFlight` at once.
 */
export function startLoad(nodes: () => (string | undefined)[], f: Fixture, codes: string[], rate = 100, maxInFlight = 64): Load {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  let shed = 0;
  let i = 0;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    // A node's index stays its index: `undefined` marks a node the "load balancer" no longer sends to.
    const urls = nodes();
    if (!urls.some((u) => u !== undefined)) return;
    if (inFlight.size >= maxInFlight) {
      shed++;
      return;
    }
    let n = i++ % urls.length;
    while (urls[n] === undefined) n = i++ % urls.length;
    const url = urls[n]!;
    const roll = i % 10;
    let p: Promise<Outcome>;
    if (roll < 6 && codes.length > 0) {
      p = exchange(url, f, codes.pop()!, n);
    } else if (roll < 9) {
      const start = Date.now();
      p = request(url, 'POST', '/token', {
        body: 'grant_type=client_credentials&scope=photos%3Aread',
        headers: { authorization: basicAuth(f) },
      }).then((r) => ({ kind: 'client_credentials' as const, node: n, start, end: Date.now(), ...r }));
    } else {
      const start = Date.now();
      p = request(url, 'GET', '/jwks').then((r) => ({ kind: 'jwks' as const, node: n, start, end: Date.now(), ...r }));
    }
    const done = p.then((o) => {
      outcomes.push(o);
      inFlight.delete(done);
    });
    inFlight.add(done);
  };
  const interval = setInterval(tick, Math.max(1, Math.round(1000 / rate)));
  return {
    outcomes,
    get shed() {
      return shed;
    },
    async stop() {
      stopped = true;
      clearInterval(interval);
      await Promise.all([...inFlight]);
      return outcomes;
    },
  };
}

// ------------------------------------------------------------------ invariants

export interface Counts {
  requests: number;
  ok: number;
  status: Record<string, number>;
  errors: Record<string, number>;
  bad5xx: number;
  p99ms: number;
  maxms: number;
}

/** I5: a 5xx must be 503 temporarily_unavailable JSON with Retry-After; returns the offenders. */
export function badServerErrors(outcomes: readonly Outcome[]): Outcome[] {
  return outcomes.filter((o) => {
    if (o.status === undefined || o.status < 500) return false;
    if (o.status !== 503 || !o.headers?.['retry-after']) return true;
    if (!String(o.headers['content-type'] ?? '').startsWith('application/json')) return true;
    try {
      return (JSON.parse(o.body ?? '') as { error?: string }).error !== 'temporarily_unavailable';
    } catch {
      return true;
    }
  });
}

export function countOutcomes(outcomes: readonly Outcome[]): Counts {
  const status: Record<string, number> = {};
  const errors: Record<string, number> = {};
  for (const o of outcomes) {
    if (o.status !== undefined) status[o.status] = (status[o.status] ?? 0) + 1;
    else errors[o.error ?? 'unknown'] = (errors[o.error ?? 'unknown'] ?? 0) + 1;
  }
  // Latency as the server caused it: from the moment the request was written (the agent may queue it first).
  const latencies = outcomes.map((o) => o.end - (o.sent ?? o.start)).sort((a, b) => a - b);
  return {
    requests: outcomes.length,
    ok: outcomes.filter((o) => o.status === 200).length,
    status,
    errors,
    bad5xx: badServerErrors(outcomes).length,
    p99ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0,
    maxms: latencies[latencies.length - 1] ?? 0,
  };
}

/**
 * I1 and I4 for code exchanges: no code got two 200s, and every 200 was committed (the code is
 * consumed with the very access token returned, and the refresh token returned is stored).
 */
export async function checkExchanges(
  databaseUrl: string,
  outcomes: readonly Outcome[],
): Promise<{ wins: number; doubleWins: string[]; uncommitted: string[] }> {
  const wins = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    if (o.kind === 'exchange' && o.status === 200 && o.code) wins.set(o.code, [...(wins.get(o.code) ?? []), o]);
  }
  const doubleWins = [...wins].filter(([, list]) => list.length > 1).map(([code]) => code);
  const uncommitted: string[] = [];
  const c = admin(databaseUrl);
  await c.connect();
  try {
    for (const [code, [o]] of wins) {
      const body = JSON.parse(o!.body!) as { access_token: string; refresh_token?: string };
      const payload = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString()) as { jti: string };
      const row = (
        await c.query<{ consumed_at: string | null; access_token_jti: string | null }>(
          'SELECT consumed_at, access_token_jti FROM authorization_codes WHERE code_hash = $1',
          [sha256(code)],
        )
      ).rows[0];
      const rt = body.refresh_token
        ? (await c.query('SELECT 1 FROM refresh_tokens WHERE token_hash = $1', [sha256(body.refresh_token)])).rowCount
        : 1;
      if (!row || row.consumed_at === null || row.access_token_jti !== payload.jti || rt !== 1) uncommitted.push(code);
    }
  } finally {
    await c.end();
  }
  return { wins: wins.size, doubleWins, uncommitted };
}

/**
 * Recovery time: from `since` (the database is back) until every node has answered a code
 * exchange or client_credentials request with 200 (requests started after `since`).
 */
export function recoveryMs(outcomes: readonly Outcome[], since: number, nodeCount: number): number | undefined {
  let worst = 0;
  for (let n = 0; n < nodeCount; n++) {
    const first = outcomes
      .filter((o) => o.node === n && o.start >= since && o.status === 200 && (o.kind === 'exchange' || o.kind === 'client_credentials'))
      .sort((a, b) => a.end - b.end)[0];
    if (!first) return undefined;
    worst = Math.max(worst, first.end - since);
  }
  return worst;
}

export function report(name: string, data: Record<string, unknown>): void {
  // One line per scenario, for the log a reviewer reads.
  process.stdout.write(`# [fault] ${name}: ${JSON.stringify(data)}\n`);
}

// ------------------------------------------------------------------ PgBouncer

export const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Debian's PgBouncer in transaction pooling in front of the test database, on a loopback port of its own. */
export async function startPgBouncer(db: TestDatabase): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pgbouncer-'));
  const port = await freePort();
  const target = new URL(PG_URL!);
  writeFileSync(join(dir, 'userlist.txt'), `"${db.name}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${db.name} = host=${target.hostname} port=${target.port || 5432} dbname=${db.name}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'default_pool_size = 8',
      'max_client_conn = 200',
      'ignore_startup_parameters = extra_float_digits,statement_timeout,idle_in_transaction_session_timeout',
      'server_connect_timeout = 5',
      'query_wait_timeout = 10',
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root: under root (CI containers) it runs as the `postgres` user.
  let ids: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    ids = { uid, gid };
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(dir, f), uid, gid);
  }
  const proc = spawn(PGBOUNCER!, [join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'], ...ids });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  for (let i = 0; i < 50; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (proc.exitCode !== null) throw new Error(`pgbouncer exited: ${out}`);
    await sleep(100);
  }
  return {
    url: db.urlVia(port),
    async stop() {
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
