// RFC 9126: pushed authorization requests. The client POSTs the authorization request to the PAR
// endpoint (authenticated as at the token endpoint); it is validated exactly as /authorize would
// validate it and stored under a request_uri that is random, single-use, bound to the client and
// valid PUSHED_REQUEST_TTL seconds (PR-01). /authorize then takes only client_id and request_uri
// and uses the stored parameters; every other front-channel parameter is ignored (RFC 9126 §4).
import type { Client, PushedRequestRepository } from '../storage/index.js';
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  validateAuthorizationRequest,
  type AuthorizationRequestDeps,
} from './authorization-request.js';
import { randomToken, sha256 } from './crypto.js';
import { invalidRequest } from './errors.js';
import type { Params } from './params.js';

export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';
/** RFC 9126 §2.2: a short lifetime; the request_uri must be used within a minute. */
export const PUSHED_REQUEST_TTL = 60;
/** Client credentials are never stored with the request. */
const CREDENTIAL_PARAMS = new Set(['client_secret', 'client_assertion', 'client_assertion_type']);
const RANDOM_PART = /^[A-Za-z0-9_-]{43}$/;

export interface PushDeps extends AuthorizationRequestDeps {
  pushedRequests: Pick<PushedRequestRepository, 'create'>;
}

/** RFC 9126 §2.1-2.3: validates and stores a pushed request; OAuthError (JSON) for anything wrong. */
export async function pushAuthorizationRequest(
  params: Params,
  client: Client,
  deps: PushDeps,
  now: number,
): Promise<{ request_uri: string; expires_in: number }> {
  // RFC 9126 §2.1: the request_uri parameter MUST NOT be provided in a pushed request.
  if (params.has('request_uri')) throw invalidRequest('request_uri must not be sent to the pushed authorization request endpoint');
  const stored = new Map<string, readonly string[]>();
  for (const [name, values] of params) if (!CREDENTIAL_PARAMS.has(name)) stored.set(name, values);
  // The authenticated client is the one the request is for (authentication already refused a different client_id).
  stored.set('client_id', [client.clientId]);
  // Exactly the validation of /authorize; what it would show as a page or redirect becomes a JSON error here.
  const lookup: AuthorizationRequestDeps = {
    ...deps,
    clients: { find: async (id) => (id === client.clientId ? client : deps.clients.find(id)) },
  };
  try {
    await validateAuthorizationRequest(stored, lookup);
  } catch (e) {
    if (e instanceof AuthorizationPageError) throw invalidRequest(e.description);
    if (e instanceof AuthorizationRedirectError)
      throw e.error.status >= 500 ? invalidRequest('the request could not be processed') : e.error;
    throw e;
  }
  const random = randomToken(32);
  await deps.pushedRequests.create({
    idHash: sha256(random),
    clientId: client.clientId,
    params: [...stored],
    createdAt: now,
    expiresAt: now + PUSHED_REQUEST_TTL,
    consumedAt: null,
  });
  return { request_uri: `${REQUEST_URI_PREFIX}${random}`, expires_in: PUSHED_REQUEST_TTL };
}

/**
 * RFC 9126 §4: the parameters /authorize validates. Without request_uri: the request itself. With one:
 * the pushed request, consumed now (one conditional update), if it exists, has not expired, was not
 * used and was pushed by the client named by client_id. Anything else is an error page: no
 * redirect_uri can be trusted (RU-02).
 */
export async function resolvePushedRequest(
  params: Params,
  deps: { pushedRequests: Pick<PushedRequestRepository, 'consume'> },
  now: number,
): Promise<{ params: Params; pushed: boolean }> {
  const uris = params.get('request_uri');
  if (!uris) return { params, pushed: false };
  if (uris.length > 1) throw new AuthorizationPageError('Invalid request', 'request_uri was sent more than once.');
  const clientIds = params.get('client_id') ?? [];
  if (clientIds.length !== 1)
    throw new AuthorizationPageError('Invalid request', 'A request with request_uri needs exactly one client_id.');
  const uri = uris[0]!;
  const random = uri.startsWith(REQUEST_URI_PREFIX) ? uri.slice(REQUEST_URI_PREFIX.length) : '';
  const expired = new AuthorizationPageError(
    'Request expired',
    'This authorization request has expired, was already used, or belongs to another application. Go back to the application and start again.',
  );
  if (!RANDOM_PART.test(random) || clientIds[0]!.length > 255) throw expired;
  const pushed = await deps.pushedRequests.consume(sha256(random), clientIds[0]!, now);
  if (!pushed) throw expired;
  return { params: new Map(pushed.params), pushed: true };
}

/** RFC 9126 §5-6: whether this client may use /authorize only through a pushed request. */
export function pushedRequestRequired(globally: boolean, client: Pick<Client, 'metadata'>): boolean {
  return globally || client.metadata.require_pushed_authorization_requests === true;
}
