// RFC 6749 §2 (client types and registration), RFC 7591 §2 (client metadata names).
import type { Client, ClientRepository } from '../storage/index.js';
import {
  CONFIDENTIAL_AUTH_METHODS,
  DEFAULT_CONFIDENTIAL_AUTH_METHOD,
  isClientAuthMethod,
  KEY_AUTH_METHODS,
  PUBLIC_AUTH_METHOD,
  type ClientAuthMethod,
} from './client-auth/index.js';
import { validateClientJwks, validateJwksUri } from './client-keys.js';
import { randomToken, sha256 } from './crypto.js';
import { invalidClientMetadata, invalidRedirectUri } from './errors.js';
import { ALL_GRANTS, DEFAULT_GRANT_TYPES, findGrant, isGrantType, responseTypesOf, type GrantType } from './grants/index.js';
import { TOKEN_EXCHANGE_IMPERSONATION, TOKEN_EXCHANGE_RESOURCES, tokenExchangeGrant } from './grants/token-exchange.js';
import { SUPPORTED_SIGNING_ALGS } from './keys/key-store.js';
import { assertRegistrableRedirectUri, isLoopbackHost } from './redirect-uri.js';
import { parseResourceUri } from './resources.js';
import { isValidScopeToken, parseScopeList } from './scopes.js';

export type { Client } from '../storage/index.js';

/** The registration view of a client (RFC 7591 §3.2.1 names); never includes the secret digest. */
export function clientMetadata(client: Client): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    redirect_uris: client.redirectUris,
    grant_types: client.grantTypes,
    response_types: responseTypesOf(client.grantTypes),
    scope: client.scopes.join(' '),
    token_endpoint_auth_method: client.authMethod,
    client_id_issued_at: client.createdAt,
    ...client.metadata,
  };
}

export interface NewClientInput {
  clientName: string;
  redirectUris: readonly string[];
  grantTypes?: readonly string[] | undefined;
  scope?: string | undefined;
  isPublic?: boolean | undefined;
  authMethod?: string | undefined;
  /** OIDC Registration §2: the ID token signing algorithm (RS256 when absent). */
  idTokenSignedResponseAlg?: string | undefined;
  /** OIDC RP-Initiated Logout 1.0 §3.1: where the browser may be sent after logout (exact match). */
  postLogoutRedirectUris?: readonly string[] | undefined;
  /** OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed (https, or http on a loopback IP). */
  backchannelLogoutUri?: string | undefined;
  /** RFC 6749 §3.3: what a request without `scope` gets; a subset of the scope. */
  defaultScope?: string | undefined;
  /** RFC 8707: the audience of tokens requested without `resource` (else the server's default). */
  defaultResources?: readonly string[] | undefined;
  /** RFC 7591 §2: the client's public keys as a JWK Set (private_key_jwt). */
  jwks?: unknown;
  /** RFC 7591 §2: where the client publishes its JWK Set (private_key_jwt), fetched through the SSRF-safe fetcher. */
  jwksUri?: string | undefined;
  /** RFC 9126 §6: this client must use pushed authorization requests. */
  requirePushedAuthorizationRequests?: boolean | undefined;
  /** RFC 9449 §5.2: this client always sends DPoP proofs; token requests without one are refused. */
  dpopBoundAccessTokens?: boolean | undefined;
  /**
   * Refuse grants that act without a user (GrantRegistration.withoutUser, e.g. client_credentials):
   * set for clients registered through open dynamic registration, with no initial access token.
   */
  userGrantsOnly?: boolean | undefined;
  /** RFC 8693: the resources this client may exchange tokens for (operator policy; never from dynamic registration). */
  tokenExchangeResources?: readonly string[] | undefined;
  /** RFC 8693: the client may impersonate (tokens without an `act` naming it): an explicit opt-out. */
  tokenExchangeImpersonation?: boolean | undefined;
}

export interface RegisteredClient {
  client: Client;
  /** Shown once; only its digest is stored. */
  clientSecret: string | undefined;
}

const DEFAULT_SCOPE = 'openid profile email';
/** More redirect URIs than this is a mistake or an attack on the consent page's form-action list. */
export const MAX_REDIRECT_URIS = 50;

