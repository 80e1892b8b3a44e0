// The browser side of OpenID Connect RP-Initiated Logout 1.0 (§3 asking the user, §4 going back to the
// RP), with Back-Channel Logout 1.0 on the way out. The request itself is validated in
// oauth/logout-request.ts.
// - Logout CSRF (§3 "the OP MUST ask the End-User" without a hint for the current user): unless a valid
//   hint was issued in this very session (its sid, SS-01), the user confirms on a page whose form carries a token derived from
//   the session cookie (the same scheme as the login page's, cookies.ts) and the Origin is checked. A
//   cross-site POST carries no session cookie anyway (SameSite=Lax).
// - Ending the session: the session row is deleted, the session cookie cleared, the refresh-token
//   families issued in that session are revoked (RT-06), its other access tokens denied and its
//   unredeemed codes voided (SS-02), and the clients with a back-channel logout
//   URI are notified in the background (oauth/logout.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { sha256 } from '../oauth/crypto.js';
import { endBrowserSession, sendBackchannelLogout } from '../oauth/logout.js';
import { hintNamesSession, type LogoutRequest } from '../oauth/logout-request.js';
import { single, type Params } from '../oauth/params.js';
import type { Session } from '../storage/index.js';
import { csrfTokenFor, csrfTokenValid, originAllowed, readCookie, sessionCookieName } from './cookies.js';
import { cookieSettings, endSession } from './flow.js';
import { sendErrorPage, sendPage } from './page.js';
import { confirmLogoutPage, signedOutPage } from './views.js';

/** §4: back to the RP with state, or a page. */
function finish(reply: FastifyReply, req: LogoutRequest, stillSignedIn = false): FastifyReply {
  if (req.redirectTo !== undefined) {
    const url = new URL(req.redirectTo);
    if (req.state !== undefined) url.searchParams.append('state', req.state);
    return reply.redirect(url.href, 303);
  }
  return sendPage(reply, signedOutPage(stillSignedIn));
}

async function logout(request: FastifyRequest, reply: FastifyReply, deps: AppDeps, session: Session, now: number): Promise<void> {
  const { targets, families, accessTokens, codes, deviceCodes } = await endBrowserSession(deps.storage, session, now);
  endSession(reply, deps);
  request.log.info(
    { event: 'logout', families, access_tokens_denied: accessTokens, codes_voided: codes, device_codes_voided: deviceCodes },
    'session ended',
  );
  if (targets.length > 0) {
    // Fire and forget: never blocks or fails the logout (sendBackchannelLogout never rejects).
    void sendBackchannelLogout(deps, targets, { subject: session.userId, sid: session.sid }, request.log, now);
  }
}

/** Decides, for a validated logout request, whether to sign out at once, ask first, or take the answer. */
export async function handleLogout(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  params: Params,
  req: LogoutRequest,
): Promise<FastifyReply> {
  const now = deps.clock();
  const raw = readCookie(request, sessionCookieName(cookieSettings(deps)));
  const session = raw ? await deps.storage.sessions.findActive(sha256(raw), now) : undefined;
  if (raw && !session) endSession(reply, deps); // a stale cookie: drop it

  // The user's answer on the confirmation page.
  const csrf = request.method === 'POST' ? single(params, 'csrf_token') : undefined;
  if (csrf !== undefined) {
    const issuerOrigin = new URL(deps.config.issuer).origin;
    if (!originAllowed(request.headers.origin, issuerOrigin) || (session && !csrfTokenValid(`end-session.${raw}`, csrf))) {
      return sendErrorPage(
        reply,
        403,
        'Request refused',
        'This form could not be verified. Go back to the application and sign out there again.',
      );
    }
    const decision = single(params, 'logout');
    if (decision !== 'yes' && decision !== 'no') return sendErrorPage(reply, 400, 'Invalid request', 'Choose Sign out or Stay signed in.');
    if (decision === 'yes' && session) await logout(request, reply, deps, session, now);
    return finish(reply, req, decision === 'no' && session !== undefined);
  }

  // Nothing to end: no confirmation needed.
  if (!session) return finish(reply, req);
  // A valid hint issued in this session: log out directly (§3, SS-01).
  if (hintNamesSession(req.hint, session)) {
    await logout(request, reply, deps, session, now);
    return finish(reply, req);
  }
  // Otherwise ask (§3: the OP MUST ask without a hint for the current user).
  const page = confirmLogoutPage({
    clientName: req.client?.clientName,
    csrfToken: csrfTokenFor(`end-session.${raw}`),
    fields: {
      client_id: req.client?.clientId,
      post_logout_redirect_uri: req.redirectTo,
      state: req.redirectTo !== undefined ? req.state : undefined,
    },
  });
  return sendPage(reply, page, { formTargets: req.redirectTo !== undefined ? [req.redirectTo] : [] });
}

/** §3: an invalid request changes nothing and says so on a page. */
export function logoutRefused(reply: FastifyReply): FastifyReply {
  return sendErrorPage(
    reply,
    400,
    'Sign-out request not valid',
    'This sign-out request could not be verified, so nothing changed. Go back to the application and sign out there again.',
  );
}
