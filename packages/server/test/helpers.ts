// Test harness: a fresh in-memory Gatehouse per test (with a clock a test can move), a scripted
// browser (cookie jar + real form parsing) over app.inject, helpers for clients, users and PKCE,
// driving an interaction step by step, asserting the two shapes of authorization errors (error page
// vs error redirect), dumping the database and decoding JWTs.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { sql } from 'kysely';
import { loadConfig, type Config } from '../src/config/config.js';
import { createGatehouse, type Gatehouse } from '../src/server.js';
import { registerClient, type NewClientInput } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { nowSeconds } from '../src/oauth/crypto.js';
import type { Storage } from '../src/storage/index.js';

export { nowSeconds };

export const ISSUER = 'http://127.0.0.1:9000';

/** The server's clock: real time plus whatever the test moved it by. */
export interface TestClock {
  (): number;
  /** Moves the server's time forward by `seconds` (tokens, codes, sessions and interactions age). */
  advance(seconds: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  const clock = (() => nowSeconds() + offset) as TestClock;
  clock.advance = (seconds) => {
    offset += seconds;
  };
  return clock;
}

export interface TestServer extends Gatehouse {
  config: Config;
  issuer: string;
  clock: TestClock;
  createClient(input?: Partial<NewClientInput>): Promise<{ clientId: string; clientSecret: string | undefined; redirectUri: string }>;
  createUser(
    username?: string,
    password?: string,
    extra?: { email?: string; name?: string; claims?: Record<string, unknown> },
  ): Promise<{ id: string; username: string; password: string }>;
}

/** A clock that stands still unless a test moves it (the fuzzer: nothing expires or rotates under it). */
export function frozenClock(): TestClock {
  let now = nowSeconds();
  const clock = (() => now) as TestClock;
  clock.advance = (seconds) => {
    now += seconds;
  };
  return clock;
}

export async function startServer(env: Record<string, string> = {}, clock: TestClock = testClock()): Promise<TestServer> {
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent', ...env });
  const gatehouse = await createGatehouse(config, { clock });
  return {
    ...gatehouse,
    config,
    issuer: config.issuer,
    clock,
    async createClient(input = {}) {
      const redirectUris = input.redirectUris ?? ['https://c1.example/cb'];
      const { client, clientSecret } = await registerClient(
        gatehouse.deps.storage.clients,
        {
          clientName: 'Test Client',
          scope: 'openid profile email address phone offline_access photos:read photos:write',
          grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
          ...input,
          redirectUris,
        },
        nowSeconds(),
      );
      return { clientId: client.clientId, clientSecret, redirectUri: redirectUris[0]! };
    },
    async createUser(username = 'alice', password = 'correct horse battery', extra = {}) {
      const id = `user-${username}`;
      const now = nowSeconds();
      await gatehouse.deps.storage.users.create({
        id,
        username,
        passwordHash: await hashPassword(password),
        email: extra.email ?? `${username}@example.com`,
        name: extra.name ?? `User ${username}`,
        claims: extra.claims ?? {},
        disabled: false,
        createdAt: now,
        updatedAt: now,
      });
      return { id, username, password };
    },
  };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

export function form(values: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined) p.append(k, v);
  return p.toString();
}

/** A form found in an HTML page: its action and the values of its inputs (hidden included). */
export interface ParsedForm {
  action: string;
  fields: Record<string, string>;
  buttons: { name: string; value: string }[];
}

const decodeEntities = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export function parseForm(html: string): ParsedForm {
  const formMatch = /<form[^>]*method="post"[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!formMatch) throw new Error(`no form in page:\n${html.slice(0, 500)}`);
  const fields: Record<string, string> = {};
  for (const m of formMatch[2]!.matchAll(/<input([^>]*)>/gi)) {
    const name = /name="([^"]*)"/.exec(m[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(m[1]!)?.[1] ?? '';
    if (name) fields[name] = decodeEntities(value);
  }
  const buttons = [...formMatch[2]!.matchAll(/<button([^>]*)>/gi)].flatMap((m) => {
    const name = /name="([^"]*)"/.exec(m[1]!)?.[1];
    const value = /value="([^"]*)"/.exec(m[1]!)?.[1];
    return name && value ? [{ name, value }] : [];
  });
  return { action: decodeEntities(formMatch[1]!), fields, buttons };
}