/** RFC 7591 §2: the grant types of a new client, each checked against what its grant module needs. */
function validateGrantTypes(
  requested: readonly string[] | undefined,
  isPublic: boolean,
  redirectUris: readonly string[],
  userGrantsOnly: boolean,
): GrantType[] {
  const grantTypes: GrantType[] = [];
  for (const g of new Set(requested ?? DEFAULT_GRANT_TYPES)) {
    if (!isGrantType(g)) throw invalidClientMetadata(`unsupported grant type: ${g}`);
    grantTypes.push(g);
  }
  if (grantTypes.length === 0) throw invalidClientMetadata('at least one grant type is required');
  const grants = grantTypes.map((g) => findGrant(g)!);
  for (const grant of grants) {
    const rules = grant.registration;
    if (rules.needsRefreshTokenIssuer && !grants.some((other) => other.registration.issuesRefreshTokens)) {
      const issuers = ALL_GRANTS.filter((other) => other.registration.issuesRefreshTokens).map((other) => other.grantType);
      throw invalidClientMetadata(`${grant.grantType} needs the ${issuers.join(' or ')} grant`);
    }
    if (rules.confidentialOnly && isPublic) throw invalidClientMetadata(`public clients cannot use ${grant.grantType}`);
    if (rules.withoutUser && userGrantsOnly) {
      throw invalidClientMetadata(`${grant.grantType} needs a registration authorised by the operator (an initial access token)`);
    }
    if (rules.needsRedirectUri && redirectUris.length === 0) {
      throw invalidRedirectUri(`at least one redirect URI is required for the ${grant.grantType} grant`);
    }
  }
  return grantTypes;
}

/** The token endpoint authentication method: none for public clients, a secret method otherwise. */
function validateAuthMethod(requested: string | undefined, isPublic: boolean): ClientAuthMethod {
  const authMethod = requested ?? (isPublic ? PUBLIC_AUTH_METHOD : DEFAULT_CONFIDENTIAL_AUTH_METHOD);
  if (!isClientAuthMethod(authMethod)) throw invalidClientMetadata(`unsupported token_endpoint_auth_method: ${authMethod}`);
  if (isPublic !== !CONFIDENTIAL_AUTH_METHODS.includes(authMethod)) {
    throw invalidClientMetadata(
      `public clients use token_endpoint_auth_method ${PUBLIC_AUTH_METHOD}; confidential clients need a secret or key method`,
    );
  }
  return authMethod;
}

/**
 * RFC 7591 §2: jwks or jwks_uri, exactly one, for the key methods (private_key_jwt) and for no other.
 * Returns the metadata to store.
 */
export function keyMetadata(input: Pick<NewClientInput, 'jwks' | 'jwksUri'>, authMethod: ClientAuthMethod): Record<string, unknown> {
  const hasJwks = input.jwks !== undefined;
  const hasUri = input.jwksUri !== undefined;
  if (!KEY_AUTH_METHODS.includes(authMethod)) {
    if (hasJwks || hasUri)
      throw invalidClientMetadata(`jwks and jwks_uri are used only with token_endpoint_auth_method ${KEY_AUTH_METHODS.join(' or ')}`);
    return {};
  }
  if (hasJwks === hasUri)
    throw invalidClientMetadata(`token_endpoint_auth_method ${authMethod} needs either jwks or jwks_uri (exactly one)`);
  return hasJwks ? { jwks: validateClientJwks(input.jwks) } : { jwks_uri: validateJwksUri(input.jwksUri!) };
}

/** Validates client metadata; throws OAuthError (invalid_redirect_uri / invalid_client_metadata). */
export function validateNewClient(input: NewClientInput): Omit<Client, 'clientId' | 'secretHash' | 'createdAt' | 'metadata'> {
  const clientName = input.clientName.trim();
  if (clientName.length === 0 || clientName.length > 200) throw invalidClientMetadata('client_name must have 1 to 200 characters');
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(clientName)) {
    throw invalidClientMetadata('client_name must not contain control or bidirectional formatting characters');
  }
  const isPublic = input.isPublic ?? input.authMethod === PUBLIC_AUTH_METHOD;
  const authMethod = validateAuthMethod(input.authMethod, isPublic);
  keyMetadata(input, authMethod);
  const redirectUris = [...new Set(input.redirectUris)];
  if (redirectUris.length > MAX_REDIRECT_URIS) throw invalidRedirectUri(`at most ${MAX_REDIRECT_URIS} redirect URIs may be registered`);
  const grantTypes = validateGrantTypes(input.grantTypes, isPublic, redirectUris, input.userGrantsOnly === true);
  for (const uri of redirectUris) assertRegistrableRedirectUri(uri);
  const scopes = parseScopeList(input.scope ?? DEFAULT_SCOPE);
  for (const s of scopes) if (!isValidScopeToken(s)) throw invalidClientMetadata(`invalid scope token: ${JSON.stringify(s)}`);
  return { clientName, redirectUris, grantTypes, scopes, authMethod, isPublic };
}

