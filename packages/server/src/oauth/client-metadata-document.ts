// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; the MCP authorization
// spec's preferred way for a client to introduce itself): a client_id that is an https URL names a JSON
// document of client metadata (RFC 7591 §2 names) published at that URL. The document is fetched
// through the one SSRF-safe fetcher (net/safe-fetch.ts: https only, public addresses after resolution,
// size and time bounds, no redirects, domain lists, rate limits, a cache bounded by the HTTP cache
// headers), validated here, and used as a transient public client: nothing is stored.
//
// CM-01: the fetch is the fetcher's; CM-02: the document's client_id equals its URL, its redirect URIs
// obey the registration rules of the CLI (RU-06), and the consent page names the host it came from.
//
// One function finds clients for every endpoint (clientResolver): storage first, then, for a URL
// client_id when documents are enabled, the document.
import type { Client, ClientRepository, ResourceRepository } from '../storage/index.js';
import type { SafeFetcher } from '../net/safe-fetch.js';
import { SafeFetchError } from '../net/safe-fetch.js';
import { noClientAuthentication } from './client-auth/none.js';
import { OAuthError } from './errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { GrantType } from './grants/index.js';
import { assertRegistrableRedirectUri } from './redirect-uri.js';
import { isValidScopeToken, OIDC_SCOPES, parseScopeList } from './scopes.js';

/** client_id columns are varchar(255): a longer URL cannot name a client. */
export const MAX_CLIENT_ID_URL_LENGTH = 255;
const MAX_REDIRECT_URIS = 20;
const MAX_CLIENT_NAME_LENGTH = 200;
/** The metadata key that marks a client as coming from a document, with the host it came from. */
const DOCUMENT_HOST = 'client_id_metadata_document_host';
const PUBLIC_AUTH_METHOD = noClientAuthentication.method;

/** A document that could not be fetched or is not acceptable. `message` is safe to show to the user. */
export class ClientMetadataDocumentError extends Error {
  override readonly name = 'ClientMetadataDocumentError';
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

export interface ClientIdMetadataDocumentOptions {
  /** Whether URL client_ids are resolved at all (config clientIdMetadataDocuments). */
  enabled: boolean;
  /** The server's one fetcher. */
  fetcher: SafeFetcher;
  /** Mirrors the fetcher's development opt-out: http client_ids on loopback hosts are accepted too. */
  allowInsecureLoopbackForDevelopment: boolean;
  /** Registered resources: their scopes are what a document without `scope` may ask for. */
  resources: Pick<ResourceRepository, 'list'>;
  clock: () => number;
}

const LOOPBACK_HOSTNAMES = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Is this client_id a metadata document URL? The draft (§3) requires the https scheme, a path, no
 * fragment, no user information and no dot segments. Plain http is accepted only on loopback hosts
 * with the development opt-out.
 */
export function isClientIdMetadataDocumentUrl(clientId: string, allowInsecureLoopback = false): boolean {
  if (clientId.length > MAX_CLIENT_ID_URL_LENGTH) return false;
  const http = clientId.startsWith('http://');
  if (!clientId.startsWith('https://') && !(http && allowInsecureLoopback)) return false;
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return false;
  }
  if (http && !LOOPBACK_HOSTNAMES.has(url.hostname)) return false;
  if (url.hash !== '' || clientId.includes('#') || url.username !== '' || url.password !== '') return false;
  if (url.pathname === '/' || url.pathname === '') return false;
  // The string must be the URL as parsed (no dot segments, default port, case changes): the
  // document must name exactly this string as its client_id.
  return url.href === clientId && !/\/\.\.?(\/|$)/.test(url.pathname);
}

/** The host a document-based client came from, or undefined for a registered client. */
export function metadataDocumentHostOf(client: Pick<Client, 'metadata'>): string | undefined {
  const host = client.metadata[DOCUMENT_HOST];
  return typeof host === 'string' ? host : undefined;
}

const FETCH_FAILURES: Record<SafeFetchError['code'], string> = {
  invalid_url: 'its URL is not an https URL the server may fetch',
  domain_denied: 'the server does not accept client metadata documents from this host',
  dns_error: 'its host does not resolve',
  blocked_address: 'its host resolves to an address the server does not contact',
  rate_limited: 'too many documents are being fetched right now; try again shortly',
  connection_failed: 'the connection to its host failed',
  timeout: 'its host did not answer in time',
  redirect_refused: 'its host answered with a redirect, which is not followed',
  bad_status: 'its host did not answer with the document',
  not_json: 'the answer is not a JSON document',
  too_large: 'the document is too large',
};

function strings(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new ClientMetadataDocumentError(`its ${name} must be an array of strings`);
  }
  return value;
}

const ALLOWED_GRANTS: readonly GrantType[] = [authorizationCodeGrant.grantType, refreshTokenGrant.grantType];

