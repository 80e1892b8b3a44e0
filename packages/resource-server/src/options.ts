// RFC 9068 §4 (what a resource server validates), RFC 8725 §3.1–§3.2 (algorithm allowlist, no `none`, no
// MAC algorithms with public keys), RFC 8414 §2 (issuer identifier), RFC 7662 §2 (introspection client).
// Options are checked once, when a verifier is created: a bad configuration is a TypeError at start-up,
// never a surprise at request time.

import { checkDpopAlgorithms, MemoryDpopReplayCache, type DpopReplayCache } from './dpop.js';
import { ASYMMETRIC_JWS_ALGORITHMS, DEFAULT_ASYMMETRIC_ALGORITHMS } from './algorithms.js';

/** Asymmetric JWS algorithms an access token may be signed with (algorithms.ts, shared with DPoP proofs). */
export const SUPPORTED_ALGORITHMS = ASYMMETRIC_JWS_ALGORITHMS;
export type AccessTokenAlgorithm = (typeof SUPPORTED_ALGORITHMS)[number];

export const DEFAULT_ALGORITHMS: readonly AccessTokenAlgorithm[] = DEFAULT_ASYMMETRIC_ALGORITHMS;
// The one leeway of a Gatehouse deployment (R4): nodes keep within 60 s of the database's clock, and
// verifiers allow the same on exp, nbf and iat (the server's oauth/clock-leeway.ts CLOCK_LEEWAY).
export const DEFAULT_LEEWAY_SECONDS = 60;
export const MAX_LEEWAY_SECONDS = 60;
export const DEFAULT_JWKS_REFETCH_INTERVAL_SECONDS = 30;
export const DEFAULT_JWKS_CACHE_MAX_AGE_SECONDS = 600;
export const DEFAULT_HTTP_TIMEOUT_SECONDS = 5;
export const DEFAULT_INTROSPECTION_CACHE_TTL_SECONDS = 30;
export const DEFAULT_INTROSPECTION_CACHE_MAX_ENTRIES = 10_000;
/** Tokens longer than this are refused before anything decodes them (checklist JW-04). */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export interface IntrospectionOptions {
  /** RFC 7662 endpoint. Default: `introspection_endpoint` from the issuer's metadata. */
  endpoint?: string;
  /** This resource server's client_id at the authorization server (client_secret_basic). */
  clientId: string;
  /** Its client_secret. */
  clientSecret: string;
  /** How long an introspection answer is reused, in seconds (default 30; 0 disables the cache). Never beyond the token's `exp`. */
  cacheTtlSeconds?: number;
  /** At most this many answers are cached; the least recently used goes first (default 10 000). */
  cacheMaxEntries?: number;
}

export interface VerifierOptions {
  /** The authorization server's issuer identifier; tokens must carry exactly this `iss`. */
  issuer: string;
  /** This API's identifier; a token's `aud` must contain it. */
  audience: string;
  /** JWKS location. Default: `jwks_uri` from the issuer's metadata (RFC 8414, then OpenID discovery). */
  jwksUri?: string;
  /** Allowed signature algorithms. Default ['ES256', 'RS256', 'PS256', 'EdDSA']. HS* and `none` are refused. */
  algorithms?: readonly string[];
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds (default 60, also the most allowed). */
  leewaySeconds?: number;
  /** An unknown `kid` refetches the JWKS at most once per this many seconds (default 30). */
  jwksRefetchIntervalSeconds?: number;
  /** The JWKS is refetched before use once it is older than this many seconds (default 600). */
  jwksCacheMaxAgeSeconds?: number;
  /** Timeout of each request to the authorization server, in seconds (default 5). */
  httpTimeoutSeconds?: number;
  /** Verify every token through RFC 7662 introspection instead of locally (opaque or revocation-sensitive tokens). */
  introspection?: IntrospectionOptions;
  /** `realm` of the WWW-Authenticate challenge (default: the audience). */
  realm?: string;
  /** RFC 9728 §5.1: URL of this resource's metadata, sent as `resource_metadata` in challenges. */
  resourceMetadata?: string;
  /**
   * Allow plain-http URLs for the issuer, JWKS and introspection endpoint on hosts other than loopback.
   * Default false: https everywhere except 127.0.0.1, [::1] and localhost.
   */
  allowInsecureRequests?: boolean;
  /** fetch implementation used for discovery, JWKS and introspection (default: global fetch). */
  fetch?: typeof fetch;
  /**
   * RFC 9449 DPoP-bound tokens (`Authorization: DPoP` + a `DPoP` proof). On by default with an in-memory
   * replay cache; `false` refuses every DPoP-bound token (as a bearer-only resource must).
   */
  dpop?: DpopOptions | false;
  /**
   * The external base URL of this API as clients address it (e.g. `https://api.example.com`, or
   * `https://example.com/api` when a proxy strips `/api`): a DPoP proof's `htu` is checked against this
   * base plus the request path. Without it: a Fetch `Request`'s own URL, or for Node-style requests the
   * `Host` header and the socket's TLS state (or X-Forwarded-Proto/-Host with `trustProxy`).
   */
  publicUrl?: string;
  /**
   * Believe `X-Forwarded-Proto` and `X-Forwarded-Host` when building the request URL of a Node-style
   * request (only behind a proxy that sets them). Ignored when `publicUrl` is set. Default false.
   */
  trustProxy?: boolean;
}

