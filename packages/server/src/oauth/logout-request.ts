// OpenID Connect RP-Initiated Logout 1.0 §2 (the request) and §3 (its validation): which client asks,
// where the browser may go afterwards, and who the hint names. Nothing here ends a session; the
// browser side (confirmation page, cookies) is interaction/logout.ts.
import type { Client, ClientRepository, Session } from '../storage/index.js';
import { constantTimeEqual } from './crypto.js';
import { postLogoutRedirectUrisOf } from './clients.js';
import { invalidRequest } from './errors.js';
import type { KeyStore } from './keys/key-store.js';
import { rejectRepeated, single, type Params } from './params.js';
import { MAX_ID_TOKEN_HINT_LENGTH, verifyIdTokenHint, type IdTokenHint } from './tokens/id-token-hint.js';

const MAX_PARAM_LENGTH = 2048;

export interface LogoutRequest {
  client: Client | undefined;
  /** Validated: registered for the client, exact match (RU-08). */
  redirectTo: string | undefined;
  state: string | undefined;
  hint: IdTokenHint | undefined;
}

export interface LogoutRequestDeps {
  keys: KeyStore;
  issuer: string;
  clients: Pick<ClientRepository, 'find'>;
}

/** §3: validates hint, client and redirect target; throws invalid_request for anything that must not proceed. */
export async function validateLogoutRequest(params: Params, deps: LogoutRequestDeps): Promise<LogoutRequest> {
  rejectRepeated(params);
  for (const [name, values] of params) {
    const limit = name === 'id_token_hint' ? MAX_ID_TOKEN_HINT_LENGTH : MAX_PARAM_LENGTH;
    if (values.some((v) => v.length > limit)) throw invalidRequest(`the parameter ${name} is too long`);
  }
  const rawHint = single(params, 'id_token_hint');
  let clientId = single(params, 'client_id');
  let hint: IdTokenHint | undefined;
  if (rawHint !== undefined) {
    hint = await verifyIdTokenHint(deps.keys, deps.issuer, rawHint);
    if (!hint) throw invalidRequest('the id_token_hint was not issued by this server');
    if (clientId !== undefined && !hint.aud.includes(clientId)) throw invalidRequest('client_id is not an audience of the id_token_hint');
    if (clientId === undefined) {
      clientId = hint.aud.length === 1 ? hint.aud[0] : hint.azp !== undefined && hint.aud.includes(hint.azp) ? hint.azp : undefined;
    }
  }
  let client: Client | undefined;
  if (clientId !== undefined) {
    client = await deps.clients.find(clientId);
    if (!client) throw invalidRequest('unknown client');
  }
  const requested = single(params, 'post_logout_redirect_uri');
  // RU-08: exact match against the client's registration, or no redirect at all.
  const redirectTo = requested !== undefined && client && postLogoutRedirectUrisOf(client).includes(requested) ? requested : undefined;
  return { client, redirectTo, state: single(params, 'state'), hint };
}

/**
 * SS-01 (§2, §3): a hint logs out without asking only when it was issued in this very session — its
 * sub is the session's user and its sid the session's sid. An ID token of an older session of the
 * same user, or one without a sid, could have been kept or leaked by anyone: then the user is asked.
 */
export function hintNamesSession(hint: IdTokenHint | undefined, session: Pick<Session, 'userId' | 'sid'>): boolean {
  if (!hint || hint.sub !== session.userId || hint.sid === undefined) return false;
  return constantTimeEqual(hint.sid, session.sid);
}
