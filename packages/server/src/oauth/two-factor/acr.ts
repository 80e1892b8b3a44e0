// OIDC Core §2 (acr, amr claims), §3.1.2.1 (acr_values), RFC 8176 (amr values); OpenID Connect Unmet
// Authentication Requirements 1.0. How a sign-in was authenticated, and whether that meets a request.
//
// amr (RFC 8176 §2): "pwd" password, "otp" one-time password (a TOTP code or a recovery code), "hwk"
// proof of possession of a hardware-secured key (a passkey), "user" user presence/verification by
// the authenticator (passkeys are used with userVerification "required").
// acr: two Gatehouse classes. ACR_1FA: one factor (a password). ACR_2FA: two factors, a password and
// a second factor, or a passkey used alone (possession of the key plus the authenticator's own user
// verification, a PIN or a biometric).
export const ACR_1FA = 'urn:gatehouse:acr:1fa';
export const ACR_2FA = 'urn:gatehouse:acr:2fa';
/** Discovery's acr_values_supported, weakest first. */
export const ACR_VALUES = [ACR_1FA, ACR_2FA] as const;
export type Acr = (typeof ACR_VALUES)[number];

export const AMR_PASSWORD = ['pwd'] as const;
export const AMR_PASSWORD_OTP = ['pwd', 'otp'] as const;
export const AMR_PASSWORD_PASSKEY = ['pwd', 'hwk'] as const;
export const AMR_PASSKEY = ['hwk', 'user'] as const;

/** The acr a sign-in with these methods reaches. */
export function acrOf(amr: readonly string[]): Acr {
  const second = amr.includes('otp') || amr.includes('hwk');
  if (amr.includes('pwd') && second) return ACR_2FA;
  if (amr.includes('hwk') && amr.includes('user')) return ACR_2FA;
  return ACR_1FA;
}

/** The methods of a first factor followed by a second one (no duplicates, first factor first). */
export function withSecondFactor(first: readonly string[], second: 'otp' | 'hwk'): string[] {
  return [...new Set([...first, second])];
}

/**
 * OIDC Core §3.1.2.1: acr_values lists acceptable classes in order of preference; values we do not
 * know are ignored (the request is voluntary). The request demands two factors only when every class
 * it names that we know is ACR_2FA; it demands nothing when it names ACR_1FA or no class we know.
 */
export function requiredAcr(acrValues: readonly string[] | undefined): Acr | undefined {
  const known = (acrValues ?? []).filter((v): v is Acr => (ACR_VALUES as readonly string[]).includes(v));
  if (known.length === 0 || known.includes(ACR_1FA)) return undefined;
  return ACR_2FA;
}

/** Does a sign-in of class `acr` (undefined: an older session, one factor) meet the requirement? */
export function meets(acr: string | undefined, required: Acr | undefined): boolean {
  if (required === undefined) return true;
  return acr === ACR_2FA;
}
