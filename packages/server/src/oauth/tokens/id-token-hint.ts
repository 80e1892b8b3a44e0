// OpenID Connect RP-Initiated Logout 1.0 §2: the id_token_hint, an ID token we issued (expired or not).
// The key is looked up by kid among our own keys and nothing else from the header is used (JW-03);
// signature, the algorithm of that key and the issuer must match; typ must be an ID token's (an access
// or logout token is refused).
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { KeyStore } from '../keys/key-store.js';

export const MAX_ID_TOKEN_HINT_LENGTH = 16 * 1024;

export interface IdTokenHint {
  sub: string;
  aud: string[];
  azp?: string | undefined;
  sid?: string | undefined;
}

/** An ID token we signed (expired or not), or undefined. Never throws. */
export async function verifyIdTokenHint(keys: KeyStore, issuer: string, token: string): Promise<IdTokenHint | undefined> {
  if (token.length > MAX_ID_TOKEN_HINT_LENGTH) return undefined;
  try {
    const header = decodeProtectedHeader(token);
    if (typeof header.kid !== 'string') return undefined;
    // Our ID tokens carry typ JWT; access tokens (at+jwt) and logout tokens (logout+jwt) are not hints.
    if (header.typ !== undefined && header.typ.toUpperCase() !== 'JWT') return undefined;
    const key = keys.findKey(header.kid);
    if (!key) return undefined;
    // compactVerify checks the signature with our key and its one algorithm, and refuses unknown crit
    // entries; exp is deliberately not checked (§2: an expired ID token is a fine hint).
    const { payload } = await compactVerify(token, key.publicKey, { algorithms: [key.alg] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    if (claims === null || typeof claims !== 'object' || claims.iss !== issuer) return undefined;
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) return undefined;
    const aud =
      typeof claims.aud === 'string'
        ? [claims.aud]
        : Array.isArray(claims.aud)
          ? claims.aud.filter((a): a is string => typeof a === 'string')
          : [];
    if (aud.length === 0) return undefined;
    return {
      sub: claims.sub,
      aud,
      azp: typeof claims.azp === 'string' ? claims.azp : undefined,
      sid: typeof claims.sid === 'string' ? claims.sid : undefined,
    };
  } catch {
    return undefined;
  }
}
