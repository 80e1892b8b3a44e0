// RFC 9068 (JWT access tokens) and OIDC Core §2 (ID tokens): signing and verification of our own JWTs.
import { createHash } from 'node:crypto';
import { SignJWT, jwtVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import { randomToken } from '../crypto.js';
import type { KeyStore, SigningAlg } from '../keys/key-store.js';

export interface AccessTokenClaims extends JWTPayload {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope: string;
  auth_time?: number;
  sid?: string;
}

export interface MintedAccessToken {
  token: string;
  jti: string;
  expiresAt: number;
  claims: AccessTokenClaims;
}

export interface AccessTokenInput {
  issuer: string;
  /** The signing algorithm (ES256 unless the resource registered another). */
  alg?: SigningAlg | undefined;
  audience: string[];
  ttl: number;
  subject: string;
  clientId: string;
  scope: string;
  now: number;
  authTime?: number | undefined;
  sid?: string | null | undefined;
}

export async function mintAccessToken(keys: KeyStore, input: AccessTokenInput): Promise<MintedAccessToken> {
  const key = keys.signingKey(input.alg ?? 'ES256');
  const jti = randomToken(16);
  const expiresAt = input.now + input.ttl;
  const claims: AccessTokenClaims = {
    iss: input.issuer,
    sub: input.subject,
    aud: input.audience.length === 1 ? input.audience[0]! : input.audience,
    exp: expiresAt,
    iat: input.now,
    jti,
    client_id: input.clientId,
    scope: input.scope,
  };
  if (input.authTime !== undefined) claims.auth_time = input.authTime;
  if (input.sid) claims.sid = input.sid;
  const token = await new SignJWT(claims).setProtectedHeader({ alg: key.alg, typ: 'at+jwt', kid: key.kid }).sign(key.privateKey);
  return { token, jti, expiresAt, claims };
}

/** OIDC Core §3.1.3.6: at_hash = base64url(left half of the hash of the access token's ASCII). */
export function leftHalfHash(value: string, alg: SigningAlg): string {
  const bits = alg === 'EdDSA' ? 512 : Number(alg.slice(2)) || 256;
  const digest = createHash(`sha${bits}`).update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export interface IdTokenInput {
  issuer: string;
  clientId: string;
  subject: string;
  alg: SigningAlg;
  ttl: number;
  now: number;
  authTime: number;
  nonce?: string | null | undefined;
  sid?: string | null | undefined;
  accessToken?: string | undefined;
  claims: Record<string, unknown>;
}

export async function mintIdToken(keys: KeyStore, input: IdTokenInput): Promise<string> {
  const key = keys.signingKey(input.alg);
  const payload: JWTPayload & Record<string, unknown> = {
    ...input.claims,
    iss: input.issuer,
    sub: input.subject,
    aud: input.clientId,
    exp: input.now + input.ttl,
    iat: input.now,
    auth_time: input.authTime,
  };
  if (input.nonce) payload.nonce = input.nonce;
  if (input.sid) payload.sid = input.sid;
  if (input.accessToken) payload.at_hash = leftHalfHash(input.accessToken, input.alg);
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}

const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Verifies an access token we issued: our keys only (looked up by kid, never from the header),
 * typ at+jwt, our issuer, the algorithm of the key. Returns undefined for anything invalid.
 */
export async function verifyOwnAccessToken(keys: KeyStore, issuer: string, token: string): Promise<AccessTokenClaims | undefined> {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.kid !== 'string') return undefined;
    const key = keys.findKey(header.kid);
    if (!key) return undefined;
    const { payload } = await jwtVerify(token, key.publicKey, {
      issuer,
      typ: 'at+jwt',
      algorithms: [key.alg],
      requiredClaims: ['exp', 'iat', 'jti', 'sub', 'client_id'],
    });
    return payload as AccessTokenClaims;
  } catch {
    return undefined;
  }
}
