// RFC 9068 §4, RFC 6750 §2–§3 and RFC 9449 §7: one verifier per API. It resolves the issuer's metadata lazily (once),
// keeps one JWKS cache (or one introspection cache), and per request only extracts the token, checks it
// (signature or cached introspection), its DPoP proof when the token is DPoP-bound, and, when asked, its
// scopes. A DPoP-bound token (`cnf.jkt`) is accepted only with `Authorization: DPoP` and a proof for this
// very request (htm, htu, ath) signed by the bound key; as a bearer token it is refused (RFC 9449 §7.2).

import { boundJkt, type AccessTokenClaims } from './claims.js';
import { DpopProofError, verifyDpopProof } from './dpop.js';
import { discover, type AuthorizationServerMetadata } from './discovery.js';
import {
  AccessTokenError,
  InvalidDpopProofError,
  InvalidTokenError,
  MissingTokenError,
  TemporarilyUnavailableError,
  type AccessTokenErrorReply,
  type ChallengeParameters,
} from './errors.js';
import { B64TOKEN, extractCredentials, type AccessTokenInput, type Credentials, type NodeRequestLike } from './extract-token.js';
import { createIntrospectionCheck } from './introspection.js';
import { createJwtAccessTokenCheck } from './jwt-access-token.js';
import { checkUrl, MAX_TOKEN_LENGTH, resolveOptions, type ResolvedOptions, type VerifierOptions } from './options.js';
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
    dpopAlgorithms: resolved.dpop?.algorithms,
  });

  const verify = async (input: AccessTokenInput, requirements: VerifyRequirements = {}): Promise<AccessTokenClaims> => {
    const required = requirements.scopes === undefined ? undefined : checkScopeList(requirements.scopes);
    const credentials: Credentials =
      typeof input === 'string' ? { token: input, scheme: 'Bearer', proofs: [] } : await extractCredentials(input);
    // Without DPoP support the DPoP scheme is one this resource does not know (as before: no credentials).
    if (credentials.scheme === 'DPoP' && resolved.dpop === undefined) throw new MissingTokenError();
    try {
      const { token } = credentials;
      // JW-04: size first, before anything decodes the token.
      if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError('The access token is too large');
      if (!B64TOKEN.test(token)) throw new InvalidTokenError('The access token is malformed');
      const claims = await check(token);
      await checkBinding(resolved, claims, credentials, input);
      if (required !== undefined) requireScopes(claims, required);
      return claims;
    } catch (error) {
      // RFC 9449 §7.1: a request that used DPoP (or a DPoP-bound token) is answered with a DPoP challenge.
      if (error instanceof AccessTokenError && credentials.scheme === 'DPoP') error.scheme = 'DPoP';
      throw error;
    }
  };

  return Object.assign(verify, {
    challenge,
    errorReply: (error: unknown) => (error instanceof AccessTokenError ? error.toReply(challenge) : undefined),
    errorResponse: (error: unknown) => errorResponse(error, challenge),
  });
}

/** DP-01 / DP-02: the token's key binding against the scheme and the proof. */
async function checkBinding(
  options: ResolvedOptions,
  claims: AccessTokenClaims,
  credentials: Credentials,
  input: AccessTokenInput,
): Promise<void> {
  const jkt = boundJkt(claims);
  if (credentials.scheme === 'Bearer') {
    if (jkt === undefined) return;
    const error = new InvalidTokenError('The access token is DPoP-bound and must be sent with the DPoP scheme and a proof');
    error.scheme = options.dpop === undefined ? 'Bearer' : 'DPoP';
    throw error;
  }
  const dpop = options.dpop;
  if (dpop === undefined || typeof input === 'string') throw new MissingTokenError();
  if (jkt === undefined) throw new InvalidTokenError('The access token is not DPoP-bound');
  try {
    await verifyDpopProof({
      proofs: credentials.proofs,
      method: requestMethod(input),
      url: requestUrl(options, input),
      accessToken: credentials.token,
      expectedJkt: jkt,
      now: Math.floor(Date.now() / 1000),
      replayCache: dpop.replayCache,
      algorithms: dpop.algorithms,
      leewaySeconds: options.leewaySeconds,
    });
  } catch (error) {
    if (error instanceof DpopProofError) throw new InvalidDpopProofError(error.description, { cause: error });
    if (error instanceof TypeError) throw new InvalidDpopProofError('The request URL could not be determined', { cause: error });
    throw new TemporarilyUnavailableError('The DPoP replay cache is unavailable', { cause: error });
  }
}

function requestMethod(input: Request | NodeRequestLike): string {
  return (input.method ?? 'GET').toUpperCase();
}

function firstForwarded(value: string | readonly string[] | null | undefined): string | undefined {
  const first = (typeof value === 'string' ? value : value?.[0])?.split(',')[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/**
 * The URL the client addressed (RFC 9449 §4.3 `htu`): `publicUrl` + the request path when configured;
 * else a Fetch Request's URL; else scheme and host of a Node-style request (forwarded ones only with
 * `trustProxy`) and its original path.
 */
export function requestUrl(options: Pick<ResolvedOptions, 'publicUrl' | 'trustProxy'>, input: Request | NodeRequestLike): string {
  let target: string;
  let origin: string | undefined;
  if (typeof (input as Request).url === 'string' && typeof (input.headers as Headers).get === 'function' && 'clone' in input) {
    const url = new URL((input as Request).url);
    target = `${url.pathname}${url.search}`;
    origin = url.origin;
  } else {
    const node = input as NodeRequestLike;
    target = node.originalUrl ?? node.url ?? '/';
    const header = (name: string) =>
      typeof (node.headers as Headers).get === 'function'
        ? (node.headers as Headers).get(name)
        : (node.headers as Record<string, string | readonly string[] | undefined>)[name];
    const host = (options.trustProxy ? firstForwarded(header('x-forwarded-host')) : undefined) ?? firstForwarded(header('host'));
    const proto =
      (options.trustProxy ? firstForwarded(header('x-forwarded-proto')) : undefined) ??
      ((node.socket as { encrypted?: unknown } | undefined)?.encrypted === true ? 'https' : 'http');
    if (host !== undefined) origin = `${proto}://${host}`;
  }
  if (!target.startsWith('/')) throw new TypeError('the request target is not a path');
  if (options.publicUrl !== undefined) return `${options.publicUrl.href.replace(/\/+$/, '')}${target}`;
  if (origin === undefined) throw new TypeError('the request has no Host');
  return `${origin}${target}`;
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
