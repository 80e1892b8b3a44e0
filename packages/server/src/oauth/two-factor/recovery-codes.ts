// Recovery codes for two-factor sign-in: 10 codes of 80 random bits each (16 base32 characters, shown
// as four groups), shown once, stored as SHA-256 digests, each accepted once.
import { randomBytes } from 'node:crypto';
import { sha256 } from '../crypto.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out;
}

/** New recovery codes, formatted `xxxx-xxxx-xxxx-xxxx`. */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => base32(randomBytes(10)).replace(/(.{4})(?=.)/g, '$1-'));
}

/** A code as typed (any case, with or without dashes and spaces), or undefined when it cannot be one. */
export function normaliseRecoveryCode(input: string): string | undefined {
  const code = input.toLowerCase().replace(/[\s-]/g, '');
  return /^[a-z2-7]{16}$/.test(code) ? code : undefined;
}

/** The stored digest of a (normalised) code. */
export function recoveryCodeDigest(normalised: string): string {
  return sha256(`gatehouse-recovery.${normalised}`);
}
