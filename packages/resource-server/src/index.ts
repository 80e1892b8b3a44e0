// @gatehouse/resource-server — RFC 9068 JWT access tokens (or RFC 7662 introspection) checked for any API,
// with RFC 6750 bearer-token errors, RFC 9449 DPoP-bound tokens, Fastify / Express / web-standard adapters
// and RFC 9728 metadata.

export { createVerifier, errorResponse, requestUrl, verifyAccessToken } from './verifier.js';
export type { AccessTokenVerifier, VerifyRequirements } from './verifier.js';

export { boundJkt } from './claims.js';
export type { AccessTokenClaims } from './claims.js';

export {
  AccessTokenError,
  InsufficientScopeError,
  InvalidDpopProofError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  TemporarilyUnavailableError,
} from './errors.js';
export type {
  AccessTokenErrorBody,
  AccessTokenErrorCode,
  AccessTokenErrorOptions,
  AccessTokenErrorReply,
  ChallengeParameters,
  ChallengeScheme,
} from './errors.js';

export {
  accessTokenHash,
  checkDpopAlgorithms,
  DEFAULT_DPOP_ALGORITHMS,
  DPOP_DEFAULT_LEEWAY_SECONDS,
  DPOP_PROOF_MAX_AGE_SECONDS,
  DPOP_SUPPORTED_ALGORITHMS,
  DpopProofError,
  MAX_DPOP_PROOF_LENGTH,
  MemoryDpopReplayCache,
  normalizeHtu,
  verifyDpopProof,
} from './dpop.js';
export type { DpopErrorCode, DpopProofCheck, DpopReplayCache, VerifiedDpopProof } from './dpop.js';

export { extractAccessToken, extractCredentials } from './extract-token.js';
export type { AccessTokenInput, Credentials, NodeRequestLike } from './extract-token.js';

export { requireScopes, scopesOf } from './scopes.js';

export {
  DEFAULT_ALGORITHMS,
  DEFAULT_HTTP_TIMEOUT_SECONDS,
  DEFAULT_INTROSPECTION_CACHE_MAX_ENTRIES,
  DEFAULT_INTROSPECTION_CACHE_TTL_SECONDS,
  DEFAULT_JWKS_CACHE_MAX_AGE_SECONDS,
  DEFAULT_JWKS_REFETCH_INTERVAL_SECONDS,
  DEFAULT_LEEWAY_SECONDS,
  MAX_LEEWAY_SECONDS,
  MAX_TOKEN_LENGTH,
} from './options.js';
export type { AccessTokenAlgorithm, DpopOptions, IntrospectionOptions, VerifierOptions } from './options.js';

export { discoveryUrls } from './discovery.js';

export { fastifyAccessToken } from './fastify.js';
export type { FastifyAccessTokenOptions } from './fastify.js';

export { expressAccessToken, requireScopesExpress } from './express.js';
export type { ExpressMiddleware, ExpressNext, ExpressRequestLike, ExpressResponseLike } from './express.js';

export { protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource-metadata.js';
export type { ProtectedResourceMetadata, ProtectedResourceMetadataOptions } from './protected-resource-metadata.js';
