// RFC 8414 (authorization server metadata) and RFC 7517 (JWKS). Both may be fetched cross-origin.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { SUPPORTED_SIGNING_ALGS } from '../oauth/keys/key-store.js';
import { SUPPORTED_CLAIMS } from '../oauth/claims.js';

export const JWKS_MAX_AGE = 300;

export function authorizationServerMetadata(issuer: string): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/userinfo`,
    end_session_endpoint: `${issuer}/end-session`,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint: `${issuer}/introspect`,
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint: `${issuer}/revoke`,
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    authorization_response_iss_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    access_token_signing_alg_values_supported: ['ES256'],
    id_token_signing_alg_values_supported: [...SUPPORTED_SIGNING_ALGS],
  };
}

/** OIDC Discovery 1.0 §3: the RFC 8414 document plus the OpenID Provider fields. */
export function openIdConfiguration(issuer: string): Record<string, unknown> {
  return {
    ...authorizationServerMetadata(issuer),
    subject_types_supported: ['public'],
    claims_supported: SUPPORTED_CLAIMS,
    claims_parameter_supported: false,
    claim_types_supported: ['normal'],
    display_values_supported: ['page'],
    userinfo_signing_alg_values_supported: [],
  };
}

export function wellKnownEndpoints(app: FastifyInstance, { config, keys }: AppDeps): void {
  const metadata = authorizationServerMetadata(config.issuer);
  const openid = openIdConfiguration(config.issuer);
  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600').header('Access-Control-Allow-Origin', '*').removeHeader('Pragma');
    return reply.send(openid);
  });
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600').header('Access-Control-Allow-Origin', '*').removeHeader('Pragma');
    return reply.send(metadata);
  });
  app.get('/jwks', async (_request, reply) => {
    reply
      .header('Cache-Control', `public, max-age=${JWKS_MAX_AGE}`)
      .header('Access-Control-Allow-Origin', '*')
      .header('Content-Type', 'application/jwk-set+json')
      .removeHeader('Pragma');
    return reply.send(keys.jwks());
  });
}