/** Validates a fetched document into a transient public client. Pure; exported for tests. */
export function clientFromMetadataDocument(url: string, json: unknown, registeredResourceScopes: readonly string[], now: number): Client {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ClientMetadataDocumentError('the document is not a JSON object');
  const doc = json as Record<string, unknown>;
  // CM-02: the document must claim exactly the URL it was fetched from.
  if (doc.client_id !== url) throw new ClientMetadataDocumentError('the client_id in the document is not the URL it was fetched from');

  // The draft forbids shared secrets: the client is public (none) or proves a key (private_key_jwt).
  if (doc.client_secret !== undefined || doc.client_secret_expires_at !== undefined) {
    throw new ClientMetadataDocumentError('the document must not contain a client secret');
  }
  const authMethod = doc.token_endpoint_auth_method ?? PUBLIC_AUTH_METHOD;
  if (authMethod === 'private_key_jwt') {
    throw new ClientMetadataDocumentError(
      'token_endpoint_auth_method private_key_jwt is not supported for metadata documents yet; use none',
    );
  }
  if (authMethod !== PUBLIC_AUTH_METHOD) throw new ClientMetadataDocumentError(`token_endpoint_auth_method must be ${PUBLIC_AUTH_METHOD}`);

  const redirectUris = [...new Set(strings(doc.redirect_uris, 'redirect_uris'))];
  if (redirectUris.length === 0) throw new ClientMetadataDocumentError('the document lists no redirect_uris');
  if (redirectUris.length > MAX_REDIRECT_URIS)
    throw new ClientMetadataDocumentError(`the document lists more than ${MAX_REDIRECT_URIS} redirect_uris`);
  for (const uri of redirectUris) {
    try {
      assertRegistrableRedirectUri(uri); // RU-06, the same rules as `gatehouse clients create`
    } catch (e) {
      if (e instanceof OAuthError)
        throw new ClientMetadataDocumentError(`a redirect URI in the document is not acceptable: ${e.description}`);
      throw e;
    }
  }

  const grantTypes = doc.grant_types === undefined ? [...ALLOWED_GRANTS] : [...new Set(strings(doc.grant_types, 'grant_types'))];
  for (const g of grantTypes) {
    if (!(ALLOWED_GRANTS as readonly string[]).includes(g))
      throw new ClientMetadataDocumentError(`grant type ${g} is not available to metadata document clients`);
  }
  if (!grantTypes.includes(authorizationCodeGrant.grantType))
    throw new ClientMetadataDocumentError('the document must allow the authorization_code grant');
  if (doc.response_types !== undefined) {
    const types = strings(doc.response_types, 'response_types');
    if (types.length !== 1 || types[0] !== 'code') throw new ClientMetadataDocumentError('response_types must be ["code"]');
  }

  // Without `scope`: the OpenID scopes and the scopes of the registered resources (consent is always asked).
  let scopes: string[];
  if (doc.scope === undefined) scopes = [...new Set([...OIDC_SCOPES, ...registeredResourceScopes])];
  else {
    if (typeof doc.scope !== 'string') throw new ClientMetadataDocumentError('scope must be a string');
    scopes = parseScopeList(doc.scope);
    for (const s of scopes) if (!isValidScopeToken(s)) throw new ClientMetadataDocumentError('scope contains an invalid scope token');
  }

  const host = new URL(url).host;
  const name = typeof doc.client_name === 'string' ? doc.client_name.trim().slice(0, MAX_CLIENT_NAME_LENGTH) : '';
  const optionalUrl = (key: string): Record<string, string> => {
    const v = doc[key];
    return typeof v === 'string' && v.length <= 2000 && /^https:\/\//.test(v) ? { [key]: v } : {};
  };
  return {
    clientId: url,
    clientName: name.length > 0 ? name : host,
    secretHash: null,
    redirectUris,
    grantTypes: grantTypes as GrantType[],
    scopes,
    authMethod: PUBLIC_AUTH_METHOD,
    isPublic: true,
    metadata: { [DOCUMENT_HOST]: host, ...optionalUrl('client_uri'), ...optionalUrl('logo_uri') },
    createdAt: now,
  };
}

/** Fetches and validates the document a URL client_id names. Throws ClientMetadataDocumentError. */
export async function resolveClientMetadataDocument(url: string, options: ClientIdMetadataDocumentOptions): Promise<Client> {
  let json: unknown;
  try {
    ({ json } = await options.fetcher.fetchJson(url));
  } catch (e) {
    if (e instanceof SafeFetchError)
      throw new ClientMetadataDocumentError(
        `The application's metadata document could not be used: ${FETCH_FAILURES[e.code]}.`,
        `${e.code}: ${e.message}`,
      );
    throw e;
  }
  const resourceScopes = (await options.resources.list()).flatMap((r) => r.scopes);
  try {
    return clientFromMetadataDocument(url, json, resourceScopes, options.clock());
  } catch (e) {
    if (e instanceof ClientMetadataDocumentError)
      throw new ClientMetadataDocumentError(`The application's metadata document is not acceptable: ${e.message}.`, e.message);
    throw e;
  }
}

/** Finds a client: registered ones first, then (enabled, URL client_id) its metadata document. */
export interface ClientResolver {
  /** undefined for an unknown client; throws ClientMetadataDocumentError for an unusable document. */
  find(clientId: string): Promise<Client | undefined>;
}

export function clientResolver(clients: Pick<ClientRepository, 'find'>, options: ClientIdMetadataDocumentOptions): ClientResolver {
  return {
    async find(clientId) {
      const stored = await clients.find(clientId);
      // A client an operator disabled is unknown to every endpoint until it is enabled again.
      if (stored?.disabled) return undefined;
      if (stored || !options.enabled || !isClientIdMetadataDocumentUrl(clientId, options.allowInsecureLoopbackForDevelopment))
        return stored;
      return resolveClientMetadataDocument(clientId, options);
    },
  };
}
