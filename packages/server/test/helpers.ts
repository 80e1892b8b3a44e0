// Test harness: a fresh in-memory Gatehouse per test, a scripted browser (cookie jar + real form
// parsing) over app.inject, and helpers for clients, users and PKCE.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config } from '../src/config/config.js';
import { createGatehouse, type Gatehouse } from '../src/server.js';
import { registerClient, type NewClientInput } from '../src/oauth/clients.js';
import { hashPassword } from '../src/oauth/passwords.js';
import { nowSeconds } from '../src/oauth/crypto.js';

export const ISSUER = 'http://127.0.0.1:9000';

export interface TestServer extends Gatehouse {
  config: Config;
  issuer: string;
  createClient(input?: Partial<NewClientInput>): Promise<{ clientId: string; clientSecret: string | undefined; redirectUri: string }>;
  createUser(username?: string, password?: string, extra?: { email?: string; name?: string; claims?: Record<string, unknown> }): Promise<{ id: string; username: string; password: string }>;
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent', ...env });
  const gatehouse = await createGatehouse(config);
  return {
    ...gatehouse,
    config,
    issuer: config.issuer,
    async createClient(input = {}) {
      const redirectUris = input.redirectUris ?? ['https://c1.example/cb'];
      const { client, clientSecret } = await registerClient(gatehouse.deps.storage.clients, {
        clientName: 'Test Client',
        scope: 'openid profile email address phone offline_access photos:read photos:write',
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        ...input,
        redirectUris,
      }, nowSeconds());
      return { clientId: client.clientId, clientSecret, redirectUri: redirectUris[0]! };
    },
    async createUser(username = 'alice', password = 'correct horse battery', extra = {}) {
      const id = `user-${username}`;
      const now = nowSeconds();
      await gatehouse.deps.storage.users.create({
        id, username, passwordHash: await hashPassword(password), email: extra.email ?? `${username}@example.com`,
        name: extra.name ?? `User ${username}`, claims: extra.claims ?? {}, disabled: false, createdAt: now, updatedAt: now,
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
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

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
    const res = await this.app.inject({ method: 'GET', url: url.replace(ISSUER, ''), headers: { ...(cookie ? { cookie } : {}), ...headers } });
    this.store(res);
    return res;
  }

  async post(url: string, body: Record<string, string | undefined> | string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
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
  server: TestServer, browser: Browser, o: Omit<AuthorizeOptions, 'challenge'> & { challenge?: string | null },
  user: { username: string; password: string },
): Promise<{ code: string; verifier: string | undefined; location: URL }> {
  const p = pkce();
  const challenge = o.challenge === null ? null : o.challenge ?? p.challenge;
  const location = await authorizeThroughPages(browser, { ...o, challenge }, user);
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code in ${location.href}`);
  return { code, verifier: o.challenge === undefined ? p.verifier : undefined, location };
}

export async function tokenRequest(
  app: FastifyInstance, body: Record<string, string | undefined>, auth?: { clientId: string; clientSecret?: string | undefined },
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth?.clientSecret) headers.authorization = basic(auth.clientId, auth.clientSecret);
  else if (auth) body = { client_id: auth.clientId, ...body };
  return app.inject({ method: 'POST', url: '/token', headers, payload: form(body) });
}
