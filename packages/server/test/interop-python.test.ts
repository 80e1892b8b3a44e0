// Interop: a listening Gatehouse driven by Python clients — authlib and requests-oauthlib (Debian
// packages python3-authlib, python3-requests-oauthlib). Each script in test/python/ builds the
// authorization URL; this test plays the browser (test/user-agent.ts) and hands the callback URL
// back on stdin; the script redeems the code, calls userinfo, refreshes, introspects, revokes, and
// prints one JSON result that is asserted on here.
//
// Without python3 and those packages the tests skip with the reason — except when CI=true, where
// they fail: CI installs them (.ci/run), so missing means broken.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { registerClient } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import { listen, UserAgent, type ListeningServer } from './user-agent.js';

const REDIRECT = 'http://127.0.0.1:8080/callback'; // nothing listens: the callback is read from Location
const SCRIPT_TIMEOUT_MS = 60_000;
const alice = { username: 'alice', password: 'correct horse battery' };

/** Debian's interpreter has the Debian packages; a pyenv `python3` on PATH may not. */
function pythonCandidates(): string[] {
  const fromEnv = process.env.GATEHOUSE_TEST_PYTHON;
  return fromEnv ? [fromEnv] : ['/usr/bin/python3', 'python3'];
}

interface PythonEnv {
  python: string;
  versions: Record<string, string>;
}