/** A scripted user agent over app.inject: keeps cookies, never follows redirects. */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly app: FastifyInstance) {}

  private store(res: LightMyRequestResponse): void {
    for (const c of res.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      if (c.value === '' || c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  private cookieHeader(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const cookie = this.cookieHeader();
    const res = await this.app.inject({
      method: 'GET',
      url: url.replace(ISSUER, ''),
      headers: { ...(cookie ? { cookie } : {}), ...headers },
    });
    this.store(res);
    return res;
  }

  async post(
    url: string,
    body: Record<string, string | undefined> | string,
    headers: Record<string, string> = {},
  ): Promise<LightMyRequestResponse> {
    const cookie = this.cookieHeader();
    const res = await this.app.inject({
      method: 'POST',
      url: url.replace(ISSUER, ''),
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
      payload: typeof body === 'string' ? body : form(body),
    });
    this.store(res);
    return res;
  }
}

export interface AuthorizeOptions {
  clientId: string;
  redirectUri?: string;
  scope?: string;
  state?: string;
  nonce?: string;
  challenge?: string | null;
  extra?: Record<string, string>;
}

export function authorizeUrl(o: AuthorizeOptions): string {
  return `/authorize?${form({
    response_type: 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    scope: o.scope ?? 'openid profile offline_access',
    state: o.state,
    nonce: o.nonce,
    code_challenge: o.challenge === null ? undefined : o.challenge,
    code_challenge_method: o.challenge === null || o.challenge === undefined ? undefined : 'S256',
    ...o.extra,
  })}`;
}

/** Follows /authorize through login and consent as a person would; returns the final redirect URL. */
export async function authorizeThroughPages(
  browser: Browser,
  o: AuthorizeOptions,
  user: { username: string; password: string } | undefined,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  let res = await browser.get(authorizeUrl(o));
  for (let step = 0; step < 4; step++) {
    if (res.statusCode !== 302 && res.statusCode !== 303) throw new Error(`unexpected ${res.statusCode}: ${res.body.slice(0, 300)}`);
    const location = res.headers.location as string;
    if (!location.startsWith('/interaction/')) return new URL(location);
    const page = await browser.get(location);
    if (page.statusCode !== 200) throw new Error(`interaction page ${page.statusCode}: ${page.body.slice(0, 300)}`);
    const f = parseForm(page.body);
    if ('password' in f.fields) {
      if (!user) throw new Error('login page shown but no user given');
      res = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
    } else {
      res = await browser.post(f.action, { ...f.fields, decision });
    }
  }
  throw new Error('too many steps');
}

/** Runs the whole code flow and returns the code, the verifier and the redirect URL. */
export async function getCode(
  server: TestServer,
  browser: Browser,
  o: Omit<AuthorizeOptions, 'challenge'> & { challenge?: string | null },
  user: { username: string; password: string },
): Promise<{ code: string; verifier: string | undefined; location: URL }> {
  const p = pkce();
  const challenge = o.challenge === null ? null : (o.challenge ?? p.challenge);
  const location = await authorizeThroughPages(browser, { ...o, challenge }, user);
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location.href}`);
  return { code, verifier: o.challenge === undefined ? p.verifier : undefined, location };
}

export async function tokenRequest(
  app: FastifyInstance,
  body: Record<string, string | undefined>,
  auth?: { clientId: string; clientSecret?: string | undefined },
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth?.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else if (auth) body = { client_id: auth.clientId, ...body };
  return app.inject({ method: 'POST', url: '/token', headers, payload: form(body) });
}

export { decodeJwt, decodeProtectedHeader };

export const DEFAULT_USER = { username: 'alice', password: 'correct horse battery' };

/** Header value as one string (set-cookie arrays joined with a newline). */
export function header(res: LightMyRequestResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join('\n') : String(v);
}

export function setCookies(res: LightMyRequestResponse): string[] {
  const v = res.headers['set-cookie'];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [String(v)];
}

/** RU-02 "error page": 400 text/html, no Location, and no link or meta refresh to `mustNotLinkTo`. */
export function assertErrorPage(res: LightMyRequestResponse, mustNotLinkTo?: string, status = 400): void {
  assert.equal(
    res.statusCode,
    status,
    `expected an error page, got ${res.statusCode} ${String(res.headers.location ?? '')} ${res.body.slice(0, 200)}`,
  );
  assert.match(String(res.headers['content-type']), /^text\/html/);
  assert.equal(res.headers.location, undefined, 'an error page must not redirect');
  assert.doesNotMatch(res.body, /http-equiv\s*=\s*["']?refresh/i, 'no meta refresh on an error page');
  if (mustNotLinkTo !== undefined) {
    assert.ok(!res.body.includes(mustNotLinkTo), 'the error page must not link to the rejected URI');
    assert.ok(!res.body.includes(mustNotLinkTo.replace(/&/g, '&amp;')), 'the error page must not link to the rejected URI');
  }
}

/** RU-04 "error redirect": 302/303 to the registered redirect_uri with error, state and iss. */
export function assertErrorRedirect(
  res: LightMyRequestResponse,
  o: { redirectUri: string; error: string | string[]; state?: string | undefined; issuer?: string },
): URL {
  assert.ok(
    res.statusCode === 302 || res.statusCode === 303,
    `expected an error redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`,
  );
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, o.redirectUri.replace(/\?.*$/, ''));
  const errors = Array.isArray(o.error) ? o.error : [o.error];
  assert.ok(
    errors.includes(location.searchParams.get('error') ?? ''),
    `error ${location.searchParams.get('error')} not in ${errors.join(', ')}`,
  );
  assert.equal(location.searchParams.get('iss'), o.issuer ?? ISSUER, 'RFC 9207: iss in every authorization response');
  assert.equal(location.searchParams.get('code'), null, 'no code with an error');
  if ('state' in o) assert.equal(location.searchParams.get('state'), o.state ?? null);
  return location;
}

/** Asserts a JSON OAuth error response. */
export function assertOAuthError(
  res: LightMyRequestResponse,
  status: number | number[],
  error: string | string[],
): Record<string, unknown> {
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(statuses.includes(res.statusCode), `expected status ${statuses.join('/')}, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json() as Record<string, unknown>;
  const errors = Array.isArray(error) ? error : [error];
  assert.ok(errors.includes(String(body.error)), `expected error ${errors.join('/')}, got ${String(body.error)}`);
  assertNoStackTrace(res.body);
  return body;
}

export function assertNoStackTrace(body: string): void {
  assert.doesNotMatch(body, /\bat [^\n]*\(?[^\n]*\.(?:js|ts|mjs|cjs):\d+/, 'a stack trace leaked into the response');
  assert.doesNotMatch(body, /node_modules|\/work\/|file:\/\//, 'internals leaked into the response');
}

/** The redirect target of a 302/303, relative to the issuer when it points at us. */
export function locationOf(res: LightMyRequestResponse): string {
  assert.ok(res.statusCode === 302 || res.statusCode === 303, `expected a redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  return String(res.headers.location);
}

export interface StartedInteraction {
  /** The /interaction/<id> path. */
  url: string;
  id: string;
  page: LightMyRequestResponse;
  form: ParsedForm;
}

/** GET /authorize and then the interaction page it sends the browser to. */
export async function startInteraction(browser: Browser, o: AuthorizeOptions): Promise<StartedInteraction> {
  const res = await browser.get(authorizeUrl(o));
  const url = locationOf(res);
  assert.match(url, /^\/interaction\/[A-Za-z0-9_-]+$/, `expected an interaction, got ${url}`);
  const page = await browser.get(url);
  assert.equal(page.statusCode, 200, page.body.slice(0, 300));
  return { url, id: url.slice('/interaction/'.length), page, form: parseForm(page.body) };
}

export function isLoginForm(f: ParsedForm): boolean {
  return 'password' in f.fields;
}

export function isConsentForm(f: ParsedForm): boolean {
  return (
    f.buttons.some((b) => b.name === 'decision' && b.value === 'allow') &&
    f.buttons.some((b) => b.name === 'decision' && b.value === 'deny')
  );
}

/** Continues a flow from a response (an /authorize answer or a POST answer) through the pages. */
export async function continueFlow(
  browser: Browser,
  res: LightMyRequestResponse,
  user: { username: string; password: string } | undefined,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  for (let step = 0; step < 5; step++) {
    const location = locationOf(res);
    if (!location.startsWith('/interaction/')) return new URL(location);
    const page = await browser.get(location);
    assert.equal(page.statusCode, 200, page.body.slice(0, 300));
    const f = parseForm(page.body);
    if (isLoginForm(f)) {
      assert.ok(user, 'login page shown but no user given');
      res = await browser.post(f.action, { ...f.fields, username: user.username, password: user.password });
    } else {
      res = await browser.post(f.action, { ...f.fields, decision });
    }
  }
  throw new Error('too many steps');
}

/** A whole code flow plus the token request: returns the token response (asserted 200). */
export async function issueTokens(
  server: TestServer,
  browser: Browser,
  client: { clientId: string; clientSecret: string | undefined; redirectUri: string },
  user: { username: string; password: string },
  o: Partial<AuthorizeOptions> = {},
): Promise<{ code: string; verifier: string | undefined; body: TokenBody }> {
  const { code, verifier } = await getCode(server, browser, { clientId: client.clientId, redirectUri: client.redirectUri, ...o }, user);
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier },
    client,
  );
  assert.equal(res.statusCode, 200, res.body);
  return { code, verifier, body: res.json() as TokenBody };
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

export function refresh(
  server: TestServer,
  client: { clientId: string; clientSecret?: string | undefined },
  refreshToken: string,
  scope?: string,
): Promise<LightMyRequestResponse> {
  return tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken, scope }, client);
}

/** POST a form through app.inject with a browser's cookies, from a chosen client address and headers. */
export async function postAs(
  app: FastifyInstance,
  browser: Browser,
  url: string,
  body: Record<string, string | undefined> | string,
  o: { remoteAddress?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await app.inject({
    method: 'POST',
    url,
    remoteAddress: o.remoteAddress,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...o.headers },
    payload: typeof body === 'string' ? body : form(body),
  });
  for (const c of res.cookies as { name: string; value: string; maxAge?: number }[]) {
    if (c.value === '' || c.maxAge === 0) browser.cookies.delete(c.name);
    else browser.cookies.set(c.name, c.value);
  }
  return res;
}

export async function tableNames(storage: Storage): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(storage.db);
  return r.rows.map((row) => row.name);
}

/** Every row of every table, as one string (grey-box search for raw secrets, CR-02). */
export async function dumpDatabase(storage: Storage): Promise<string> {
  const out: string[] = [];
  for (const name of await tableNames(storage)) {
    const r = await sql<Record<string, unknown>>`select * from ${sql.table(name)}`.execute(storage.db);
    out.push(`== ${name}\n${r.rows.map((row) => JSON.stringify(row)).join('\n')}`);
  }
  return out.join('\n');
}

export async function countRows(storage: Storage, table: string): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(storage.db);
  return Number(r.rows[0]?.n ?? 0);
}

/** A public client (PKCE, no secret): P1 of the checklist. */
export function createPublicClient(
  server: TestServer,
  redirectUris: string[] = ['https://p1.example/cb', 'http://127.0.0.1/cb'],
  scope?: string,
) {
  return server.createClient({
    redirectUris,
    isPublic: true,
    grantTypes: ['authorization_code', 'refresh_token'],
    ...(scope !== undefined ? { scope } : {}),
  });
}

/** A fresh server with one confidential client (redirect https://c1.example/cb) and one user; closed after the test. */
export async function setupWithClientAndUser(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: ['https://c1.example/cb'] });
  const user = await server.createUser();
  return { server, client, user };
}
