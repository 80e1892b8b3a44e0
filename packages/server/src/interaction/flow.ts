// The authorization flow between /authorize, the login page and the consent page: who is signed in,
// whether consent is needed, and issuing the code (RFC 6749 §4.1.2).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { authorizationResponseUrl, type AuthorizationRequest } from '../oauth/authorization-request.js';
import type { Client } from '../oauth/clients.js';
import { randomToken, sha256 } from '../oauth/crypto.js';
import { isSubset } from '../oauth/scopes.js';
import type { SessionRow, UserRow } from '../storage/index.js';
import { clearCookie, readCookie, sessionCookieName, setCookie, type CookieSettings } from './cookies.js';

export function cookieSettings(deps: Pick<AppDeps, 'config'>): CookieSettings {
  return { secure: deps.config.issuer.startsWith('https:') };
}

export interface SignedIn {
  session: SessionRow;
  user: UserRow;
}

/** The signed-in user of this browser, if the session is live and the user enabled. */
export async function currentSession(request: FastifyRequest, deps: Pick<AppDeps, 'config' | 'storage'>, now: number): Promise<SignedIn | undefined> {
  const raw = readCookie(request, sessionCookieName(cookieSettings(deps)));
  if (!raw) return undefined;
  const session = await deps.storage.sessions.findActive(sha256(raw), now);
  if (!session) return undefined;
  const user = await deps.storage.users.findById(session.user_id);
  if (!user || user.disabled === 1) return undefined;
  return { session, user };
}

/** UI-03: a new session id at every login; the previous one is deleted. */
export async function startSession(
  request: FastifyRequest, reply: FastifyReply, deps: Pick<AppDeps, 'config' | 'storage'>, userId: string, now: number,
): Promise<SessionRow> {
  const settings = cookieSettings(deps);
  const name = sessionCookieName(settings);
  const previous = readCookie(request, name);
  if (previous) await deps.storage.sessions.delete(sha256(previous));
  const raw = randomToken();
  const session: SessionRow = {
    id_hash: sha256(raw),
    sid: randomToken(16),
    user_id: userId,
    auth_time: now,
    created_at: now,
    expires_at: now + deps.config.sessionTtl,
  };
  await deps.storage.sessions.create(session);
  setCookie(reply, settings, name, raw, deps.config.sessionTtl);
  return session;
}

export function endSession(reply: FastifyReply, deps: Pick<AppDeps, 'config'>): void {
  clearCookie(reply, cookieSettings(deps), sessionCookieName(cookieSettings(deps)));
}

/** Does this request need the consent page? RU-12: public clients are asked every time. */
export async function consentNeeded(
  deps: Pick<AppDeps, 'storage'>, client: Client, userId: string, request: AuthorizationRequest,
): Promise<{ needed: boolean; newScopes: Set<string> }> {
  const scopes = request.scope.split(' ');
  const grant = await deps.storage.grants.find(userId, client.clientId);
  const granted = new Set(grant ? grant.scope.split(' ') : []);
  const newScopes = new Set(scopes.filter((s) => !granted.has(s)));
  const needed = client.isPublic || request.prompt.includes('consent') || !grant || !isSubset(scopes, granted);
  return { needed, newScopes };
}

/** Issues a one-time code bound to client, redirect_uri, PKCE challenge, scope, nonce and user. */
export async function issueCode(
  deps: Pick<AppDeps, 'config' | 'storage'>, request: AuthorizationRequest, userId: string, authTime: number, sid: string | null, now: number,
): Promise<string> {
  const code = randomToken();
  await deps.storage.codes.create({
    code_hash: sha256(code),
    family_id: randomToken(16),
    client_id: request.clientId,
    user_id: userId,
    redirect_uri: request.redirectUri,
    redirect_uri_provided: request.redirectUriProvided ? 1 : 0,
    scope: request.scope,
    code_challenge: request.codeChallenge ?? null,
    code_challenge_method: request.codeChallengeMethod ?? null,
    nonce: request.nonce ?? null,
    auth_time: authTime,
    sid,
    created_at: now,
    expires_at: now + deps.config.codeTtl,
    consumed_at: null,
    access_token_jti: null,
    access_token_expires_at: null,
  });
  return authorizationResponseUrl(request.redirectUri, deps.config.issuer, { code, state: request.state });
}

/** The CSP form-action source that lets a form's redirect reach the client (Chromium enforces it). */
export function redirectSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}