/** Everything a client registration or update validates: the columns and the further metadata. */
function validatedClient(input: NewClientInput): Omit<Client, 'clientId' | 'secretHash' | 'createdAt'> {
  const valid = validateNewClient(input);
  if (
    input.idTokenSignedResponseAlg !== undefined &&
    !(SUPPORTED_SIGNING_ALGS as readonly string[]).includes(input.idTokenSignedResponseAlg)
  ) {
    throw invalidClientMetadata(`id_token_signed_response_alg must be one of ${SUPPORTED_SIGNING_ALGS.join(', ')}`);
  }
  const metadata = {
    ...(input.idTokenSignedResponseAlg ? { id_token_signed_response_alg: input.idTokenSignedResponseAlg } : {}),
    ...logoutMetadata(input),
    ...defaultsMetadata(input, valid.scopes),
    ...keyMetadata(input, valid.authMethod),
    ...(input.requirePushedAuthorizationRequests === true ? { require_pushed_authorization_requests: true } : {}),
    ...(input.dpopBoundAccessTokens === true ? { [DPOP_BOUND_ACCESS_TOKENS]: true } : {}),
    ...tokenExchangeMetadata(input, valid.grantTypes),
  };
  return { ...valid, metadata };
}

export interface RegisterOptions {
  /** RFC 7592: the digest of the registration access token of a dynamically registered client. */
  registrationAccessTokenHash?: string | undefined;
}

export async function registerClient(
  repo: Pick<ClientRepository, 'create'>,
  input: NewClientInput,
  now: number,
  options: RegisterOptions = {},
): Promise<RegisteredClient> {
  const valid = validatedClient(input);
  // A client id never starts with `-`, so that it cannot be read as an option on a command line.
  let clientId = randomToken(16);
  while (clientId.startsWith('-')) clientId = randomToken(16);
  // Clients that authenticate with keys (private_key_jwt) get no secret.
  const clientSecret = valid.isPublic || KEY_AUTH_METHODS.includes(valid.authMethod) ? undefined : randomToken(32);
  const client: Client = {
    ...valid,
    clientId,
    secretHash: clientSecret === undefined ? null : sha256(clientSecret),
    createdAt: now,
    ...(options.registrationAccessTokenHash !== undefined ? { registrationAccessTokenHash: options.registrationAccessTokenHash } : {}),
  };
  await repo.create(client);
  return { client, clientSecret };
}

/**
 * RFC 7592 §2.2: replaces the metadata of a registered client, validated exactly as a new one. The
 * client id, secret and creation time stay; a client cannot change between public and confidential
 * (the secret would have to appear or vanish). Returns the updated client, or undefined when it is gone.
 */
export async function updateClient(
  repo: Pick<ClientRepository, 'update'>,
  existing: Client,
  input: NewClientInput,
  options: RegisterOptions = {},
): Promise<Client | undefined> {
  const valid = validatedClient(input);
  if (valid.isPublic !== existing.isPublic) {
    throw invalidClientMetadata('a client cannot change between public (token_endpoint_auth_method none) and confidential');
  }
  const client: Client = {
    ...valid,
    clientId: existing.clientId,
    secretHash: existing.secretHash,
    createdAt: existing.createdAt,
    registrationAccessTokenHash: options.registrationAccessTokenHash ?? existing.registrationAccessTokenHash ?? null,
  };
  return (await repo.update(client)) ? client : undefined;
}

/**
 * OIDC RP-Initiated Logout 1.0 §3.1 and Back-Channel Logout 1.0 §2.2: validated logout metadata.
 * post_logout_redirect_uris follow the redirect URI rules (RU-06); backchannel_logout_uri is an
 * absolute https URI (http only on a loopback IP literal) without fragment or user information.
 */
