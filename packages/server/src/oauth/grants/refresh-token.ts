// RFC 6749 §6, RFC 9700 §4.14.2: refresh with rotation on every use. Reuse of a rotated token revokes
// the whole family; scope may narrow, never widen, and the family keeps the originally granted scope.
// Concurrency policy (RT-07): strict — of concurrent refreshes with one token exactly one succeeds,
// the others are treated as reuse.
import { randomToken, sha256 } from '../crypto.js';
import { invalidGrant, invalidScope } from '../errors.js';
import { required, single } from '../params.js';
import { formatScope, isSubset, parseScope } from '../scopes.js';
import type { KeyStore } from '../keys/key-store.js';
import { revokeFamily } from '../tokens/revocation.js';
import type { Storage } from '../../storage/index.js';
import type { GrantHandler, TokenResponse } from './types.js';
import { refreshTokenRow, userAccessToken, userIdToken, type TokenConfig } from './issue.js';

export interface RefreshTokenDeps {
  config: TokenConfig;
  keys: KeyStore;
  storage: Pick<Storage, 'transaction' | 'refreshTokens' | 'users'>;
}

const INVALID = 'the refresh token is invalid, expired or revoked';

export const refreshTokenGrant = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope'],
  async handle({ params, client, now }, { config, keys, storage }): Promise<TokenResponse> {
    const presented = required(params, 'refresh_token');
    const requested = parseScope(single(params, 'scope'));
    if (presented.length > 256) throw invalidGrant(INVALID);

    const tokenHash = sha256(presented);
    const row = await storage.refreshTokens.findByHash(tokenHash);
    if (!row) throw invalidGrant(INVALID, { detail: 'unknown refresh token' });
    if (row.client_id !== client.clientId) throw invalidGrant(INVALID, { detail: 'refresh token of another client' });
    if (row.revoked_at !== null) throw invalidGrant(INVALID, { detail: 'revoked family' });
    if (row.rotated_at !== null) {
      await revokeFamily(storage, { familyId: row.family_id }, now);
      throw invalidGrant(INVALID, { detail: 'rotated refresh token replayed: family revoked' });
    }
    if (row.expires_at <= now || row.idle_expires_at <= now) throw invalidGrant(INVALID, { detail: 'expired' });

    const granted = row.scope.split(' ').filter((s) => s.length > 0);
    if (!isSubset(requested, granted)) throw invalidScope('the requested scope exceeds the scope originally granted');
    const scopes = requested.length > 0 ? requested : granted;
    const scope = formatScope(scopes);

    const user = await storage.users.findById(row.user_id);
    if (!user || user.disabled === 1) throw invalidGrant(INVALID, { detail: 'user gone or disabled' });

    const access = await userAccessToken(keys, config, client, row.user_id, scope, now, row.auth_time, row.sid);
    const next = randomToken();
    const won = await storage.transaction(async (tx) => {
      if (!(await tx.refreshTokens.markRotated(tokenHash, now))) return false;
      await tx.refreshTokens.create(refreshTokenRow(next, {
        familyId: row.family_id, clientId: row.client_id, userId: row.user_id, scope: row.scope,
        authTime: row.auth_time, sid: row.sid, expiresAt: row.expires_at,
      }, access, now, config.refreshTokenIdleTtl));
      return true;
    });
    if (!won) {
      await revokeFamily(storage, { familyId: row.family_id }, now);
      throw invalidGrant(INVALID, { detail: 'concurrent refresh lost: family revoked' });
    }

    const response: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: config.accessTokenTtl, scope, refresh_token: next };
    if (scopes.includes('openid')) {
      response.id_token = await userIdToken(keys, config, client, user, scopes, now, { authTime: row.auth_time, sid: row.sid, accessToken: access.token });
    }
    return response;
  },
} satisfies GrantHandler<RefreshTokenDeps>;
