// Operator and account lifecycle actions that really revoke (SECURITY-CHECKLIST LC-01, LC-02; RFC 9700
// §4.14, RFC 7009 §2.1 "invalidate all access tokens based on the same grant"). The CLI, the admin
// console and the account pages call these; none of them speaks HTTP. Each action, in one transaction:
// - revokes the refresh-token families concerned (every token of the family),
// - denies the still-live access tokens issued from them, from codes and from device codes (the jti
//   denylist, until they expire; JWTs cannot be recalled any other way),
// - voids the unredeemed authorization codes and device codes,
// - deletes the sessions and grants (consents) concerned,
// then records one security event (EV-01) and returns what it did, with the back-channel logout
// notices the caller sends once the transaction committed (sendLogoutNotices, Back-Channel Logout 1.0).
// Userinfo, introspection and the refresh grant re-check user, client and grant on every request too
// (tokens/status.ts, grants/refresh-token.ts), so nothing depends on the denylist alone.
//
// `storage` is the Storage (each action opens its own transaction) or the repositories of a
// transaction the caller holds; then `events` must write through that transaction as well
// (new SecurityEvents(tx.securityEvents, ...)): on SQLite a second connection would wait for the first.
import type { Log } from '../log.js';
import type { Client, Grant, Repositories, Session, Storage } from '../storage/index.js';
import { backchannelLogoutUriOf } from './clients.js';
import {
  backchannelTargets,
  endBrowserSession,
  revokeUserSessions,
  sendBackchannelLogout,
  type BackchannelDeps,
  type DeliveryResult,
} from './logout.js';
import { hashPassword, MAX_PASSWORD_LENGTH } from './passwords.js';
import type { SecurityEventInput, SecurityEvents } from './security-events.js';
import { atomically, revokeSelected } from './tokens/revocation.js';

/** Who acted: the `gatehouse` command, the admin console, or the user on the account pages. */
export type Actor = 'cli' | 'admin' | 'user';

export type LifecycleRepositories = Pick<
  Repositories,
  | 'users'
  | 'sessions'
  | 'refreshTokens'
  | 'revokedAccessTokens'
  | 'grants'
  | 'clients'
  | 'codes'
  | 'deviceCodes'
  | 'totpCredentials'
  | 'recoveryCodes'
  | 'passkeys'
>;

export interface LifecycleDeps {
  /** The Storage, or a transaction's repositories (see the file comment about `events` then). */
  storage: LifecycleRepositories & { transaction?: Storage['transaction'] | undefined };
  events: Pick<SecurityEvents, 'record'>;
  /** deps.clock() of the caller, epoch seconds. */
  now: number;
  by: Actor;
  /** The address of whoever acted, when there is one (admin console, account pages). */
  ip?: string | null | undefined;
  /** The acting admin (admin API and console), named in the event's details. */
  admin?: { userId: string; username: string } | undefined;
}

/** One back-channel logout to send: a logout token for `subject` (and `sid` when one session ended) to each client. */
export interface LogoutNotice {
  subject: string;
  sid?: string | undefined;
  clients: Client[];
}

/** What an action revoked. */
export interface LifecycleResult {
  sessions: number;
  families: number;
  /** Distinct access-token ids denied. */
  accessTokens: number;
  codes: number;
  deviceCodes: number;
  grants: number;
  logout: LogoutNotice[];
}

const nothing = (): LifecycleResult => ({ sessions: 0, families: 0, accessTokens: 0, codes: 0, deviceCodes: 0, grants: 0, logout: [] });

/** The counts of a result as security-event details (no client objects). */
function counts(r: LifecycleResult, by: Actor): Record<string, unknown> {
  return {
    by,
    sessions: r.sessions,
    families: r.families,
    access_tokens: r.accessTokens,
    codes_voided: r.codes,
    device_codes_voided: r.deviceCodes,
    grants: r.grants,
  };
}

async function record(deps: LifecycleDeps, event: SecurityEventInput): Promise<void> {
  const admin = deps.admin ? { admin: deps.admin.username, admin_id: deps.admin.userId } : {};
  await deps.events.record({ ...event, details: { ...event.details, ...admin }, ip: deps.ip ?? null });
}

