// RFC 6749 §4.1.3, RFC 7636 §4.6, OAuth 2.1 §4.1.3: redeem an authorization code.
// One conditional update in one transaction consumes the code, so two concurrent redemptions cannot
// both win; a reused code revokes everything issued from it (AC-01).
import { randomToken, sha256 } from '../crypto.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import { required, single } from '../params.js';
import { isValidVerifier, verifierMatches } from '../pkce.js';
import { isSubset } from '../scopes.js';
import type { KeyStore } from '../keys/key-store.js';
import { revokeFamily } from '../tokens/revocation.js';
import type { Storage } from '../../storage/index.js';
import type { GrantHandler, TokenResponse } from './types.js';
import { refreshTokenRow, userAccessToken, userIdToken, type TokenConfig } from './issue.js';

export interface AuthorizationCodeDeps {
  config: TokenConfig;
  keys: KeyStore;
  storage: Pick<Storage, 'transaction' | 'codes' | 'users' | 'grants'>;
}

const MAX_CODE_LENGTH = 256;

export const authorizationCodeGrant = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier'],
  async handle({ params, client, now }, { config, keys, storage }): Promise<TokenResponse> {
    const code = required(params, 'code');
    const redirectUri = single(params, 'redirect_uri');
    const verifier = single(params, 'code_verifier');
    if (code.length > MAX_CODE_LENGTH) throw invalidGrant('the authorization code is invalid or expired');

    const codeHash = sha256(code);
    const row = await storage.codes.findByHash(codeHash);
    if (!row) throw invalidGrant('the authorization code is invalid or expired', { detail: 'unknown code' });
    // AC-03: a code presented by another client is simply invalid for that client.
    if (row.client_id !== client.clientId) throw invalidGrant('the authorization code is invalid or expired', { detail: 'code of another client' });
    const familyRevocation = {
      familyId: row.family_id,
      codeAccessToken: row.access_token_jti && row.access_token_expires_at ? { jti: row.access_token_jti, expiresAt: row.access_token_expires_at } : undefined,
    };
    if (row.consumed_at !== null) {
      await revokeFamily(storage, familyRevocation, now);
      throw invalidGrant('the authorization code is invalid or expired', { detail: 'code reuse: tokens revoked' });
    }
    if (row.expires_at <= now) throw invalidGrant('the authorization code is invalid or expired', { detail: 'expired code' });

    // RU-07: the redirect_uri must be the one used at the authorization endpoint.
    if (row.redirect_uri_provided === 1 && redirectUri === undefined) throw invalidRequest('missing required parameter: redirect_uri');
    if (redirectUri !== undefined && redirectUri !== row.redirect_uri) throw invalidGrant('redirect_uri does not match the authorization request');

    // PK-03 / PK-04: verifier required and matching when a challenge was sent; refused when none was.
    if (row.code_challenge !== null) {
      if (verifier === undefined) throw invalidGrant('code_verifier is required');
      if (!isValidVerifier(verifier) || !verifierMatches(verifier, row.code_challenge)) throw invalidGrant('code_verifier does not match the code challenge');
    } else if (verifier !== undefined) {
      throw invalidRequest('code_verifier was sent but the authorization request had no code_challenge');
    }

    // AC-07: the user must still exist and be enabled, and the consent must still cover the scope.
    const user = await storage.users.findById(row.user_id);
    if (!user || user.disabled === 1) throw invalidGrant('the authorization code is invalid or expired', { detail: 'user gone or disabled' });
    const scopes = row.scope.split(' ').filter((s) => s.length > 0);
    const grant = await storage.grants.find(row.user_id, client.clientId);
    if (!grant || !isSubset(scopes, grant.scope.split(' '))) throw invalidGrant('the authorization code is invalid or expired', { detail: 'consent revoked' });

    const access = await userAccessToken(keys, config, client, row.user_id, row.scope, now, row.auth_time, row.sid);
    const refreshToken = client.grantTypes.includes('refresh_token') && scopes.includes('offline_access') ? randomToken() : undefined;

    const won = await storage.transaction(async (tx) => {
      if (!(await tx.codes.consume(codeHash, now, access.jti, access.expiresAt))) return false;
      if (refreshToken !== undefined) {
        await tx.refreshTokens.create(refreshTokenRow(refreshToken, {
          familyId: row.family_id, clientId: client.clientId, userId: row.user_id, scope: row.scope,
          authTime: row.auth_time, sid: row.sid, expiresAt: now + config.refreshTokenTtl,
        }, access, now, config.refreshTokenIdleTtl));
      }
      return true;
    });
    if (!won) {
      // A concurrent redemption won: this is reuse, and the winner's tokens are revoked too (R3).
      const again = await storage.codes.findByHash(codeHash);
      await revokeFamily(storage, {
        familyId: row.family_id,
        codeAccessToken: again?.access_token_jti && again.access_token_expires_at ? { jti: again.access_token_jti, expiresAt: again.access_token_expires_at } : undefined,
      }, now);
      throw invalidGrant('the authorization code is invalid or expired', { detail: 'lost a concurrent redemption' });
    }

    const response: TokenResponse = { access_token: access.token, token_type: 'Bearer', expires_in: config.accessTokenTtl, scope: row.scope };
    if (refreshToken !== undefined) response.refresh_token = refreshToken;
    if (scopes.includes('openid')) {
      response.id_token = await userIdToken(keys, config, client, user, scopes, now, {
        authTime: row.auth_time, nonce: row.nonce, sid: row.sid, accessToken: access.token,
      });
    }
    return response;
  },
} satisfies GrantHandler<AuthorizationCodeDeps>;
