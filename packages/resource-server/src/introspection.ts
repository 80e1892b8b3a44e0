// RFC 7662 §2.1 (introspection request), §2.2 (response), §4 (caching: never beyond the token's `exp`,
// and no longer than the resource server's documented TTL); RFC 6749 §2.3.1 (client_secret_basic: each
// part form-urlencoded before base64). The cache is keyed by the SHA-256 of the token, never the token.

import { boundJkt, checkAccessTokenMembers, checkIssuerAudienceAndTime, type AccessTokenClaims } from './claims.js';
import { InvalidTokenError, TemporarilyUnavailableError } from './errors.js';
import { ExpiringLruCache } from './expiring-lru-cache.js';
import { fetchJson } from './http.js';
import type { ResolvedIntrospection, ResolvedOptions } from './options.js';

/** An introspection answer as received (RFC 7662 §2.2). */
type IntrospectionResponse = Record<string, unknown> & { active: boolean };

/** token_type values that mean "an access token" (others, e.g. refresh_token, are refused); DPoP ones carry `cnf`. */
const BEARER_TOKEN_TYPES = new Set(['bearer', 'dpop', 'access_token', 'urn:ietf:params:oauth:token-type:access_token']);

/** RFC 6749 §2.3.1: client_id and client_secret are application/x-www-form-urlencoded, then joined and base64ed. */
export function clientSecretBasic(clientId: string, clientSecret: string): string {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
  const bytes = new TextEncoder().encode(`${encode(clientId)}:${encode(clientSecret)}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** base64url(SHA-256(token)): the only form in which a token is kept in memory beyond the request. */
export async function tokenDigest(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function unavailable(detail: string, cause?: unknown): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError('The introspection endpoint is unavailable', {
    cause: cause === undefined ? new Error(detail) : new Error(detail, { cause }),
  });
}

/** Checks an introspection answer as strictly as a JWT: active, issuer, audience, time, RFC 9068 members. */
function claimsFrom(response: IntrospectionResponse, options: ResolvedOptions, nowSeconds: number): AccessTokenClaims {
  if (response.active !== true) throw new InvalidTokenError('The access token is not active');
  const tokenType = response['token_type'];
  if (tokenType !== undefined && (typeof tokenType !== 'string' || !BEARER_TOKEN_TYPES.has(tokenType.toLowerCase()))) {
    throw new InvalidTokenError('The token is not an access token');
  }
  checkIssuerAudienceAndTime(response, options, nowSeconds);
  const { active: _active, token_type: _tokenType, ...claims } = response;
  const checked = checkAccessTokenMembers(claims, options, nowSeconds);
  if (typeof tokenType === 'string' && tokenType.toLowerCase() === 'dpop' && boundJkt(checked) === undefined) {
    throw new InvalidTokenError('The DPoP access token has no key binding');
  }
  return checked;
}

export interface IntrospectionCheck {
  (token: string): Promise<AccessTokenClaims>;
  /** Number of cached answers (for tests and metrics). */
  readonly cacheSize: number;
}

/**
 * Creates the introspection check of one verifier. Answers (active or not) are cached by token digest for
 * `cacheTtlMs`, but an active answer never outlives the token's `exp`. Concurrent checks of one token
 * share one request.
 */
export function createIntrospectionCheck(
  options: ResolvedOptions,
  introspection: ResolvedIntrospection,
  endpoint: () => Promise<URL>,
): IntrospectionCheck {
  const cache = new ExpiringLruCache<IntrospectionResponse>(introspection.cacheMaxEntries);
  const pending = new Map<string, Promise<IntrospectionResponse>>();
  const authorization = clientSecretBasic(introspection.clientId, introspection.clientSecret);
  const http = { fetch: options.fetch, timeoutMs: options.httpTimeoutMs };

  const introspect = async (token: string, key: string): Promise<IntrospectionResponse> => {
    const url = await endpoint();
    let response;
    try {
      response = await fetchJson(
        url,
        {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        },
        http,
      );
    } catch (error) {
      throw unavailable(`introspection request to ${url.href} failed`, error);
    }
    if (response.body === undefined) throw unavailable(`${url.href} answered ${response.status}`);
    if (typeof response.body['active'] !== 'boolean') throw unavailable(`${url.href} answered without a boolean "active"`);
    const answer = response.body as IntrospectionResponse;
    const now = Date.now();
    let expiresAt = now + introspection.cacheTtlMs;
    if (answer.active) {
      const exp = answer['exp'];
      expiresAt = typeof exp === 'number' ? Math.min(expiresAt, exp * 1000) : now; // no exp: not cached
    }
    if (introspection.cacheTtlMs > 0) cache.set(key, answer, expiresAt, now);
    return answer;
  };

  const check = async (token: string): Promise<AccessTokenClaims> => {
    const key = await tokenDigest(token);
    let answer = cache.get(key, Date.now());
    if (answer === undefined) {
      let request = pending.get(key);
      if (request === undefined) {
        request = introspect(token, key).finally(() => pending.delete(key));
        pending.set(key, request);
      }
      answer = await request;
    }
    return claimsFrom(answer, options, Math.floor(Date.now() / 1000));
  };

  return Object.defineProperty(check, 'cacheSize', { get: () => cache.size, enumerable: true }) as IntrospectionCheck;
}