function findPython(): PythonEnv | string {
  const probe =
    'import json, sys, authlib, oauthlib, requests, requests_oauthlib; print(json.dumps({"python": sys.version.split()[0], "authlib": authlib.__version__, "oauthlib": oauthlib.__version__, "requests_oauthlib": requests_oauthlib.__version__, "requests": requests.__version__}))';
  const reasons: string[] = [];
  for (const python of pythonCandidates()) {
    const r = spawnSync(python, ['-I', '-c', probe], { encoding: 'utf8', timeout: 15_000 });
    if (r.status === 0) return { python, versions: JSON.parse(r.stdout) as Record<string, string> };
    reasons.push(`${python}: ${r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`)}`);
  }
  return `python3 with authlib and requests-oauthlib not found (${reasons.join('; ')}); install python3-authlib python3-requests-oauthlib`;
}

/** test/python/, whether this file runs compiled (dist/test/) or from source (test/). */
function scriptPath(name: string): string {
  for (const base of ['./python/', '../../test/python/']) {
    const path = fileURLToPath(new URL(`${base}${name}`, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error(`python script ${name} not found beside ${import.meta.url}`);
}

interface Message {
  step: 'authorize' | 'result' | 'error';
  [key: string]: unknown;
}

/** One python script as a conversation of JSON lines, killed if it outlives SCRIPT_TIMEOUT_MS. */
function runScript(python: string, name: string, config: Record<string, string>) {
  const child = spawn(python, ['-I', scriptPath(name)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // The scripts relax oauthlib/authlib's https-only check themselves, and only for a 127.0.0.1
    // issuer; nothing else from this environment is needed.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', NO_PROXY: '*', no_proxy: '*' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), SCRIPT_TIMEOUT_MS);
  child.on('close', () => clearTimeout(timer));
  child.stdin.write(`${JSON.stringify(config)}\n`);

  return {
    async next(): Promise<Message> {
      const { value, done } = await lines.next();
      if (done) throw new Error(`${name} ended (exit ${String(await exited)}) without a message; stderr:\n${stderr}`);
      let message: Message;
      try {
        message = JSON.parse(value) as Message;
      } catch {
        throw new Error(`${name} printed a line that is not JSON: ${value}\nstderr:\n${stderr}`);
      }
      if (message.step === 'error')
        throw new Error(`${name} failed: ${String(message.error)}\n${String(message.traceback)}\nstderr:\n${stderr}`);
      return message;
    },
    send(line: string): void {
      child.stdin.write(`${line}\n`);
    },
    async finish(): Promise<number | null> {
      child.stdin.end();
      return exited;
    },
    kill(): void {
      child.kill('SIGKILL');
    },
  };
}

/** The script asks for a browser: the scripted user signs in and consents; the callback goes back. */
async function converse(python: string, name: string, config: Record<string, string>): Promise<Message> {
  const script = runScript(python, name, config);
  try {
    const authorize = await script.next();
    assert.equal(authorize.step, 'authorize');
    const url = new URL(String(authorize.url));
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256', `${name} asks for PKCE S256`);
    assert.ok(url.searchParams.get('code_challenge'), `${name} sends a code_challenge`);
    const ua = new UserAgent();
    const callback = await ua.authorize(url.href, REDIRECT, alice);
    assert.ok(
      ua.pages.some((p) => p.html.includes('Python Printer')),
      'the consent page names the client',
    );
    script.send(callback.href);
    const result = await script.next();
    assert.equal(result.step, 'result');
    assert.equal(await script.finish(), 0, `${name} exits 0`);
    return result;
  } finally {
    script.kill();
  }
}

const scopeList = (scope: unknown): string[] => (Array.isArray(scope) ? scope.map(String) : String(scope).split(' ')).sort();

describe('interop with Python: authlib and requests-oauthlib', () => {
  const env = findPython();
  const missing = typeof env === 'string' ? env : undefined;
  let server: ListeningServer;
  let client: { id: string; secret: string };
  const scope = 'openid profile email offline_access photos:read';

  before(async () => {
    if (missing) return;
    server = await listen();
    const { storage } = server.deps;
    const now = nowSeconds();
    await storage.users.create({
      id: 'alice-id',
      username: alice.username,
      passwordHash: await hashPassword(alice.password),
      email: 'alice@example.com',
      name: 'Alice Example',
      claims: { email_verified: true },
      disabled: false,
      createdAt: now,
      updatedAt: now,
    });
    const c = await registerClient(
      storage.clients,
      {
        clientName: 'Python Printer',
        redirectUris: [REDIRECT],
        scope,
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        authMethod: 'client_secret_basic',
        defaultScope: 'photos:read', // what requests-oauthlib's client_credentials request (sent without scope) gets
      },
      now,
    );
    client = { id: c.client.clientId, secret: c.clientSecret! };
  });
  after(async () => {
    if (server) await server.close();
  });

  /** Skips locally, fails in CI, when python or the libraries are missing. */
  function requirePython(t: { skip(message: string): void }): string | undefined {
    if (typeof env !== 'string') return env.python;
    if (process.env.CI === 'true') assert.fail(`CI=true: ${env}`);
    t.skip(env);
    return undefined;
  }

  const config = (): Record<string, string> => ({
    issuer: server.issuer,
    client_id: client.id,
    client_secret: client.secret,
    redirect_uri: REDIRECT,
    scope,
  });

  test('python3 has authlib and requests-oauthlib (versions are reported)', (t) => {
    if (!requirePython(t) || typeof env === 'string') return;
    t.diagnostic(
      `python ${env.versions.python} (${env.python}), authlib ${env.versions.authlib}, requests-oauthlib ${env.versions.requests_oauthlib}, oauthlib ${env.versions.oauthlib}, requests ${env.versions.requests}`,
    );
    assert.ok(env.versions.authlib && env.versions.requests_oauthlib);
  });

  test('authlib: code flow with PKCE S256 and client_secret_basic, ID token verified, userinfo, refresh rotates, introspection active then inactive after revocation', async (t) => {
    const python = requirePython(t);
    if (!python) return;
    const r = await converse(python, 'authlib_flow.py', config());
    t.diagnostic(`authlib ${String(r.version)}`);
    assert.equal(r.callback_state_matches, true);
    assert.equal(r.callback_iss, server.issuer, 'RFC 9207 iss in the authorization response');
    assert.equal(String(r.token_type).toLowerCase(), 'bearer');
    assert.deepEqual(scopeList(r.scope), scopeList(scope));
    assert.equal(r.has_refresh_token, true);
    assert.equal(r.id_token_sub, 'alice-id');
    assert.equal(r.id_token_alg, 'RS256');
    const userinfo = r.userinfo as Record<string, unknown>;
    assert.equal(userinfo.sub, 'alice-id');
    assert.equal(userinfo.email, 'alice@example.com');
    assert.equal(userinfo.name, 'Alice Example');
    assert.equal(String(r.refreshed_token_type).toLowerCase(), 'bearer');
    assert.equal(r.refresh_rotated, true, 'the refresh gave a new refresh token');
    assert.equal(r.access_rotated, true);
    const before = r.introspection_access_before as Record<string, unknown>;
    assert.equal(before.active, true);
    assert.equal(before.client_id, client.id);
    assert.equal(before.sub, 'alice-id');
    assert.equal(before.token_type, 'Bearer');
    const beforeRefresh = r.introspection_refresh_before as Record<string, unknown>;
    assert.equal(beforeRefresh.active, true);
    assert.equal(beforeRefresh.token_type, 'refresh_token');
    assert.equal(r.revocation_status, 200);
    assert.deepEqual(r.introspection_access_after, { active: false }, 'revoking the refresh token revoked its access tokens');
    assert.deepEqual(r.introspection_refresh_after, { active: false });
  });

  test('requests-oauthlib: client_credentials with BackendApplicationClient, then the code flow with PKCE S256, userinfo and a rotating refresh', async (t) => {
    const python = requirePython(t);
    if (!python) return;
    const r = await converse(python, 'requests_oauthlib_flow.py', config());
    t.diagnostic(`requests-oauthlib ${String(r.version)} (oauthlib ${String(r.oauthlib_version)}), PKCE via ${String(r.pkce_via)}`);
    assert.equal(String(r.cc_token_type).toLowerCase(), 'bearer');
    assert.deepEqual(scopeList(r.cc_scope), ['photos:read']);
    assert.equal(r.cc_has_refresh_token, false, 'client_credentials issues no refresh token');
    const cc = r.cc_introspection as Record<string, unknown>;
    assert.equal(cc.active, true);
    assert.equal(cc.client_id, client.id);
    assert.equal(cc.sub, client.id);
    assert.equal(r.callback_iss, server.issuer);
    assert.equal(String(r.token_type).toLowerCase(), 'bearer');
    assert.deepEqual(scopeList(r.scope), scopeList(scope));
    assert.equal((r.userinfo as Record<string, unknown>).sub, 'alice-id');
    assert.equal(r.refresh_rotated, true, 'the refresh gave a new refresh token');
    assert.equal(r.access_rotated, true);
  });
});
