// RFC 8414 (authorization server metadata) and OpenID Connect Discovery 1.0 §3. Every list here is
// derived from the registry it describes: grants/index.ts, client-auth/index.ts, the signing keys.
import { SUPPORTED_CLAIMS } from './claims.js';
import { ASSERTION_SIGNING_ALGS, AUTH_METHOD_NAMES, CONFIDENTIAL_AUTH_METHODS, KEY_AUTH_METHODS } from './client-auth/index.js';
import { GRANT_TYPES, responseTypesOf } from './grants/index.js';
import { SUPPORTED_SIGNING_ALGS } from './keys/key-store.js';
import { OIDC_SCOPES } from './scopes.js';
import { PROMPT_VALUES } from './authorization-request.js';
import { DEVICE_AUTHORIZATION_PATH } from './device/authorization.js';
import { DPOP_SIGNING_ALGS } from './dpop.js';
import { ACR_VALUES } from './two-factor/acr.js';

export interface DiscoveryOptions {
  /** RFC 9126 §5: whether every client must use pushed authorization requests. */
  requirePushedAuthorizationRequests?: boolean;
  /** draft-ietf-oauth-client-id-metadata-document: URL client_ids are accepted. */
  clientIdMetadataDocuments?: boolean;
}

export function authorizationServerMetadata(issuer: string, options: DiscoveryOptions = {}): Record<string, unknown> {
  // RFC 8414 §2: the signing algorithms of client assertions, for each endpoint that accepts them.
  const assertionAlgs = KEY_AUTH_METHODS.length > 0 ? [...ASSERTION_SIGNING_ALGS] : undefined;
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    end_session_endpoint: `${issuer}/end-session`,
    registration_endpoint: `${issuer}/register`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    response_types_supported: responseTypesOf(GRANT_TYPES),
    response_modes_supported: ['query'],
    grant_types_supported: [...GRANT_TYPES],
    token_endpoint_auth_methods_supported: [...AUTH_METHOD_NAMES],
    token_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    introspection_endpoint: `${issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: [...CONFIDENTIAL_AUTH_METHODS],
    introspection_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    revocation_endpoint: `${issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: [...AUTH_METHOD_NAMES],
    device_authorization_endpoint: `${issuer}${DEVICE_AUTHORIZATION_PATH}`,
    revocation_endpoint_auth_signing_alg_values_supported: assertionAlgs,
    pushed_authorization_request_endpoint: `${issuer}/par`,
    require_pushed_authorization_requests: options.requirePushedAuthorizationRequests === true,
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...OIDC_SCOPES],
    prompt_values_supported: [...PROMPT_VALUES],
    authorization_response_iss_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    access_token_signing_alg_values_supported: ['ES256'],
    id_token_signing_alg_values_supported: [...SUPPORTED_SIGNING_ALGS],
    dpop_signing_alg_values_supported: [...DPOP_SIGNING_ALGS],
    ...(options.clientIdMetadataDocuments ? { client_id_metadata_document_supported: true } : {}),
  };
}

/** OIDC Discovery 1.0 §3: the RFC 8414 document plus the OpenID Provider fields. */
export function openIdConfiguration(issuer: string, options: DiscoveryOptions = {}): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(issuer, options),
    subject_types_supported: ['public'],
    claims_supported: SUPPORTED_CLAIMS,
    claims_parameter_supported: false,
    // OIDC Discovery §3 and oauth/two-factor/acr.ts: the classes acr_values may ask for.
    acr_values_supported: [...ACR_VALUES],
    claim_types_supported: ['normal'],
    display_values_supported: ['page'],
    userinfo_signing_alg_values_supported: [],
  };
}
