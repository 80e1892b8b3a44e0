// RFC 6749 §2.3 and §5.2, OAuth 2.1 §2.4: authenticate the client at the token, introspection and
// revocation endpoints. THE list of methods is CLIENT_AUTH_METHODS (discovery and registration derive
// from it); each method is one strategy file. Exactly one method per request, only the client's
// registered method, and the same answer for an unknown client and a wrong secret (CA-03).
import type { SafeFetcher } from '../../net/safe-fetch.js';
import type { SecurityEvents } from '../security-events.js';
import type { Client, ClientRepository } from '../../storage/index.js';
import type { ReplayCache, ReplayCaches } from '../replay-cache.js';
import { invalidClient, invalidRequest, type OAuthError } from '../errors.js';
import { clientSecretBasic, parseBasic } from './client-secret-basic.js';
import { clientSecretPost } from './client-secret-post.js';
import { noClientAuthentication } from './none.js';
import { ClientMetadataDocumentError } from '../client-metadata-document.js';
import { privateKeyJwt } from './private-key-jwt.js';
import { ClientAuthFailure, type ClientAuthContext, type ClientAuthRequest, type ClientAuthStrategy } from './types.js';

export type { ClientAuthContext, ClientAuthRequest } from './types.js';

/** Most specific first: a request that uses no credential-bearing method falls through to `none`. */
export const CLIENT_AUTH_METHODS = [clientSecretBasic, clientSecretPost, privateKeyJwt, noClientAuthentication] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number]['method'];

/** Methods that carry a credential; a request may use at most one of them. */
const CREDENTIAL_METHODS = CLIENT_AUTH_METHODS.filter((m) => m.confidential);

/** The methods a confidential client may register, and the default one. */
export const CONFIDENTIAL_AUTH_METHODS: readonly ClientAuthMethod[] = CREDENTIAL_METHODS.map((m) => m.method);
export const DEFAULT_CONFIDENTIAL_AUTH_METHOD: ClientAuthMethod = clientSecretBasic.method;
export const PUBLIC_AUTH_METHOD: ClientAuthMethod = noClientAuthentication.method;
export const AUTH_METHOD_NAMES: readonly ClientAuthMethod[] = CLIENT_AUTH_METHODS.map((m) => m.method);
/** Methods whose clients register public keys (jwks / jwks_uri) and get no secret. */
export const KEY_AUTH_METHODS: readonly ClientAuthMethod[] = CLIENT_AUTH_METHODS.filter((m) => 'usesKeys' in m && m.usesKeys).map(
  (m) => m.method,
);
export { ASSERTION_SIGNING_ALGS } from '../client-keys.js';

export function isClientAuthMethod(value: string): value is ClientAuthMethod {
  return (AUTH_METHOD_NAMES as readonly string[]).includes(value);
}

export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
}

export interface ClientAuthDeps {
  clients: Pick<ClientRepository, 'find'>;
  realm: string;
  /** For client assertions (private_key_jwt); without it every assertion is refused. */
  assertions?: {
    issuer: string;
    clock: () => number;
    jtis: ReplayCache;
    fetchJwks?: ((uri: string) => Promise<unknown>) | undefined;
  };
  /** EV-01: a registered client whose credentials were refused is a security event. */
  events?: Pick<SecurityEvents, 'record'> | undefined;
}

/** The ClientAuthDeps of an endpoint, from the server's parts. */
export function clientAuthDeps(deps: {
  config: { issuer: string };
  storage: { clients: Pick<ClientRepository, 'find'>; clientAssertionJtis: ReplayCache };
  /** The replay caches the server chose (server.ts: Redis when configured); else the database's. */
  replayCaches?: ReplayCaches | undefined;
  clock: () => number;
  /** Finds clients: registered ones, then Client ID Metadata Documents (oauth/client-metadata-document.ts). */
  clientResolver?: Pick<ClientRepository, 'find'> | undefined;
  /** The server's SSRF-safe fetcher (net/safe-fetch.ts), for clients that registered a jwks_uri. */
  fetcher?: Pick<SafeFetcher, 'fetchJson'> | undefined;
  events?: Pick<SecurityEvents, 'record'> | undefined;
}): ClientAuthDeps {
  const { fetcher } = deps;
  return {
    clients: deps.clientResolver ?? deps.storage.clients,
    realm: new URL(deps.config.issuer).host,
    assertions: {
      issuer: deps.config.issuer,
      clock: deps.clock,
      jtis: deps.replayCaches?.clientAssertions ?? deps.storage.clientAssertionJtis,
      fetchJwks: fetcher && (async (uri) => (await fetcher.fetchJson(uri)).json),
    },
    events: deps.events,
  };
}

const MAX_CLIENT_ID_LENGTH = 255;

function failure(basicTried: boolean, realm: string, detail: string): OAuthError {
  return invalidClient('client authentication failed', {
    detail,
    headers: basicTried ? { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` } : {},
  });
}

export async function authenticateClient(request: ClientAuthRequest, deps: ClientAuthDeps): Promise<AuthenticatedClient> {
  // RFC 6749 §5.2: a client that tried Basic gets a Basic challenge back.
  const basic = parseBasic(request.authorization);
  const basicTried = basic !== undefined;
  if (basic === null) throw failure(true, deps.realm, 'malformed Basic credentials');
  const used: ClientAuthStrategy[] = CREDENTIAL_METHODS.filter((m) => m.uses(request));
  if (used.length > 1) throw invalidRequest('use exactly one client authentication method per request');
  const strategy: ClientAuthStrategy | undefined = used[0] ?? (noClientAuthentication.uses(request) ? noClientAuthentication : undefined);
  if (!strategy) throw failure(false, deps.realm, 'no client authentication');

  let presented;
  try {
    presented = strategy.extract(request);
  } catch (e) {
    if (e instanceof ClientAuthFailure) throw failure(basicTried, deps.realm, e.detail);
    throw e;
  }
  if (presented.clientId.length > MAX_CLIENT_ID_LENGTH) throw failure(basicTried, deps.realm, 'client_id too long');
  let client: Client | undefined;
  try {
    client = await deps.clients.find(presented.clientId);
  } catch (e) {
    if (e instanceof ClientMetadataDocumentError)
      throw failure(basicTried, deps.realm, `client metadata document: ${e.detail ?? e.message}`);
    throw e;
  }
  const a = deps.assertions;
  const context: ClientAuthContext | undefined = a && { issuer: a.issuer, now: a.clock(), jtis: a.jtis, fetchJwks: a.fetchJwks };
  let proven: boolean;
  // A known client's refusals are security events (someone holds its id and guesses its proof); an
  // unknown client_id is not recorded, so that noise cannot fill the event log.
  const refused = async (detail: string): Promise<OAuthError> => {
    if (client && deps.events)
      await deps.events.record({
        type: 'client_auth.failed',
        clientId: client.clientId,
        ip: request.ip,
        details: { method: strategy.method, reason: detail },
      });
    return failure(basicTried, deps.realm, detail);
  };
  try {
    proven = await strategy.verify(presented, client, context);
  } catch (e) {
    if (e instanceof ClientAuthFailure) throw await refused(e.detail);
    throw e;
  }
  if (!client) throw failure(basicTried, deps.realm, 'unknown client');
  if (!proven) throw await refused(`${strategy.method} credentials refused`);
  // CA-05: only the method the client registered.
  if (client.authMethod !== strategy.method) throw await refused(`client registered ${client.authMethod}, used ${strategy.method}`);
  return { client, method: strategy.method as ClientAuthMethod };
}
