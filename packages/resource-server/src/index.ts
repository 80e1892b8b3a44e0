// @gatehouse/resource-server — RFC 9068 JWT access tokens (or RFC 7662 introspection) checked for any API,
// with RFC 6750 bearer-token errors, Fastify / Express / web-standard adapters and RFC 9728 metadata.

export { createVerifier, errorResponse, verifyAccessToken } from './verifier.js';
export type { AccessTokenVerifier, VerifyRequirements } from './verifier.js';

export type { AccessTokenClaims } from './claims.js';

export {
  AccessTokenError,
  InsufficientScopeError,
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
} from './errors.js';

export { extractAccessToken } from './extract-token.js';
export type { AccessTokenInput, NodeRequestLike } from './extract-token.js';

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
export type { AccessTokenAlgorithm, IntrospectionOptions, VerifierOptions } from './options.js';

export { discoveryUrls } from './discovery.js';

export { fastifyAccessToken } from './fastify.js';
export type { FastifyAccessTokenOptions } from './fastify.js';

export { expressAccessToken, requireScopesExpress } from './express.js';
export type { ExpressMiddleware, ExpressNext, ExpressRequestLike, ExpressResponseLike } from './express.js';

export { protectedResourceMetadata, protectedResourceMetadataUrl } from './protected-resource-metadata.js';
export type { ProtectedResourceMetadata, ProtectedResourceMetadataOptions } from './protected-resource-metadata.js';
