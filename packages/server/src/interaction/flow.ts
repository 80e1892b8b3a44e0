// The browser side of an authorization request between /authorize, the login page and the consent
// page: who is signed in, whether consent is needed, and the interaction that carries the request.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import type { AuthorizationRequest } from '../oauth/authorization-request.js';
import { randomToken, sha256 } from '../oauth/crypto.js';
import { consentItems, grantResources } from '../oauth/resources.js';
import { isSubset } from '../oauth/scopes.js';
import { acrOf, AMR_PASSWORD } from '../oauth/two-factor/acr.js';
import type { Client, Resource, Session, User } from '../storage/index.js';
import {
  clearCookie,
  browserBinding,
  browserCookieName,
  readCookie,
  sessionCookieName,
  setCookie,
  type CookieSettings,
} from './cookies.js';

export function cookieSettings(deps: Pick<AppDeps, 'config'>): CookieSettings {
  return { secure: deps.config.issuer.startsWith('https:') };
}

export interface SignedIn {
  session: Session;
  user: User;
}

/** The signed-in user of this browser, if the session is live and the user enabled. */
export async function currentSession(
  request: FastifyRequest,
  deps: Pick<AppDeps, 'config' | 'storage'>,
  now: number,
): Promise<SignedIn | undefined> {
  const raw = readCookie(request, sessionCookieName(cookieSettings(deps)));
  if (!raw) return undefined;
  // The session and its user in one statement.
  const found = await deps.storage.sessions.findActiveWithUser(sha256(raw), now);
  if (!found || found.user.disabled) return undefined;
  return found;
}

/** UI-03: a new session id at every login; the previous one is deleted. */
export async function startSession(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AppDeps, 'config' | 'storage'>,
  userId: string,
  now: number,
  amr: readonly string[] = AMR_PASSWORD,
): Promise<Session> {
  const settings = cookieSettings(deps);
  const name = sessionCookieName(settings);
  const previous = readCookie(request, name);
  if (previous) await deps.storage.sessions.delete(sha256(previous));
  const raw = randomToken();
  const session: Session = {
    idHash: sha256(raw),
    sid: randomToken(16),
    userId,
    authTime: now,
    createdAt: now,
    expiresAt: now + deps.config.sessionTtl,
    // How the user signed in (RFC 8176) and the class it reached: the ID tokens of this session say so.
    amr: [...amr],
    acr: acrOf(amr),
  };
  await deps.storage.sessions.create(session);
  setCookie(reply, settings, name, raw, deps.config.sessionTtl);
  return session;
}

export function endSession(reply: FastifyReply, deps: Pick<AppDeps, 'config'>): void {
  clearCookie(reply, cookieSettings(deps), sessionCookieName(cookieSettings(deps)));
}

export interface ConsentState {
  needed: boolean;
  /** What this request asks the user to allow (oauth/resources.ts consentItems). */
  items: string[];
  /** The items not allowed before. */
  newItems: Set<string>;
  /** The registered resources the request names. */
  resources: Resource[];
}

/** Does this request need the consent page? RU-12: public clients are asked every time. */
export async function consentNeeded(
  deps: Pick<AppDeps, 'storage'>,
  client: Client,
  userId: string,
  request: AuthorizationRequest,
): Promise<ConsentState> {
  const resources = await grantResources(request.resources, deps.storage.resources);
  const items = consentItems(request.scopes, resources);
  const grant = await deps.storage.grants.find(userId, client.clientId);
  const granted = new Set(grant?.scopes ?? []);
  const newItems = new Set(items.filter((s) => !granted.has(s)));
  const needed = client.isPublic || request.prompt.includes('consent') || !grant || !isSubset(items, granted);
  return { needed, items, newItems, resources };
}

/**
 * DS-01: the value of this browser's binding cookie for a new interaction (a browser that already
 * holds one that outlives the interaction keeps it; no new cookie per request). Sets the cookie when new.
 */
function bindBrowser(httpRequest: FastifyRequest, reply: FastifyReply, deps: Pick<AppDeps, 'config'>, now: number): string {
  const settings = cookieSettings(deps);
  const lifetime = Math.max(deps.config.sessionTtl, 2 * deps.config.interactionTtl);
  const browser = browserBinding(readCookie(httpRequest, browserCookieName(settings)), now, {
    cookie: lifetime,
    interaction: deps.config.interactionTtl,
  });
  if (browser.set) setCookie(reply, settings, browserCookieName(settings), browser.value, lifetime);
  return browser.value;
}

/**
 * Starts an interaction bound to this browser (a cookie whose digest is stored) and returns the page
 * to send the user to. `signedIn` is set when the user is already signed in and only consent is needed.
 */
export async function beginInteraction(
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AppDeps, 'config' | 'storage'>,
  client: Client,
  request: AuthorizationRequest,
  signedIn: Session | undefined,
  now: number,
  /** Step-up (interaction/two-factor-login.ts): the signed-in user who must now give a second factor. */
  pending?: { userId: string; amr: readonly string[] },
): Promise<string> {
  const id = randomToken();
  const browser = bindBrowser(httpRequest, reply, deps, now);
  await deps.storage.interactions.create({
    id,
    clientId: client.clientId,
    request,
    browserHash: sha256(browser),
    userId: signedIn?.userId ?? null,
    authTime: signedIn?.authTime ?? null,
    sid: signedIn?.sid ?? null,
    createdAt: now,
    expiresAt: now + deps.config.interactionTtl,
    consumedAt: null,
    pendingUserId: pending?.userId ?? null,
    pendingAmr: pending?.amr ?? null,
  });
  return pending ? `/interaction/${id}/second-factor` : `/interaction/${id}`;
}

/**
 * Starts a sign-in to the account pages (no client, no authorization request), bound to this browser
 * like an authorization request's interaction; returns its login page. `returnTo` must already be an
 * allowlisted path (account-session.ts safeReturnTo).
 */
export async function beginAccountSignIn(
  httpRequest: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AppDeps, 'config' | 'storage'>,
  returnTo: string,
  now: number,
): Promise<string> {
  const id = randomToken();
  const browser = bindBrowser(httpRequest, reply, deps, now);
  await deps.storage.interactions.createAccount({
    id,
    purpose: 'account',
    returnTo,
    browserHash: sha256(browser),
    userId: null,
    authTime: null,
    sid: null,
    createdAt: now,
    expiresAt: now + deps.config.interactionTtl,
    consumedAt: null,
  });
  return `/interaction/${id}`;
}
