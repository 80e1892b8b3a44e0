// RFC 6819 §5.1.4.2.2, OAuth 2.1 §7.7: tokens, codes and secrets carry 256 bits from a CSPRNG and are
// stored only as SHA-256 digests; digests are compared in constant time (CWE-208).
import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';

/**
 * Random bytes are drawn from the CSPRNG 4 KiB at a time and handed out in order, each byte once
 * (a call into OpenSSL per token cost more than the token itself on the token endpoint's hot path).
 * The pool is refilled in place only after every byte of it was used; nothing is handed out twice.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

/** The offset of `length` unused bytes in the pool, refilled first when fewer are left. */
function take(length: number): number {
  if (poolOffset + length > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += length;
  return at;
}

/** `length` fresh bytes from the CSPRNG (a copy: the caller may keep it). */
export function randomBytesFromPool(length: number): Buffer {
  if (length > POOL_SIZE) return randomFillSync(Buffer.alloc(length));
  const at = take(length);
  return Buffer.from(pool.subarray(at, at + length));
}

/** 256-bit random value, base64url (43 characters). */
export function randomToken(bytes = 32): string {
  if (bytes > POOL_SIZE) return randomFillSync(Buffer.alloc(bytes)).toString('base64url');
  const at = take(bytes);
  return pool.toString('base64url', at, at + bytes);
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
