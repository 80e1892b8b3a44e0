// UI-05 / CA-03: an unknown user and a wrong password must take the same time (a dummy argon2id hash
// runs for unknown users). In process (app.inject: nothing leaves the process), alternating samples
// through the real login form, medians. Run by bench/run.mjs pinned to the server core; prints JSON.
import { loadConfig, createGatehouse } from '../packages/server/dist/src/index.js';
import { registerClient } from '../packages/server/dist/src/oauth/clients.js';
import { hashPassword } from '../packages/server/dist/src/oauth/passwords.js';

const samples = Number(process.argv[2] ?? 20);
const config = loadConfig({
  GATEHOUSE_DATABASE_URL: 'sqlite::memory:',
  GATEHOUSE_ISSUER: 'http://127.0.0.1:9000',
  GATEHOUSE_LOG_LEVEL: 'silent',
  GATEHOUSE_LOGIN_MAX_FAILURES: '1000', // the samples must not hit the lock
});
const gh = await createGatehouse(config);
const now = Math.floor(Date.now() / 1000);
await gh.deps.storage.users.create({
  id: 'timing-alice',
  username: 'alice',
  passwordHash: await hashPassword('the right password'),
  email: null,
  name: null,
  claims: {},
  disabled: false,
  createdAt: now,
  updatedAt: now,
});
const { client } = await registerClient(
  gh.deps.storage.clients,
  { clientName: 'web', redirectUris: ['https://web.example/cb'], scope: 'openid' },
  now,
);

const times = { unknown: [], wrong: [] };
for (let i = 0; i < samples * 2; i++) {
  const kind = i % 2 === 0 ? 'unknown' : 'wrong';
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: client.clientId,
    redirect_uri: 'https://web.example/cb',
    scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  const start = await gh.app.inject(`/authorize?${q}`);
  const cookie = start.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const page = await gh.app.inject({ url: start.headers.location, headers: { cookie } });
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)[1];
  const payload = new URLSearchParams({
    csrf_token: csrf,
    username: kind === 'unknown' ? `nobody${i}` : 'alice',
    password: 'not the password',
  }).toString();
  // Each sample from its own client address, so that the login route's per-IP limit does not end the run.
  const remoteAddress = `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  const t0 = process.hrtime.bigint();
  const res = await gh.app.inject({
    method: 'POST',
    url: `${start.headers.location}/login`,
    remoteAddress,
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload,
  });
  times[kind].push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (res.statusCode !== 401) throw new Error(`login sample answered ${res.statusCode}`);
}
await gh.close();
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
process.stdout.write(`${JSON.stringify({ samples, unknown_user_ms: median(times.unknown), wrong_password_ms: median(times.wrong) })}\n`);
