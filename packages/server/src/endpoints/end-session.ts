// OpenID Connect RP-Initiated Logout 1.0 (§2 request, §3 validation, §4 redirection to the RP), with
// Back-Channel Logout 1.0 on the way out. GET and POST /end-session.
//
// - id_token_hint: an ID token we issued. The key is looked up by kid among our own keys and nothing
//   else from the header is used (JW-03); signature, algorithm of that key and issuer must match; typ
//   must be an ID token's (an access or logout token is refused). An expired hint is accepted (§2).
//   Its aud names the client; a client_id sent too must be one of its audiences (§2).
// - post_logout_redirect_uri: followed only when registered for that client, by exact string match;
//   otherwise the user sees a "signed out" page and nothing redirects (RU-08, §3). state comes back.
// - Logout CSRF (§3 "the OP MUST ask the End-User" without a hint for the current user): unless a valid
//   hint names the signed-in user, the user confirms on a page whose form carries a token derived from
//   the session cookie (the same scheme as the login page's, interaction/cookies.ts) and the Origin is
//   checked. A cross-site POST carries no session cookie anyway (SameSite=Lax).
// - Ending the session: the session row is deleted, the session cookie cleared, the refresh-token
//   families issued in that session are revoked (RT-06), and the clients with a back-channel logout
//   URI are notified in the background (oauth/logout.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { AppDeps } from '../app-types.js';
import { clientFromRow, postLogoutRedirectUrisOf, type Client } from '../oauth/clients.js';
import { nowSeconds, sha256 } from '../oauth/crypto.js';
import { OAuthError } from '../oauth/errors.js';
import { endBrowserSession, sendBackchannelLogout } from '../oauth/logout.js';
import type { KeyStore } from '../oauth/keys/key-store.js';
import { parseUrlEncoded, queryOf, ParamsError, rejectRepeated, single, type Params } from '../oauth/params.js';
import type { SessionRow } from '../storage/index.js';
import { csrfTokenFor, csrfTokenValid, originAllowed, readCookie, sessionCookieName } from '../interaction/cookies.js';
import { cookieSettings, endSession, redirectSource } from '../interaction/flow.js';
import { escapeHtml, layout } from '../interaction/views.js';
import { renderErrorPage } from './authorize.js';

const MAX_HINT_LENGTH = 16 * 1024;
const MAX_PARAM_LENGTH = 2048;

export interface IdTokenHint {
  sub: string;
  aud: string[];
  azp?: string | undefined;
  sid?: string | undefined;
}

/** An ID token we signed (expired or not), or undefined. Never throws. */
export async function verifyIdTokenHint(keys: KeyStore, issuer: string, token: string): Promise<IdTokenHint | undefined> {
  if (token.length > MAX_HINT_LENGTH) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.kid !== 'string') return undefined;
    // Our ID tokens carry typ JWT; access tokens (at+jwt) and logout tokens (logout+jwt) are not hints.
    if (header.typ !== undefined && header.typ.toUpperCase() !== 'JWT') return undefined;
    const key = keys.findKey(header.kid);
    if (!key) return undefined;
    // compactVerify checks the signature with our key and its one algorithm, and refuses unknown crit
    // entries; exp is deliberately not checked (§2: an expired ID token is a fine hint).
    const { payload } = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    if (claims === null || typeof claims !== 'object' || claims.iss !== issuer) return undefined;
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) return undefined;
    const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud.filter((a): a is string => typeof a === 'string') : [];
    if (aud.length === 0) return undefined;
    return {
      sub: claims.sub,
      aud,
      azp: typeof claims.azp === 'string' ? claims.azp : undefined,
      sid: typeof claims.sid === 'string' ? claims.sid : undefined,
    };
  } catch {
    return undefined;
  }
}

export interface ConfirmView {
  clientName: string | undefined;
  csrfToken: string;
  fields: Record<string, string | undefined>;
}

export function confirmLogoutPage(v: ConfirmView): string {
  const hidden = Object.entries({ csrf_token: v.csrfToken, ...v.fields })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const who = v.clientName
    ? `<p class="lead"><strong class="client-name">${escapeHtml(v.clientName)}</strong> asks to sign you out.</p>`
    : '<p class="lead">An application asks to sign you out.</p>';
  return layout('Sign out?', `<h1>Sign out of Gatehouse?</h1>
${who}
<p class="note">Signing out ends your Gatehouse session in this browser. Applications you signed in to may sign you out too.</p>
<form method="post" action="/end-session" class="decision">
${hidden}
<button type="submit" name="logout" value="no" class="secondary">Stay signed in</button>
<button type="submit" name="logout" value="yes" class="primary">Sign out</button>
</form>`);
}

export function signedOutPage(stillSignedIn = false): string {
  return stillSignedIn
    ? layout('Still signed in', `<h1>You are still signed in</h1>
<p class="lead">Nothing changed. You can close this page.</p>`)
    : layout('Signed out', `<h1>You are signed out</h1>
<p class="lead">Your Gatehouse session in this browser has ended. You can close this page.</p>`);
}

interface LogoutRequest {
  client: Client | undefined;
  /** Validated: registered for the client. */
  redirectTo: string | undefined;
  state: string | undefined;
  hint: IdTokenHint | undefined;
}

class LogoutRequestError extends Error {}

