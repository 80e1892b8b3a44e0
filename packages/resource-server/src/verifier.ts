// RFC 9068 §4 and RFC 6750 §2–§3: one verifier per API. It resolves the issuer's metadata lazily (once),
// keeps one JWKS cache (or one introspection cache), and per request only extracts the token, checks it
// (signature or cached introspection) and, when asked, its scopes.

import type { AccessTokenClaims } from './claims.js';
import { discover, type AuthorizationServerMetadata } from './discovery.js';
import {
  AccessTokenError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  type AccessTokenErrorReply,
  type ChallengeParameters,
} from './errors.js';
import { B64TOKEN, extractAccessToken, type AccessTokenInput } from './extract-token.js';
import { createIntrospectionCheck } from './introspection.js';
import { createJwtAccessTokenCheck } from './jwt-access-token.js';
import { checkUrl, MAX_TOKEN_LENGTH, resolveOptions, type VerifierOptions } from './options.js';
import { checkScopeList, requireScopes } from './scopes.js';

export interface VerifyRequirements {
  /** Scopes the token must grant, all of them (else InsufficientScopeError, 403). */
  scopes?: readonly string[];
}

/** A verifier: call it with a token, a Fetch `Request` or a Node-style request. */
export interface AccessTokenVerifier {
  (input: AccessTokenInput, requirements?: VerifyRequirements): Promise<AccessTokenClaims>;
  /** `realm` and `resource_metadata` this verifier puts in its challenges. */
  readonly challenge: Readonly<ChallengeParameters>;
  /** Status, headers and JSON body for an AccessTokenError; undefined for any other error. */
  errorReply(error: unknown): AccessTokenErrorReply | undefined;
  /** A Fetch API `Response` for any error: RFC 6750 for AccessTokenError, a bare 500 `server_error` otherwise. */
  errorResponse(error: unknown): Response;
}

/** Builds a Fetch API `Response` for an error (RFC 6750 status, `WWW-Authenticate`, JSON body). */
export function errorResponse(error: unknown, challenge: ChallengeParameters = {}): Response {
  if (error instanceof AccessTokenError) {
    const reply = error.toReply(challenge);
    return new Response(JSON.stringify(reply.body), {
      status: reply.status,
      headers: { ...reply.headers, 'content-type': 'application/json' },
    });
  }
  return new Response(JSON.stringify({ error: 'server_error' }), {
    status: 500,
    headers: { 'cache-control': 'no-store', 'content-type': 'application/json' },
  });
}

/**
 * Creates a verifier. Create it once per API (at start-up): nothing is fetched until the first request,
 * then the metadata is kept and the JWKS (or introspection answers) cached. Throws TypeError on bad options.
 */
export function createVerifier(options: VerifierOptions): AccessTokenVerifier {
  const resolved = resolveOptions(options);
  const http = { fetch: resolved.fetch, timeoutMs: resolved.httpTimeoutMs };

  let metadata: Promise<AuthorizationServerMetadata> | undefined;
  const getMetadata = (): Promise<AuthorizationServerMetadata> => {
    if (metadata === undefined) {
      const created = discover(resolved.issuer, http);
      metadata = created;
      created.catch(() => {
        if (metadata === created) metadata = undefined; // not remembered: the next request retries
      });
    }
    return metadata;
  };
  const endpointFromMetadata = async (member: 'jwks_uri' | 'introspection_endpoint'): Promise<URL> => {
    const document = await getMetadata();
    try {
      return checkUrl(document[member], member, resolved.allowInsecureRequests);
    } catch (error) {
      throw new TemporarilyUnavailableError('The authorization server metadata is unusable', { cause: error });
    }
  };

  const introspection = resolved.introspection;
  const check =
    introspection === undefined
      ? createJwtAccessTokenCheck(resolved, async () => resolved.jwksUri ?? endpointFromMetadata('jwks_uri'))
      : createIntrospectionCheck(
          resolved,
          introspection,
          async () => introspection.endpoint ?? endpointFromMetadata('introspection_endpoint'),
        );

  const challenge: ChallengeParameters = Object.freeze({
    realm: resolved.realm,
    resourceMetadata: resolved.resourceMetadata,
  });

  const verify = async (input: AccessTokenInput, requirements: VerifyRequirements = {}): Promise<AccessTokenClaims> => {
    const required = requirements.scopes === undefined ? undefined : checkScopeList(requirements.scopes);
    const token = typeof input === 'string' ? input : await extractAccessToken(input);
    // JW-04: size first, before anything decodes the token.
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('The access token is too large');
    if (!B64TOKEN.test(token)) throw new InvalidTokenError('The access token is malformed');
    const claims = await check(token);
    if (required !== undefined) requireScopes(claims, required);
    return claims;
  };

  return Object.assign(verify, {
    challenge,
    errorReply: (error: unknown) => (error instanceof AccessTokenError ? error.toReply(challenge) : undefined),
    errorResponse: (error: unknown) => errorResponse(error, challenge),
  });
}

const verifiers = new WeakMap<VerifierOptions, AccessTokenVerifier>();

/**
 * Verifies the access token of a request (or a raw token) and returns its claims; throws AccessTokenError.
 * The verifier behind it is cached per `options` object: pass the same object every time (or use
 * `createVerifier` once) so that discovery and the JWKS are fetched once, not per request.
 */
export async function verifyAccessToken(
  input: AccessTokenInput,
  options: VerifierOptions,
  requirements?: VerifyRequirements,
): Promise<AccessTokenClaims> {
  let verifier = verifiers.get(options);
  if (verifier === undefined) {
    verifier = createVerifier(options);
    verifiers.set(options, verifier);
  }
  return verifier(input, requirements);
}
