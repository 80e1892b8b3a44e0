// RFC 8628 §6.1: user codes a person can read and type. Eight characters from 20 consonants
// (B C D F G H J K L M N P Q R S T V W X Z): no digits and no vowels, so no 0/O or 1/I confusion
// and no words spelled by accident. 20^8 ≈ 2.56e10 codes (≈ 34.6 bits), drawn
// without modulo bias from the CSPRNG. Shown as XXXX-XXXX; compared case- and dash-insensitively:
// spaces and dashes are dropped and letters upper-cased before the digest is looked up.
import { randomInt } from 'node:crypto';
import { sha256 } from '../crypto.js';

export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE_LENGTH = 8;
/** The most characters a user-code field accepts before normalisation (dashes and spaces included). */
export const MAX_USER_CODE_INPUT = 32;

/** A new user code in its display form, XXXX-XXXX. */
export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return formatUserCode(code);
}

/** XXXX-XXXX of a normalised code. */
export function formatUserCode(normalised: string): string {
  return `${normalised.slice(0, 4)}-${normalised.slice(4)}`;
}

/**
 * What a person typed, as the canonical code: upper case, dashes and white space removed. Undefined
 * when it cannot be a user code (wrong length or a character outside the alphabet), so that such
 * input never reaches the database.
 */
export function normaliseUserCode(input: string): string | undefined {
  if (input.length > MAX_USER_CODE_INPUT) return undefined;
  const code = input.replace(/[\s\-\u2010-\u2015]/g, '').toUpperCase();
  if (code.length !== USER_CODE_LENGTH) return undefined;
  for (const c of code) if (!USER_CODE_ALPHABET.includes(c)) return undefined;
  return code;
}

/** The stored digest of a normalised user code. */
export function userCodeHash(normalised: string): string {
  return sha256(`user-code.${normalised}`);
}