export interface DpopOptions {
  /**
   * Where proof `jti`s are remembered (RFC 9449 §11.1). Default: an in-memory cache of this process
   * (bounded by `replayCacheMaxEntries`); several instances behind a load balancer need a shared one.
   */
  replayCache?: DpopReplayCache;
  /** Size bound of the default in-memory replay cache (default 100 000). */
  replayCacheMaxEntries?: number;
  /** Accepted proof algorithms (default ES256, RS256, PS256, EdDSA); sent as `algs` in DPoP challenges. */
  algorithms?: readonly string[];
}

export interface ResolvedDpop {
  replayCache: DpopReplayCache;
  algorithms: readonly string[];
}

export interface ResolvedIntrospection {
  endpoint: URL | undefined;
  clientId: string;
  clientSecret: string;
  cacheTtlMs: number;
  cacheMaxEntries: number;
}

export interface ResolvedOptions {
  issuer: string;
  audience: string;
  jwksUri: URL | undefined;
  algorithms: readonly AccessTokenAlgorithm[];
  leewaySeconds: number;
  jwksRefetchIntervalMs: number;
  jwksCacheMaxAgeMs: number;
  httpTimeoutMs: number;
  introspection: ResolvedIntrospection | undefined;
  realm: string;
  resourceMetadata: string | undefined;
  allowInsecureRequests: boolean;
  fetch: typeof fetch | undefined;
  dpop: ResolvedDpop | undefined;
  publicUrl: URL | undefined;
  trustProxy: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Parses an absolute https URL (http only on loopback unless allowed); a TypeError otherwise. */
export function checkUrl(value: unknown, name: string, allowInsecure: boolean): URL {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`"${name}" must be an absolute URL`);
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`"${name}" must be an https URL`);
  if (url.protocol === 'http:' && !allowInsecure && !LOOPBACK.has(url.hostname)) {
    throw new TypeError(`"${name}" must use https (plain http is allowed only on loopback, or with allowInsecureRequests)`);
  }
  if (url.hash !== '' || value.includes('#')) throw new TypeError(`"${name}" must not have a fragment`);
  if (url.username !== '' || url.password !== '') throw new TypeError(`"${name}" must not contain credentials`);
  return url;
}

function seconds(value: unknown, name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`"${name}" must be a number of seconds between ${min} and ${max}`);
  }
  return value;
}

function nonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`"${name}" must be a non-empty string`);
  return value;
}

function checkAlgorithms(value: unknown): readonly AccessTokenAlgorithm[] {
  if (value === undefined) return DEFAULT_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0) throw new TypeError('"algorithms" must be a non-empty array');
  for (const alg of value) {
    if (typeof alg !== 'string') throw new TypeError('"algorithms" must contain strings');
    if (alg.toLowerCase() === 'none' || /^HS/i.test(alg)) {
      throw new TypeError(`"algorithms" must not contain "${alg}": only asymmetric signatures are accepted (RFC 8725 §3.1)`);
    }
    if (!(SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TypeError(`"algorithms" contains the unsupported algorithm "${alg}"`);
    }
  }
  return Object.freeze([...new Set(value as AccessTokenAlgorithm[])]);
}

