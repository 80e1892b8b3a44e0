// RFC 7009 §2.1, §2.2: revoke a token on behalf of the client it was issued to.
// - A refresh token revokes its whole family: every refresh token of the grant and the access tokens
//   issued from it (RFC 7009 §2.1 "SHOULD also invalidate all access tokens based on the same grant").
// - An access token puts only its own jti on the denylist until it expires. RFC 7009 §2.1 says the
//   server MAY also revoke the refresh token; we do not: a client that drops one access token (say,
//   one it handed to a component it no longer trusts) keeps its grant.
// - Anything else — unknown, malformed, expired, already revoked or rotated, or issued to another
//   client — is ignored and the endpoint still answers 200 (RFC 7009 §2.2: invalid tokens cause no
//   error), so the endpoint is not an oracle for which tokens are valid.
// Storage errors propagate and the app answers 503: the endpoint never says 200 for a revocation that
// was not committed (fosite CVE-2020-15223).
import type { KeyStore } from '../keys/key-store.js';
import { lookupOrder } from './hint.js';
import { verifyOwnAccessToken } from './jwt.js';
import { revokeFamily } from './revocation.js';
import { activeRefreshToken } from './status.js';
import type { Storage } from '../../storage/index.js';

export interface RevokeTokenDeps {
  keys: KeyStore;
  issuer: string;
  storage: Pick<Storage, 'transaction' | 'refreshTokens' | 'revokedAccessTokens' | 'users'>;
}

export interface RevokeTokenRequest {
  token: string;
  hint: string | undefined;
  /** The authenticated caller. */
  clientId: string;
  now: number;
}

/** For the log only; the HTTP answer is 200 in every case. */
export type RevocationOutcome = 'access_token_revoked' | 'refresh_family_revoked' | 'other_client' | 'not_found';

export async function revokeToken(deps: RevokeTokenDeps, request: RevokeTokenRequest): Promise<RevocationOutcome> {
  const { token, clientId, now } = request;
  for (const kind of lookupOrder(request.hint)) {
    if (kind === 'access_token') {
      // Our signature, not expired. The user's state does not matter here: a revocation must stick
      // even if the token is inactive for another reason that may later go away (user re-enabled).
      const claims = await verifyOwnAccessToken(deps.keys, deps.issuer, token);
      if (!claims || claims.exp <= now) continue;
      if (claims.client_id !== clientId) return 'other_client';
      await deps.storage.revokedAccessTokens.add([{ jti: claims.jti, expiresAt: claims.exp }]);
      return 'access_token_revoked';
    }
    const stored = await activeRefreshToken(deps, token, now);
    if (!stored) continue;
    if (stored.clientId !== clientId) return 'other_client';
    await revokeFamily(deps.storage, { familyId: stored.familyId }, now);
    return 'refresh_family_revoked';
  }
  return 'not_found';
}
