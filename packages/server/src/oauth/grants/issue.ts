// Token issuance shared by the user-bound grants (the code grant and the refresh grant).
import type { Config } from '../../config/config.js';
import type { Client, RefreshToken, User } from '../../storage/index.js';
import { claimsForScopes } from '../claims.js';
import { sha256 } from '../crypto.js';
import type { KeyStore, SigningAlg } from '../keys/key-store.js';
import { formatScope } from '../scopes.js';
import type { TokenTarget } from '../resources.js';
import { mintAccessToken, mintIdToken, type MintedAccessToken } from '../tokens/jwt.js';
import type { TokenResponse } from './types.js';

export type TokenConfig = Pick<
  Config,
  'issuer' | 'accessTokenTtl' | 'accessTokenAudience' | 'refreshTokenTtl' | 'refreshTokenIdleTtl' | 'idTokenTtl'
>;

/** Who a user-bound token is for, from which sign-in, and for which audience (oauth/resources.ts). */
export interface UserTokenSubject {
  client: Client;
  userId: string;
  target: TokenTarget;
  authTime: number;
  sid: string | null;
  now: number;
}

export function userAccessToken(keys: KeyStore, config: TokenConfig, subject: UserTokenSubject): Promise<MintedAccessToken> {
  return mintAccessToken(keys, {
    issuer: config.issuer,
    alg: subject.target.alg,
    audience: subject.target.audience,
    ttl: subject.target.ttl,
    subject: subject.userId,
    clientId: subject.client.clientId,
    scope: formatScope(subject.target.scopes),
    now: subject.now,
    authTime: subject.authTime,
    sid: subject.sid,
  });
}

/** RFC 6749 §5.1, §3.3: the token response of a user-bound grant (scope always stated). */
export function tokenResponse(access: MintedAccessToken, target: TokenTarget): TokenResponse {
  return { access_token: access.token, token_type: 'Bearer', expires_in: target.ttl, scope: formatScope(target.scopes) };
}

/** OIDC Registration §2: the client's id_token_signed_response_alg, RS256 when it registered none. */
export function idTokenAlg(client: Client): SigningAlg {
  const alg = client.metadata.id_token_signed_response_alg;
  return typeof alg === 'string' ? (alg as SigningAlg) : 'RS256';
}

export interface IdTokenInput {
  client: Client;
  user: User;
  scopes: readonly string[];
  authTime: number;
  sid: string | null;
  nonce?: string | null | undefined;
  /** The access token issued beside it (for at_hash). */
  accessToken: string;
  now: number;
}

export function userIdToken(keys: KeyStore, config: TokenConfig, input: IdTokenInput): Promise<string> {
  return mintIdToken(keys, {
    issuer: config.issuer,
    clientId: input.client.clientId,
    subject: input.user.id,
    alg: idTokenAlg(input.client),
    ttl: config.idTokenTtl,
    now: input.now,
    authTime: input.authTime,
    nonce: input.nonce,
    sid: input.sid,
    accessToken: input.accessToken,
    claims: claimsForScopes(input.user, input.scopes),
  });
}

/** What every refresh token of a family shares. */
export type FamilyMember = Pick<
  RefreshToken,
  'familyId' | 'clientId' | 'userId' | 'scopes' | 'resources' | 'authTime' | 'sid' | 'expiresAt'
>;

/** The stored record of a new refresh token of a family, with the access token issued beside it. */
export function newRefreshToken(
  token: string,
  family: FamilyMember,
  access: MintedAccessToken,
  now: number,
  idleTtl: number,
): RefreshToken {
  return {
    ...family,
    tokenHash: sha256(token),
    createdAt: now,
    idleExpiresAt: Math.min(now + idleTtl, family.expiresAt),
    rotatedAt: null,
    revokedAt: null,
    accessToken: { jti: access.jti, expiresAt: access.expiresAt },
    successor: null,
  };
}