function checkIntrospection(value: IntrospectionOptions | undefined, allowInsecure: boolean): ResolvedIntrospection | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError('"introspection" must be an object');
  return {
    endpoint: value.endpoint === undefined ? undefined : checkUrl(value.endpoint, 'introspection.endpoint', allowInsecure),
    clientId: nonEmptyString(value.clientId, 'introspection.clientId'),
    clientSecret: nonEmptyString(value.clientSecret, 'introspection.clientSecret'),
    cacheTtlMs:
      seconds(value.cacheTtlSeconds, 'introspection.cacheTtlSeconds', DEFAULT_INTROSPECTION_CACHE_TTL_SECONDS, { max: 3600 }) * 1000,
    cacheMaxEntries: Math.floor(
      seconds(value.cacheMaxEntries, 'introspection.cacheMaxEntries', DEFAULT_INTROSPECTION_CACHE_MAX_ENTRIES, { min: 1, max: 10_000_000 }),
    ),
  };
}

/** Validates and normalizes verifier options; throws TypeError on any misconfiguration. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const allowInsecureRequests = options.allowInsecureRequests === true;
  const issuerUrl = checkUrl(options.issuer, 'issuer', allowInsecureRequests);
  if (issuerUrl.search !== '') throw new TypeError('"issuer" must not have a query');
  const audience = nonEmptyString(options.audience, 'audience');
  const realm = options.realm === undefined ? audience : nonEmptyString(options.realm, 'realm');
  if (/[^\x20-\x7E]/.test(realm)) throw new TypeError('"realm" must be printable ASCII');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('"fetch" must be a function');
  return {
    issuer: options.issuer,
    audience,
    jwksUri: options.jwksUri === undefined ? undefined : checkUrl(options.jwksUri, 'jwksUri', allowInsecureRequests),
    algorithms: checkAlgorithms(options.algorithms),
    leewaySeconds: seconds(options.leewaySeconds, 'leewaySeconds', DEFAULT_LEEWAY_SECONDS, { max: MAX_LEEWAY_SECONDS }),
    jwksRefetchIntervalMs:
      seconds(options.jwksRefetchIntervalSeconds, 'jwksRefetchIntervalSeconds', DEFAULT_JWKS_REFETCH_INTERVAL_SECONDS, { max: 86_400 }) *
      1000,
    jwksCacheMaxAgeMs:
      seconds(options.jwksCacheMaxAgeSeconds, 'jwksCacheMaxAgeSeconds', DEFAULT_JWKS_CACHE_MAX_AGE_SECONDS, { max: 86_400 }) * 1000,
    httpTimeoutMs: Math.ceil(
      seconds(options.httpTimeoutSeconds, 'httpTimeoutSeconds', DEFAULT_HTTP_TIMEOUT_SECONDS, { min: 0.001, max: 120 }) * 1000,
    ),
    introspection: checkIntrospection(options.introspection, allowInsecureRequests),
    realm,
    resourceMetadata:
      options.resourceMetadata === undefined
        ? undefined
        : checkUrl(options.resourceMetadata, 'resourceMetadata', allowInsecureRequests).href,
    allowInsecureRequests,
    fetch: options.fetch,
    dpop: checkDpop(options.dpop),
    publicUrl: checkPublicUrl(options.publicUrl),
    trustProxy: options.trustProxy === true,
  };
}

function checkDpop(value: DpopOptions | false | undefined): ResolvedDpop | undefined {
  if (value === false) return undefined;
  const options = value ?? {};
  if (typeof options !== 'object' || options === null) throw new TypeError('"dpop" must be an object or false');
  if (options.replayCache !== undefined && typeof options.replayCache.record !== 'function') {
    throw new TypeError('"dpop.replayCache" must have a record(key, expiresAt) method');
  }
  return {
    replayCache: options.replayCache ?? new MemoryDpopReplayCache({ maxEntries: options.replayCacheMaxEntries ?? 100_000 }),
    algorithms: Object.freeze([...checkDpopAlgorithms(options.algorithms)]),
  };
}

function checkPublicUrl(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError('"publicUrl" must be an absolute URL');
  const url = new URL(value);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('"publicUrl" must be an http(s) URL');
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new TypeError('"publicUrl" must not have a query, a fragment or credentials');
  }
  return url;
}