/** Everything of a user: sessions, families, access tokens, codes (and, when deleting, grants). */
async function revokeEverythingOf(tx: LifecycleRepositories, userId: string, now: number): Promise<LifecycleResult> {
  const clients = await backchannelTargets(tx, userId, now);
  const sessions = await tx.sessions.deleteByUser(userId);
  const revoked = await revokeSelected(tx, { userId }, now);
  return { ...revoked, sessions, grants: 0, logout: clients.length > 0 ? [{ subject: userId, clients }] : [] };
}

/** LC-01: disables a user and revokes everything of theirs; their grants stay for when they are enabled again. Undefined: no such user. */
export async function disableUser(deps: LifecycleDeps, userId: string): Promise<LifecycleResult | undefined> {
  const result = await atomically(deps.storage, async (tx) => {
    const user = await tx.users.findById(userId);
    if (!user) return undefined;
    await tx.users.setDisabled(userId, true, deps.now);
    return { user, result: await revokeEverythingOf(tx, userId, deps.now) };
  });
  if (!result) return undefined;
  await record(deps, { type: 'user.disabled', userId, username: result.user.username, details: counts(result.result, deps.by) });
  return result.result;
}

/** Enables a disabled user again (nothing was kept to restore but the grants). Undefined: no such user. */
export async function enableUser(deps: LifecycleDeps, userId: string): Promise<LifecycleResult | undefined> {
  const user = await atomically(deps.storage, async (tx) => {
    const found = await tx.users.findById(userId);
    if (found) await tx.users.setDisabled(userId, false, deps.now);
    return found;
  });
  if (!user) return undefined;
  const result = nothing();
  await record(deps, { type: 'user.enabled', userId, username: user.username, details: counts(result, deps.by) });
  return result;
}

/** LC-01: deletes a user with everything of theirs, grants included. Undefined: no such user. */
export async function deleteUser(deps: LifecycleDeps, userId: string): Promise<LifecycleResult | undefined> {
  const result = await atomically(deps.storage, async (tx) => {
    const user = await tx.users.findById(userId);
    if (!user) return undefined;
    const revoked = await revokeEverythingOf(tx, userId, deps.now);
    revoked.grants = await tx.grants.deleteAll({ userId });
    // Two-factor sign-in: the user's TOTP credential, recovery codes and passkeys go with the user.
    await tx.totpCredentials.delete(userId);
    await tx.recoveryCodes.deleteAllOf(userId);
    await tx.passkeys.deleteAllOf(userId);
    await tx.users.delete(userId);
    return { user, result: revoked };
  });
  if (!result) return undefined;
  await record(deps, { type: 'user.deleted', userId, username: result.user.username, details: counts(result.result, deps.by) });
  return result.result;
}

