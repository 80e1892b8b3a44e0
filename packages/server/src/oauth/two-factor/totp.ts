// RFC 6238 (TOTP: HMAC-SHA-1, 6 digits, 30 s steps), RFC 4226 §7.2 (verification window),
// Key Uri Format (otpauth://, the format authenticator apps read from the QR code).
// The secret is 160 random bits (RFC 4226 §4 R6 recommends 160). A code is accepted for the current
// step and one step either side (RFC 6238 §5.2); the caller stores the step so each code is used once.
import { HOTP, Secret, TOTP } from 'otpauth';
import { constantTimeEqual } from '../crypto.js';

export const TOTP_PERIOD = 30;
export const TOTP_DIGITS = 6;
export const TOTP_WINDOW = 1;
const SECRET_BYTES = 20;

/** A new base32 secret of 160 random bits. */
export function newTotpSecret(): string {
  return new Secret({ size: SECRET_BYTES }).base32;
}

/** The otpauth:// URI an authenticator app enrols from (shown as a QR code and as text). */
export function totpUri(secret: string, issuer: string, account: string): string {
  return new TOTP({
    issuer,
    label: account,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD,
    secret: Secret.fromBase32(secret),
  }).toString();
}

/** The time step of `now` (epoch seconds). */
export function totpStep(now: number): number {
  return Math.floor(now / TOTP_PERIOD);
}

/** A code as typed: digits only, spaces allowed; anything else is not a code. */
export function normaliseTotpCode(input: string): string | undefined {
  const code = input.replace(/[\s-]/g, '');
  return new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(code) ? code : undefined;
}

/**
 * The step (within ±TOTP_WINDOW of now) whose code is `code`, newest first, or undefined. Every
 * candidate is compared in constant time, whether or not an earlier one matched.
 */
export function matchingStep(secret: string, code: string, now: number): number | undefined {
  const hotp = new HOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: TOTP_DIGITS });
  const current = totpStep(now);
  let found: number | undefined;
  for (let delta = TOTP_WINDOW; delta >= -TOTP_WINDOW; delta--) {
    const step = current + delta;
    if (constantTimeEqual(hotp.generate({ counter: step }), code) && found === undefined) found = step;
  }
  return found;
}
