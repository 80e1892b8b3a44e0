// Signed-in pages: the account pages here, the two-factor and admin pages after them. A page calls
// requireSignedIn first: without a live session the browser is sent to the account sign-in (the same
// login page, the same checkLogin and throttle, UI-03 a new session), which comes back to `returnTo`
// only when it is a path on an exact allowlist (never another origin: no open redirect). Forms of
// signed-in pages carry a CSRF token derived from the session cookie (cookies.ts sessionCsrfToken) and
// are refused from a foreign Origin (UI-02).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import type { Params } from '../oauth/params.js';
import { originAllowed, readCookie, sessionCookieName, sessionCsrfToken, sessionCsrfTokenValid } from './cookies.js';
import { cookieSettings, currentSession, type SignedIn } from './flow.js';
import { sendErrorPage } from './page.js';

export const ACCOUNT_HOME = '/account';
export const ACCOUNT_SIGN_IN = '/account/sign-in';

/**
 * The paths a sign-in may return to: /account, /admin and paths below them, made of plain segments
 * (letters, digits, `-`, `_`, and dots inside a segment). No query, no fragment, no percent-encoding,
 * no backslash, no `//`, no `.` or `..` segment: what passes cannot name another origin or path.
 */
const RETURN_TO = /^\/(?:account|admin)(?:\/[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)*\/?$/;

/** `value` when it is an allowlisted path (RETURN_TO), else /account. */
export function safeReturnTo(value: string | undefined): string {
  return value !== undefined && value.length <= 256 && RETURN_TO.test(value) ? value : ACCOUNT_HOME;
}

/** The account sign-in page that comes back to `returnTo` (allowlisted first). */
export function signInUrl(returnTo: string): string {
  return `${ACCOUNT_SIGN_IN}?${new URLSearchParams({ return_to: safeReturnTo(returnTo) }).toString()}`;
}

/** A signed-in browser: its session, its user, and the CSRF token of its forms. */
export interface AccountSession extends SignedIn {
  csrfToken: string;
}

/**
 * The signed-in user of this browser; otherwise sends a 303 to the account sign-in (which returns to
 * `returnTo`) and returns undefined: the caller then returns `reply`.
 */
export async function requireSignedIn(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AppDeps, 'config' | 'storage' | 'clock'>,
  returnTo: string,
): Promise<AccountSession | undefined> {
  const signedIn = await currentSession(request, deps, deps.clock());
  const raw = readCookie(request, sessionCookieName(cookieSettings(deps)));
  if (!signedIn || !raw) {
    reply.redirect(signInUrl(returnTo), 303);
    return undefined;
  }
  return { ...signedIn, csrfToken: sessionCsrfToken(raw) };
}

/**
 * UI-02: the body of a signed-in page's form post, when it carries this session's CSRF token (exactly
 * once) and comes from our origin (or names none); otherwise a 403 page and undefined.
 */
export function postedAccountForm(request: FastifyRequest, reply: FastifyReply, deps: Pick<AppDeps, 'config'>): Params | undefined {
  const raw = readCookie(request, sessionCookieName(cookieSettings(deps)));
  const tokens = request.body instanceof Map ? (request.body as Params).get('csrf_token') : undefined;
  const issuerOrigin = new URL(deps.config.issuer).origin;
  if (!raw || !originAllowed(request.headers.origin, issuerOrigin) || tokens?.length !== 1 || !sessionCsrfTokenValid(raw, tokens[0])) {
    sendErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Open the page again and try once more.');
    return undefined;
  }
  return formBody(request);
}
