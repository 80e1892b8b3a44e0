// More test helpers on top of helpers.ts: driving an interaction step by step, asserting the two
// shapes of authorization errors (error page vs error redirect), dumping the database, decoding JWTs.
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { sql } from 'kysely';
import {
  authorizeUrl, Browser, form, getCode, ISSUER, parseForm, pkce, startServer, tokenRequest,
  type AuthorizeOptions, type ParsedForm, type TestServer,
} from './helpers.js';
import type { Storage } from '../src/storage/index.js';

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
  assert.equal(res.statusCode, status, `expected an error page, got ${res.statusCode} ${String(res.headers.location ?? '')} ${res.body.slice(0, 200)}`);
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
  res: LightMyRequestResponse, o: { redirectUri: string; error: string | string[]; state?: string | undefined; issuer?: string },
): URL {
  assert.ok(res.statusCode === 302 || res.statusCode === 303, `expected an error redirect, got ${res.statusCode}: ${res.body.slice(0, 300)}`);
  const location = new URL(String(res.headers.location));
  assert.equal(`${location.origin}${location.pathname}`, o.redirectUri.replace(/\?.*$/, ''));
  const errors = Array.isArray(o.error) ? o.error : [o.error];
  assert.ok(errors.includes(location.searchParams.get('error') ?? ''), `error ${location.searchParams.get('error')} not in ${errors.join(', ')}`);
  assert.equal(location.searchParams.get('iss'), o.issuer ?? ISSUER, 'RFC 9207: iss in every authorization response');
  assert.equal(location.searchParams.get('code'), null, 'no code with an error');
  if ('state' in o) assert.equal(location.searchParams.get('state'), o.state ?? null);
  return location;
}

/** Asserts a JSON OAuth error response. */
export function assertOAuthError(res: LightMyRequestResponse, status: number | number[], error: string | string[]): Record<string, unknown> {
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
  return f.buttons.some((b) => b.name === 'decision' && b.value === 'allow') && f.buttons.some((b) => b.name === 'decision' && b.value === 'deny');
}

/** Continues a flow from a response (an /authorize answer or a POST answer) through the pages. */
export async function continueFlow(
  browser: Browser, res: LightMyRequestResponse, user: { username: string; password: string } | undefined, decision: 'allow' | 'deny' = 'allow',
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
  const res = await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUri, code_verifier: verifier }, client);
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
  server: TestServer, client: { clientId: string; clientSecret?: string | undefined }, refreshToken: string, scope?: string,
): Promise<LightMyRequestResponse> {
  return tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken, scope }, client);
}

/** POST a form through app.inject with a browser's cookies, from a chosen client address and headers. */
export async function postAs(
  app: FastifyInstance, browser: Browser, url: string, body: Record<string, string | undefined> | string,
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

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export { pkce, form };

/** A public client (PKCE, no secret): P1 of the checklist. */
export function createPublicClient(server: TestServer, redirectUris: string[] = ['https://p1.example/cb', 'http://127.0.0.1/cb'], scope?: string) {
  return server.createClient({
    redirectUris, isPublic: true, grantTypes: ['authorization_code', 'refresh_token'],
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
