#!/usr/bin/env node
// `npm start`: the whole Gatehouse story on this machine.
//
//   1. starts the authorization server (:9000, SQLite in ./data; it applies the migrations),
//   2. registers the demo user and the "Photo Printer" client with the `gatehouse` CLI
//      (idempotent: the client's secret is kept in ./data/demo-client.json),
//   3. starts the photos API (:9100) and Photo Printer (:8080), each after the previous part
//      printed `listening on URL`, and prints the URL to open and the demo credentials;
//   4. registers the demo MCP server as a resource (RFC 8707, idempotent), starts it (:9200/mcp) and
//      prints how to connect an MCP client to it.
// Ctrl-C / SIGTERM stops the three, newest first; if one of them dies the others are stopped
// and the script exits non-zero.
//
// Plain Node ESM: no build needed for this file, but it runs the compiled dist of each part
// (`npm install` builds them; otherwise `npm run build`).
//
// Environment (all optional): DEMO_HOST (127.0.0.1), DEMO_SERVER_PORT (9000),
// DEMO_API_PORT (9100), DEMO_CLIENT_PORT (8080), DEMO_MCP_PORT (9200) — 0 picks a free port —, DEMO_DATA_DIR (./data),
// DEMO_USERNAME (alice), DEMO_PASSWORD.
//
// Also a module: `startDemo(options)` is what the browser end-to-end test uses.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GATEHOUSE_BIN = join(ROOT, 'packages/server/bin/gatehouse.js');
const BUILT = {
  server: join(ROOT, 'packages/server/dist/src/cli/index.js'),
  api: join(ROOT, 'examples/demo-api/dist/src/main.js'),
  client: join(ROOT, 'examples/demo-client/dist/src/main.js'),
  mcp: join(ROOT, 'examples/demo-mcp/dist/src/main.js'),
};

export const DEMO_MCP_SCOPE = 'mcp:tools';

export const DEMO_CLIENT_NAME = 'Photo Printer';
export const DEMO_SCOPES = 'openid profile email offline_access photos:read photos:write';
export const DEMO_USER = {
  username: 'alice',
  password: 'photo-printer-demo',
  email: 'alice@example.com',
  name: 'Alice Example',
};

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

/** Every long-running part started by this process and not yet exited. */
const liveParts = new Set();

/** Stops every part this process started (newest first), e.g. on Ctrl-C during start-up. */
let shuttingDown = false;
export async function stopAllParts() {
  shuttingDown = true;
  for (const part of [...liveParts].reverse()) await stopPart(part);
}

/** A free TCP port on `host` (the kernel picks it; a tiny race is acceptable for a demo/test). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/**
 * Runs the gatehouse CLI once: `{ code, stdout, stderr }`. `input` is written to its stdin
 * (passwords never go on the command line).
 */
export function runGatehouse(args, { input, env = {} } = {}) {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [GATEHOUSE_BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), STARTUP_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the CLI may exit before reading stdin
    child.stdin.end(input ?? '');
  });
}

