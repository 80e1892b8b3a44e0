// DS-02 and issue 12 item 4: with --redis, rate limits, the login throttle and the jti replay caches
// are shared by every node; Redis down → replay caches fail closed (503), rate limits fail open with one
// warning. Needs a Redis: GATEHOUSE_TEST_REDIS_URL (.ci/run starts one on 127.0.0.1:6379 and sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Redis } from 'ioredis';
import {
  basic,
  Browser,
  form,
  ISSUER,
  nowSeconds,
  pkce,
  postAs,
  startInteraction,
  startServer,
  testClock,
  type TestServer,
} from './helpers.js';
import { loadConfig } from '../src/config/config.js';
import { createGatehouse } from '../src/server.js';
import { registerClient } from '../src/oauth/clients.js';

const REDIS_URL = process.env.GATEHOUSE_TEST_REDIS_URL;
const skip = REDIS_URL ? false : 'GATEHOUSE_TEST_REDIS_URL is not set (.ci/run sets it after starting Redis on 127.0.0.1:6379)';
const GATEHOUSE_BIN = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const C1 = 'https://c1.example/cb';

/** A Redis URL with a key prefix of its own, so that tests never see each other's keys. */
const isolated = (url = REDIS_URL!) => `${url}${url.includes('?') ? '&' : '?'}prefix=gatehouse-test-${randomUUID()}:`;

/** Two nodes on one SQLite file and one Redis, as a cluster of two. */
async function cluster(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}): Promise<[TestServer, TestServer]> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));
  const shared = { GATEHOUSE_DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, GATEHOUSE_REDIS_URL: isolated(), ...env };
  const a = await startServer(shared);
  const b = await startServer(shared);
  t.after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return [a, b];
}

const clientCredentials = (server: TestServer, client: { clientId: string; clientSecret: string | undefined }) =>
  server.app.inject({
    method: 'POST',
    url: '/token',
    headers: { authorization: basic(client.clientId, client.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials' }),
  });

async function keyClient(create: (input: Parameters<TestServer['createClient']>[0]) => Promise<{ clientId: string }>) {
  const pair = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', use: 'sig' };
  const client = await create({
    authMethod: 'private_key_jwt',
    jwks: { keys: [jwk] },
    grantTypes: ['client_credentials'],
    scope: 'openid',
  });
  const assertion = (jti = randomUUID()) =>
    new SignJWT({ iss: client.clientId, sub: client.clientId, aud: ISSUER, jti })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuedAt(nowSeconds())
      .setExpirationTime(nowSeconds() + 60)
      .sign(pair.privateKey);
  return { client, assertion };
}

const withAssertion = (app: TestServer['app'], assertion: string) =>
  app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }),
  });

test('DS-02 two nodes on one Redis share the /token rate limit: the limit counts both', { skip }, async (t) => {
  const [a, b] = await cluster(t, { GATEHOUSE_RATE_LIMIT_TOKEN: '4' });
  const client = await a.createClient({ grantTypes: ['client_credentials'] });
  for (const node of [a, b, a, b]) assert.equal((await clientCredentials(node, client)).statusCode, 200);
  for (const node of [a, b]) {
    const res = await clientCredentials(node, client);
    assert.equal(res.statusCode, 429, 'the fifth request is over the shared budget on either node');
    assert.equal((res.json() as { error: string }).error, 'temporarily_unavailable');
    assert.ok(Number(res.headers['retry-after']) > 0);
  }
});

test('DS-02 two nodes on one Redis share the login throttle, and gatehouse users unlock --redis clears it', { skip }, async (t) => {
  const [a, b] = await cluster(t, { GATEHOUSE_RATE_LIMIT_AUTHORIZE: '0', GATEHOUSE_RATE_LIMIT_LOGIN: '0' });
  const client = await a.createClient({ redirectUris: [C1] });
  const user = await a.createUser();
  const browser = (node: TestServer) => new Browser(node.app);
  const attempt = async (node: TestServer, password: string) => {
    const br = browser(node);
    const { form: login } = await startInteraction(br, {
      clientId: client.clientId,
      redirectUri: C1,
      state: 'S',
      challenge: pkce().challenge,
    });
    return postAs(node.app, br, login.action, { ...login.fields, username: user.username, password }, { remoteAddress: '203.0.113.5' });
  };
  for (const node of [a, b, a, b, a]) assert.equal((await attempt(node, 'wrong')).statusCode, 401);
  assert.equal((await attempt(b, user.password)).statusCode, 429, 'failures counted on both nodes lock the network on each');
  assert.equal((await a.deps.storage.db.selectFrom('login_locks').select('key').execute()).length, 0, 'nothing in the database');

  const cli = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [GATEHOUSE_BIN, 'users', 'unlock', user.username, '--json', '--redis', a.config.redisUrl],
      { env: { ...process.env, GATEHOUSE_DATABASE_URL: a.config.databaseUrl }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
    );
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.ok((JSON.parse(cli.stdout) as { cleared: number }).cleared >= 2, cli.stdout);
  // From another address of the unlocked network (the IP's own lock across accounts is not the account's).
  const br = new Browser(b.app);
  const { form: login } = await startInteraction(br, {
    clientId: client.clientId,
    redirectUri: C1,
    state: 'S',
    challenge: pkce().challenge,
  });
  const res = await postAs(
    b.app,
    br,
    login.action,
    { ...login.fields, username: user.username, password: user.password },
    { remoteAddress: '203.0.113.6' },
  );
  assert.equal(res.statusCode, 303, 'unlocked on every node');
});

