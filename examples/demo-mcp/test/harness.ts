// The end-to-end harness: real processes on 127.0.0.1 (Gatehouse through its CLI, the photos API, the
// MCP server), an https host for Client ID Metadata Documents (a throw-away self-signed certificate
// that only the Gatehouse process trusts, through NODE_EXTRA_CA_CERTS), a scripted browser (a cookie
// jar over fetch that fills the login and consent forms) and an in-memory OAuthClientProvider for the
// MCP SDK's own OAuth client.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';

/** The repository root (this file runs from examples/demo-mcp/dist/test). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const GATEHOUSE_BIN = join(ROOT, 'packages/server/bin/gatehouse.js');
export const BUILT = {
  api: join(ROOT, 'examples/demo-api/dist/src/main.js'),
  mcp: join(ROOT, 'examples/demo-mcp/dist/src/main.js'),
};

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createNetServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'gatehouse-mcp-e2e-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A self-signed certificate for 127.0.0.1 (openssl), valid for a day. */
export function selfSignedCertificate(dir: string): { keyFile: string; certFile: string; key: string; cert: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const result = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

export interface Part {
  name: string;
  child: ChildProcess;
  url: string;
  output: string[];
  stop(): Promise<void>;
}

/** Starts a long-running process and resolves once it prints `listening on URL`. */
export function startPart(name: string, script: string, args: string[], env: Record<string, string>): Promise<Part> {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolvePart, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start within 60 s:\n${output.join('\n')}`));
    }, 60_000);
    const onLine = (line: string): void => {
      output.push(line);
      if (output.length > 200) output.shift();
      const m = /listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolvePart({ name, child, url: m[1]!.replace(/\/$/, ''), output, stop });
      }
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${output.join('\n')}`));
    });
  });
}

/** Runs the gatehouse CLI once and parses its --json output. */
export function gatehouse(args: string[], input?: string): unknown {
  const result = spawnSync(process.execPath, [GATEHOUSE_BIN, ...args, '--json'], { cwd: ROOT, input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`gatehouse ${args.slice(0, 2).join(' ')} failed: ${result.stderr || result.stdout}`);
  return JSON.parse(result.stdout);
}

/** An https server on 127.0.0.1 that serves JSON documents by path. */
export async function documentHost(
  tls: { key: string; cert: string },
  documents: (base: string) => Record<string, unknown>,
): Promise<{ base: string; hits: Map<string, number>; close(): Promise<void> }> {
  const hits = new Map<string, number>();
  let docs: Record<string, unknown> = {};
  const server: HttpsServer = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = docs[path];
    if (body === undefined) return void res.writeHead(404).end();
    const text = JSON.stringify(body);
    res
      .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(text) })
      .end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  docs = documents(base);
  return {
    base,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
const unescape = (s: string): string => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e: string) => ENTITIES[e]!);

export interface PageForm {
  action: string;
  fields: Record<string, string>;
}

/** The first POST form of a page: its action and its named inputs with their values. */
export function parseForm(html: string): PageForm {
  const form = /<form\b[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form on the page: ${html.slice(0, 300)}`);
  const action = /action="([^"]*)"/.exec(form[0])?.[1];
  if (action === undefined) throw new Error('the form has no action');
  const fields: Record<string, string> = {};
  for (const input of form[1]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (name) fields[unescape(name)] = unescape(/value="([^"]*)"/.exec(input[0])?.[1] ?? '');
  }
  return { action: unescape(action), fields };
}

/** A person at a browser: keeps cookies, follows redirects within the authorization server, fills forms. */
export class ScriptedBrowser {
  private readonly jar = new Map<string, string>();
  readonly pages: string[] = [];

  constructor(private readonly issuer: string) {}

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: {
        ...(cookie ? { cookie } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(this.issuer).origin } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(set)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /**
   * Opens the authorization URL, signs in and allows on the consent page; resolves with the URL the
   * authorization server finally redirects to (the client's redirect URI, with code or error).
   */
  async authorize(url: string, user: { username: string; password: string }, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
    let res = await this.request(url);
    for (let step = 0; step < 8; step++) {
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, url);
        if (next.origin !== new URL(this.issuer).origin) return next;
        res = await this.request(next.href);
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`the authorization server answered ${res.status}: ${html.slice(0, 500)}`);
      this.pages.push(html);
      const form = parseForm(html);
      const action = new URL(form.action, this.issuer).href;
      if ('password' in form.fields)
        res = await this.request(action, { method: 'POST', form: { ...form.fields, username: user.username, password: user.password } });
      else res = await this.request(action, { method: 'POST', form: { ...form.fields, decision } });
    }
    throw new Error('too many steps');
  }
}

/** The MCP SDK's client storage, in memory; `redirectToAuthorization` records the URL for the browser. */
export class MemoryOAuthProvider implements OAuthClientProvider {
  information: OAuthClientInformationMixed | undefined;
  stored: OAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  registrations = 0;

  constructor(
    readonly redirectUrl: string,
    readonly clientMetadata: OAuthClientMetadata,
    readonly clientMetadataUrl?: string,
  ) {}

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.information;
  }
  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.registrations++;
    this.information = info;
  }
  tokens(): OAuthTokens | undefined {
    return this.stored;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }
  codeVerifier(): string {
    return this.verifier;
  }
}
