// RFC 6749 §2.3 and §5.2, OAuth 2.1 §2.4: authenticate the client at the token, introspection and
// revocation endpoints. Exactly one method per request, only the client's registered method, and the
// same answer for an unknown client and a wrong secret (CA-03).
import { digestsEqual, sha256 } from '../crypto.js';
import { invalidClient, invalidRequest, type OAuthError } from '../errors.js';
import { single, type Params } from '../params.js';
import { clientFromRow, type Client } from '../clients.js';
import type { ClientRepository } from '../../storage/index.js';
import { parseBasic } from './basic.js';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface ClientAuthRequest {
  authorization: string | undefined;
  params: Params;
}

export interface AuthenticatedClient {
  client: Client;
  method: ClientAuthMethod;
}

export interface ClientAuthDeps {
  clients: Pick<ClientRepository, 'find'>;
  realm: string;
}

// Digest compared against when the client does not exist, so both paths do the same work.
const DUMMY_DIGEST = sha256('gatehouse-unknown-client');

function failure(basicTried: boolean, realm: string, detail: string): OAuthError {
  return invalidClient('client authentication failed', {
    detail,
    headers: basicTried ? { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` } : {},
  });
}

export async function authenticateClient(request: ClientAuthRequest, deps: ClientAuthDeps): Promise<AuthenticatedClient> {
  const basic = parseBasic(request.authorization);
  const basicTried = basic !== undefined;
  if (basic === null) throw failure(true, deps.realm, 'malformed Basic credentials');
  if (basic === undefined && request.authorization !== undefined && /^basic$/i.test(request.authorization.trim())) {
    throw failure(true, deps.realm, 'empty Basic credentials');
  }
  const bodyId = single(request.params, 'client_id');
  const bodySecret = single(request.params, 'client_secret');
  const assertion = single(request.params, 'client_assertion');
  const used = [basic, bodySecret, assertion].filter((v) => v !== undefined).length;
  if (used > 1) throw invalidRequest('use exactly one client authentication method per request');

  let clientId: string;
  let secret: string | undefined;
  let method: ClientAuthMethod;
  if (basic) {
    if (bodyId !== undefined && bodyId !== basic.clientId) throw invalidRequest('client_id does not match the authenticated client');
    clientId = basic.clientId;
    secret = basic.clientSecret;
    method = 'client_secret_basic';
  } else if (bodySecret !== undefined) {
    if (bodyId === undefined) throw failure(false, deps.realm, 'client_secret without client_id');
    clientId = bodyId;
    secret = bodySecret;
    method = 'client_secret_post';
  } else if (assertion !== undefined) {
    throw failure(false, deps.realm, 'client assertions are not supported for this client');
  } else if (bodyId !== undefined) {
    clientId = bodyId;
    method = 'none';
  } else {
    throw failure(false, deps.realm, 'no client authentication');
  }
  if (clientId.length > 255) throw failure(basicTried, deps.realm, 'client_id too long');

  const row = await deps.clients.find(clientId);
  const client = row ? clientFromRow(row) : undefined;
  if (method === 'none') {
    if (!client || client.authMethod !== 'none') throw failure(basicTried, deps.realm, 'unknown client or not a public client');
    return { client, method };
  }
  const presented = sha256(secret!);
  const matches = digestsEqual(presented, client?.secretHash ?? DUMMY_DIGEST);
  if (!client || !matches) throw failure(basicTried, deps.realm, client ? 'wrong secret' : 'unknown client');
  if (client.authMethod !== method) throw failure(basicTried, deps.realm, `client registered ${client.authMethod}, used ${method}`);
  return { client, method };
}
