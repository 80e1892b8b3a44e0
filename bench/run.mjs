// npm run bench [-- options] — Gatehouse beside a peer (oidc-provider) and the limit (node:http),
// all measured in the same run on this machine. See bench/README.md for the method.
// Every server is a separate process pinned to core 0 (taskset), the load generator (wrk, else
// autocannon) to core 1; traffic goes only to 127.0.0.1; every run is bounded in time.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HAS_TASKSET, pinned, run, startServer, stopAll, SERVER_CORE } from './lib/procs.mjs';
import { HAS_WRK, LOAD_GENERATOR, load } from './lib/load.mjs';
import {
  basicAuth,
  Browser,
  codeOf,
  exchange,
  gatehouseAuthorizePath,
  gatehouseSignIn,
  peerAuthorizePath,
  REDIRECT_URI,
  RESOURCE,
  VERIFIER,
} from './lib/browser.mjs';
import { createPostgresDatabase, PASSWORD, seedTokens, setupGatehouse, USERNAME } from './lib/seed.mjs';
import { printTables } from './lib/report.mjs';

const { values: argv } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string' },
    'growth-tokens': { type: 'string' },
    'growth-clients': { type: 'string' },
    'no-growth': { type: 'boolean', default: false },
    postgres: { type: 'string', default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    'no-postgres': { type: 'boolean', default: false },
    'rss-checkpoints': { type: 'string' },
    profile: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (argv.help) {
  process.stdout.write(readFileSync(new URL('./README.md', import.meta.url), 'utf8'));
  process.exit(0);
}
const quick = argv.quick;
const SECONDS = Number(argv.seconds ?? (quick ? 2 : 3));
const WARMUP = quick ? 1 : 2;
const ROUNDS = Number(argv.rounds ?? (quick ? 1 : 3));
const CONNECTIONS = Number(argv.connections ?? 16);
const GROWTH_TOKENS = Number(argv['growth-tokens'] ?? (quick ? 100_000 : 1_000_000));
const GROWTH_CLIENTS = Number(argv['growth-clients'] ?? (quick ? 10_000 : 100_000));
const GROWTH_ROUNDS = quick ? 1 : 2;
const GROWTH_WARMUP = quick ? 0 : 1; // seconds; 0: no warm-up round
const GROWTH_SECONDS = quick ? 1 : SECONDS;
const RSS_CHECKPOINTS = (argv['rss-checkpoints'] ?? (quick ? '50000' : '100000,1000000')).split(',').map(Number);
const ONLY = argv.only ? new Set(argv.only.split(',')) : undefined;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GATEHOUSE_BIN = join(ROOT, 'packages/server/bin/gatehouse.js');
const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const log = (...a) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${a.join(' ')}\n`);
const cleanups = [];
async function cleanup() {
  stopAll();
  for (const fn of cleanups.reverse()) await fn().catch((e) => log('cleanup failed:', e.message));
  rmSync(dir, { recursive: true, force: true });
}
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

const median = (a) => {
  const s = a.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (a) => (a.length > 1 && median(a) ? ((Math.max(...a) - Math.min(...a)) / median(a)) * 100 : null);
const us = (x) => (x === null || x === undefined ? '' : `(${x.toFixed(0)} µs cpu)`);
const form = (o) => new URLSearchParams(o).toString().replace(/%40/g, '@');
const opts = (seconds = SECONDS) => ({ seconds, connections: CONNECTIONS });

// --- servers -------------------------------------------------------------------------------------
const GATEHOUSE_ENV = {
  GATEHOUSE_ACCESS_TOKEN_AUDIENCE: RESOURCE,
  GATEHOUSE_CODE_TTL: '600',
  GATEHOUSE_LOG_LEVEL: 'warn',
  // The load generator is one client on one address: limits high enough never to refuse it, still counted.
  GATEHOUSE_RATE_LIMIT_TOKEN: '100000000',
  GATEHOUSE_RATE_LIMIT_AUTHORIZE: '100000000',
  GATEHOUSE_RATE_LIMIT_LOGIN: '100000000',
  GATEHOUSE_RATE_LIMIT_INTROSPECT: '100000000',
  GATEHOUSE_RATE_LIMIT_USERINFO: '100000000',
};

async function startGatehouse(name, databaseUrl) {
  const node = argv.profile ? ['--cpu-prof', '--cpu-prof-dir', argv.profile, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : [];
  return startServer(name, process.execPath, [...node, GATEHOUSE_BIN, 'serve', '--port', '0', '--database', databaseUrl], {
    env: GATEHOUSE_ENV,
  });
}

/** A target: one server with everything the scenarios need to talk to it. */
async function gatehouseTarget(name, databaseUrl, { signIn = true } = {}) {
  const creds = await setupGatehouse(databaseUrl);
  const server = await startGatehouse(name, databaseUrl);
  const t = {
    kind: 'gatehouse',
    server,
    url: server.url,
    served: 0,
    pool: [],
    ...creds,
    auth: basicAuth(creds.clientId, creds.clientSecret),
    paths: {
      token: '/token',
      introspect: '/introspect',
      userinfo: '/userinfo',
      jwks: '/jwks',
      authorize: gatehouseAuthorizePath(creds.clientId),
    },
    ccBody: form({ grant_type: 'client_credentials', scope: 'api:read' }),
  };
  if (signIn) {
    const browser = new Browser(server.url);
    const callback = await gatehouseSignIn(browser, creds.clientId, { username: USERNAME, password: PASSWORD });
    const tokens = await exchange(server.url, '/token', t.auth, codeOf(callback));
    t.cookie = browser.cookieHeader();
    t.userinfoToken = tokens.access_token;
    t.introspectToken = tokens.refresh_token;
    const again = await browser.request(t.paths.authorize);
    if (again.status !== 303 || !again.location.startsWith(REDIRECT_URI))
      throw new Error(`Gatehouse: the returning user was not answered at once (${again.status} ${again.location})`);
    t.served += 8;
  }
  return t;
}

async function peerTarget() {
  const clientId = `bench-${randomBytes(8).toString('hex')}`;
  const clientSecret = randomBytes(32).toString('base64url');
  const server = await startServer(
    'oidc-provider',
    process.execPath,
    [
      join(ROOT, 'bench/servers/oidc-provider.mjs'),
      '--db',
      join(dir, 'oidc-provider.db'),
      '--client-id',
      clientId,
      // One argument: a base64url secret may start with '-', which parseArgs would take for an option.
      `--client-secret=${clientSecret}`,
      '--redirect-uri',
      REDIRECT_URI,
      '--resource',
      RESOURCE,
      '--account',
      'bench-user-000000000001',
    ],
    { env: { NODE_ENV: 'production' } },
  );
  const discovery = await (await fetch(`${server.url}/.well-known/openid-configuration`)).json();
  const path = (u) => new URL(u).pathname;
  const auth = basicAuth(clientId, clientSecret);
  const t = {
    kind: 'peer',
    server,
    url: server.url,
    served: 0,
    pool: [],
    clientId,
    clientSecret,
    auth,
    paths: {
      token: path(discovery.token_endpoint),
      introspect: path(discovery.introspection_endpoint),
      userinfo: path(discovery.userinfo_endpoint),
      jwks: path(discovery.jwks_uri),
      authorize: peerAuthorizePath(path(discovery.authorization_endpoint), clientId),
    },
    ccBody: form({ grant_type: 'client_credentials', scope: 'api:read', resource: RESOURCE }),
  };
  const browser = new Browser(server.url);
  const first = await browser.follow(t.paths.authorize); // login and consent through the interaction routes
  const tokens = await exchange(server.url, t.paths.token, auth, codeOf(first));
  t.introspectToken = tokens.refresh_token;
  // userinfo takes the peer's opaque access tokens (no resource indicator)
  const plain = await browser.follow(peerAuthorizePath(path(discovery.authorization_endpoint), clientId, { resource: false }));
  t.userinfoToken = (await exchange(server.url, t.paths.token, auth, codeOf(plain))).access_token;
  t.cookie = browser.cookieHeader();
  const again = await browser.request(t.paths.authorize);
  if (again.status < 300 || again.status >= 400 || !again.location.startsWith(REDIRECT_URI))
    throw new Error(`peer: the returning user was not answered at once (${again.status} ${again.location})`);
  return t;
}

// --- scenarios -----------------------------------------------------------------------------------
const codeBody = form({ grant_type: 'authorization_code', code: '@', redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
const refreshBody = form({ grant_type: 'refresh_token', refresh_token: '@' });
let fileNo = 0;
const file = (label) => join(dir, `${label}-${++fileNo}.txt`);
const lines = (path) => {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  } catch {
    return [];
  }
};

async function measure(t, spec, seconds = SECONDS) {
  const cpuBefore = t.server.cpuSeconds();
  const r = await load(t.url, spec, opts(seconds));
  const cpuAfter = t.server.cpuSeconds();
  // The server's CPU time per request (per flow in the flow scenario), in µs.
  const units = spec.mode === 'flow' ? r.flows : r.requests;
  r.cpu_us = cpuBefore !== null && cpuAfter !== null && units > 0 ? ((cpuAfter - cpuBefore) * 1e6) / units : null;
  t.served += r.requests;
  // Memory checkpoints: the first reading after the server has answered each number of requests.
  for (const c of t.rssCheckpoints ?? []) {
    if (t.served >= c && results.rss_mb[`gatehouse_after_${c}_requests`] === undefined) {
      results.rss_mb[`gatehouse_after_${c}_requests`] = t.server.memory().rss_mb;
      results.rss_mb[`gatehouse_checkpoint_${c}_read_at`] = t.served;
    }
  }
  if (r.errors > 0)
    log(`  ${t.server.name}: ${r.errors} errors (${r.errors_status} HTTP ≥ 400) in ${spec.mode} ${spec.path ?? spec.tokenpath ?? ''}`);
  if (r.exhausted) log(`  ${t.server.name}: ran out of prepared codes/tokens (${spec.mode}); figures cover ${r.seconds.toFixed(1)} s`);
  return r;
}

const SCENARIOS = {
  client_credentials_jwt: {
    limit: 'sign',
    run: (t, s) => measure(t, { mode: 'fixed', method: 'POST', path: t.paths.token, auth: t.auth, body: t.ccBody }, s),
  },
  code_exchange: {
    limit: 'sign',
    async run(t, s) {
      // Codes prepared through the real flow (a returning user's authorization requests, not
      // measured) until there are enough for this run at the last measured rate, with a margin.
      const codes = file(`${t.kind}-codes`);
      const needed = (t.codeRate ?? 1000) * s * 1.5 + CONNECTIONS;
      for (let i = 0; i < 6 && lines(codes).length < needed; i++) {
        const missing = needed - lines(codes).length;
        const secs = Math.max(1, Math.min(10, Math.ceil((missing / (t.authorizeRate ?? 1000)) * 1.2)));
        const a = await measure(t, { mode: 'authorize', path: t.paths.authorize, cookie: t.cookie, out: codes }, secs);
        t.authorizeRate = a.rps;
      }
      const out = file(`${t.kind}-code-tokens`);
      const r = await measure(t, { mode: 'code', in: codes, out, auth: t.auth, body: codeBody, tokenpath: t.paths.token }, s);
      t.codeRate = Math.max(t.codeRate ?? 0, r.rps);
      for (const l of lines(out)) {
        const [rt] = l.split(' ');
        if (rt !== '-') t.pool.push(rt);
      }
      return r;
    },
  },
  refresh_rotation: {
    limit: 'sign',
    async run(t, s) {
      // Each rotation returns a new token to the pool; code exchanges (not measured here) top it up
      // (growth targets have seeded tokens instead)
      // until it holds what this run can use at the last measured rate, with a margin.
      const needed = (t.refreshRate ?? 1500) * s * 1.5 + CONNECTIONS;
      for (let i = 0; t.paths.authorize && i < 6 && t.pool.length < needed; i++) await SCENARIOS.code_exchange.run(t, s);
      const input = file(`${t.kind}-refresh-in`);
      writeFileSync(input, `${t.pool.join('\n')}\n`);
      const out = file(`${t.kind}-refresh-out`);
      const r = await measure(t, { mode: 'refresh', in: input, out, auth: t.auth, body: refreshBody, tokenpath: t.paths.token }, s);
      t.pool = t.pool.slice(r.exhausted ? t.pool.length : r.requests + CONNECTIONS).concat(lines(out));
      t.refreshRate = Math.max(t.refreshRate ?? 0, r.rps);
      return r;
    },
  },
  introspection: {
    limit: 'static',
    run: (t, s) =>
      measure(
        t,
        {
          mode: 'fixed',
          method: 'POST',
          path: t.paths.introspect,
          auth: t.auth,
          body: form({ token: t.introspectToken, token_type_hint: 'refresh_token' }),
        },
        s,
      ),
  },
  jwks: { limit: 'static', run: (t, s) => measure(t, { mode: 'fixed', path: t.paths.jwks }, s) },
  userinfo: { limit: 'static', run: (t, s) => measure(t, { mode: 'fixed', path: t.paths.userinfo, auth: `Bearer ${t.userinfoToken}` }, s) },
  flow_returning_user: {
    limit: null,
    flows: true,
    run: (t, s) =>
      measure(t, { mode: 'flow', path: t.paths.authorize, cookie: t.cookie, auth: t.auth, body: codeBody, tokenpath: t.paths.token }, s),
  },
};
const LIMIT_PATHS = { sign: '/sign', static: '/static' };

async function checkResponses(targets) {
  // One request of each fixed scenario, to fail loudly on a misconfiguration rather than measure errors.
  for (const t of targets) {
    const check = async (label, path, init, test) => {
      const res = await fetch(new URL(path, t.url), init);
      const body = await res.text();
      if (!test(res.status, body)) throw new Error(`${t.server.name} ${label}: ${res.status} ${body.slice(0, 300)}`);
    };
    const post = (body, auth = t.auth) => ({
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    await check(
      'client_credentials',
      t.paths.token,
      post(t.ccBody),
      (s, b) => s === 200 && JSON.parse(b).access_token.split('.').length === 3,
    );
    await check(
      'introspection',
      t.paths.introspect,
      post(form({ token: t.introspectToken, token_type_hint: 'refresh_token' })),
      (s, b) => s === 200 && JSON.parse(b).active === true,
    );
    await check(
      'userinfo',
      t.paths.userinfo,
      { headers: { authorization: `Bearer ${t.userinfoToken}` } },
      (s, b) => s === 200 && JSON.parse(b).sub !== undefined,
    );
    await check('jwks', t.paths.jwks, {}, (s, b) => s === 200 && JSON.parse(b).keys.length >= 1);
    t.served += 4;
  }
}

// --- main ----------------------------------------------------------------------------------------
const results = { scenarios: [], growth: [], rss_mb: {}, notes: [] };
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memory_gb: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  load_generator: LOAD_GENERATOR,
  pinned: HAS_TASKSET ? `servers on core ${SERVER_CORE}, load generator on core 1 (taskset)` : 'not pinned (no taskset)',
  loadavg_start: loadavg().map((x) => +x.toFixed(2)),
  quick,
  seconds_per_run: SECONDS,
  warmup_seconds: WARMUP,
  rounds: ROUNDS,
  connections: CONNECTIONS,
  oidc_provider: JSON.parse(readFileSync(join(ROOT, 'node_modules/oidc-provider/package.json'), 'utf8')).version,
  date: new Date().toISOString(),
};
if (HAS_WRK) machine.wrk = (await run('wrk', ['-v']).catch((e) => e.message)).split('\n')[0].trim();

try {
  log(
    `gatehouse bench${quick ? ' (quick)' : ''}: ${SECONDS} s × ${ROUNDS} rounds (+${WARMUP} s warm-up), ${CONNECTIONS} connections, ${LOAD_GENERATOR}, ${machine.pinned}`,
  );
  const gh = await gatehouseTarget('gatehouse', `sqlite:${join(dir, 'gatehouse.db')}`);
  const peer = await peerTarget();
  const limit = await startServer('limit', process.execPath, [join(ROOT, 'bench/servers/limit.mjs')]);
  const limitTarget = { kind: 'limit', server: limit, url: limit.url, served: 0 };
  await checkResponses([gh, peer]);
  gh.rssCheckpoints = RSS_CHECKPOINTS;
  log(`servers: gatehouse ${gh.url}, oidc-provider ${peer.url}, limit ${limit.url}`);

  // Interleaved rounds: for each scenario Gatehouse, peer, limit; round 0 is the warm-up.
  const names = Object.keys(SCENARIOS).filter((n) => !ONLY || ONLY.has(n));
  const series = Object.fromEntries(names.map((n) => [n, { gatehouse: [], peer: [], limit: [] }]));
  const limits = { sign: [], static: [] };
  const limitCpu = { sign: [], static: [] };
  for (let round = 0; round <= ROUNDS; round++) {
    const s = round === 0 ? WARMUP : SECONDS;
    log(round === 0 ? 'warm-up' : `round ${round}/${ROUNDS}`);
    const limitDone = new Set();
    for (const name of names) {
      const sc = SCENARIOS[name];
      const g = await sc.run(gh, s);
      const p = await sc.run(peer, s);
      let l;
      if (sc.limit && !limitDone.has(sc.limit)) {
        limitDone.add(sc.limit);
        l = await measure(
          limitTarget,
          { mode: 'fixed', method: 'POST', path: LIMIT_PATHS[sc.limit], body: sc.limit === 'sign' ? gh.ccBody : undefined },
          s,
        );
        if (round > 0) {
          limits[sc.limit].push(l.rps);
          limitCpu[sc.limit].push(l.cpu_us);
        }
      }
      if (round > 0) {
        series[name].gatehouse.push(g);
        series[name].peer.push(p);
      }
      log(
        `  ${name.padEnd(24)} gatehouse ${(sc.flows ? g.flows_per_s : g.rps).toFixed(0).padStart(6)}/s ${us(g.cpu_us)}  peer ${(sc.flows ? p.flows_per_s : p.rps).toFixed(0).padStart(6)}/s ${us(p.cpu_us)}${l ? `  limit(${sc.limit}) ${l.rps.toFixed(0).padStart(6)}/s ${us(l.cpu_us)}` : ''}`,
      );
    }
  }
  for (const name of names) {
    const sc = SCENARIOS[name];
    const rate = (r) => (sc.flows ? r.flows_per_s : r.rps);
    const gRates = series[name].gatehouse.map(rate);
    const pRates = series[name].peer.map(rate);
    const gatehouse_rps = median(gRates);
    const peer_rps = median(pRates);
    const limit_rps = sc.limit ? median(limits[sc.limit]) : null;
    const gCpu = median(series[name].gatehouse.map((r) => r.cpu_us));
    const pCpu = median(series[name].peer.map((r) => r.cpu_us));
    const lCpu = sc.limit ? median(limitCpu[sc.limit]) : null;
    results.scenarios.push({
      name: sc.flows ? `${name} (flows/s)` : name,
      gatehouse_rps,
      p50_ms: median(series[name].gatehouse.map((r) => r.p50_ms)),
      p99_ms: median(series[name].gatehouse.map((r) => r.p99_ms)),
      peer_rps,
      limit_rps,
      ratio_to_peer: peer_rps ? gatehouse_rps / peer_rps : null,
      ratio_to_limit: limit_rps ? gatehouse_rps / limit_rps : null,
      gatehouse_cpu_us: gCpu,
      peer_cpu_us: pCpu,
      limit_cpu_us: lCpu,
      // Work per request relative to the peer and the limit: peer (or limit) CPU µs / Gatehouse CPU µs.
      cpu_ratio_to_peer: gCpu && pCpu ? pCpu / gCpu : null,
      cpu_ratio_to_limit: gCpu && lCpu ? lCpu / gCpu : null,
      peer_p50_ms: median(series[name].peer.map((r) => r.p50_ms)),
      peer_p99_ms: median(series[name].peer.map((r) => r.p99_ms)),
      limit_kind: sc.limit ? `node:http ${sc.limit === 'sign' ? '+ one ES256 signature' : 'static JSON'}` : null,
      gatehouse_spread_pct: spread(gRates),
      peer_spread_pct: spread(pRates),
      limit_spread_pct: sc.limit ? spread(limits[sc.limit]) : null,
      gatehouse_rounds: gRates,
      peer_rounds: pRates,
      errors: {
        gatehouse: series[name].gatehouse.reduce((a, r) => a + r.errors, 0),
        peer: series[name].peer.reduce((a, r) => a + r.errors, 0),
      },
      exhausted: series[name].gatehouse.some((r) => r.exhausted) || series[name].peer.some((r) => r.exhausted),
    });
  }
  results.rss_mb.gatehouse_after_scenarios = gh.server.memory().rss_mb;
  results.rss_mb.peer_peak = peer.server.memory().peak_rss_mb;
  results.rss_mb.limit_peak = limit.memory().peak_rss_mb;
  await peer.server.stop();
  await limit.stop();

  // Sign-in with a password through the real form (sequential; the login route allows 30 posts per minute per IP).
  if (!ONLY || ONLY.has('login_password')) {
    const samples = [];
    for (let i = 0; i < (quick ? 5 : 20); i++) {
      await gatehouseSignIn(new Browser(gh.url), gh.clientId, {
        username: USERNAME,
        password: PASSWORD,
        timeLogin: (ms) => samples.push(ms),
      });
      gh.served += 3;
    }
    const sorted = [...samples].sort((a, b) => a - b);
    results.scenarios.push({
      name: 'login_password (sequential)',
      gatehouse_rps: 1000 / median(samples),
      p50_ms: median(samples),
      p99_ms: sorted[sorted.length - 1],
      peer_rps: null,
      limit_rps: null,
      ratio_to_peer: null,
      ratio_to_limit: null,
      samples: samples.length,
    });
  }

  // In-process: resource-server verification against raw jose.jwtVerify, and the password hash.
  {
    log('resource-server verification and argon2id (in process, pinned)');
    const [cmd, args] = pinned(SERVER_CORE, process.execPath, [join(ROOT, 'bench/micro.mjs'), String(quick ? 1 : 2), String(ROUNDS)]);
    const micro = JSON.parse((await run(cmd, args)).trim().split('\n').pop());
    results.scenarios.push({
      name: 'resource_server_verify (ops/s, in process)',
      gatehouse_rps: micro.verify.resource_server_ops,
      p50_ms: null,
      p99_ms: null,
      peer_rps: null,
      limit_rps: micro.verify.jose_ops,
      ratio_to_peer: null,
      ratio_to_limit: micro.verify.resource_server_ops / micro.verify.jose_ops,
      limit_kind: 'jose.jwtVerify with the key in hand',
      gatehouse_spread_pct: spread(micro.verify.rounds_rs),
      limit_spread_pct: spread(micro.verify.rounds_jose),
    });
    results.password = micro.password;
    const login = results.scenarios.find((r) => r.name.startsWith('login_password'));
    if (login) login.hash_ms = micro.password.verify_ms;
    // UI-05: an unknown user and a wrong password take the same time (in process, real form).
    const [lcmd, largs] = pinned(SERVER_CORE, process.execPath, [join(ROOT, 'bench/login-timing.mjs'), String(quick ? 10 : 30)]);
    results.login_timing = JSON.parse((await run(lcmd, largs)).trim().split('\n').pop());
  }

  // Memory: client_credentials until the server has answered each checkpoint's number of requests.
  {
    const peakBefore = gh.server.memory().peak_rss_mb;
    for (const checkpoint of RSS_CHECKPOINTS) {
      let rate = results.scenarios.find((r) => r.name === 'client_credentials_jwt')?.gatehouse_rps ?? 2000;
      while (gh.served < checkpoint) {
        const secs = Math.max(1, Math.min(30, Math.ceil((checkpoint - gh.served) / rate)));
        const r = await measure(gh, { mode: 'fixed', method: 'POST', path: gh.paths.token, auth: gh.auth, body: gh.ccBody }, secs);
        rate = r.rps;
      }
      log(
        `  rss after ${results.rss_mb[`gatehouse_checkpoint_${checkpoint}_read_at`]} requests: ${results.rss_mb[`gatehouse_after_${checkpoint}_requests`]} MiB`,
      );
    }
    results.rss_mb.gatehouse_peak_under_load = Math.max(peakBefore, gh.server.memory().peak_rss_mb);
    results.rss_mb.gatehouse_requests_served = gh.served;
  }
  await gh.server.stop();

  // Growth: client_credentials, refresh and introspection on a database with only the bench's rows
  // ("empty") and on one with GROWTH_TOKENS live refresh tokens and GROWTH_CLIENTS clients ("full"),
  // on SQLite and PostgreSQL. All of them run at once (pinned to the server core, idle unless
  // measured) and are measured interleaved, scenario by scenario, like the main rounds.
  if (!argv['no-growth']) {
    const databases = [
      { kind: 'sqlite', phase: 'empty', url: `sqlite:${join(dir, 'growth-empty.db')}` },
      { kind: 'sqlite', phase: 'full', url: `sqlite:${join(dir, 'growth-full.db')}` },
    ];
    if (!argv['no-postgres']) {
      const empty = await createPostgresDatabase(argv.postgres);
      const full = empty && (await createPostgresDatabase(argv.postgres));
      for (const d of [empty, full]) if (d) cleanups.push(() => d.drop());
      if (empty && full) {
        databases.push({ kind: 'postgres', phase: 'empty', url: empty.url }, { kind: 'postgres', phase: 'full', url: full.url });
      } else {
        results.notes.push(`PostgreSQL not reachable at ${argv.postgres}: growth measured on SQLite only`);
      }
    }
    const growthScenarios = ['client_credentials_jwt', 'refresh_rotation', 'introspection'];
    const usable = quick ? 15_000 : 40_000;
    const targets = [];
    for (const db of databases) {
      const t0 = Date.now();
      const creds = await setupGatehouse(db.url);
      const tokens = await seedTokens(
        db.url,
        creds.clientId,
        db.phase === 'empty' ? { usable } : { usable, fillers: Math.max(0, GROWTH_TOKENS - usable), clients: GROWTH_CLIENTS },
      );
      log(`growth: ${db.kind} ${db.phase} seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const server = await startGatehouse(`gatehouse-${db.kind}-${db.phase}`, db.url);
      targets.push({
        ...db,
        kind: `gatehouse-${db.kind}-${db.phase}`,
        database: db.kind,
        server,
        url: server.url,
        served: 0,
        ...creds,
        auth: basicAuth(creds.clientId, creds.clientSecret),
        paths: { token: '/token', introspect: '/introspect' },
        ccBody: form({ grant_type: 'client_credentials', scope: 'api:read' }),
        introspectToken: tokens[0],
        pool: tokens.slice(1),
        got: {},
      });
    }
    for (let round = GROWTH_WARMUP > 0 ? 0 : 1; round <= GROWTH_ROUNDS; round++) {
      log(round === 0 ? 'growth: warm-up' : `growth: round ${round}/${GROWTH_ROUNDS}`);
      for (const name of growthScenarios) {
        for (const t of targets) {
          const r = await SCENARIOS[name].run(t, round === 0 ? GROWTH_WARMUP : GROWTH_SECONDS);
          if (round > 0) (t.got[name] ??= []).push(r);
        }
      }
    }
    for (const t of targets) await t.server.stop();
    for (const kind of new Set(targets.map((t) => t.database))) {
      const emptyT = targets.find((t) => t.database === kind && t.phase === 'empty');
      const fullT = targets.find((t) => t.database === kind && t.phase === 'full');
      for (const name of growthScenarios) {
        const e = emptyT.got[name];
        const f = fullT.got[name];
        const row = {
          database: kind,
          scenario: name,
          live_refresh_tokens: GROWTH_TOKENS,
          clients: GROWTH_CLIENTS,
          empty_rps: median(e.map((r) => r.rps)),
          empty_p50_ms: median(e.map((r) => r.p50_ms)),
          empty_p99_ms: median(e.map((r) => r.p99_ms)),
          full_rps: median(f.map((r) => r.rps)),
          full_p50_ms: median(f.map((r) => r.p50_ms)),
          full_p99_ms: median(f.map((r) => r.p99_ms)),
          exhausted: [...e, ...f].some((r) => r.exhausted),
          errors: [...e, ...f].reduce((a, r) => a + r.errors, 0),
        };
        row.p99_ratio_full_to_empty = row.full_p99_ms / row.empty_p99_ms;
        results.growth.push(row);
        results.scenarios.push({
          name: `${name} @ ${kind} ${GROWTH_TOKENS} tokens`,
          gatehouse_rps: row.full_rps,
          p50_ms: row.full_p50_ms,
          p99_ms: row.full_p99_ms,
          peer_rps: null,
          limit_rps: null,
          ratio_to_peer: null,
          ratio_to_limit: null,
          empty_rps: row.empty_rps,
          empty_p99_ms: row.empty_p99_ms,
          p99_ratio_full_to_empty: row.p99_ratio_full_to_empty,
        });
      }
    }
    for (const name of growthScenarios) {
      const s = results.growth.find((r) => r.database === 'sqlite' && r.scenario === name);
      const p = results.growth.find((r) => r.database === 'postgres' && r.scenario === name);
      if (s && p)
        Object.assign(p, {
          rps_ratio_sqlite_to_postgres_full: s.full_rps / p.full_rps,
          p99_ratio_postgres_to_sqlite_full: p.full_p99_ms / s.full_p99_ms,
        });
    }
  }
} finally {
  await cleanup();
}

machine.loadavg_end = loadavg().map((x) => +x.toFixed(2));
machine.duration_s = Math.round((Date.now() - started) / 1000);
const output = { machine, ...results };
mkdirSync(new URL('./results', import.meta.url), { recursive: true });
const latest = new URL('./results/latest.json', import.meta.url);
writeFileSync(latest, `${JSON.stringify(output, null, 2)}\n`);
printTables(output);
process.stdout.write(`\nresults: ${fileURLToPath(latest)} (${machine.duration_s} s)\n`);
