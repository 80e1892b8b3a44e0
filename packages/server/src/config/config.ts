// One TypeBox schema is the type, the defaults and the validation of the configuration.
// Precedence: defaults < GATEHOUSE_* environment < CLI flags. Validated once at boot, then frozen.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { isIP } from 'node:net';

const Seconds = (def: number, description: string, max = 10 * 365 * 86400) =>
  Type.Integer({ minimum: 1, maximum: max, default: def, description });

export const ConfigSchema = Type.Object({
  host: Type.String({ default: '127.0.0.1', minLength: 1, description: 'interface to listen on' }),
  port: Type.Integer({ minimum: 0, maximum: 65535, default: 9000, description: 'TCP port' }),
  issuer: Type.String({ default: '', description: 'issuer URL; defaults to http://HOST:PORT' }),
  databaseUrl: Type.String({ default: 'sqlite:./data/gatehouse.db', minLength: 1, description: 'sqlite:PATH or postgres://…' }),
  codeTtl: Seconds(60, 'authorization code lifetime', 600),
  accessTokenTtl: Seconds(600, 'access token lifetime', 86400),
  idTokenTtl: Seconds(3600, 'ID token lifetime', 86400),
  refreshTokenTtl: Seconds(30 * 86400, 'refresh token absolute lifetime (a family never outlives it)'),
  refreshTokenIdleTtl: Seconds(14 * 86400, 'refresh token idle lifetime (unused for this long, it expires)'),
  interactionTtl: Seconds(600, 'time a user has to log in and consent', 3600),
  sessionTtl: Seconds(86400, 'browser session lifetime at the authorization server'),
  keyRotationInterval: Type.Integer({
    minimum: 0,
    maximum: 10 * 365 * 86400,
    default: 90 * 86400,
    description:
      'rotate each signing key after this many seconds (two-phase: published first, then signing); 0 disables automatic rotation',
  }),
  accessTokenAudience: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'the aud of access tokens (resource identifiers); empty means the issuer',
  }),
  pkceRequiredForConfidentialClients: Type.Boolean({
    default: true,
    description: 'require PKCE of confidential clients too (public clients always need it)',
  }),
  loginMaxFailures: Type.Integer({
    minimum: 1,
    maximum: 1000,
    default: 5,
    description: 'failed logins per account from one network (or from one IP across accounts) before a lock',
  }),
  loginLockSeconds: Seconds(60, 'first lock duration after too many failed logins; doubles on each further lock', 86400),
  trustProxy: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'addresses or CIDRs of your reverse proxies (comma-separated): only their X-Forwarded-* headers are believed',
  }),
  trustProxyHops: Type.Integer({
    minimum: 0,
    maximum: 16,
    default: 0,
    description: 'instead of addresses: how many proxies stand in front (the client is that many hops back in X-Forwarded-For)',
  }),
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    {
      default: 'info',
      description: 'log level',
    },
  ),
  refreshReuseGrace: Type.Integer({
    minimum: 0,
    maximum: 60,
    default: 10,
    description:
      'seconds after a rotation in which a replay of the rotated refresh token by its client gets the same successor response; 0 = strict (every replay revokes the family)',
  }),
  deviceCodeTtl: Seconds(600, 'device code and user code lifetime (RFC 8628)', 1800),
  deviceCodeInterval: Seconds(5, 'minimum seconds between two polls of a device code (RFC 8628 §3.5)', 60),
  databaseStatementTimeout: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 5000,
    description: 'milliseconds a database statement may run before it is cancelled (the request answers 503)',
  }),
  databaseAcquireTimeout: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 3000,
    description: 'milliseconds a request waits for a database connection (or SQLite write lock) before it answers 503',
  }),
  databasePoolSize: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'PostgreSQL connections per process' }),
  databaseRequestTimeout: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 6000,
    description:
      'milliseconds after its arrival a request stops waiting for the database and answers 503 (bounds the sum of its round trips)',
  }),
  shutdownGrace: Type.Integer({
    minimum: 0,
    maximum: 600_000,
    default: 10_000,
    description: 'milliseconds SIGTERM/SIGINT waits for in-flight requests before closing the remaining connections',
  }),
  requirePushedAuthorizationRequests: Type.Boolean({
    default: false,
    description: 'RFC 9126: every client must send its authorization requests through the PAR endpoint',
  }),
  openRegistration: Type.Boolean({
    default: false,
    description:
      'UNSAFE opt-out: let anyone register clients at /register without an initial access token (RFC 7591 §3); such clients get only grants that act for a user',
  }),
  clientIdMetadataDocuments: Type.Boolean({
    default: true,
    description: 'accept https URL client_ids and fetch their Client ID Metadata Documents (public clients)',
  }),
  fetchAllowInsecureLoopbackForDevelopment: Type.Boolean({
    default: false,
    description: 'DEVELOPMENT ONLY: let the fetcher reach loopback addresses, over plain http too (metadata documents on 127.0.0.1)',
  }),
  fetchAllowedDomains: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'when non-empty, the only hosts fetched (example.com, or .example.com for its subdomains)',
  }),
  fetchDeniedDomains: Type.Array(Type.String({ minLength: 1 }), {
    default: [],
    description: 'hosts never fetched (same syntax); checked first',
  }),
  securityEventRetention: Type.Integer({
    minimum: 86400,
    default: 90 * 86400,
    description: 'seconds security events are kept before the sweep deletes them (at least a day)',
  }),
  keyEncryptionKeyFile: Type.String({
    default: '',
    description:
      'file holding the key-encryption key (base64 of 32 bytes) that seals private keys at rest; or set GATEHOUSE_KEY_ENCRYPTION_KEY (never a flag)',
  }),
  keyEncryptionKeyPreviousFile: Type.String({
    default: '',
    description: 'while rotating the key-encryption key: file holding the previous one (or GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS)',
  }),
  httpHeadersTimeout: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 10_000,
    description: 'milliseconds a client has to send the request line and headers before it gets 408',
  }),
  httpRequestTimeout: Type.Integer({
    minimum: 1000,
    maximum: 600_000,
    default: 30_000,
    description: 'milliseconds a client has to send the whole request, body included, before it gets 408',
  }),
  dpopNonce: Type.Boolean({
    default: false,
    description: 'RFC 9449 §8: the token and PAR endpoints require DPoP proofs to carry a server-provided nonce (use_dpop_nonce)',
  }),
  redisUrl: Type.String({
    default: '',
    description:
      'redis://… (or rediss://…): login throttles, rate limits and jti replay caches shared by every node; empty = memory (replay caches: the database)',
  }),
  redisCommandTimeout: Type.Integer({
    minimum: 20,
    maximum: 10_000,
    default: 500,
    description: 'milliseconds a Redis command may take before it fails (replay caches answer 503, rate limits let the request through)',
  }),
  rateLimitWindow: Seconds(60, 'the window of every per-endpoint rate limit, in seconds', 3600),
  rateLimitAuthorize: Type.Integer({
    minimum: 0,
    default: 100,
    description: 'GET/POST /authorize per client IP and window (0 = no limit)',
  }),
  rateLimitToken: Type.Integer({ minimum: 0, default: 1200, description: '/token per client IP and client_id, and window (0 = no limit)' }),
  rateLimitIntrospect: Type.Integer({
    minimum: 0,
    default: 1200,
    description: '/introspect per client IP and client_id, and window (0 = no limit)',
  }),
  rateLimitRevoke: Type.Integer({
    minimum: 0,
    default: 600,
    description: '/revoke per client IP and client_id, and window (0 = no limit)',
  }),
  rateLimitRegister: Type.Integer({ minimum: 0, default: 20, description: 'POST /register per client IP and window (0 = no limit)' }),
  rateLimitPar: Type.Integer({ minimum: 0, default: 300, description: '/par per client IP and client_id, and window (0 = no limit)' }),
  rateLimitDeviceAuthorization: Type.Integer({
    minimum: 0,
    default: 300,
    description: '/device_authorization per client IP and client_id, and window (0 = no limit)',
  }),
  rateLimitUserinfo: Type.Integer({ minimum: 0, default: 1200, description: '/userinfo per client IP and window (0 = no limit)' }),
  rateLimitLogin: Type.Integer({
    minimum: 0,
    default: 30,
    description: 'sign-in and device-page form posts per client IP and window (0 = no limit; the login throttle still applies)',
  }),
  loginMaxDelay: Seconds(900, 'longest per-account delay after repeated failed logins (known devices are not delayed)', 86400),
  brandName: Type.String({
    default: 'Gatehouse',
    minLength: 1,
    maxLength: 60,
    description: 'the product name every page shows (header and title)',
  }),
  brandLogoUrl: Type.String({
    default: '',
    maxLength: 2048,
    description: 'logo shown above every page: an https URL or a path on this server (/…); empty = no logo',
  }),
  brandColor: Type.String({
    default: '#0b57d0',
    pattern: '^#[0-9a-fA-F]{6}$',
    description: 'primary colour of buttons and the brand line, #rrggbb (the text on it is chosen for contrast)',
  }),
  metricsPort: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 0,
    description: 'serve Prometheus metrics at /metrics on this port, a listener apart from the public one (0 = off)',
  }),
  metricsHost: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description: 'interface of the metrics listener (keep it private: loopback or an internal network)',
  }),
});

