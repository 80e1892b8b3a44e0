// npm run bench — load benchmarks for the hot paths, each beside a peer measured in the same run so
// that the numbers mean something on this machine:
//   token (client_credentials) vs. a bare Fastify route on the same server process (the ceiling),
//   JWKS (cached JSON), and the cost of one ES256 signature (the floor of a token response).
// Traffic goes only to 127.0.0.1; every run is bounded in time. Options: BENCH_SECONDS (default 8),
// BENCH_CONNECTIONS (default 16).
import { mkdtempSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { SignJWT, generateKeyPair } from 'jose';
import { loadConfig, createGatehouse } from '../packages/server/dist/src/index.js';
import { registerClient } from '../packages/server/dist/src/oauth/clients.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
const port = 9700 + Math.floor(Math.random() * 200);
const issuer = `http://127.0.0.1:${port}`;

const config = loadConfig({
  GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'bench.db')}`, GATEHOUSE_ISSUER: issuer, GATEHOUSE_LOG_LEVEL: 'silent',
  GATEHOUSE_LOGIN_MAX_FAILURES: '1000', // the timing samples below must not hit the lock
});
const gh = await createGatehouse(config);
gh.app.get('/bench/peer', async () => ({ ok: true })); // the ceiling: Fastify + our hooks, no work
await gh.app.listen({ host: '127.0.0.1', port });
const { client, clientSecret } = await registerClient(gh.deps.storage.clients, {
  clientName: 'bench', redirectUris: [], grantTypes: ['client_credentials'], scope: 'photos:read',
}, Math.floor(Date.now() / 1000));
const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;

async function load(title, opts) {
  const result = await autocannon({ url: `${issuer}${opts.path}`, connections, duration: seconds, ...opts, path: undefined });
  const ok = result['2xx'];
  const row = {
    title,
    requests_per_s: Math.round(result.requests.average),
    latency_p50_ms: result.latency.p50,
    latency_p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors,
    total_2xx: ok,
  };
  console.log(`${title.padEnd(44)} ${String(row.requests_per_s).padStart(7)} req/s   p50 ${row.latency_p50_ms} ms   p99 ${row.latency_p99_ms} ms   non-2xx ${row.non_2xx}`);
  return row;
}

function signRate() {
  return (async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const n = 2000;
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      await new SignJWT({ sub: 'x', scope: 'photos:read', jti: String(i) }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' }).sign(privateKey);
    }
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const row = { title: 'ES256 JWT signatures, one core, in process', per_s: Math.round(n / s), us_each: Math.round((s / n) * 1e6) };
    console.log(`${row.title.padEnd(44)} ${String(row.per_s).padStart(7)} /s      ${row.us_each} µs each`);
    return row;
  })();
}

// UI-05 / CA-03: an unknown user and a wrong password must take the same time (a dummy argon2id
// hash runs for unknown users). Medians over alternating samples, through the real login form.
async function loginTiming(samples = 60) {
  const now = Math.floor(Date.now() / 1000);
  const { hashPassword } = await import('../packages/server/dist/src/oauth/passwords.js');
  await gh.deps.storage.users.create({ id: 'bench-alice', username: 'alice', password_hash: await hashPassword('the right password'), email: null, name: null, claims: '{}', disabled: 0, created_at: now, updated_at: now });
  const web = await registerClient(gh.deps.storage.clients, { clientName: 'web', redirectUris: ['https://web.example/cb'], scope: 'openid' }, now);
  const times = { unknown: [], wrong: [] };
  for (let i = 0; i < samples * 2; i++) {
    const kind = i % 2 === 0 ? 'unknown' : 'wrong';
    const q = new URLSearchParams({ response_type: 'code', client_id: web.client.clientId, redirect_uri: 'https://web.example/cb', scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
    const start = await gh.app.inject(`/authorize?${q}`);
    const cookie = start.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const page = await gh.app.inject({ url: start.headers.location, headers: { cookie } });
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)[1];
    const body = new URLSearchParams({ csrf_token: csrf, username: kind === 'unknown' ? `nobody${i}` : 'alice', password: 'not the password' }).toString();
    const t0 = process.hrtime.bigint();
    // Each sample from its own client address (inject only: nothing leaves the process), so the
    // per-IP rate limit of the login route does not end the run.
    const remoteAddress = `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const res = await gh.app.inject({ method: 'POST', url: `${start.headers.location}/login`, remoteAddress, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
    times[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.statusCode !== 401) throw new Error(`login sample answered ${res.statusCode}`);
  }
  const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const row = { title: 'login: unknown user vs wrong password (median ms)', unknown_ms: +median(times.unknown).toFixed(2), wrong_password_ms: +median(times.wrong).toFixed(2) };
  console.log(`${row.title.padEnd(52)} unknown ${row.unknown_ms} ms   wrong password ${row.wrong_password_ms} ms   (${samples} samples each)`);
  return row;
}

console.log(`gatehouse bench: ${seconds}s per run, ${connections} connections, node ${process.version}, SQLite at ${dir}`);
const rows = [];
rows.push(await signRate());
rows.push(await loginTiming());
rows.push(await load('peer: bare route on the same server', { path: '/bench/peer' }));
rows.push(await load('GET /jwks', { path: '/jwks' }));
rows.push(await load('POST /token client_credentials (Basic)', {
  path: '/token', method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&scope=photos%3Aread',
}));
rows.push(await load('POST /token wrong secret (401 path)', {
  path: '/token', method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${client.clientId}:nope`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials',
}));
const rss = Math.round(process.memoryUsage().rss / 1024 / 1024);
console.log(`resident memory after the runs: ${rss} MiB`);

await gh.close();
rmSync(dir, { recursive: true, force: true });
mkdirSync(new URL('./results', import.meta.url), { recursive: true });
const file = new URL(`./results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, seconds, connections, rss_mib: rss, rows }, null, 2));
console.log(`results written to ${file.pathname}`);
