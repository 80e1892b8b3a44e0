// RFC 7591 (dynamic client registration) and RFC 7592 (its management protocol), without Fastify.
// The metadata of a request is mapped onto NewClientInput and validated by oauth/clients.ts, exactly
// as `gatehouse clients create` is (RU-06). Secrets, registration access tokens and initial access
// tokens are stored only as SHA-256 digests (DR-01).
//
// Decisions where the RFCs leave room:
//   - Registration needs an initial access token (RFC 7591 §3) unless the operator set
//     openRegistration. A client registered without one (open registration) may not register a grant
//     that acts without a user (GrantRegistration.withoutUser: client_credentials) nor a
//     backchannel_logout_uri (the server would POST to a URL an anonymous party chose). An RFC 7592
//     update never adds either to a client that does not already have it, so what a client may do
//     beyond that is fixed by the registration the operator authorised.
//   - Unknown metadata, software statements and informational URIs (logo_uri, client_uri, …) are
//     ignored (RFC 7591 §2, §3.1): they are neither stored nor returned.
//   - JSON null is the same as an absent field; in an update, absent means "back to the default"
//     (RFC 7592 §2.2), except token_endpoint_auth_method, which then stays what it was.
//   - Every successful update rotates the registration access token (RFC 7592 §2.2 allows it); a
//     read returns the token that was presented, since only its digest is stored.
//   - A client cannot change between public and confidential in an update; its secret never changes.
import type { Client, RegistrationTokenRepository, Storage } from '../storage/index.js';
import { backchannelLogoutUriOf, clientMetadata, registerClient, updateClient, type NewClientInput } from './clients.js';
import { PUBLIC_AUTH_METHOD } from './client-auth/index.js';
import { constantTimeEqual, digestsEqual, randomToken, sha256 } from './crypto.js';
import { invalidClientMetadata, invalidRedirectUri, OAuthError, type OAuthErrorOptions } from './errors.js';
import { ALL_GRANTS, DEFAULT_GRANT_TYPES, GRANT_TYPES, responseTypesOf } from './grants/index.js';
import { DEFAULT_CONFIDENTIAL_AUTH_METHOD } from './client-auth/index.js';

/** RFC 7591 §3: the default lifetime and uses of an initial access token made by the CLI. */
export const DEFAULT_REGISTRATION_TOKEN_TTL = 86400;
export const MAX_REGISTRATION_TOKEN_TTL = 365 * 86400;
export const DEFAULT_REGISTRATION_TOKEN_USES = 1;
export const MAX_REGISTRATION_TOKEN_USES = 1_000_000;
const MAX_CLIENT_ID_LENGTH = 255;

export interface RegistrationDeps {
  storage: Pick<Storage, 'clients' | 'transaction'>;
  issuer: string;
  /** The operator's explicit opt-out of initial access tokens (config openRegistration). */
  openRegistration: boolean;
}

/** RFC 6750 §3.1 invalid_token (401); the endpoint adds the Bearer challenge. */
export function invalidToken(description: string, options?: OAuthErrorOptions): OAuthError {
  return new OAuthError('invalid_token', description, options);
}

/** 401 without an error code in the challenge: no credentials were presented (RFC 6750 §3.1). */
export class MissingBearerToken extends OAuthError {
  constructor(description: string) {
    super('invalid_token', description);
  }
}

// ---- metadata (RFC 7591 §2) -------------------------------------------------------------------

type Fail = (description: string) => OAuthError;

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || body instanceof Map) {
    throw invalidClientMetadata('the request body must be a JSON object of client metadata');
  }
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, name: string, fail: Fail = invalidClientMetadata): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw fail(`${name} must be a string`);
  return value;
}

function optionalStringList(body: Record<string, unknown>, name: string, fail: Fail = invalidClientMetadata): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) throw fail(`${name} must be an array of strings`);
  return value;
}

function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidClientMetadata(`${name} must be a boolean`);
  return value;
}

/** A name for a client that gave none: the host of its first web redirect URI. */
function defaultClientName(redirectUris: readonly string[]): string {
  for (const uri of redirectUris) {
    try {
      const host = new URL(uri).host;
      if (host !== '') return host;
    } catch {
      // validated later
    }
  }
  return 'Unnamed client';
}

