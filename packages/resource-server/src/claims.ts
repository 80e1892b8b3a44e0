// RFC 9068 §2.2 (required claims of a JWT access token) and §4 (validation), RFC 7662 §2.2 (the same
// members in an introspection response), RFC 7800 §3.1 / RFC 9449 §7.1 / RFC 8705 §3 (`cnf`: a
// sender-constrained token is not a bearer token).

import { InvalidTokenError } from './errors.js';

/** The claims of a verified access token (RFC 9068 §2.2). Every listed required member was checked. */
export interface AccessTokenClaims {
  /** Issuer: equals the configured issuer. */
  iss: string;
  /** Subject: the resource owner, or the client itself for client_credentials tokens. */
  sub: string;
  /** Audience: contains the configured audience. */
  aud: string | string[];
  /** Expiry, seconds since the epoch. */
  exp: number;
  /** Issued-at, seconds since the epoch. */
  iat: number;
  /** Token identifier. */
  jti: string;
  /** The client the token was issued to. */
  client_id: string;
  /** Space-delimited scopes (RFC 9068 §2.2.3); use `scopesOf(claims)` or `requireScopes(claims, [...])`. */
  scope?: string;
  nbf?: number;
  auth_time?: number;
  acr?: string;
  amr?: string[];
  /** RFC 9449 §6.1: the DPoP key the token is bound to (its RFC 7638 thumbprint); checked against the proof. */
  cnf?: { jkt: string };
  [claim: string]: unknown;
}

export interface ClaimRules {
  issuer: string;
  audience: string;
  leewaySeconds: number;
}

function nonEmptyString(claims: Record<string, unknown>, name: string): void {
  const value = claims[name];
  if (typeof value !== 'string' || value === '') {
    throw new InvalidTokenError(`The access token lacks a valid ${name} claim`);
  }
}

function numeric(claims: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const value = claims[name];
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidTokenError(`The access token lacks a valid ${name} claim`);
  }
  return value;
}

/**
 * The RFC 9068 §2.2 members jose does not check for us: `sub`, `client_id` and `jti` are non-empty strings,
 * `iat` is a number not in the future (beyond the leeway), `scope` (if any) is a string, and a `cnf`
 * confirmation, if any, is a DPoP key binding `{ jkt }` (the verifier then requires a matching proof).
 */
export function checkAccessTokenMembers(
  claims: Record<string, unknown>,
  rules: Pick<ClaimRules, 'leewaySeconds'>,
  nowSeconds: number,
): AccessTokenClaims {
  nonEmptyString(claims, 'sub');
  nonEmptyString(claims, 'client_id');
  nonEmptyString(claims, 'jti');
  const iat = numeric(claims, 'iat', true) as number;
  if (iat > nowSeconds + rules.leewaySeconds) throw new InvalidTokenError('The access token was issued in the future');
  if (claims['scope'] !== undefined && typeof claims['scope'] !== 'string') {
    throw new InvalidTokenError('The access token has a malformed scope claim');
  }
  // RFC 9449 §6: a DPoP binding (`cnf.jkt`) is kept for the verifier to check against the proof; any other
  // confirmation (RFC 8705 certificate binding) cannot be checked here, so such a token is refused.
  const cnf = claims['cnf'];
  if (cnf !== undefined) {
    const jkt = typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf) ? (cnf as Record<string, unknown>)['jkt'] : undefined;
    if (typeof jkt !== 'string' || jkt === '' || Object.keys(cnf as object).length !== 1) {
      throw new InvalidTokenError('The access token is sender-constrained in a way this resource cannot check');
    }
  }
  return claims as AccessTokenClaims;
}

/**
 * What jose checks on a JWT, done by hand for an introspection response: `iss` equals the issuer, `aud`
 * contains the audience, `exp` is present and not past, `nbf` (if any) is not in the future.
 */
export function checkIssuerAudienceAndTime(claims: Record<string, unknown>, rules: ClaimRules, nowSeconds: number): void {
  if (claims['iss'] !== rules.issuer) throw new InvalidTokenError('The access token was issued by an unexpected issuer');
  const aud = claims['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(rules.audience)) throw new InvalidTokenError('The access token is not intended for this resource');
  const exp = numeric(claims, 'exp', true) as number;
  if (exp <= nowSeconds - rules.leewaySeconds) throw new InvalidTokenError('The access token expired');
  const nbf = numeric(claims, 'nbf', false);
  if (nbf !== undefined && nbf > nowSeconds + rules.leewaySeconds) throw new InvalidTokenError('The access token is not yet valid');
}

/** The DPoP key thumbprint a token is bound to, undefined for a bearer token. */
export function boundJkt(claims: AccessTokenClaims): string | undefined {
  const jkt = (claims.cnf as { jkt?: unknown } | undefined)?.jkt;
  return typeof jkt === 'string' ? jkt : undefined;
}