export function logoutMetadata(input: Pick<NewClientInput, 'postLogoutRedirectUris' | 'backchannelLogoutUri'>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.postLogoutRedirectUris !== undefined && input.postLogoutRedirectUris.length > 0) {
    const uris = [...new Set(input.postLogoutRedirectUris)];
    for (const uri of uris) assertRegistrableRedirectUri(uri);
    out.post_logout_redirect_uris = uris;
  }
  if (input.backchannelLogoutUri !== undefined) {
    const uri = input.backchannelLogoutUri;
    let url: URL | undefined;
    try {
      url = new URL(uri);
    } catch {
      url = undefined;
    }
    if (!url || uri.length > 2000 || /[\s<>"{}|\\^`\u0000-\u001f\u007f]/.test(uri)) {
      throw invalidClientMetadata('backchannel_logout_uri must be an absolute URI');
    }
    if (uri.includes('#')) throw invalidClientMetadata('backchannel_logout_uri must not contain a fragment');
    if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(uri)) {
      throw invalidClientMetadata('backchannel_logout_uri must not contain user information');
    }
    const https = url.protocol === 'https:' && url.hostname !== '';
    const loopbackHttp = url.protocol === 'http:' && isLoopbackHost(url.hostname);
    if (!https && !loopbackHttp) {
      throw invalidClientMetadata('backchannel_logout_uri must use https (plain http only on 127.0.0.1 or [::1])');
    }
    out.backchannel_logout_uri = uri;
  }
  return out;
}

/** --default-scope (within the registered scope) and --default-resource (absolute URIs, RFC 8707 §2). */
export function defaultsMetadata(
  input: Pick<NewClientInput, 'defaultScope' | 'defaultResources'>,
  scopes: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.defaultScope !== undefined) {
    const defaults = parseScopeList(input.defaultScope);
    for (const s of defaults) if (!scopes.includes(s)) throw invalidClientMetadata(`the default scope ${s} is not in the client's scope`);
    if (defaults.length > 0) out.default_scope = defaults.join(' ');
  }
  if (input.defaultResources !== undefined && input.defaultResources.length > 0) {
    const uris = [...new Set(input.defaultResources)];
    for (const uri of uris)
      if (parseResourceUri(uri) === undefined) throw invalidClientMetadata('a default resource must be an absolute URI without a fragment');
    out.default_resources = uris;
  }
  return out;
}

/** RFC 8693: the token-exchange policy, only for clients that registered the grant (grants/token-exchange.ts). */
export function tokenExchangeMetadata(
  input: Pick<NewClientInput, 'tokenExchangeResources' | 'tokenExchangeImpersonation'>,
  grantTypes: readonly string[],
): Record<string, unknown> {
  const uris = [...new Set(input.tokenExchangeResources ?? [])];
  const impersonation = input.tokenExchangeImpersonation === true;
  if (uris.length === 0 && !impersonation) return {};
  if (!grantTypes.includes(tokenExchangeGrant.grantType))
    throw invalidClientMetadata(`a token-exchange policy needs the ${tokenExchangeGrant.grantType} grant`);
  for (const uri of uris)
    if (parseResourceUri(uri) === undefined)
      throw invalidClientMetadata('a token-exchange resource must be an absolute URI without a fragment');
  return {
    ...(uris.length > 0 ? { [TOKEN_EXCHANGE_RESOURCES]: uris } : {}),
    ...(impersonation ? { [TOKEN_EXCHANGE_IMPERSONATION]: true } : {}),
  };
}

/** RFC 9449 §5.2 client metadata: the client always uses DPoP at the token endpoint (default false). */
export const DPOP_BOUND_ACCESS_TOKENS = 'dpop_bound_access_tokens';

/** Whether the client registered dpop_bound_access_tokens: its token (and PAR) requests need a DPoP proof. */
export function requiresDpop(client: Pick<Client, 'metadata'>): boolean {
  return client.metadata[DPOP_BOUND_ACCESS_TOKENS] === true;
}

/** The client's registered post_logout_redirect_uris. */
export function postLogoutRedirectUrisOf(client: Pick<Client, 'metadata'>): string[] {
  const uris = client.metadata.post_logout_redirect_uris;
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string') : [];
}

/** The client's registered backchannel_logout_uri, if any. */
export function backchannelLogoutUriOf(client: Pick<Client, 'metadata'>): string | undefined {
  const uri = client.metadata.backchannel_logout_uri;
  return typeof uri === 'string' ? uri : undefined;
}

/** RFC 6749 §3.3: the scope a request without `scope` gets (registered with --default-scope; none by default). */
export function defaultScopesOf(client: Pick<Client, 'metadata'>): string[] {
  const value = client.metadata.default_scope;
  return typeof value === 'string' ? value.split(' ').filter((s) => s.length > 0) : [];
}

/** The resource whose introspection credentials this client row holds (oauth/resources.ts), if any. */
export function resourceServerOf(client: Pick<Client, 'metadata'>): string | undefined {
  const uri = client.metadata.resource_server;
  return typeof uri === 'string' ? uri : undefined;
}
