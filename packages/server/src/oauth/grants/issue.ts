// Shared token issuance for the user-bound grants (authorization_code, refresh_token).
import { accessTokenAudience, type Config } from '../../config/config.js';
import { claimsForScopes } from '../claims.js';
import type { Client } from '../clients.js';
import type { KeyStore, SigningAlg } from '../keys/key-store.js';
import { mintAccessToken, mintIdToken, type MintedAccessToken } from '../tokens/jwt.js';
import type { UserRow } from '../../storage/index.js';

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
