// Ending sessions: one browser session (RP-Initiated Logout 1.0, see endpoints/end-session.ts) or
// every session of a user (`gatehouse sessions revoke`), and telling the clients through
// OpenID Connect Back-Channel Logout 1.0 §2.4-2.8: a signed logout token POSTed as the form parameter
// `logout_token` to each client's registered backchannel_logout_uri. Delivery is fire-and-forget with
// a 5 s timeout: a slow or failing client is logged and never blocks or fails the logout.
import type { Config } from '../config/config.js';
import type { Log } from '../log.js';
import type { Client, Repositories, Session, Storage } from '../storage/index.js';
import { backchannelLogoutUriOf } from './clients.js';
import { randomToken } from './crypto.js';
import { idTokenAlg } from './grants/issue.js';
import type { KeyStore } from './keys/key-store.js';
import { atomically, revokeSelected, type SelectedRevocation } from './tokens/revocation.js';
import { signCompact } from './tokens/jws.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
export const LOGOUT_TOKEN_TTL = 120;
export const BACKCHANNEL_TIMEOUT_MS = 5000;

export interface LogoutTokenInput {
  issuer: string;
  client: Client;
  subject: string;
  /** The OP session (its public sid); absent means every session of the subject (§2.4). */
  sid?: string | undefined;
  now: number;
}

/**
 * Back-Channel Logout 1.0 §2.4: iss, aud, iat, exp, jti, sub and/or sid, events; never a nonce.
 * Signed like the client's ID tokens (RS256 unless it registered another algorithm), typ logout+jwt (§2.4, RFC 8725 §3.11).
 */
export async function mintLogoutToken(keys: KeyStore, input: LogoutTokenInput): Promise<string> {
  const key = keys.signingKey(idTokenAlg(input.client));
  const claims: Record<string, unknown> = {
    iss: input.issuer,
    aud: input.client.clientId,
    iat: input.now,
    exp: input.now + LOGOUT_TOKEN_TTL,
    jti: randomToken(16),
    sub: input.subject,
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
  };
  if (input.sid) claims.sid = input.sid;
  return signCompact(key, 'logout+jwt', claims);
}

/**
 * The clients to notify about a user's logout: those that registered a backchannel_logout_uri and
 * hold a grant (consent) or a live refresh-token family of the user. Gather them before revoking.
 */
export async function backchannelTargets(
  storage: Pick<Storage, 'clients' | 'grants' | 'refreshTokens'>,
  userId: string,
  now: number,
): Promise<Client[]> {
  const ids = new Set([...(await storage.grants.clientsOf(userId)), ...(await storage.refreshTokens.clientsOf(userId, now))]);
  const clients: Client[] = [];
  for (const id of [...ids].sort()) {
    const client = await storage.clients.find(id);
    if (client && backchannelLogoutUriOf(client)) clients.push(client);
  }
  return clients;
}

export interface DeliveryResult {
  clientId: string;
  ok: boolean;
  status?: number;
  error?: string;
}

export interface BackchannelDeps {
  config: Pick<Config, 'issuer'>;
  keys: KeyStore;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * §2.5: POSTs a logout token to every target, in parallel, each with its own timeout. Never rejects:
 * failures are logged (client_id and status, never the token) and reported in the result.
 * Redirects are not followed (§2.8: the RP answers 200, or 400 with an error).
 */
export async function sendBackchannelLogout(
  deps: BackchannelDeps,
  targets: readonly Client[],
  who: { subject: string; sid?: string | undefined },
  log: Log,
  now: number,
): Promise<DeliveryResult[]> {
  const doFetch = deps.fetch ?? fetch;
  const timeoutMs = deps.timeoutMs ?? BACKCHANNEL_TIMEOUT_MS;
  return Promise.all(
    targets.map(async (client): Promise<DeliveryResult> => {
      const uri = backchannelLogoutUriOf(client);
      if (!uri) return { clientId: client.clientId, ok: false, error: 'no backchannel_logout_uri' };
      try {
        const token = await mintLogoutToken(deps.keys, { issuer: deps.config.issuer, client, subject: who.subject, sid: who.sid, now });
        const res = await doFetch(uri, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ logout_token: token }).toString(),
          redirect: 'manual',
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.body?.cancel().catch(() => undefined);
        const ok = res.status >= 200 && res.status < 300;
        if (ok) log.info({ client_id: client.clientId, status: res.status }, 'back-channel logout delivered');
        else log.warn({ client_id: client.clientId, status: res.status }, 'back-channel logout refused by the client');
        return { clientId: client.clientId, ok, status: res.status };
      } catch (err) {
        const error = (err as Error)?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String((err as Error)?.message ?? err);
        log.warn({ client_id: client.clientId, error }, 'back-channel logout failed');
        return { clientId: client.clientId, ok: false, error };
      }
    }),
  );
}

/** Storage, or a transaction's repositories (then the caller's transaction is used). */
export type LogoutStorage = Pick<
  Repositories,
  'sessions' | 'refreshTokens' | 'grants' | 'clients' | 'codes' | 'revokedAccessTokens' | 'deviceCodes'
> & { transaction?: Storage['transaction'] | undefined };

export interface SessionEnd extends SelectedRevocation {
  targets: Client[];
}

/**
 * Ends one browser session, in one transaction: deletes its row, revokes the refresh-token families
 * issued in it (RT-06: logging out revokes the family), denies the access tokens issued in it without
 * offline_access and voids its unredeemed codes (SS-02). Returns the back-channel targets, gathered first.
 */
export async function endBrowserSession(storage: LogoutStorage, session: Session, now: number): Promise<SessionEnd> {
  return atomically(storage, async (tx) => {
    const targets = await backchannelTargets(tx, session.userId, now);
    await tx.sessions.delete(session.idHash);
    const revoked = await revokeSelected(tx, { userId: session.userId, sid: session.sid }, now, { keepOfflineAccess: true });
    return { ...revoked, targets };
  });
}

export interface UserRevocation extends SelectedRevocation {
  sessions: number;
  targets: Client[];
}

/**
 * Signs a user out everywhere (`gatehouse sessions revoke`), in one transaction: every session, every
 * refresh-token family with the access tokens issued alongside, the still-live access tokens issued
 * from codes or from device codes (denied by jti until they expire), and the unredeemed codes and
 * device codes. Returns the back-channel targets, gathered first.
 */
export async function revokeUserSessions(storage: LogoutStorage, userId: string, now: number): Promise<UserRevocation> {
  return atomically(storage, async (tx) => {
    const targets = await backchannelTargets(tx, userId, now);
    const sessions = await tx.sessions.deleteByUser(userId);
    const revoked = await revokeSelected(tx, { userId }, now);
    return { ...revoked, sessions, targets };
  });
}
