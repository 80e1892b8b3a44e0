// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. Passwords are capped in length.
import { hash, verify } from '@node-rs/argon2';
import { randomToken } from './crypto.js';

export const MAX_PASSWORD_LENGTH = 1024;
const OPTIONS = { algorithm: 2 /* Algorithm.Argon2id (an ambient const enum) */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  if (password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    throw new RangeError(`passwords must have 1 to ${MAX_PASSWORD_LENGTH} characters`);
  }
  return hash(password, OPTIONS);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** True when a stored hash uses weaker parameters than today's, so it should be rehashed on login. */
export function needsRehash(passwordHash: string): boolean {
  return !passwordHash.startsWith(`$argon2id$v=19$m=${OPTIONS.memoryCost},t=${OPTIONS.timeCost},p=${OPTIONS.parallelism}$`);
}

/** A hash of a random password, verified against for unknown users so timing does not tell. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hash(randomToken(), OPTIONS);
  return dummy;
}
