// Configuration of the Photo Printer demo client: one typed object, built from the
// environment by `configFromEnv` and validated once at start.
import type { Configuration } from 'openid-client';

export const DEFAULT_SCOPE = 'openid profile email offline_access photos:read';

export interface ClientAppOptions {
  /** Issuer identifier of the authorization server, e.g. http://127.0.0.1:9000 */
  issuer: string;
  clientId: string;
  /** Sent with client_secret_basic. */
  clientSecret: string;
  /** Public base URL of this app, e.g. http://127.0.0.1:8080 (the redirect URI is BASE/callback). */
  baseUrl: string;
  /** Base URL of the photos API (demo-api), e.g. http://127.0.0.1:9100 */
  apiUrl: string;
  scope?: string;
  /**
   * Where the authorization server should send the browser after RP-initiated logout.
   * Only sent when set, because the server must know it in advance.
   */
  postLogoutRedirectUri?: string;
  /** Idle lifetime of a browser session kept in memory (default 8 hours). */
  sessionTtlSeconds?: number;
  /** Refresh the access token this many seconds before it expires (default 30). */
  refreshLeewaySeconds?: number;
  /**
   * RFC 9449: prove possession of a per-session key (openid-client's DPoP) at the token endpoint, the
   * userinfo endpoint and the photos API, so that a stolen token is useless without the key. Default true.
   */
  dpop?: boolean;
  logger?: boolean;
  /**
   * How to obtain the openid-client Configuration. Default: OpenID Connect discovery of
   * `issuer` (plain http allowed for loopback issuers only), done lazily and cached.
   * Tests pass a ready Configuration here.
   */
  discover?: () => Promise<Configuration>;
}

export interface ListenOptions {
  host: string;
  port: number;
}

export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`missing environment variable ${name}`);
  return value;
}

function httpUrl(name: string, value: string, { base = true } = {}): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
    throw new Error(`${name} must use https (plain http is allowed only on loopback), got ${value}`);
  }
  return base ? url.href.replace(/\/$/, '') : url.href;
}

/**
 * Environment:
 *   DEMO_CLIENT_HOST (127.0.0.1), DEMO_CLIENT_PORT (8080), DEMO_CLIENT_BASE_URL (http://HOST:PORT)
 *   DEMO_CLIENT_ISSUER (http://127.0.0.1:9000), DEMO_CLIENT_ID, DEMO_CLIENT_SECRET (required)
 *   DEMO_CLIENT_API_URL (http://127.0.0.1:9100), DEMO_CLIENT_POST_LOGOUT_REDIRECT_URI (unset)
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): {
  app: ClientAppOptions;
  listen: ListenOptions;
} {
  const host = env.DEMO_CLIENT_HOST || '127.0.0.1';
  const port = Number(env.DEMO_CLIENT_PORT || '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`DEMO_CLIENT_PORT must be a TCP port, got ${env.DEMO_CLIENT_PORT}`);
  }
  const app: ClientAppOptions = {
    issuer: httpUrl('DEMO_CLIENT_ISSUER', env.DEMO_CLIENT_ISSUER || 'http://127.0.0.1:9000'),
    clientId: required(env, 'DEMO_CLIENT_ID'),
    clientSecret: required(env, 'DEMO_CLIENT_SECRET'),
    baseUrl: httpUrl('DEMO_CLIENT_BASE_URL', env.DEMO_CLIENT_BASE_URL || `http://${host}:${port}`),
    apiUrl: httpUrl('DEMO_CLIENT_API_URL', env.DEMO_CLIENT_API_URL || 'http://127.0.0.1:9100'),
    logger: env.DEMO_CLIENT_LOG !== 'off',
  };
  if (env.DEMO_CLIENT_POST_LOGOUT_REDIRECT_URI) {
    app.postLogoutRedirectUri = httpUrl('DEMO_CLIENT_POST_LOGOUT_REDIRECT_URI', env.DEMO_CLIENT_POST_LOGOUT_REDIRECT_URI, {
      base: false,
    });
  }
  return { app, listen: { host, port } };
}
