// Is a token we issued still good? Shared by userinfo (OIDC Core §5.3), introspection (RFC 7662)
// and revocation (RFC 7009). Access tokens: our signature and issuer, not expired, not on the jti
// denylist, and the user still enabled. Refresh tokens: known digest, not rotated, revoked or expired.
import { sha256 } from '../crypto.js';
import type { KeyStore } from '../keys/key-store.js';
import { verifyOwnAccessToken, type AccessTokenClaims } from './jwt.js';
import type { RefreshToken, Storage } from '../../storage/index.js';
import { MAX_REFRESH_TOKEN_LENGTH } from '../grants/refresh-token.js';

export interface TokenStatusDeps {
  keys: KeyStore;
  issuer: string;
  storage: Pick<Storage, 'revokedAccessTokens' | 'refreshTokens' | 'users'>;
}

export async function activeAccessToken(deps: TokenStatusDeps, token: string, now: number): Promise<AccessTokenClaims | undefined> {
  const claims = await verifyOwnAccessToken(deps.keys, deps.issuer, token);
  if (!claims || claims.exp <= now) return undefined;
  if (await deps.storage.revokedAccessTokens.isRevoked(claims.jti)) return undefined;
  if (claims.sub !== claims.client_id) {
    const user = await deps.storage.users.findById(claims.sub);
    if (!user || user.disabled) return undefined;
  }
  return claims;
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
  const found = await deps.storage.refreshTokens.findByHashWithUser(sha256(token));
  if (!found || !isLiveRefreshToken(found.token, now)) return undefined;
  return found.user && !found.user.disabled ? found.token : undefined;
}

function isLiveRefreshToken(stored: RefreshToken, now: number): boolean {
  return stored.revokedAt === null && stored.rotatedAt === null && stored.expiresAt > now && stored.idleExpiresAt > now;
}