export const MIN_PASSWORD_LENGTH = 8;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `the password must have at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

export interface SetPasswordOptions {
  /**
   * What else ends: `everywhere` (the default; an operator's reset after a compromise: every session,
   * family and access token), `other-sessions` (the account page's change of password: everything
   * not issued in `keepSession`), `other-sessions-all-tokens` (the account page's change of password:
   * every other session ends and every refresh-token family and access token of the user is revoked,
   * but `keepSession` stays signed in at the server), or `nowhere`.
   */
  signOut?: 'everywhere' | 'other-sessions' | 'other-sessions-all-tokens' | 'nowhere';
  /** The session to keep with `other-sessions` (the browser that changed the password). */
  keepSession?: Pick<Session, 'idHash' | 'sid'> | undefined;
}

/**
 * LC-01: sets a user's password (argon2id, oauth/passwords.ts) and revokes as `options.signOut` says.
 * Throws RangeError for a password passwordProblem refuses. Undefined: no such user.
 */
export async function setUserPassword(
  deps: LifecycleDeps,
  userId: string,
  password: string,
  options: SetPasswordOptions = {},
): Promise<LifecycleResult | undefined> {
  const problem = passwordProblem(password);
  if (problem) throw new RangeError(problem);
  const signOut = options.signOut ?? 'everywhere';
  const keep = options.keepSession;
  if ((signOut === 'other-sessions' || signOut === 'other-sessions-all-tokens') && !keep)
    throw new TypeError(`signOut ${signOut} needs keepSession`);
  const passwordHash = await hashPassword(password); // slow: outside the transaction
  const result = await atomically(deps.storage, async (tx) => {
    const user = await tx.users.findById(userId);
    if (!user) return undefined;
    await tx.users.setPasswordHash(userId, passwordHash, deps.now);
    if (signOut === 'nowhere') return { user, result: nothing() };
    if (signOut === 'everywhere') return { user, result: await revokeEverythingOf(tx, userId, deps.now) };
    // Other sessions: each ended session gets its own logout token (with its sid), so that the
    // relying parties keep the session of the browser that changed the password.
    const clients = await backchannelTargets(tx, userId, deps.now);
    const others = (await tx.sessions.listOf(userId)).filter((s) => s.idHash !== keep!.idHash);
    for (const session of others) await tx.sessions.delete(session.idHash);
    const allTokens = signOut === 'other-sessions-all-tokens';
    const revoked = await revokeSelected(tx, allTokens ? { userId } : { userId, exceptSid: keep!.sid }, deps.now);
    // Every relying party loses its tokens with all-tokens: one logout token for the subject then.
    const logout =
      clients.length === 0
        ? []
        : allTokens
          ? [{ subject: userId, clients }]
          : others.map((s) => ({ subject: userId, sid: s.sid, clients }));
    return { user, result: { ...revoked, sessions: others.length, grants: 0, logout } };
  });
  if (!result) return undefined;
  await record(deps, {
    type: 'user.password_set',
    userId,
    username: result.user.username,
    details: { ...counts(result.result, deps.by), sign_out: signOut },
  });
  return result.result;
}

/** A grant (consent) as the account page and `grants list` show it. */
export interface GrantView extends Grant {
  /** The client's name; null when the client is gone (its grant is then stale). */
  clientName: string | null;
}

/** A user's grants, of one client when given. */
export async function listGrants(
  storage: Pick<Repositories, 'grants' | 'clients'>,
  userId: string,
  clientId?: string,
): Promise<GrantView[]> {
  const grants = await storage.grants.listOf(userId, clientId);
  const views: GrantView[] = [];
  for (const grant of grants) views.push({ ...grant, clientName: (await storage.clients.find(grant.clientId))?.clientName ?? null });
  return views;
}

/**
 * LC-01, LC-02: revokes a user's grant (consent) to one client, or to every client when none is
 * given ("Remove access"): the grant rows go, and with them the client's families, access tokens and
 * unredeemed codes of that user. The user's sessions at the server stay. Undefined: no such user.
 */
export async function revokeGrant(deps: LifecycleDeps, userId: string, clientId?: string): Promise<LifecycleResult | undefined> {
  const result = await atomically(deps.storage, async (tx) => {
    const user = await tx.users.findById(userId);
    if (!user) return undefined;
    const grants = await tx.grants.listOf(userId, clientId);
    // Clients reached: the granted ones, and any holding a live family of the user without a grant.
    const ids = new Set(grants.map((g) => g.clientId));
    if (clientId !== undefined) ids.add(clientId);
    else for (const id of await tx.refreshTokens.clientsOf(userId, deps.now)) ids.add(id);
    const total = nothing();
    const clients: Client[] = [];
    for (const id of [...ids].sort()) {
      if (await tx.grants.delete(userId, id)) total.grants += 1;
      const revoked = await revokeSelected(tx, { userId, clientId: id }, deps.now);
      total.families += revoked.families;
      total.accessTokens += revoked.accessTokens;
      total.codes += revoked.codes;
      total.deviceCodes += revoked.deviceCodes;
      const client = await tx.clients.find(id);
      if (client && backchannelLogoutUriOf(client)) clients.push(client);
    }
    if (clients.length > 0) total.logout.push({ subject: userId, clients });
    return { user, grants, result: total };
  });
  if (!result) return undefined;
  const type = deps.by === 'user' ? 'consent.revoked' : 'grant.revoked';
  if (result.grants.length === 0 && clientId !== undefined) {
    await record(deps, { type, userId, username: result.user.username, clientId, details: counts(result.result, deps.by) });
  }
  for (const grant of result.grants) {
    await record(deps, {
      type,
      userId,
      username: result.user.username,
      clientId: grant.clientId,
      details: { by: deps.by, scope: grant.scopes.join(' ') },
    });
  }
  return result.result;
}

/**
 * LC-01: deletes a client and everything issued to it: every user's grant, family, access token and
 * unredeemed code or device code of that client. Its back-channel logout URI (if any) is told about
 * every user who had a grant or a live family. Undefined: no such client.
 */
export async function deleteClient(deps: LifecycleDeps, clientId: string): Promise<LifecycleResult | undefined> {
  const result = await atomically(deps.storage, async (tx) => {
    const client = await tx.clients.find(clientId);
    if (!client) return undefined;
    const users = [...new Set([...(await tx.grants.usersOf(clientId)), ...(await tx.refreshTokens.usersOf(clientId, deps.now))])].sort();
    const grants = await tx.grants.deleteAll({ clientId });
    const revoked = await revokeSelected(tx, { clientId }, deps.now);
    await tx.clients.delete(clientId);
    const logout = backchannelLogoutUriOf(client) ? users.map((subject) => ({ subject, clients: [client] })) : [];
    return { ...revoked, sessions: 0, grants, logout };
  });
  if (!result) return undefined;
  await record(deps, { type: 'client.deleted', clientId, details: counts(result, deps.by) });
  return result;
}

/**
 * Signs a user out everywhere (oauth/logout.ts revokeUserSessions): every session, family, access
 * token and unredeemed code; grants stay. Undefined: no such user.
 */
export async function signOutEverywhere(deps: LifecycleDeps, userId: string): Promise<LifecycleResult | undefined> {
  const user = await deps.storage.users.findById(userId);
  if (!user) return undefined;
  const { targets, ...revoked } = await revokeUserSessions(deps.storage, userId, deps.now);
  const result: LifecycleResult = { ...revoked, grants: 0, logout: targets.length > 0 ? [{ subject: userId, clients: targets }] : [] };
  await record(deps, { type: 'session.revoked', userId, username: user.username, details: counts(result, deps.by) });
  return result;
}

/**
 * A user's own name and email, from the account page. A changed email is no longer verified: the
 * email_verified claim goes with the old address (relying parties must not trust the new one as
 * verified). Undefined: no such user.
 */
export async function updateProfile(
  deps: LifecycleDeps,
  userId: string,
  profile: { name: string | null; email: string | null },
): Promise<{ changed: string[] } | undefined> {
  const user = await deps.storage.users.findById(userId);
  if (!user) return undefined;
  const changed = [...(user.name !== profile.name ? ['name'] : []), ...(user.email !== profile.email ? ['email'] : [])];
  if (changed.length === 0) return { changed };
  const { email_verified: _verified, ...rest } = user.claims;
  const claims = changed.includes('email') ? rest : user.claims;
  await deps.storage.users.setProfile(userId, { ...profile, claims }, deps.now);
  await record(deps, { type: 'user.profile_updated', userId, username: user.username, details: { by: deps.by, fields: changed } });
  return { changed };
}

/**
 * Ends one session of a user (the account page's "Sign out" of a session): oauth/logout.ts
 * endBrowserSession, then one event. Undefined: no such live session of that user.
 */
export async function endUserSession(
  deps: LifecycleDeps,
  userId: string,
  sid: string,
): Promise<{ session: Session; logout: LogoutNotice[] } | undefined> {
  const session = (await deps.storage.sessions.listOf(userId)).find((s) => s.sid === sid && s.expiresAt > deps.now);
  if (!session) return undefined;
  const { targets, families, accessTokens, codes } = await endBrowserSession(deps.storage, session, deps.now);
  const user = await deps.storage.users.findById(userId);
  await record(deps, {
    type: 'session.revoked',
    userId,
    username: user?.username ?? null,
    details: { by: deps.by, sid, families, access_tokens: accessTokens, codes_voided: codes },
  });
  return { session, logout: targets.length > 0 ? [{ subject: userId, sid: session.sid, clients: targets }] : [] };
}

/**
 * Sends the logout tokens of a result (Back-Channel Logout 1.0 §2.5), after its transaction committed.
 * Never rejects; one DeliveryResult per (notice, client).
 */
export async function sendLogoutNotices(
  deps: BackchannelDeps,
  notices: readonly LogoutNotice[],
  log: Log,
  now: number,
): Promise<DeliveryResult[]> {
  const results = await Promise.all(
    notices.map((n) => sendBackchannelLogout(deps, n.clients, { subject: n.subject, sid: n.sid }, log, now)),
  );
  return results.flat();
}
