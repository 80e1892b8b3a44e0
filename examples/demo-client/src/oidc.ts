// The OpenID Connect relying-party side of Photo Printer, on openid-client v6:
// authorization code flow with PKCE (RFC 7636), pushed authorization requests (RFC 9126) with DPoP
// (RFC 9449 §10.1), state (RFC 6749 §10.12), nonce (OIDC Core §3.1.2.1), issuer identification
// (RFC 9207), refresh (RFC 6749 §6).
import * as client from 'openid-client';
import type { ClientAppOptions } from './config.js';
import { isLoopbackUrl } from './config.js';
import type { PendingLogin, TokenSet } from './session-store.js';

/** The user's grant is gone (refresh token expired, revoked or reused): sign in again. */
export class SessionEndedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SessionEndedError';
  }
}

/** Discovery done once, on first use; a failure is not cached, so the next request retries. */
export function lazyDiscovery(options: ClientAppOptions): () => Promise<client.Configuration> {
  const discover = options.discover ?? (() => discoverIssuer(options));
  let pending: Promise<client.Configuration> | undefined;
  return () => {
    pending ??= discover().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

export async function discoverIssuer(options: ClientAppOptions): Promise<client.Configuration> {
  const issuer = new URL(options.issuer);
  const insecure = issuer.protocol === 'http:';
  if (insecure && !isLoopbackUrl(issuer)) {
    throw new Error(`refusing a plain-http issuer that is not loopback: ${options.issuer}`);
  }
  return client.discovery(issuer, options.clientId, undefined, client.ClientSecretBasic(options.clientSecret), {
    execute: insecure ? [client.allowInsecureRequests] : [],
    timeout: 10,
  });
}

/**
 * The authorization request. When the server advertises a PAR endpoint (RFC 9126), its parameters are
 * pushed there first, client-authenticated and with the session's DPoP proof (RFC 9449 §10.1: the code
 * is then bound to the session's key), and the browser goes to /authorize with only client_id and the
 * request_uri; otherwise they travel in the authorization URL.
 */
export async function startLogin(
  config: client.Configuration,
  { redirectUri, scope, now, dpop }: { redirectUri: string; scope: string; now: number; dpop?: client.DPoPHandle | undefined },
): Promise<{ url: URL; pending: PendingLogin }> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const pending: PendingLogin = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier,
    createdAt: now,
  };
  const parameters = {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state: pending.state,
    nonce: pending.nonce,
  };
  const url = config.serverMetadata().pushed_authorization_request_endpoint
    ? await client.buildAuthorizationUrlWithPAR(config, parameters, dpop ? { DPoP: dpop } : undefined)
    : client.buildAuthorizationUrl(config, parameters);
  return { url, pending };
}

/**
 * Lifetime bookkeeping: refresh a little before expiry (`leewaySeconds`, at most half the
 * lifetime so that short-lived tokens are still used).
 */
export function tokenSetFrom(
  response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  previous: TokenSet | undefined,
  { now, leewaySeconds }: { now: number; leewaySeconds: number },
): TokenSet {
  const expiresIn = response.expiresIn();
  const tokens: TokenSet = { accessToken: response.access_token };
  if (expiresIn !== undefined) {
    tokens.accessTokenExpiresAt = now + expiresIn * 1000;
    tokens.refreshAt = now + Math.max(0, expiresIn - Math.min(leewaySeconds, expiresIn / 2)) * 1000;
  }
  // Refresh token rotation: whenever the server sends a new refresh token, the old one is dead.
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  if (refreshToken) tokens.refreshToken = refreshToken;
  const idToken = response.id_token ?? previous?.idToken;
  if (idToken) tokens.idToken = idToken;
  const scope = response.scope ?? previous?.scope;
  if (scope) tokens.scope = scope;
  tokens.tokenType = response.token_type.toLowerCase();
  return tokens;
}

export function isInvalidGrant(error: unknown): boolean {
  return error instanceof client.ResponseBodyError && error.error === 'invalid_grant';
}
