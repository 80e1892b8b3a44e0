// RFC 6819 §5.1.4.2.2, OAuth 2.1 §7.7: tokens, codes and secrets carry 256 bits from a CSPRNG and are
// stored only as SHA-256 digests; digests are compared in constant time (CWE-208).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256-bit random value, base64url (43 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Constant-time comparison of two strings of any length (compares their SHA-256 digests). */
export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** Constant-time comparison of two equal-length base64url digests. */
export function digestsEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'base64url');
  const bb = Buffer.from(b, 'base64url');
  if (ba.length !== bb.length) return false; // digest lengths are public
  return timingSafeEqual(ba, bb);
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
