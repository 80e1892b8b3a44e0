// The refresh grace window (RG-01; RFC 9700 §4.14.2 leaves the reuse policy to the server). Parallel
// tabs and mobile retries present a refresh token again just after it was rotated. Within the window
// (--refresh-reuse-grace, 10 s by default) such a replay by the same client gets the SAME successor
// response the first request got, so every caller converges on one family member and no second live
// token is ever minted. The response is kept on the rotated token's row only for the window, sealed with
// AES-256-GCM under a key derived (HKDF-SHA-256) from the presented token itself: the database alone,
// which holds only the token's digest, cannot open it. With DPoP (RFC 9449), the replay must prove the
// same key the successor's access token is bound to (or, like the rotation, no key): the grace answer
// never hands a bound token to another key, nor a bearer token to a DPoP request.
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import { randomBytesFromPool } from '../crypto.js';
import type { RefreshSuccessor, RefreshToken } from '../../storage/index.js';
import type { TokenResponse } from './types.js';

const INFO = Buffer.from('gatehouse refresh grace: successor response');
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyFor(presented: string, tokenHash: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(presented, 'utf8'), Buffer.from(tokenHash, 'utf8'), INFO, 32));
}

/** Seals the successor response for the rotated token `presented` (whose digest is `tokenHash`). */
export function sealSuccessor(presented: string, tokenHash: string, response: TokenResponse): string {
  const iv = randomBytesFromPool(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(presented, tokenHash), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(response), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** Opens a sealed successor response; undefined when it does not open with this token (tampered, or another token). */
export function openSuccessor(presented: string, tokenHash: string, sealed: string): TokenResponse | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES + 2) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', keyFor(presented, tokenHash), raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as TokenResponse;
  } catch {
    return undefined;
  }
}

/** The successor record to store with a rotation, or null when the grace window is off (strict policy). */
export function successorFor(
  presented: string,
  tokenHash: string,
  successorHash: string,
  response: TokenResponse,
  grace: number,
  now: number,
): RefreshSuccessor | null {
  return grace > 0 ? { hash: successorHash, sealed: sealSuccessor(presented, tokenHash, response), expiresAt: now + grace } : null;
}

/**
 * The answer to a replay of a rotated token, if the grace window covers it: the rotation's own response,
 * provided the window is still open, the family is not revoked, and the successor has not itself been
 * rotated or revoked (then the client already moved on, and the replay is real reuse).
 */
export function graceAnswer(
  stored: RefreshToken,
  presented: string,
  successor: RefreshToken | undefined,
  now: number,
  dpopJkt?: string | undefined,
): TokenResponse | undefined {
  if (stored.rotatedAt === null || stored.revokedAt !== null || !stored.successor || stored.successor.expiresAt <= now) return undefined;
  if (!successor || successor.revokedAt !== null || successor.rotatedAt !== null) return undefined;
  const response = openSuccessor(presented, stored.tokenHash, stored.successor.sealed);
  if (!response || boundKeyOf(response) !== dpopJkt) return undefined;
  return response;
}

/** The DPoP key the access token of a (sealed, hence our own) token response is bound to. */
function boundKeyOf(response: TokenResponse): string | undefined {
  try {
    const cnf = decodeJwt(response.access_token).cnf as { jkt?: unknown } | undefined;
    return typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
  } catch {
    return undefined;
  }
}