/**
 * RFC 7591 §2 metadata to the input of registerClient/updateClient. Known fields must have their
 * JSON types (else invalid_client_metadata, or invalid_redirect_uri for the URI lists); unknown
 * fields are ignored. response_types must agree with grant_types (RFC 7591 §2.1).
 */
export function metadataToInput(
  body: unknown,
  userGrantsOnly: boolean,
  defaultAuthMethod: string = DEFAULT_CONFIDENTIAL_AUTH_METHOD,
): NewClientInput {
  const m = asObject(body);
  const redirectUris = optionalStringList(m, 'redirect_uris', invalidRedirectUri) ?? [];
  const grantTypes = optionalStringList(m, 'grant_types');
  const responseTypes = optionalStringList(m, 'response_types');
  const authMethod = optionalString(m, 'token_endpoint_auth_method') ?? defaultAuthMethod;
  if (responseTypes !== undefined) {
    const supported = responseTypesOf(GRANT_TYPES);
    const unknown = responseTypes.filter((r) => !supported.includes(r));
    if (unknown.length > 0) throw invalidClientMetadata(`unsupported response_types: ${unknown.join(' ')}`);
    const implied = responseTypesOf(grantTypes ?? DEFAULT_GRANT_TYPES);
    const given = [...new Set(responseTypes)];
    if (given.length !== implied.length || !implied.every((r) => given.includes(r))) {
      throw invalidClientMetadata(`response_types must match grant_types (expected: ${implied.join(' ') || 'none'})`);
    }
  }
  return {
    clientName: optionalString(m, 'client_name') ?? defaultClientName(redirectUris),
    redirectUris,
    grantTypes,
    scope: optionalString(m, 'scope'),
    isPublic: authMethod === PUBLIC_AUTH_METHOD,
    authMethod,
    idTokenSignedResponseAlg: optionalString(m, 'id_token_signed_response_alg'),
    postLogoutRedirectUris: optionalStringList(m, 'post_logout_redirect_uris', invalidRedirectUri),
    backchannelLogoutUri: optionalString(m, 'backchannel_logout_uri'),
    // Gatehouse's own metadata names (clientMetadata returns them, so an RFC 7592 update round-trips them).
    defaultScope: optionalString(m, 'default_scope'),
    defaultResources: optionalStringList(m, 'default_resources'),
    dpopBoundAccessTokens: optionalBoolean(m, 'dpop_bound_access_tokens'),
    userGrantsOnly,
  };
}

// ---- responses (RFC 7591 §3.2.1, RFC 7592 §3) ---------------------------------------------------

export function registrationClientUri(issuer: string, clientId: string): string {
  return `${issuer}/register/${encodeURIComponent(clientId)}`;
}

/** The client information response: the registered metadata plus the management credentials. */
export function clientInformation(
  client: Client,
  issuer: string,
  credentials: { registrationAccessToken: string; clientSecret?: string | undefined },
): Record<string, unknown> {
  return {
    ...clientMetadata(client),
    ...(credentials.clientSecret !== undefined ? { client_secret: credentials.clientSecret } : {}),
    ...(client.isPublic ? {} : { client_secret_expires_at: 0 }),
    registration_access_token: credentials.registrationAccessToken,
    registration_client_uri: registrationClientUri(issuer, client.clientId),
  };
}

// ---- registration (RFC 7591 §3) ---------------------------------------------------------------

/**
 * POST /register. `initialAccessToken` is the bearer token of the request, if any. Returns the
 * 201 body. The token's use is spent in the same transaction that creates the client, so a
 * registration refused for its metadata does not spend it.
 */
export async function registerDynamicClient(
  deps: RegistrationDeps,
  request: { initialAccessToken: string | undefined; body: unknown },
  now: number,
): Promise<Record<string, unknown>> {
  const token = request.initialAccessToken;
  if (token === undefined && !deps.openRegistration)
    throw new MissingBearerToken('an initial access token is required to register a client');
  const registrationAccessToken = randomToken(32);
  const { client, clientSecret } = await deps.storage.transaction(async (tx) => {
    if (token !== undefined && !(await tx.registrationTokens.consume(sha256(token), now))) {
      throw invalidToken('the initial access token is invalid, expired or used up');
    }
    const anonymous = token === undefined;
    const input = metadataToInput(request.body, anonymous);
    if (anonymous && input.backchannelLogoutUri !== undefined) {
      throw invalidClientMetadata('backchannel_logout_uri needs a registration authorised by the operator (an initial access token)');
    }
    return registerClient(tx.clients, input, now, { registrationAccessTokenHash: sha256(registrationAccessToken) });
  });
  return clientInformation(client, deps.issuer, { registrationAccessToken, clientSecret });
}