export type Config = Readonly<Static<typeof ConfigSchema>>;
type Key = keyof Static<typeof ConfigSchema>;

/** Environment variable and CLI flag of every option. */
export const OPTION_NAMES: Record<Key, { env: string; flag: string }> = {
  host: { env: 'GATEHOUSE_HOST', flag: 'host' },
  port: { env: 'GATEHOUSE_PORT', flag: 'port' },
  issuer: { env: 'GATEHOUSE_ISSUER', flag: 'issuer' },
  databaseUrl: { env: 'GATEHOUSE_DATABASE_URL', flag: 'database' },
  codeTtl: { env: 'GATEHOUSE_CODE_TTL', flag: 'code-ttl' },
  accessTokenTtl: { env: 'GATEHOUSE_ACCESS_TOKEN_TTL', flag: 'access-token-ttl' },
  idTokenTtl: { env: 'GATEHOUSE_ID_TOKEN_TTL', flag: 'id-token-ttl' },
  refreshTokenTtl: { env: 'GATEHOUSE_REFRESH_TOKEN_TTL', flag: 'refresh-token-ttl' },
  refreshTokenIdleTtl: { env: 'GATEHOUSE_REFRESH_TOKEN_IDLE_TTL', flag: 'refresh-token-idle-ttl' },
  interactionTtl: { env: 'GATEHOUSE_INTERACTION_TTL', flag: 'interaction-ttl' },
  sessionTtl: { env: 'GATEHOUSE_SESSION_TTL', flag: 'session-ttl' },
  keyRotationInterval: { env: 'GATEHOUSE_KEY_ROTATION_INTERVAL', flag: 'key-rotation-interval' },
  accessTokenAudience: { env: 'GATEHOUSE_ACCESS_TOKEN_AUDIENCE', flag: 'access-token-audience' },
  pkceRequiredForConfidentialClients: { env: 'GATEHOUSE_PKCE_REQUIRED_FOR_CONFIDENTIAL', flag: 'pkce-required-for-confidential' },
  loginMaxFailures: { env: 'GATEHOUSE_LOGIN_MAX_FAILURES', flag: 'login-max-failures' },
  loginLockSeconds: { env: 'GATEHOUSE_LOGIN_LOCK_SECONDS', flag: 'login-lock-seconds' },
  trustProxy: { env: 'GATEHOUSE_TRUST_PROXY', flag: 'trust-proxy' },
  trustProxyHops: { env: 'GATEHOUSE_TRUST_PROXY_HOPS', flag: 'trust-proxy-hops' },
  logLevel: { env: 'GATEHOUSE_LOG_LEVEL', flag: 'log-level' },
  refreshReuseGrace: { env: 'GATEHOUSE_REFRESH_REUSE_GRACE', flag: 'refresh-reuse-grace' },
  deviceCodeTtl: { env: 'GATEHOUSE_DEVICE_CODE_TTL', flag: 'device-code-ttl' },
  deviceCodeInterval: { env: 'GATEHOUSE_DEVICE_CODE_INTERVAL', flag: 'device-code-interval' },
  databaseStatementTimeout: { env: 'GATEHOUSE_DATABASE_STATEMENT_TIMEOUT', flag: 'database-statement-timeout' },
  databaseAcquireTimeout: { env: 'GATEHOUSE_DATABASE_ACQUIRE_TIMEOUT', flag: 'database-acquire-timeout' },
  databasePoolSize: { env: 'GATEHOUSE_DATABASE_POOL_SIZE', flag: 'database-pool-size' },
  databaseRequestTimeout: { env: 'GATEHOUSE_DATABASE_REQUEST_TIMEOUT', flag: 'database-request-timeout' },
  shutdownGrace: { env: 'GATEHOUSE_SHUTDOWN_GRACE', flag: 'shutdown-grace' },
  requirePushedAuthorizationRequests: {
    env: 'GATEHOUSE_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS',
    flag: 'require-pushed-authorization-requests',
  },
  openRegistration: { env: 'GATEHOUSE_OPEN_REGISTRATION', flag: 'open-registration' },
  clientIdMetadataDocuments: { env: 'GATEHOUSE_CLIENT_ID_METADATA_DOCUMENTS', flag: 'client-id-metadata-documents' },
  fetchAllowInsecureLoopbackForDevelopment: {
    env: 'GATEHOUSE_FETCH_ALLOW_INSECURE_LOOPBACK_FOR_DEVELOPMENT',
    flag: 'fetch-allow-insecure-loopback-for-development',
  },
  fetchAllowedDomains: { env: 'GATEHOUSE_FETCH_ALLOWED_DOMAINS', flag: 'fetch-allowed-domains' },
  fetchDeniedDomains: { env: 'GATEHOUSE_FETCH_DENIED_DOMAINS', flag: 'fetch-denied-domains' },
  securityEventRetention: { env: 'GATEHOUSE_SECURITY_EVENT_RETENTION', flag: 'security-event-retention' },
  keyEncryptionKeyFile: { env: 'GATEHOUSE_KEY_ENCRYPTION_KEY_FILE', flag: 'key-encryption-key-file' },
  keyEncryptionKeyPreviousFile: { env: 'GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS_FILE', flag: 'key-encryption-key-previous-file' },
  httpHeadersTimeout: { env: 'GATEHOUSE_HTTP_HEADERS_TIMEOUT', flag: 'http-headers-timeout' },
  httpRequestTimeout: { env: 'GATEHOUSE_HTTP_REQUEST_TIMEOUT', flag: 'http-request-timeout' },
  dpopNonce: { env: 'GATEHOUSE_DPOP_NONCE', flag: 'dpop-nonce' },
  redisUrl: { env: 'GATEHOUSE_REDIS_URL', flag: 'redis' },
  redisCommandTimeout: { env: 'GATEHOUSE_REDIS_COMMAND_TIMEOUT', flag: 'redis-command-timeout' },
  rateLimitWindow: { env: 'GATEHOUSE_RATE_LIMIT_WINDOW', flag: 'rate-limit-window' },
  rateLimitAuthorize: { env: 'GATEHOUSE_RATE_LIMIT_AUTHORIZE', flag: 'rate-limit-authorize' },
  rateLimitToken: { env: 'GATEHOUSE_RATE_LIMIT_TOKEN', flag: 'rate-limit-token' },
  rateLimitIntrospect: { env: 'GATEHOUSE_RATE_LIMIT_INTROSPECT', flag: 'rate-limit-introspect' },
  rateLimitRevoke: { env: 'GATEHOUSE_RATE_LIMIT_REVOKE', flag: 'rate-limit-revoke' },
  rateLimitRegister: { env: 'GATEHOUSE_RATE_LIMIT_REGISTER', flag: 'rate-limit-register' },
  rateLimitPar: { env: 'GATEHOUSE_RATE_LIMIT_PAR', flag: 'rate-limit-par' },
  rateLimitDeviceAuthorization: { env: 'GATEHOUSE_RATE_LIMIT_DEVICE_AUTHORIZATION', flag: 'rate-limit-device-authorization' },
  rateLimitUserinfo: { env: 'GATEHOUSE_RATE_LIMIT_USERINFO', flag: 'rate-limit-userinfo' },
  rateLimitLogin: { env: 'GATEHOUSE_RATE_LIMIT_LOGIN', flag: 'rate-limit-login' },
  loginMaxDelay: { env: 'GATEHOUSE_LOGIN_MAX_DELAY', flag: 'login-max-delay' },
  brandName: { env: 'GATEHOUSE_BRAND_NAME', flag: 'brand-name' },
  brandLogoUrl: { env: 'GATEHOUSE_BRAND_LOGO_URL', flag: 'brand-logo-url' },
  brandColor: { env: 'GATEHOUSE_BRAND_COLOR', flag: 'brand-color' },
  metricsPort: { env: 'GATEHOUSE_METRICS_PORT', flag: 'metrics-port' },
  metricsHost: { env: 'GATEHOUSE_METRICS_HOST', flag: 'metrics-host' },
};

