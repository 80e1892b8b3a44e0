// RFC 9068 (JWT access tokens) and OIDC Core §2 (ID tokens): signing and verification of our own JWTs.
// Signing and the verification of tokens in our canonical form go through node:crypto (./jws.ts);
// jose's jwtVerify stays for any other header shape, so what is accepted is exactly what it was.
import { createHash } from 'node:crypto';
import { jwtVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import { randomToken, sha256 } from '../crypto.js';
import type { KeyStore, LoadedKey, SigningAlg } from '../keys/key-store.js';
import { encodedHeader, signCompact, strictBase64url, verifySignature } from './jws.js';

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
  /** RFC 9449 §6.1: the DPoP key the token is bound to. */
  cnf?: { jkt: string };
  /** RFC 8693 §4.1: who acts for the subject (token exchange), earlier actors nested inside. */
  act?: ActorClaim;
}

/** RFC 8693 §4.1: the actor of a delegated token. */
export interface ActorClaim {
  sub: string;
  client_id?: string;
  act?: ActorClaim;
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
  /** RFC 9449 §6.1: bind the token to this DPoP key thumbprint (`cnf.jkt`). */
  jkt?: string | undefined;
  act?: ActorClaim | undefined;
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
  if (input.jkt) claims.cnf = { jkt: input.jkt };
  if (input.act) claims.act = input.act;
  const token = signCompact(key, 'at+jwt', claims);
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
  return signCompact(key, 'JWT', payload);
}

const MAX_TOKEN_LENGTH = 16 * 1024;
const REQUIRED_CLAIMS = ['exp', 'iat', 'jti', 'sub', 'client_id', 'iss'] as const;
/** At most this many verified access tokens are remembered per key store (oldest dropped first). */
export const VERIFIED_TOKEN_CACHE_SIZE = 10_000;

interface VerifiedToken {
  claims: Readonly<AccessTokenClaims>;
  issuer: string;
  key: LoadedKey;
}

/**
 * Access tokens whose signature and claims were verified, by SHA-256 digest of the token, until their
 * exp. A hit is used only while the signing key is still one of ours (same kid, same key material) (a key removed from the JWKS
 * stops its tokens here as before); revocation (the jti denylist) and the user are still checked on
 * every request by the callers (tokens/status.ts).
 */
const verifiedCaches = new WeakMap<KeyStore, Map<string, VerifiedToken>>();

function cacheOf(keys: KeyStore): Map<string, VerifiedToken> {
  let cache = verifiedCaches.get(keys);
  if (!cache) {
    cache = new Map();
    verifiedCaches.set(keys, cache);
  }
  return cache;
}

/** How many verified tokens `keys` remembers (for tests). */
export function verifiedTokenCacheSize(keys: KeyStore): number {
  return verifiedCaches.get(keys)?.size ?? 0;
}

/** jose's notion of a JSON object: a plain object, not an array or null. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Object.prototype.toString.call(value) !== '[object Object]') return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The claims of a token in our canonical form ({alg, typ: at+jwt, kid} exactly as we sign it), with the
 * checks jose's jwtVerify makes for our options; null when the header is in another form (then jose
 * decides), undefined when the token is invalid.
 */
function verifyCanonical(
  keys: KeyStore,
  issuer: string,
  token: string,
  now: number,
): { claims: AccessTokenClaims; key: LoadedKey } | null | undefined {
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) return undefined;
  const headerBytes = strictBase64url(token.slice(0, first));
  if (!headerBytes) return null;
  let header: unknown;
  try {
    header = JSON.parse(utf8.decode(headerBytes));
  } catch {
    return null;
  }
  if (!isPlainObject(header) || typeof header.kid !== 'string') return null;
  const key = keys.findKey(header.kid);
  if (!key || token.slice(0, first) !== encodedHeader(key, 'at+jwt')) return null;
  if (!verifySignature(key, token.slice(0, second), token.slice(second + 1))) return undefined;
  const payloadBytes = strictBase64url(token.slice(first + 1, second));
  if (!payloadBytes) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(utf8.decode(payloadBytes));
  } catch {
    return undefined;
  }
  if (!isPlainObject(claims)) return undefined;
  for (const claim of REQUIRED_CLAIMS) if (!Object.hasOwn(claims, claim)) return undefined;
  if (claims.iss !== issuer) return undefined;
  if (typeof claims.iat !== 'number') return undefined;
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) return undefined;
  if (typeof claims.exp !== 'number' || claims.exp <= now) return undefined;
  return { claims: claims as AccessTokenClaims, key };
}

/**
 * Verifies an access token we issued: our keys only (looked up by kid, never from the header),
 * typ at+jwt, our issuer, the algorithm of the key. Returns undefined for anything invalid.
 * exp is checked against the wall clock, as jose does; callers check it again against deps.clock().
 */
export async function verifyOwnAccessToken(keys: KeyStore, issuer: string, token: string): Promise<AccessTokenClaims | undefined> {
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  const now = Math.floor(Date.now() / 1000);
  const cache = cacheOf(keys);
  const digest = sha256(token);
  const hit = cache.get(digest);
  if (hit) {
    if (hit.issuer === issuer && hit.claims.exp > now && keys.findKey(hit.key.kid)?.publicKeyObject === hit.key.publicKeyObject)
      return { ...hit.claims };
    cache.delete(digest);
  }
  const canonical = verifyCanonical(keys, issuer, token, now);
  if (canonical) {
    if (cache.size >= VERIFIED_TOKEN_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    cache.set(digest, { claims: Object.freeze({ ...canonical.claims }), issuer, key: canonical.key });
    return canonical.claims;
  }
  if (canonical === undefined) return undefined;
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
