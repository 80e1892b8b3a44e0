// W3C Web Authentication Level 3 (passkeys) through @simplewebauthn/server: registration (§7.1) and
// authentication (§7.2) ceremonies. RP ID = the issuer's host, origin = the issuer's origin; user
// verification is required; attestation is not requested ("none"). Challenges are 256 random bits,
// kept only as SHA-256 digests, bound to what asked for them (a session or an interaction), valid for
// CHALLENGE_TTL seconds and consumed once. The signature counter must move forward (§6.1.1) and is
// advanced by one conditional update, so one assertion cannot be used twice.
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Passkey, Storage, User, WebAuthnPurpose } from '../../storage/index.js';
import { randomBytes } from 'node:crypto';
import { sha256 } from '../crypto.js';

export const CHALLENGE_TTL = 300;
export const MAX_PASSKEY_NAME_LENGTH = 64;
export const MAX_PASSKEYS_PER_USER = 20;

export type PasskeyStorage = Pick<Storage, 'passkeys' | 'webauthnChallenges' | 'users'>;

export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

/** The relying party of an issuer: its host name (RP IDs are never IP addresses) and its origin. */
export function relyingPartyOf(issuer: string): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, name: 'Gatehouse', origin: url.origin };
}

/** The WebAuthn user handle of a user: the bytes of the (random, non-identifying) user id. */
export function userHandleOf(userId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(userId, 'utf8'));
}

async function newChallenge(
  storage: PasskeyStorage,
  purpose: WebAuthnPurpose,
  binding: string,
  userId: string | null,
  now: number,
): Promise<Uint8Array<ArrayBuffer>> {
  // The browser echoes the challenge base64url-encoded in clientDataJSON: that text is what is hashed.
  const bytes = randomBytes(32);
  await storage.webauthnChallenges.create({
    challengeHash: sha256(bytes.toString('base64url')),
    purpose,
    bindingHash: sha256(binding),
    userId,
    expiresAt: now + CHALLENGE_TTL,
  });
  return new Uint8Array(bytes);
}

/** A consumer of the challenge in a response: true once, for a live challenge of this purpose and binding. */
const consumer = (storage: PasskeyStorage, purpose: WebAuthnPurpose, binding: string, now: number) => (challenge: string) =>
  typeof challenge === 'string' && challenge.length <= 128
    ? storage.webauthnChallenges.consume(sha256(challenge), purpose, sha256(binding), now)
    : Promise.resolve(false);

export async function registrationOptions(
  storage: PasskeyStorage,
  rp: RelyingParty,
  user: User,
  binding: string,
  now: number,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await storage.passkeys.listOf(user.id);
  const challenge = await newChallenge(storage, 'register', binding, user.id, now);
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userID: userHandleOf(user.id),
    userName: user.username,
    userDisplayName: user.name ?? user.username,
    challenge,
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    timeout: CHALLENGE_TTL * 1000,
  });
}

export type PasskeyFailure = 'invalid' | 'too-many';

/** Verifies a registration response and stores the new passkey under `name`. */
export async function registerPasskey(
  storage: PasskeyStorage,
  rp: RelyingParty,
  user: User,
  binding: string,
  response: unknown,
  name: string,
  now: number,
): Promise<Passkey | PasskeyFailure> {
  if ((await storage.passkeys.listOf(user.id)).length >= MAX_PASSKEYS_PER_USER) return 'too-many';
  let info;
  try {
    const verified = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: consumer(storage, 'register', binding, now),
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      requireUserVerification: true,
    });
    if (!verified.verified || !verified.registrationInfo) return 'invalid';
    info = verified.registrationInfo;
  } catch {
    return 'invalid';
  }
  const credential = info.credential;
  if (await storage.passkeys.find(credential.id)) return 'invalid';
  const passkey: Passkey = {
    credentialId: credential.id,
    userId: user.id,
    name: name.trim().slice(0, MAX_PASSKEY_NAME_LENGTH) || 'Passkey',
    publicKey: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    transports: credential.transports ?? [],
    createdAt: now,
    lastUsedAt: null,
  };
  await storage.passkeys.create(passkey);
  return passkey;
}

/**
 * Options of an authentication ceremony. With `userId` (a second factor after the password) only that
 * user's passkeys are allowed; without (passwordless) any discoverable credential of this RP.
 */
export async function authenticationOptions(
  storage: PasskeyStorage,
  rp: RelyingParty,
  binding: string,
  userId: string | null,
  now: number,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allow = userId === null ? [] : await storage.passkeys.listOf(userId);
  const challenge = await newChallenge(storage, 'authenticate', binding, userId, now);
  return generateAuthenticationOptions({
    rpID: rp.id,
    challenge,
    allowCredentials: allow.map((p) => ({ id: p.credentialId, transports: p.transports as AuthenticatorTransportFuture[] })),
    userVerification: 'required',
    timeout: CHALLENGE_TTL * 1000,
  });
}

/**
 * Verifies an assertion: a live challenge of this binding, a registered credential (of `userId` when
 * given), the user handle of its owner, user verification, a counter that moved forward. Returns the
 * passkey's owner, or undefined.
 */
export async function authenticateWithPasskey(
  storage: PasskeyStorage,
  rp: RelyingParty,
  binding: string,
  response: unknown,
  userId: string | null,
  now: number,
): Promise<{ userId: string; passkey: Passkey } | undefined> {
  const r = response as Partial<AuthenticationResponseJSON> | null;
  if (!r || typeof r !== 'object' || typeof r.id !== 'string' || r.id.length === 0 || r.id.length > 1400) return undefined;
  const passkey = await storage.passkeys.find(r.id);
  if (!passkey || (userId !== null && passkey.userId !== userId)) return undefined;
  // A discoverable credential names its user: it must be the credential's owner.
  const handle = r.response?.userHandle;
  if (handle !== undefined && handle !== null && handle !== Buffer.from(userHandleOf(passkey.userId)).toString('base64url'))
    return undefined;
  try {
    const verified = await verifyAuthenticationResponse({
      response: r as AuthenticationResponseJSON,
      expectedChallenge: consumer(storage, 'authenticate', binding, now),
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: {
        id: passkey.credentialId,
        publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
        counter: passkey.counter,
        transports: passkey.transports as AuthenticatorTransportFuture[],
      },
      requireUserVerification: true,
    });
    if (!verified.verified) return undefined;
    if (!(await storage.passkeys.recordUse(passkey.credentialId, passkey.counter, verified.authenticationInfo.newCounter, now))) {
      return undefined;
    }
  } catch {
    return undefined;
  }
  return { userId: passkey.userId, passkey };
}
