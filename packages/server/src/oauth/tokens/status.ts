// Is a token we issued still good? Shared by userinfo (OIDC Core §5.3), introspection (RFC 7662)
// and revocation (RFC 7009). Access tokens: our signature and issuer, not expired, not on the jti
// denylist, the client still registered and the user still there and enabled (LC-01) — the last
// three read in one statement per request, never cached. Refresh tokens: known digest, not rotated,
// revoked or expired.
import { sha256 } from '../crypto.js';
import type { KeyStore } from '../keys/key-store.js';
import { verifyOwnAccessToken, type AccessTokenClaims } from './jwt.js';
import type { RefreshToken, Storage, User } from '../../storage/index.js';
import { MAX_REFRESH_TOKEN_LENGTH } from '../grants/refresh-token.js';

export interface TokenStatusDeps {
  keys: KeyStore;
  issuer: string;
  storage: Pick<Storage, 'revokedAccessTokens' | 'refreshTokens' | 'users'>;
}

export async function activeAccessToken(deps: TokenStatusDeps, token: string, now: number): Promise<AccessTokenClaims | undefined> {
  return (await activeAccessTokenWithUser(deps, token, now))?.claims;
}

/** activeAccessToken with the token's user (undefined for a client's own token, whose sub is its client_id). */
export async function activeAccessTokenWithUser(
  deps: TokenStatusDeps,
  token: string,
  now: number,
): Promise<{ claims: AccessTokenClaims; user: User | undefined } | undefined> {
  const claims = await verifyOwnAccessToken(deps.keys, deps.issuer, token);
  if (!claims || claims.exp <= now) return undefined;
  const state = await deps.storage.revokedAccessTokens.accessTokenState(claims.jti, claims.client_id, claims.sub);
  // No state: the client was deleted (LC-01).
  if (!state || state.revoked) return undefined;
  if (claims.sub === claims.client_id) return { claims, user: undefined };
  if (!state.user || state.user.disabled) return undefined;
  return { claims, user: state.user };
}

/** A live refresh token: known digest, not rotated, revoked or expired. */
export async function activeRefreshToken(
  deps: Pick<TokenStatusDeps, 'storage'>,
  token: string,
  now: number,
): Promise<RefreshToken | undefined> {
  if (token.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  const stored = await deps.storage.refreshTokens.findByHash(sha256(token));
  return stored && isLiveRefreshToken(stored, now) ? stored : undefined;
}

/** activeRefreshToken with the token's user read in the same statement; undefined also when the user is gone or disabled. */
export async function activeRefreshTokenOfEnabledUser(
  deps: Pick<TokenStatusDeps, 'storage'>,
  token: string,
  now: number,
): Promise<RefreshToken | undefined> {
  if (token.length > MAX_REFRESH_TOKEN_LENGTH) return undefined;
  const found = await deps.storage.refreshTokens.findByHashWithUserState(sha256(token));
  if (!found || !isLiveRefreshToken(found.token, now)) return undefined;
  return found.userEnabled ? found.token : undefined;
}

function isLiveRefreshToken(stored: RefreshToken, now: number): boolean {
  return stored.revokedAt === null && stored.rotatedAt === null && stored.expiresAt > now && stored.idleExpiresAt > now;
}
