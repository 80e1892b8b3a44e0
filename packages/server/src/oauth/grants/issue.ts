// Token issuance shared by the user-bound grants (the code, device and refresh grants).
import type { Config } from '../../config/config.js';
import type { AccessTokenRef, Client, Grant, RefreshToken, Repositories, Storage, User } from '../../storage/index.js';
import { claimsForScopes } from '../claims.js';
import { randomToken, sha256 } from '../crypto.js';
import { invalidGrant } from '../errors.js';
import type { KeyStore, SigningAlg } from '../keys/key-store.js';
import { formatScope } from '../scopes.js';
import type { TokenTarget } from '../resources.js';
import { mintAccessToken, mintIdToken, type MintedAccessToken } from '../tokens/jwt.js';
import { revokeFamily } from '../tokens/revocation.js';
import { issuesRefreshTokens } from './refresh-token.js';
import type { TokenResponse } from './types.js';

export type TokenConfig = Pick<
  Config,
  'issuer' | 'accessTokenTtl' | 'accessTokenAudience' | 'refreshTokenTtl' | 'refreshTokenIdleTtl' | 'idTokenTtl'
>;

/** last_used_at of a grant moves at most once a minute (the account page shows when an app last used it). */
export const GRANT_USE_RESOLUTION = 60;

/**
 * Records that a token was issued for `grant` (the code exchange and the refresh): nothing is written
 * when the time read with the grant is under a minute old, so the hot path stays one read.
 */
export async function recordGrantUse(grants: Pick<Repositories['grants'], 'touch'>, grant: Grant, now: number): Promise<void> {
  if (grant.lastUsedAt !== null && now - grant.lastUsedAt < GRANT_USE_RESOLUTION) return;
  await grants.touch(grant.userId, grant.clientId, now, GRANT_USE_RESOLUTION);
}

/** Who a user-bound token is for, from which sign-in, and for which audience (oauth/resources.ts). */
export interface UserTokenSubject {
  client: Client;
  userId: string;
  target: TokenTarget;
  authTime: number;
  sid: string | null;
  now: number;
  /** RFC 9449: the DPoP key the access token is bound to (from the request's proof). */
  dpopJkt?: string | undefined;
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
    jkt: subject.dpopJkt,
  });
}

/** RFC 6749 §5.1, §3.3: the token response of a user-bound grant (scope always stated). */
export function tokenResponse(access: MintedAccessToken, target: TokenTarget): TokenResponse {
  return { access_token: access.token, token_type: tokenTypeOf(access), expires_in: target.ttl, scope: formatScope(target.scopes) };
}

/** RFC 9449 §5: `DPoP` for a token bound to a key, `Bearer` otherwise. */
export function tokenTypeOf(access: MintedAccessToken): TokenResponse['token_type'] {
  return access.claims.cnf ? 'DPoP' : 'Bearer';
}

/** RFC 9449 §5: a public client's refresh token is bound to the DPoP key; a confidential client's is not. */
export function refreshBinding(client: Pick<Client, 'isPublic'>, dpopJkt: string | undefined): string | null {
  return client.isPublic && dpopJkt !== undefined ? dpopJkt : null;
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
  /** OIDC Core §2: how the user authenticated (RFC 8176) and the class it reached, when known. */
  amr?: readonly string[] | null | undefined;
  acr?: string | null | undefined;
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
    claims: {
      ...claimsForScopes(input.user, input.scopes),
      ...(input.amr && input.amr.length > 0 ? { amr: [...input.amr] } : {}),
      ...(input.acr ? { acr: input.acr } : {}),
    },
  });
}

/** What every refresh token of a family shares. */
export type FamilyMember = Pick<
  RefreshToken,
  'familyId' | 'clientId' | 'userId' | 'scopes' | 'resources' | 'authTime' | 'sid' | 'expiresAt' | 'dpopJkt' | 'amr' | 'acr'
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

/** A one-time artefact (an authorization code, a device code) being exchanged for the user's tokens. */
export interface OneTimeRedemption {
  client: Client;
  user: User;
  scopes: readonly string[];
  resources: readonly string[];
  familyId: string;
  authTime: number;
  sid: string | null;
  nonce?: string | null | undefined;
  /** How the user authenticated for the artefact (ID token amr and acr). */
  amr?: readonly string[] | null | undefined;
  acr?: string | null | undefined;
  target: TokenTarget;
  /** In the transaction: the one conditional update that marks the artefact used; true only for the single winner. */
  consume(tx: Repositories, access: AccessTokenRef): Promise<boolean>;
  /** After a lost race: the access token the winner recorded, so that it is revoked too. */
  winnerAccessToken(): Promise<AccessTokenRef | null | undefined>;
  /** The public description of invalid_grant. */
  invalid: string;
  now: number;
  /** RFC 9449: the key of the request's DPoP proof (binds the access token, and a public client's refresh token). */
  dpopJkt?: string | undefined;
}

/**
 * AC-01, R3: consumes the artefact and stores the new refresh token in one transaction; a request that
 * loses a concurrent redemption is reuse and revokes the winner's tokens too. Then the token response,
 * with an ID token when openid was granted.
 */
export async function redeemOnce(
  keys: KeyStore,
  config: TokenConfig,
  storage: Pick<Storage, 'transaction'>,
  r: OneTimeRedemption,
): Promise<TokenResponse> {
  const { client, now } = r;
  const signIn = { authTime: r.authTime, sid: r.sid };
  const access = await userAccessToken(keys, config, {
    client,
    userId: r.user.id,
    target: r.target,
    ...signIn,
    now,
    dpopJkt: r.dpopJkt,
  });
  const refreshToken = issuesRefreshTokens(client, r.scopes) ? randomToken() : undefined;
  const won = await storage.transaction(async (tx) => {
    if (!(await r.consume(tx, access))) return false;
    if (refreshToken !== undefined) {
      const family = {
        familyId: r.familyId,
        clientId: client.clientId,
        userId: r.user.id,
        scopes: r.scopes,
        resources: r.resources,
        ...signIn,
        dpopJkt: refreshBinding(client, r.dpopJkt),
        ...(r.amr ? { amr: r.amr } : {}),
        ...(r.acr ? { acr: r.acr } : {}),
      };
      await tx.refreshTokens.create(
        newRefreshToken(refreshToken, { ...family, expiresAt: now + config.refreshTokenTtl }, access, now, config.refreshTokenIdleTtl),
      );
    }
    return true;
  });
  if (!won) {
    await revokeFamily(storage, { familyId: r.familyId, codeAccessToken: await r.winnerAccessToken() }, now);
    throw invalidGrant(r.invalid, { detail: 'lost a concurrent redemption' });
  }
  const response = tokenResponse(access, r.target);
  if (refreshToken !== undefined) response.refresh_token = refreshToken;
  if (r.scopes.includes('openid')) {
    response.id_token = await userIdToken(keys, config, {
      client,
      user: r.user,
      scopes: r.scopes,
      ...signIn,
      nonce: r.nonce,
      amr: r.amr,
      acr: r.acr,
      accessToken: access.token,
      now,
    });
  }
  return response;
}
