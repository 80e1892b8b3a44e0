// RFC 9068 §4 (validating a JWT access token), RFC 8725 §3.1 (algorithm allowlist), §3.10 (keys named in
// the header — jwk, jku, x5u, x5c — are never used; `kid` only looks a key up in the issuer's JWKS),
// RFC 7515 §4.1.11 (unknown `crit` is rejected), RFC 7517 (JWK Set).
// jose does the cryptography, the JWKS cache (cooldownDuration/cacheMaxAge) and the registered claims;
// this module chooses its options and turns its errors into RFC 6750 errors that leak nothing.

import {
  createRemoteJWKSet,
  customFetch,
  errors,
  jwtVerify,
  type JWTHeaderParameters,
  type FlattenedJWSInput,
  type JWTVerifyGetKey,
  type RemoteJWKSetOptions,
} from 'jose';
import { checkAccessTokenMembers, type AccessTokenClaims } from './claims.js';
import { AccessTokenError, InvalidTokenError, TemporarilyUnavailableError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** Claims jose must find before anything else is looked at (RFC 9068 §2.2). */
const REQUIRED_CLAIMS = ['iss', 'exp', 'aud', 'sub', 'client_id', 'iat', 'jti'];

/** Turns anything jose throws about a token into an invalid_token error with a fixed description. */
function toAccessTokenError(error: unknown): AccessTokenError {
  if (error instanceof AccessTokenError) return error;
  const options = { cause: error };
  if (error instanceof errors.JWTExpired) return new InvalidTokenError('The access token expired', options);
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'typ':
        return new InvalidTokenError('The token is not an access token: typ must be at+jwt', options);
      case 'iss':
        return new InvalidTokenError('The access token was issued by an unexpected issuer', options);
      case 'aud':
        return new InvalidTokenError('The access token is not intended for this resource', options);
      case 'nbf':
        return new InvalidTokenError('The access token is not yet valid', options);
      default:
        return REQUIRED_CLAIMS.includes(error.claim)
          ? new InvalidTokenError(`The access token lacks a valid ${error.claim} claim`, options)
          : new InvalidTokenError('The access token has an invalid claim', options);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new InvalidTokenError('The access token is signed with an algorithm that is not allowed', options);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidTokenError('The access token signature is invalid', options);
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new InvalidTokenError('No key of the issuer matches the access token', options);
  }
  if (error instanceof errors.JOSENotSupported) {
    return new InvalidTokenError('The access token uses an unsupported feature', options);
  }
  return new InvalidTokenError('The access token is malformed', options);
}

/**
 * Creates the JWT check of one verifier. The remote JWKS is created once, the first time a token is
 * checked (its URL may come from discovery), and reused: jose keeps the keys for `jwksCacheMaxAgeMs` and
 * refetches on an unknown `kid` at most once per `jwksRefetchIntervalMs`.
 */
export function createJwtAccessTokenCheck(
  options: ResolvedOptions,
  jwksUri: () => Promise<URL>,
): (token: string) => Promise<AccessTokenClaims> {
  let remote: Promise<JWTVerifyGetKey> | undefined;

  const keySet = (): Promise<JWTVerifyGetKey> => {
    if (remote === undefined) {
      const created = jwksUri().then((url) => {
        const settings: RemoteJWKSetOptions = {
          cooldownDuration: options.jwksRefetchIntervalMs,
          cacheMaxAge: options.jwksCacheMaxAgeMs,
          timeoutDuration: options.httpTimeoutMs,
        };
        if (options.fetch !== undefined) settings[customFetch] = options.fetch;
        return createRemoteJWKSet(url, settings);
      });
      remote = created;
      // A failed discovery is not remembered: the next request tries again.
      created.catch(() => {
        if (remote === created) remote = undefined;
      });
    }
    return remote;
  };

  // Only the protected header's `alg` and `kid` select a key, and only from the issuer's JWKS. Errors that
  // are about the key set itself (unreachable, malformed) are not the token's fault: 503, not 401.
  const getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    const jwks = await keySet();
    try {
      return await jwks(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      throw new TemporarilyUnavailableError('The keys of the authorization server are unavailable', { cause: error });
    }
  };

  return async (token) => {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: [...options.algorithms],
        issuer: options.issuer,
        audience: options.audience,
        typ: 'at+jwt',
        clockTolerance: options.leewaySeconds,
        requiredClaims: REQUIRED_CLAIMS,
      }));
    } catch (error) {
      throw toAccessTokenError(error);
    }
    return checkAccessTokenMembers(payload, options, Math.floor(Date.now() / 1000));
  };
}
