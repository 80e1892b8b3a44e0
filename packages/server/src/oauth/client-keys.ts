// RFC 7591 §2 (jwks, jwks_uri), RFC 7517 (JWK Set), RFC 7523 §2.2 and OIDC Core §9 (private_key_jwt):
// the public keys a client authenticates with. A registered set holds public asymmetric signing keys
// only: no private members, no symmetric (`oct`) keys, RSA of at least 2048 bits (RFC 8725 §3.5).
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { JWK } from 'jose';
import type { Client } from '../storage/index.js';
import { invalidClientMetadata } from './errors.js';
import { isLoopbackHost } from './redirect-uri.js';

/** Asymmetric algorithms a client assertion may be signed with (JW-01, JW-02: never `none`, never HS*). */
export const ASSERTION_SIGNING_ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA', 'Ed25519'] as const;

export interface ClientJwks {
  keys: JWK[];
}

const MAX_KEYS = 20;
const MAX_JWKS_BYTES = 32 * 1024;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);

/** Checks a JWK Set for registration; returns it with only the public members kept. Throws invalid_client_metadata. */
export function validateClientJwks(input: unknown): ClientJwks {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw invalidClientMetadata('jwks must be a JWK Set object with a "keys" array');
  if (JSON.stringify(input).length > MAX_JWKS_BYTES) throw invalidClientMetadata(`jwks must be smaller than ${MAX_JWKS_BYTES} bytes`);
  const keys = (input as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw invalidClientMetadata('jwks must have a non-empty "keys" array');
  if (keys.length > MAX_KEYS) throw invalidClientMetadata(`jwks may hold at most ${MAX_KEYS} keys`);
  const kids = new Set<string>();
  const out: JWK[] = [];
  for (const [i, key] of keys.entries()) {
    const where = `jwks key ${i + 1}`;
    if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalidClientMetadata(`${where} is not a JSON object`);
    const jwk = key as Record<string, unknown>;
    if (typeof jwk.kty !== 'string' || !KEY_TYPES.has(jwk.kty)) {
      throw invalidClientMetadata(`${where}: kty must be RSA, EC or OKP (symmetric keys cannot prove a client's identity)`);
    }
    const secret = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (secret.length > 0)
      throw invalidClientMetadata(`${where} contains private key material (${secret.join(', ')}); register the public key only`);
    if (jwk.use !== undefined && jwk.use !== 'sig') throw invalidClientMetadata(`${where}: use must be "sig"`);
    if (jwk.alg !== undefined && !(ASSERTION_SIGNING_ALGS as readonly unknown[]).includes(jwk.alg)) {
      throw invalidClientMetadata(`${where}: alg must be one of ${ASSERTION_SIGNING_ALGS.join(', ')}`);
    }
    if (jwk.kid !== undefined) {
      if (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 200)
        throw invalidClientMetadata(`${where}: kid must be a short string`);
      if (kids.has(jwk.kid)) throw invalidClientMetadata(`${where}: kid ${JSON.stringify(jwk.kid)} is used twice`);
      kids.add(jwk.kid);
    }
    let details;
    try {
      details = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).asymmetricKeyDetails;
    } catch {
      throw invalidClientMetadata(`${where} is not a valid public key`);
    }
    if (jwk.kty === 'RSA' && (details?.modulusLength ?? 0) < 2048)
      throw invalidClientMetadata(`${where}: RSA keys need at least 2048 bits`);
    if (jwk.kty === 'OKP' && jwk.crv !== 'Ed25519') throw invalidClientMetadata(`${where}: OKP keys must be Ed25519`);
    const { kty, kid, use, alg, n, e, crv, x, y } = jwk;
    out.push(Object.fromEntries(Object.entries({ kty, kid, use, alg, n, e, crv, x, y }).filter(([, v]) => v !== undefined)) as JWK);
  }
  return { keys: out };
}

/**
 * The usable keys of a document fetched from a jwks_uri. A published set may also hold keys for other
 * uses (encryption, say) or keys this server does not accept; those are skipped instead of failing
 * the whole set. Throws invalid_client_metadata when no key is usable.
 */
export function usableJwksOf(document: unknown): ClientJwks {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return validateClientJwks(document);
  const usable: JWK[] = [];
  for (const key of keys.slice(0, MAX_KEYS * 5)) {
    try {
      usable.push(...validateClientJwks({ keys: [key] }).keys);
    } catch {
      // not a public signing key this server accepts: skipped
    }
  }
  if (usable.length === 0) throw invalidClientMetadata('the JWK Set holds no usable public signing key');
  return { keys: usable };
}

/** The shape of a jwks_uri: https (plain http only on a loopback IP literal), no user information, no fragment. */
export function validateJwksUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidClientMetadata('jwks_uri must be an absolute URL');
  }
  if (uri.length > 2000 || /[\s<>"{}|\\^`\u0000-\u001f\u007f]/.test(uri)) throw invalidClientMetadata('jwks_uri must be an absolute URL');
  if (uri.includes('#')) throw invalidClientMetadata('jwks_uri must not contain a fragment');
  if (url.username !== '' || url.password !== '') throw invalidClientMetadata('jwks_uri must not contain user information');
  const https = url.protocol === 'https:' && url.hostname !== '';
  if (!https && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw invalidClientMetadata('jwks_uri must use https (plain http only on 127.0.0.1 or [::1], for development)');
  }
  return url.href;
}

/** The client's registered JWK Set, if it registered one inline. */
export function registeredJwksOf(client: Pick<Client, 'metadata'>): ClientJwks | undefined {
  const jwks = client.metadata.jwks as { keys?: unknown } | undefined;
  return jwks && Array.isArray(jwks.keys) ? (jwks as ClientJwks) : undefined;
}

/** The client's registered jwks_uri, if any. */
export function registeredJwksUriOf(client: Pick<Client, 'metadata'>): string | undefined {
  const uri = client.metadata.jwks_uri;
  return typeof uri === 'string' ? uri : undefined;
}