export function endSessionEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, keys } = deps;
  const settings = cookieSettings(deps);
  const issuerOrigin = new URL(config.issuer).origin;

  function paramsOf(request: FastifyRequest): Params {
    let params: Map<string, string[]>;
    if (request.method === 'GET') {
      params = parseUrlEncoded(queryOf(request.url));
    } else {
      if (!(request.body instanceof Map)) throw new LogoutRequestError('the request body must be form-encoded');
      if (queryOf(request.url).length > 0) throw new LogoutRequestError('send the parameters either in the URL or in the body');
      params = request.body as Map<string, string[]>;
    }
    rejectRepeated(params);
    for (const [name, values] of params) {
      const limit = name === 'id_token_hint' ? MAX_HINT_LENGTH : MAX_PARAM_LENGTH;
      if (values.some((v) => v.length > limit)) throw new LogoutRequestError(`the parameter ${name} is too long`);
    }
    return params;
  }

  /** §3: validates hint, client and redirect target; LogoutRequestError for anything that must not proceed. */
  async function validate(params: Params): Promise<LogoutRequest> {
    const rawHint = single(params, 'id_token_hint');
    let clientId = single(params, 'client_id');
    let hint: IdTokenHint | undefined;
    if (rawHint !== undefined) {
      hint = await verifyIdTokenHint(keys, config.issuer, rawHint);
      if (!hint) throw new LogoutRequestError('the id_token_hint was not issued by this server');
      if (clientId !== undefined && !hint.aud.includes(clientId)) throw new LogoutRequestError('client_id is not an audience of the id_token_hint');
      if (clientId === undefined) {
        clientId = hint.aud.length === 1 ? hint.aud[0] : hint.azp !== undefined && hint.aud.includes(hint.azp) ? hint.azp : undefined;
      }
    }
    let client: Client | undefined;
    if (clientId !== undefined) {
      const row = await storage.clients.find(clientId);
      if (!row) throw new LogoutRequestError('unknown client');
      client = clientFromRow(row);
    }
    const requested = single(params, 'post_logout_redirect_uri');
    // RU-08: exact match against the client's registration, or no redirect at all.
    const redirectTo = requested !== undefined && client && postLogoutRedirectUrisOf(client).includes(requested) ? requested : undefined;
    return { client, redirectTo, state: single(params, 'state'), hint };
  }

  /** §4: back to the RP with state, or a page. */
  function finish(reply: FastifyReply, req: LogoutRequest, stillSignedIn = false): FastifyReply {
    if (req.redirectTo !== undefined) {
      const url = new URL(req.redirectTo);
      if (req.state !== undefined) url.searchParams.append('state', req.state);
      return reply.redirect(url.href, 303);
    }
    return reply.status(200).type('text/html; charset=utf-8').send(signedOutPage(stillSignedIn));
  }

  async function logout(request: FastifyRequest, reply: FastifyReply, session: SessionRow, now: number): Promise<void> {
    const { targets, families } = await endBrowserSession(storage, session, now);
    endSession(reply, deps);
    request.log.info({ event: 'logout', families }, 'session ended');
    if (targets.length > 0) {
      // Fire and forget: never blocks or fails the logout (sendBackchannelLogout never rejects).
      void sendBackchannelLogout({ config, keys }, targets, { subject: session.user_id, sid: session.sid }, request.log, now);
    }
  }

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const now = nowSeconds();
    let params: Params;
    let req: LogoutRequest;
    try {
      params = paramsOf(request);
      req = await validate(params);
    } catch (e) {
      if (e instanceof LogoutRequestError || e instanceof ParamsError || e instanceof OAuthError) {
        request.log.info({ error: 'invalid_request', detail: (e as Error).message }, 'logout request refused');
        return renderErrorPage(reply, 400, 'Sign-out request not valid', 'This sign-out request could not be verified, so nothing changed. Go back to the application and sign out there again.');
      }
      throw e;
    }

    const raw = readCookie(request, sessionCookieName(settings));
    const session = raw ? await storage.sessions.findActive(sha256(raw), now) : undefined;
    if (raw && !session) endSession(reply, deps); // a stale cookie: drop it

    // The user's answer on the confirmation page.
    const csrf = request.method === 'POST' ? single(params, 'csrf_token') : undefined;
    if (csrf !== undefined) {
      const origin = request.headers.origin;
      if (!originAllowed(origin, issuerOrigin) || (session && !csrfTokenValid(`end-session.${raw}`, csrf))) {
        return renderErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Go back to the application and sign out there again.');
      }
      const decision = single(params, 'logout');
      if (decision !== 'yes' && decision !== 'no') return renderErrorPage(reply, 400, 'Invalid request', 'Choose Sign out or Stay signed in.');
      if (decision === 'yes' && session) await logout(request, reply, session, now);
      return finish(reply, req, decision === 'no' && session !== undefined);
    }

    // Nothing to end: no confirmation needed.
    if (!session) return finish(reply, req);
    // A valid hint for the signed-in user: log out directly (§3).
    if (req.hint && req.hint.sub === session.user_id) {
      await logout(request, reply, session, now);
      return finish(reply, req);
    }
    // Otherwise ask (§3: the OP MUST ask without a hint for the current user).
    const formAction = req.redirectTo !== undefined ? ` ${redirectSource(req.redirectTo)}` : '';
    return reply
      .status(200)
      .type('text/html; charset=utf-8')
      .header(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'${formAction}`,
      )
      .send(confirmLogoutPage({
        clientName: req.client?.clientName,
        csrfToken: csrfTokenFor(`end-session.${raw}`),
        fields: {
          client_id: req.client?.clientId,
          post_logout_redirect_uri: req.redirectTo,
          state: req.redirectTo !== undefined ? req.state : undefined,
        },
      }));
  };

  app.get('/end-session', { config: { browser: true } }, handler);
  app.post('/end-session', { config: { browser: true } }, handler);
}