test('DS-02 a client assertion used on one node is a replay on the other (the Redis replay cache)', { skip }, async (t) => {
  const [a, b] = await cluster(t);
  const { assertion } = await keyClient((input) => a.createClient(input));
  const jwt = await assertion();
  assert.equal((await withAssertion(a.app, jwt)).statusCode, 200);
  const replay = await withAssertion(b.app, jwt);
  assert.equal(replay.statusCode, 401, replay.body);
  assert.equal((replay.json() as { error: string }).error, 'invalid_client');
  assert.equal((await a.deps.storage.db.selectFrom('client_assertion_jtis').select('jti_hash').execute()).length, 0, 'kept in Redis');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined); // refused while the server starts: retried below
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

test(
  'DS-02 Redis stopped mid-test: client assertions get 503 temporarily_unavailable, rate limits let requests through with one warning',
  { skip },
  async (t) => {
    const port = await freePort();
    let redis: ChildProcess | undefined = await startRedis(port);
    t.after(() => void redis?.kill('SIGKILL'));
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({
      GATEHOUSE_DATABASE_URL: 'sqlite::memory:',
      GATEHOUSE_ISSUER: ISSUER,
      GATEHOUSE_REDIS_URL: isolated(`redis://127.0.0.1:${port}`),
      GATEHOUSE_REDIS_COMMAND_TIMEOUT: '200',
      GATEHOUSE_RATE_LIMIT_TOKEN: '2',
    });
    const gatehouse = await createGatehouse(config, { clock: testClock(), logger: { level: 'info', stream } });
    t.after(() => gatehouse.close());
    const { app, deps } = gatehouse;
    const create = async (input: Parameters<TestServer['createClient']>[0]) => {
      const { client, clientSecret } = await registerClient(
        deps.storage.clients,
        { clientName: 'Test', redirectUris: [C1], grantTypes: ['client_credentials'], scope: 'openid', ...input },
        nowSeconds(),
      );
      return { clientId: client.clientId, clientSecret };
    };
    const secretClient = await create({});
    const { assertion } = await keyClient(create);
    const fake = { app } as TestServer;
    assert.equal((await withAssertion(app, await assertion())).statusCode, 200, 'with Redis up, an assertion is accepted');
    for (let i = 0; i < 2; i++) await clientCredentials(fake, secretClient);
    assert.equal((await clientCredentials(fake, secretClient)).statusCode, 429, 'with Redis up, the limit holds');
    assert.equal(((await app.inject({ method: 'GET', url: '/readyz' })).json() as { checks: { redis: string } }).checks.redis, 'ok');

    redis.kill('SIGKILL');
    await new Promise((r) => redis!.once('exit', r));
    redis = undefined;

    for (let i = 0; i < 3; i++) {
      const res = await withAssertion(app, await assertion());
      assert.equal(res.statusCode, 503, `fail closed: ${res.body}`);
      assert.equal((res.json() as { error: string }).error, 'temporarily_unavailable');
      assert.ok(Number(res.headers['retry-after']) > 0);
    }
    for (let i = 0; i < 5; i++) assert.equal((await clientCredentials(fake, secretClient)).statusCode, 200, `fail open: request ${i + 1}`);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 200, 'a Redis outage does not fail readiness');
    assert.equal((ready.json() as { checks: { redis: string } }).checks.redis, 'unreachable');
    const warnings = lines.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('redis unreachable'));
    assert.equal(warnings.length, 1, 'one warning for the outage');
    assert.equal(warnings[0]!.level, 40, 'at warn');
    assert.ok(!lines.some((l) => l.level === 50 && /unhandled/.test(String(l.msg))), 'no 500s logged');
  },
);