export class ConfigError extends Error {}

function coerce(key: Key, raw: string): unknown {
  const schema = ConfigSchema.properties[key] as { type?: string };
  if (schema.type === 'integer') return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
  if (schema.type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    return raw;
  }
  if (schema.type === 'array') return raw.split(/[\s,]+/).filter((s) => s.length > 0);
  return raw;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** TL-01: https, or http on a loopback host; no query, no fragment, no trailing slash. */
export function validateIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new ConfigError(`issuer ${JSON.stringify(issuer)} is not an absolute URL`);
  }
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) {
    throw new ConfigError('the issuer must not have a query or a fragment');
  }
  if (url.username || url.password) throw new ConfigError('the issuer must not contain user information');
  if (url.protocol === 'http:') {
    if (!LOOPBACK.has(url.hostname)) {
      throw new ConfigError(
        `plain http issuers are allowed only on loopback hosts; use https for ${url.hostname} (set --issuer https://…)`,
      );
    }
  } else if (url.protocol !== 'https:') {
    throw new ConfigError('the issuer must be an https URL');
  }
  return issuer.replace(/\/+$/, '');
}

/**
 * PX-01, RFC 9700 §4.13: X-Forwarded-* is believed only from the operator's proxies, named by address
 * or CIDR, or counted in hops. `false` (or nothing) trusts none; a blanket `true` is refused, because
 * it would let every client choose its own address and walk around the per-IP throttles.
 */
