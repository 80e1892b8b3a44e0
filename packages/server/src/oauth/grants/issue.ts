// Shared token issuance for the user-bound grants (authorization_code, refresh_token).
import { accessTokenAudience, type Config } from '../../config/config.js';
import { claimsForScopes } from '../claims.js';
import type { Client } from '../clients.js';
import type { KeyStore, SigningAlg } from '../keys/key-store.js';
import { mintAccessToken, mintIdToken, type MintedAccessToken } from '../tokens/jwt.js';
import type { RefreshTokenRow, UserRow } from '../../storage/index.js';
import { sha256 } from '../crypto.js';

export type TokenConfig = Pick<Config, 'issuer' | 'accessTokenTtl' | 'accessTokenAudience' | 'refreshTokenTtl' | 'refreshTokenIdleTtl' | 'idTokenTtl'>;

export function userAccessToken(
  keys: KeyStore, config: TokenConfig, client: Client, userId: string, scope: string, now: number,
  authTime: number, sid: string | null,
): Promise<MintedAccessToken> {
  return mintAccessToken(keys, {
    issuer: config.issuer,
    audience: accessTokenAudience(config as Config),
    ttl: config.accessTokenTtl,
    subject: userId,
    clientId: client.clientId,
    scope,
    now,
    authTime,
    sid,
  });
}

export function idTokenAlg(client: Client): SigningAlg {
  const alg = client.metadata.id_token_signed_response_alg;
  return typeof alg === 'string' ? (alg as SigningAlg) : 'RS256';
}

export function userIdToken(
  keys: KeyStore, config: TokenConfig, client: Client, user: UserRow, scopes: readonly string[], now: number,
  extra: { authTime: number; nonce?: string | null; sid?: string | null; accessToken: string },
): Promise<string> {
  return mintIdToken(keys, {
    issuer: config.issuer,
    clientId: client.clientId,
    subject: user.id,
    alg: idTokenAlg(client),
    ttl: config.idTokenTtl,
    now,
    authTime: extra.authTime,
    nonce: extra.nonce,
    sid: extra.sid,
    accessToken: extra.accessToken,
    claims: claimsForScopes(user, scopes),
  });
}

export interface FamilyMember {
  familyId: string;
  clientId: string;
  userId: string;
  /** The scope granted to the family (a refresh may narrow the access token, never the family). */
  scope: string;
  authTime: number;
  sid: string | null;
  /** The family's absolute expiry: a rotation never extends it. */
  expiresAt: number;
}

/** The stored row of a new refresh token of a family, with the access token issued beside it. */
export function refreshTokenRow(
  token: string, family: FamilyMember, access: MintedAccessToken, now: number, idleTtl: number,
): RefreshTokenRow {
  return {
    token_hash: sha256(token),
    family_id: family.familyId,
    client_id: family.clientId,
    user_id: family.userId,
    scope: family.scope,
    auth_time: family.authTime,
    sid: family.sid,
    created_at: now,
    expires_at: family.expiresAt,
    idle_expires_at: Math.min(now + idleTtl, family.expiresAt),
    rotated_at: null,
    revoked_at: null,
    access_token_jti: access.jti,
    access_token_expires_at: access.expiresAt,
  };
}