// ---- management (RFC 7592) --------------------------------------------------------------------

/**
 * RFC 7592 §2: the client a registration access token manages. An unknown client and a wrong token
 * get the same 401 (§2.1: "If the client does not exist on this server, … 401").
 */
export async function authorizeManagement(
  storage: Pick<Storage, 'clients'>,
  clientId: string,
  token: string | undefined,
): Promise<{ client: Client; registrationAccessToken: string }> {
  if (token === undefined) throw new MissingBearerToken('the registration access token is required');
  const client = clientId.length <= MAX_CLIENT_ID_LENGTH ? await storage.clients.find(clientId) : undefined;
  const expected = client?.registrationAccessTokenHash;
  if (!client || !expected || !digestsEqual(sha256(token), expected)) {
    throw invalidToken('the registration access token is invalid', { detail: client ? 'wrong token' : 'unknown client' });
  }
  return { client, registrationAccessToken: token };
}

/** RFC 7592 §2.2: PUT replaces the metadata; returns the response body (with a new access token). */
export async function updateDynamicClient(deps: RegistrationDeps, client: Client, body: unknown): Promise<Record<string, unknown>> {
  const m = asObject(body);
  if (m.client_id !== client.clientId) throw invalidClientMetadata('client_id must be present and equal to the registered client_id');
  if (m.client_secret !== undefined && m.client_secret !== null) {
    const secret = m.client_secret;
    if (typeof secret !== 'string' || client.secretHash === null || !constantTimeEqual(sha256(secret), client.secretHash)) {
      throw invalidClientMetadata('client_secret does not match the issued secret');
    }
  }
  const hasWithoutUserGrant = ALL_GRANTS.some((g) => g.registration.withoutUser === true && client.grantTypes.includes(g.grantType));
  // An omitted token_endpoint_auth_method keeps the client's own (the other defaults are RFC 7591's).
  const input = metadataToInput(m, !hasWithoutUserGrant, client.authMethod);
  if (input.backchannelLogoutUri !== undefined && backchannelLogoutUriOf(client) === undefined) {
    throw invalidClientMetadata('backchannel_logout_uri can be added only by a registration authorised by the operator');
  }
  const registrationAccessToken = randomToken(32);
  const updated = await updateClient(deps.storage.clients, client, input, { registrationAccessTokenHash: sha256(registrationAccessToken) });
  if (!updated) throw invalidToken('the registration access token is invalid', { detail: 'client deleted during update' });
  return clientInformation(updated, deps.issuer, { registrationAccessToken });
}

/** RFC 7592 §2.3: DELETE removes the client; its refresh tokens then fail client authentication. */
export async function deleteDynamicClient(deps: Pick<RegistrationDeps, 'storage'>, client: Client): Promise<void> {
  await deps.storage.clients.delete(client.clientId);
}

// ---- initial access tokens (the CLI) ---------------------------------------------------------

export interface CreatedRegistrationToken {
  /** Shown once; only its digest is stored. */
  token: string;
  expiresAt: number;
  uses: number;
}

export async function createRegistrationToken(
  repo: Pick<RegistrationTokenRepository, 'create'>,
  options: { expiresIn?: number | undefined; uses?: number | undefined },
  now: number,
): Promise<CreatedRegistrationToken> {
  const expiresIn = options.expiresIn ?? DEFAULT_REGISTRATION_TOKEN_TTL;
  const uses = options.uses ?? DEFAULT_REGISTRATION_TOKEN_USES;
  if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_REGISTRATION_TOKEN_TTL) {
    throw invalidClientMetadata(`expires-in must be 1 to ${MAX_REGISTRATION_TOKEN_TTL} seconds`);
  }
  if (!Number.isSafeInteger(uses) || uses < 1 || uses > MAX_REGISTRATION_TOKEN_USES) {
    throw invalidClientMetadata(`uses must be 1 to ${MAX_REGISTRATION_TOKEN_USES}`);
  }
  const token = randomToken(32);
  await repo.create({ tokenHash: sha256(token), usesLeft: uses, createdAt: now, expiresAt: now + expiresIn });
  return { token, expiresAt: now + expiresIn, uses };
}