export function validateTrustedProxies(entries: readonly string[], hops: number): string[] {
  const words = entries.map((e) => e.trim().toLowerCase());
  if (words.length === 1 && ['false', '0', 'no', 'off'].includes(words[0]!)) return [];
  if (words.some((w) => ['true', '1', 'yes', 'on', '*', 'all'].includes(w))) {
    throw new ConfigError(
      '--trust-proxy true / GATEHOUSE_TRUST_PROXY=true would believe every X-Forwarded-For hop, so any client could pick its own address: name your proxies (--trust-proxy 10.0.0.0/8,127.0.0.1) or count them (--trust-proxy-hops 1)',
    );
  }
  for (const entry of entries) {
    const [address, prefix, extra] = entry.trim().split('/');
    const family = isIP(address ?? '');
    const bits = family === 4 ? 32 : 128;
    const validPrefix = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !validPrefix || extra !== undefined) {
      throw new ConfigError(
        `--trust-proxy / GATEHOUSE_TRUST_PROXY: ${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 10.0.0.0/8, 127.0.0.1, ::1)`,
      );
    }
  }
  if (entries.length > 0 && hops > 0)
    throw new ConfigError('set either --trust-proxy (addresses) or --trust-proxy-hops (a count), not both');
  return entries.map((e) => e.trim());
}