async function gatehouseJson(args, options) {
  const result = await runGatehouse([...args, '--json'], options);
  if (result.code !== 0) {
    throw new Error(
      `gatehouse ${args.slice(0, 2).join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new Error(`gatehouse ${args.slice(0, 2).join(' ')} --json printed no JSON: ${result.stdout.slice(0, 200)}`);
  }
}

/** Creates the user unless a user with that name exists. Returns true when created. */
export async function ensureUser({ username, password, email, name }, database) {
  const users = await gatehouseJson(['users', 'list', '--database', database]);
  if (Array.isArray(users) && users.some((u) => u.username === username)) return false;
  const args = ['users', 'create', '--username', username, '--password-stdin', '--database', database];
  if (email) args.push('--email', email);
  if (name) args.push('--name', name);
  await gatehouseJson(args, { input: password });
  return true;
}

/**
 * The demo client's credentials, registered once. The secret is shown only at creation, so it
 * is kept in `credentialsFile`; without that file (or when the URIs changed, e.g. another port)
 * a client of the same name is deleted and registered again. `postLogoutRedirectUri` is where
 * Gatehouse's end_session_endpoint sends the browser back after RP-initiated logout.
 */
export async function ensureClient({ redirectUri, postLogoutRedirectUri, credentialsFile, database }) {
  const clients = await gatehouseJson(['clients', 'list', '--database', database]);
  const list = Array.isArray(clients) ? clients : [];
  let saved;
  try {
    saved = JSON.parse(readFileSync(credentialsFile, 'utf8'));
  } catch {
    saved = undefined;
  }
  if (
    saved?.client_id &&
    saved.client_secret &&
    Array.isArray(saved.redirect_uris) &&
    saved.redirect_uris.includes(redirectUri) &&
    (!postLogoutRedirectUri || saved.post_logout_redirect_uris?.includes(postLogoutRedirectUri)) &&
    list.some((c) => c.client_id === saved.client_id)
  ) {
    return { client: saved, created: false };
  }
  for (const stale of list.filter((c) => c.client_name === DEMO_CLIENT_NAME || c.client_id === saved?.client_id)) {
    const result = await runGatehouse(['clients', 'delete', stale.client_id, '--database', database]);
    if (result.code !== 0) {
      throw new Error(`gatehouse clients delete ${stale.client_id} failed: ${result.stderr.trim() || result.stdout.trim()}`);
    }
  }
  const client = await gatehouseJson([
    'clients',
    'create',
    '--name',
    DEMO_CLIENT_NAME,
    '--redirect-uri',
    redirectUri,
    ...(postLogoutRedirectUri ? ['--post-logout-redirect-uri', postLogoutRedirectUri] : []),
    '--scope',
    DEMO_SCOPES,
    '--grant-types',
    'authorization_code,refresh_token',
    '--database',
    database,
  ]);
  if (!client?.client_id || !client.client_secret) {
    throw new Error('gatehouse clients create --json returned no client_id/client_secret');
  }
  writeFileSync(credentialsFile, `${JSON.stringify(client, null, 2)}\n`, { mode: 0o600 });
  return { client, created: true };
}

/**
 * Registers the photos API as a protected resource (RFC 8707) with the plain words the consent page
 * shows, and keeps the introspection credentials that registration prints once in `credentialsFile`
 * (owner-only). When the file is missing or the resource is gone, the resource is registered again.
 */
export async function ensurePhotosResource(uri, credentialsFile, database) {
  let saved;
  try {
    saved = JSON.parse(readFileSync(credentialsFile, 'utf8'));
  } catch {
    saved = undefined;
  }
  const resources = await gatehouseJson(['resources', 'list', '--database', database]);
  const existing = Array.isArray(resources) ? resources.find((r) => r.uri === uri) : undefined;
  if (existing && saved?.uri === uri && saved.introspection_credentials?.client_id === existing.introspection_client_id) {
    return saved.introspection_credentials;
  }
  if (existing) {
    const result = await runGatehouse(['resources', 'delete', uri, '--database', database]);
    if (result.code !== 0) throw new Error(`gatehouse resources delete ${uri} failed: ${result.stderr.trim() || result.stdout.trim()}`);
  }
  const created = await gatehouseJson([
    'resources',
    'create',
    '--uri',
    uri,
    '--name',
    'Photo Library',
    '--scope',
    'photos:read photos:write',
    '--scope-description',
    'photos:read=See your photos',
    '--scope-description',
    'photos:write=Add photos to your library',
    '--database',
    database,
  ]);
  if (!created?.introspection_credentials?.client_secret)
    throw new Error('gatehouse resources create --json printed no introspection credentials');
  writeFileSync(credentialsFile, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
  return created.introspection_credentials;
}

/**
 * Registers the demo MCP server as a protected resource (RFC 8707) unless a resource with that URI
 * exists. Returns true when created.
 */
export async function ensureMcpResource(uri, database) {
  const resources = await gatehouseJson(['resources', 'list', '--database', database]);
  if (Array.isArray(resources) && resources.some((r) => r.uri === uri)) return false;
  await gatehouseJson([
    'resources',
    'create',
    '--uri',
    uri,
    '--name',
    'Demo MCP server',
    '--scope',
    DEMO_MCP_SCOPE,
    '--scope-description',
    `${DEMO_MCP_SCOPE}=Use the tools of the demo MCP server`,
    '--no-introspection',
    '--database',
    database,
  ]);
  return true;
}

/**
 * Starts one long-running part and resolves with the URL of its `listening on URL` line.
 * Every output line goes to `log(name, line)`.
 */
function startChild(name, script, args, env, log) {
  if (shuttingDown) throw new Error('stopping: not starting the ' + name);
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a terminal's Ctrl-C reaches only this script, which then stops the
    // parts one by one (newest first) with a single SIGTERM each.
    detached: true,
  });
  const part = { name, child, url: undefined, exited: false, exit: undefined };
  liveParts.add(part);
  const recent = [];
  part.exitPromise = new Promise((resolveExit) => {
    child.on('exit', (code, signal) => {
      liveParts.delete(part);
      part.exited = true;
      part.exit = { code, signal };
      resolveExit(part.exit);
    });
  });
  part.ready = new Promise((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not print "listening on URL" within ${STARTUP_TIMEOUT_MS / 1000}s`)),
      STARTUP_TIMEOUT_MS,
    );
    const onLine = (line) => {
      recent.push(line);
      if (recent.length > 30) recent.shift();
      log(name, line);
      const match = /listening on (\S+)/.exec(line);
      if (match && !part.url) {
        part.url = match[1].replace(/\/$/, '');
        clearTimeout(timer);
        resolveReady(part.url);
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    part.exitPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready. Last output:\n  ${recent.join('\n  ')}`));
    });
  });
  part.ready.catch(() => {});
  return part;
}

async function stopPart(part) {
  if (part.exited) return;
  try {
    part.child.kill('SIGTERM');
  } catch {
    return;
  }
  const timeout = new Promise((r) => setTimeout(r, STOP_TIMEOUT_MS, 'timeout'));
  if ((await Promise.race([part.exitPromise, timeout])) === 'timeout' && !part.exited) {
    part.child.kill('SIGKILL');
    await part.exitPromise;
  }
}

function defaultLog(name, line) {
  const colors = { server: 36, api: 35, client: 33, mcp: 32 };
  const tag = process.stdout.isTTY ? `\x1b[${colors[name] ?? 0}m[${name}]\x1b[0m` : `[${name}]`;
  process.stdout.write(`${tag} ${line}\n`);
}

async function resolvePort(value, fallback, host) {
  const port = value === undefined || value === '' ? fallback : Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`not a TCP port: ${value}`);
  return port === 0 ? freePort(host) : port;
}

/**
 * Registers and starts the three parts. Resolves once all three listen, with their URLs, the
 * demo credentials, `stop()` and `failed` (resolves with a description if a part dies on its own).
 */
export async function startDemo(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? defaultLog;
  for (const [part, file] of Object.entries(BUILT)) {
    if (!existsSync(file)) {
      throw new Error(`the ${part} is not built (${relative(ROOT, file)} is missing): run \`npm run build\` first`);
    }
  }
  const dataDir = resolve(ROOT, options.dataDir ?? 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const database = options.database ?? `sqlite:${join(dataDir, 'gatehouse.db')}`;
  const serverPort = await resolvePort(options.serverPort, 9000, host);
  const apiPort = await resolvePort(options.apiPort, 9100, host);
  const clientPort = await resolvePort(options.clientPort, 8080, host);
  const mcpPort = await resolvePort(options.mcpPort, 9200, host);
  const issuer = `http://${host}:${serverPort}`;
  const apiUrl = `http://${host}:${apiPort}`;
  const clientUrl = `http://${host}:${clientPort}`;
  const mcpUrl = `http://${host}:${mcpPort}/mcp`;
  const user = { ...DEMO_USER, ...options.user };
  const serverEnv = {
    GATEHOUSE_ACCESS_TOKEN_AUDIENCE: apiUrl,
    // DEVELOPMENT ONLY (named opt-out): everything in the demo runs on this machine, so Gatehouse may
    // fetch Client ID Metadata Documents from 127.0.0.1, over plain http too.
    GATEHOUSE_FETCH_ALLOW_INSECURE_LOOPBACK_FOR_DEVELOPMENT: 'true',
    ...options.serverEnv,
  };

  const parts = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const part of [...parts].reverse()) await stopPart(part);
  };
  let reportFailure;
  const failed = new Promise((r) => (reportFailure = r));

  function supervise(part) {
    parts.push(part);
    part.exitPromise.then(({ code, signal }) => {
      if (!stopping) reportFailure(`${part.name} exited unexpectedly (${signal ?? `code ${code}`})`);
    });
  }

  try {
    const server = startChild(
      'server',
      GATEHOUSE_BIN,
      ['serve', '--host', host, '--port', String(serverPort), '--issuer', issuer, '--database', database],
      serverEnv,
      log,
    );
    supervise(server);
    await server.ready;

    // Registered after the server started: it applies the schema migrations.
    const userCreated = await ensureUser(user, database);
    const { client, created: clientCreated } = await ensureClient({
      redirectUri: `${clientUrl}/callback`,
      postLogoutRedirectUri: `${clientUrl}/signed-out`,
      credentialsFile: join(dataDir, 'demo-client.json'),
      database,
    });

    // The photos API checks every token by introspection with its own resource credentials (RFC 7662 §2.1).
    const apiCredentials = await ensurePhotosResource(apiUrl, join(dataDir, 'demo-api-resource.json'), database);
    const api = startChild(
      'api',
      BUILT.api,
      [],
      {
        DEMO_API_HOST: host,
        DEMO_API_PORT: String(apiPort),
        DEMO_API_ISSUER: issuer,
        DEMO_API_RESOURCE: apiUrl,
        DEMO_API_INTROSPECTION_CLIENT_ID: apiCredentials.client_id,
        DEMO_API_INTROSPECTION_CLIENT_SECRET: apiCredentials.client_secret,
      },
      log,
    );
    supervise(api);
    await api.ready;

    const web = startChild(
      'client',
      BUILT.client,
      [],
      {
        DEMO_CLIENT_HOST: host,
        DEMO_CLIENT_PORT: String(clientPort),
        DEMO_CLIENT_BASE_URL: clientUrl,
        DEMO_CLIENT_ISSUER: issuer,
        DEMO_CLIENT_ID: client.client_id,
        DEMO_CLIENT_SECRET: client.client_secret,
        DEMO_CLIENT_API_URL: apiUrl,
        DEMO_CLIENT_POST_LOGOUT_REDIRECT_URI: `${clientUrl}/signed-out`,
      },
      log,
    );
    supervise(web);
    await web.ready;

    const mcpResourceCreated = await ensureMcpResource(mcpUrl, database);
    const mcp = startChild(
      'mcp',
      BUILT.mcp,
      [],
      { DEMO_MCP_HOST: host, DEMO_MCP_PORT: String(mcpPort), DEMO_MCP_ISSUER: issuer, DEMO_MCP_RESOURCE: mcpUrl },
      log,
    );
    supervise(mcp);
    await mcp.ready;

    return {
      issuer,
      apiUrl,
      clientUrl,
      mcpUrl,
      mcpResourceCreated,
      database,
      dataDir,
      user,
      userCreated,
      client: { client_id: client.client_id, client_name: client.client_name ?? DEMO_CLIENT_NAME },
      clientCreated,
      stop,
      failed,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function banner(demo) {
  const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
  const lines = [
    '',
    bold('  The Gatehouse demo is running.'),
    '',
    `    Open ${bold(demo.clientUrl)} and click "Connect with Gatehouse".`,
    `    Sign in as ${bold(demo.user.username)} with password ${bold(demo.user.password)}`,
    ...(demo.userCreated ? [] : [`    (${demo.user.username} already existed: if you changed the password, use yours)`]),
    '',
    `    Authorization server  ${demo.issuer}   (${demo.database.replace(`${ROOT}/`, './')})`,
    `    Photos API            ${demo.apiUrl}`,
    `    Photo Printer         ${demo.clientUrl}`,
    `    MCP server            ${demo.mcpUrl}   (resource ${DEMO_MCP_SCOPE}; Streamable HTTP)`,
    '',
    bold('  Connect an MCP client') + ` to ${demo.mcpUrl} (it finds Gatehouse through the 401 and RFC 9728):`,
    `    Claude Code:  claude mcp add --transport http gatehouse-demo ${demo.mcpUrl}`,
    `    VS Code:      .vscode/mcp.json  {"servers": {"gatehouse-demo": {"type": "http", "url": "${demo.mcpUrl}"}}}`,
    '    MCP Inspector: npx @modelcontextprotocol/inspector, transport "Streamable HTTP", the URL above.',
    '    Clients that use Client ID Metadata Documents register themselves; see docs/mcp.md.',
    '',
    '  Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main() {
  const env = process.env;
  let demo;
  let stopRequested = false;
  let stopPromise;
  const onSignal = (signal) => {
    if (stopRequested) return;
    stopRequested = true;
    process.stdout.write(`\nstopping (${signal})…\n`);
    stopPromise = (demo ? demo.stop() : stopAllParts()).then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    demo = await startDemo({
      host: env.DEMO_HOST || undefined,
      serverPort: env.DEMO_SERVER_PORT,
      apiPort: env.DEMO_API_PORT,
      clientPort: env.DEMO_CLIENT_PORT,
      mcpPort: env.DEMO_MCP_PORT,
      dataDir: env.DEMO_DATA_DIR || undefined,
      user: {
        ...(env.DEMO_USERNAME ? { username: env.DEMO_USERNAME } : {}),
        ...(env.DEMO_PASSWORD ? { password: env.DEMO_PASSWORD } : {}),
      },
    });
  } catch (error) {
    if (stopRequested) return stopPromise;
    console.error(`\nnpm start failed: ${error.message}`);
    process.exit(1);
  }
  if (stopRequested) return stopPromise;
  banner(demo);
  const reason = await demo.failed;
  if (stopRequested) return stopPromise;
  console.error(`\n${reason}: stopping the others.`);
  await demo.stop();
  process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
