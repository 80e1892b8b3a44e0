// Two-factor sign-in: which second factors a user has, and the checks of a TOTP code (RFC 6238) or a
// recovery code. Each accepted code is consumed by one conditional update in storage, so a code is
// used once even when two requests present it at the same moment. Passkeys are in passkeys.ts.
// Guessing is throttled by the caller (interaction/two-factor-login.ts, UI-06).
import type { Storage } from '../../storage/index.js';
import { newRecoveryCodes, normaliseRecoveryCode, recoveryCodeDigest } from './recovery-codes.js';
import { matchingStep, newTotpSecret, normaliseTotpCode } from './totp.js';

export type TwoFactorStorage = Pick<Storage, 'totpCredentials' | 'recoveryCodes' | 'passkeys'>;

export interface SecondFactors {
  totp: boolean;
  /** An unconfirmed TOTP enrolment is waiting for its first code. */
  totpPending: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
}

export async function secondFactorsOf(storage: TwoFactorStorage, userId: string): Promise<SecondFactors> {
  const [totp, passkeys, left] = await Promise.all([
    storage.totpCredentials.find(userId),
    storage.passkeys.listOf(userId),
    storage.recoveryCodes.countUnused(userId),
  ]);
  return {
    totp: totp?.confirmedAt != null,
    totpPending: totp !== undefined && totp.confirmedAt === null,
    passkeys: passkeys.length,
    recoveryCodesLeft: left,
  };
}

/** Has the user a second factor that counts (a confirmed TOTP credential or a passkey)? */
export async function hasSecondFactor(storage: TwoFactorStorage, userId: string): Promise<boolean> {
  const f = await secondFactorsOf(storage, userId);
  return f.totp || f.passkeys > 0;
}

/** Checks a TOTP code of the user's confirmed credential and consumes its step. */
export async function checkTotpCode(storage: TwoFactorStorage, userId: string, input: string, now: number): Promise<boolean> {
  const code = normaliseTotpCode(input);
  const credential = await storage.totpCredentials.find(userId);
  if (!code || !credential || credential.confirmedAt === null) return false;
  const step = matchingStep(credential.secret, code, now);
  return step !== undefined && (await storage.totpCredentials.useStep(userId, step, now, false));
}

/** Checks a recovery code and uses it up. */
export async function checkRecoveryCode(storage: TwoFactorStorage, userId: string, input: string, now: number): Promise<boolean> {
  const code = normaliseRecoveryCode(input);
  return code !== undefined && (await storage.recoveryCodes.use(userId, recoveryCodeDigest(code), now));
}

/** Either kind of code, told apart by its shape (6 digits: TOTP; 16 characters: a recovery code). */
export async function checkSecondFactorCode(
  storage: TwoFactorStorage,
  userId: string,
  input: string,
  now: number,
): Promise<'otp' | 'recovery' | undefined> {
  if (normaliseTotpCode(input)) return (await checkTotpCode(storage, userId, input, now)) ? 'otp' : undefined;
  if (normaliseRecoveryCode(input)) return (await checkRecoveryCode(storage, userId, input, now)) ? 'recovery' : undefined;
  return undefined;
}

/** Starts (or restarts) a TOTP enrolment; undefined when the user already has a confirmed credential. */
export async function beginTotpEnrolment(storage: TwoFactorStorage, userId: string, now: number): Promise<string | undefined> {
  const secret = newTotpSecret();
  return (await storage.totpCredentials.begin(userId, secret, now)) ? secret : undefined;
}

/** Confirms the pending enrolment with a first valid code; returns new recovery codes (shown once), or undefined. */
export async function confirmTotpEnrolment(
  storage: TwoFactorStorage,
  userId: string,
  input: string,
  now: number,
): Promise<string[] | undefined> {
  const code = normaliseTotpCode(input);
  const credential = await storage.totpCredentials.find(userId);
  if (!code || !credential || credential.confirmedAt !== null) return undefined;
  const step = matchingStep(credential.secret, code, now);
  if (step === undefined || !(await storage.totpCredentials.useStep(userId, step, now, true))) return undefined;
  return replaceRecoveryCodes(storage, userId, now);
}

/** New recovery codes (the old ones stop working); returns the codes, to be shown once. */
export async function replaceRecoveryCodes(storage: TwoFactorStorage, userId: string, now: number): Promise<string[]> {
  const codes = newRecoveryCodes();
  await storage.recoveryCodes.replace(
    userId,
    codes.map((c) => recoveryCodeDigest(normaliseRecoveryCode(c)!)),
    now,
  );
  return codes;
}

/** Removes the TOTP credential; the recovery codes go with the last second factor. */
export async function removeTotp(storage: TwoFactorStorage, userId: string): Promise<boolean> {
  const removed = (await storage.totpCredentials.delete(userId)) > 0;
  if ((await storage.passkeys.listOf(userId)).length === 0) await storage.recoveryCodes.deleteAllOf(userId);
  return removed;
}

/** Removes one passkey; the recovery codes go with the last second factor. */
export async function removePasskey(storage: TwoFactorStorage, userId: string, credentialId: string): Promise<boolean> {
  const removed = await storage.passkeys.delete(userId, credentialId);
  const f = await secondFactorsOf(storage, userId);
  if (!f.totp && f.passkeys === 0) await storage.recoveryCodes.deleteAllOf(userId);
  return removed;
}

/** Removes every second factor of the user (TOTP, passkeys, recovery codes), as an admin does; returns how many were removed. */
export async function removeAllSecondFactors(storage: TwoFactorStorage, userId: string): Promise<number> {
  const totp = await storage.totpCredentials.delete(userId);
  const passkeys = await storage.passkeys.deleteAllOf(userId);
  await storage.recoveryCodes.deleteAllOf(userId);
  return totp + passkeys;
}