/** Fastify's trustProxy setting for the configuration: addresses, a hop count, or nothing. */
export function trustProxySetting(config: Pick<Config, 'trustProxy' | 'trustProxyHops'>): string[] | number | false {
  if (config.trustProxyHops > 0) return config.trustProxyHops;
  return config.trustProxy.length > 0 ? [...config.trustProxy] : false;
}

/** The logo: empty, an https URL (no user information), or a path on this server (not `//host`). */
export function validateLogoUrl(value: string): string {
  const v = value.trim();
  if (v === '') return '';
  const problem = '--brand-logo-url / GATEHOUSE_BRAND_LOGO_URL must be an https URL or a path on this server starting with /';
  if (/[\s\\"'<>]/.test(v)) throw new ConfigError(problem);
  if (v.startsWith('/')) {
    if (v.startsWith('//')) throw new ConfigError(problem);
    return v;
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new ConfigError(problem);
  }
  if (url.protocol !== 'https:' || url.username || url.password) throw new ConfigError(problem);
  return url.href;
}

/** Builds the frozen configuration from environment and flags (flags win). */
export function loadConfig(env: NodeJS.ProcessEnv = {}, flags: Record<string, string | boolean | undefined> = {}): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(OPTION_NAMES) as Key[]) {
    const { env: envName, flag } = OPTION_NAMES[key];
    const fromFlag = flags[flag];
    const fromEnv = env[envName];
    if (fromFlag !== undefined) input[key] = typeof fromFlag === 'boolean' ? fromFlag : coerce(key, fromFlag);
    else if (fromEnv !== undefined && fromEnv !== '') input[key] = coerce(key, fromEnv);
  }
  const withDefaults = Value.Default(ConfigSchema, input) as Record<string, unknown>;
  if (!Value.Check(ConfigSchema, withDefaults)) {
    const problems = [...Value.Errors(ConfigSchema, withDefaults)].slice(0, 5).map((e) => {
      const key = e.path.replace(/^\//, '').split('/')[0] as Key;
      const names = OPTION_NAMES[key];
      return `${names ? `--${names.flag} / ${names.env}` : e.path}: ${e.message} (got ${JSON.stringify(e.value)})`;
    });
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const config = withDefaults as Static<typeof ConfigSchema>;
  const hostForUrl = config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host;
  config.issuer = validateIssuer(config.issuer || `http://${hostForUrl}:${config.port}`);
  for (const aud of config.accessTokenAudience) {
    try {
      new URL(aud);
    } catch {
      throw new ConfigError(`access token audience ${JSON.stringify(aud)} must be an absolute URI`);
    }
  }
  config.trustProxy = validateTrustedProxies(config.trustProxy, config.trustProxyHops);
  if (config.redisUrl !== '' && !/^rediss?:\/\/[^\s]+$/.test(config.redisUrl))
    throw new ConfigError('--redis / GATEHOUSE_REDIS_URL must be a redis:// or rediss:// URL');
  config.brandName = config.brandName.trim();
  if (config.brandName === '') throw new ConfigError('--brand-name / GATEHOUSE_BRAND_NAME must not be blank');
  config.brandLogoUrl = validateLogoUrl(config.brandLogoUrl);
  config.brandColor = config.brandColor.toLowerCase();
  if (config.metricsPort !== 0 && config.metricsPort === config.port && config.metricsHost === config.host)
    throw new ConfigError('--metrics-port must differ from --port: metrics are never served on the public listener');
  if (config.refreshTokenIdleTtl > config.refreshTokenTtl) config.refreshTokenIdleTtl = config.refreshTokenTtl;
  Object.freeze(config.accessTokenAudience);
  Object.freeze(config.trustProxy);
  return Object.freeze(config);
}

/** Audience of access tokens. */
export function accessTokenAudience(config: Pick<Config, 'issuer' | 'accessTokenAudience'>): string[] {
  return config.accessTokenAudience.length > 0 ? [...config.accessTokenAudience] : [config.issuer];
}
