// RFC 6749 §6, RFC 9700 §4.14.2: refresh with rotation on every use; scope may narrow, never widen, and
// the family keeps the originally granted scope. Reuse policy, in one place:
// - within the grace window after a rotation (--refresh-reuse-grace, 10 s by default; RG-01), a replay of
//   the rotated token by its client gets the same successor response (refresh-grace.ts): parallel
//   refreshes and retries after a lost response converge on one live token;
// - after the window, or with the window off (0, strict: RT-07), a replay of a rotated token revokes the
//   whole family (RT-02). The database decides which request rotated, so this holds across nodes.
// LC-02: every refresh re-checks that the user still exists and is enabled and that the grant
// (consent) to this client still covers the family's scope (read with the token, one statement); the
// client exists, since it just authenticated.
import type { Config } from '../../config/config.js';
import type { Client, RefreshToken, Storage } from '../../storage/index.js';
import { randomToken, sha256 } from '../crypto.js';
import { invalidGrant, invalidScope } from '../errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { required, single } from '../params.js';
import { consentItems, grantResources, grantTarget, RESOURCE_PARAMETER } from '../resources.js';
import { isSubset, parseScope } from '../scopes.js';
import { revokeFamily } from '../tokens/revocation.js';
import { newRefreshToken, recordGrantUse, tokenResponse, userAccessToken, userIdToken, type TokenConfig } from './issue.js';
import { graceAnswer, successorFor } from './refresh-grace.js';
import type { GrantDeps, GrantHandler, TokenResponse } from './types.js';

export interface RefreshTokenDeps {
  config: TokenConfig & Pick<Config, 'refreshReuseGrace'>;
  keys: KeyStore;
  storage: Pick<Storage, 'transaction' | 'refreshTokens' | 'users' | 'resources' | 'grants'>;
  events: GrantDeps['events'];
}

const INVALID = 'the refresh token is invalid, expired or revoked';
export const MAX_REFRESH_TOKEN_LENGTH = 256;

export const refreshTokenGrant = {
  grantType: 'refresh_token' as const,
  parameters: ['refresh_token', 'scope', RESOURCE_PARAMETER],
  registration: { byDefault: true, needsRefreshTokenIssuer: true },
  async handle({ params, client, now, dpopJkt }, { config, keys, storage, events }): Promise<TokenResponse> {
    const presented = required(params, 'refresh_token');
    const requested = parseScope(single(params, 'scope'));
    if (presented.length > MAX_REFRESH_TOKEN_LENGTH) throw invalidGrant(INVALID);

    const tokenHash = sha256(presented);
    // The token, its user and its grant in one statement (the hot path of every refresh).
    const found = await storage.refreshTokens.findByHashWithUser(tokenHash);
    if (!found) throw invalidGrant(INVALID, { detail: 'unknown refresh token' });
    const { token: stored, user, grant } = found;
    if (stored.clientId !== client.clientId) throw invalidGrant(INVALID, { detail: 'refresh token of another client' });
    if (stored.revokedAt !== null) throw invalidGrant(INVALID, { detail: 'revoked family' });
    // DP-02, RFC 9449 §5: a public client's bound refresh token is usable only with a proof of its key.
    if (stored.dpopJkt && stored.dpopJkt !== dpopJkt)
      throw invalidGrant(INVALID, {
        detail: dpopJkt ? 'refresh token bound to another DPoP key' : 'DPoP-bound refresh token without a proof',
      });
    if (stored.rotatedAt !== null) return replayed(stored, presented, { storage, events, now, dpopJkt });
    if (stored.expiresAt <= now || stored.idleExpiresAt <= now) throw invalidGrant(INVALID, { detail: 'expired' });

    if (!isSubset(requested, stored.scopes)) throw invalidScope('the requested scope exceeds the scope originally granted');
    const scopes = requested.length > 0 ? requested : stored.scopes;

    if (!user || user.disabled) throw invalidGrant(INVALID, { detail: 'user gone or disabled' });
    const granted = await grantResources(stored.resources, storage.resources);
    if (!grant || !isSubset(consentItems(stored.scopes, granted), grant.scopes)) throw invalidGrant(INVALID, { detail: 'consent revoked' });

    const target = grantTarget(params, client, granted, scopes, config);
    const signIn = { authTime: stored.authTime, sid: stored.sid };
    const access = await userAccessToken(keys, config, { client, userId: stored.userId, target, ...signIn, now, dpopJkt });
    const next = randomToken();
    const response: TokenResponse = { ...tokenResponse(access, target), refresh_token: next };
    if (scopes.includes('openid')) {
      response.id_token = await userIdToken(keys, config, {
        client,
        user,
        scopes,
        ...signIn,
        amr: stored.amr,
        acr: stored.acr,
        accessToken: access.token,
        now,
      });
    }
    const successor = newRefreshToken(next, stored, access, now, config.refreshTokenIdleTtl);
    const won = await storage.transaction(async (tx) => {
      const sealed = successorFor(presented, tokenHash, successor.tokenHash, response, config.refreshReuseGrace, now);
      if (!(await tx.refreshTokens.markRotated(tokenHash, now, sealed))) return false;
      await tx.refreshTokens.create(successor);
      return true;
    });
    // A concurrent request rotated it first: this one is a replay of a just-rotated token.
    if (!won) return replayed((await storage.refreshTokens.findByHash(tokenHash)) ?? stored, presented, { storage, events, now, dpopJkt });
    await recordGrantUse(storage.grants, grant, now);
    return response;
  },
} satisfies GrantHandler<RefreshTokenDeps>;

/** A rotated token presented again: the grace answer, or reuse that revokes the family. */
async function replayed(
  stored: RefreshToken,
  presented: string,
  {
    storage,
    events,
    now,
    dpopJkt,
  }: { storage: RefreshTokenDeps['storage']; events: RefreshTokenDeps['events']; now: number; dpopJkt: string | undefined },
): Promise<TokenResponse> {
  const successor = stored.successor ? await storage.refreshTokens.findByHash(stored.successor.hash) : undefined;
  const again = graceAnswer(stored, presented, successor, now, dpopJkt);
  if (again) return again;
  await revokeFamily(storage, { familyId: stored.familyId }, now);
  await events.record({ type: 'refresh.reused', userId: stored.userId, clientId: stored.clientId, details: { family: stored.familyId } });
  throw invalidGrant(INVALID, {
    detail: 'refresh_reuse_detected: a rotated refresh token was replayed; family revoked',
    cause: { familyId: stored.familyId },
  });
}

/** A refresh token comes with a user-bound grant when the client may refresh and the user allowed offline access. */
export function issuesRefreshTokens(client: Pick<Client, 'grantTypes'>, scopes: readonly string[]): boolean {
  return client.grantTypes.includes(refreshTokenGrant.grantType) && scopes.includes('offline_access');
}
