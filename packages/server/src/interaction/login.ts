// The one password check behind every sign-in form (the interaction's login page and the device
// flow's): UI-06 throttling per account and per IP, UI-05 the same answer and timing for unknown users
// (a dummy hash), disabled users refused like wrong passwords, hashes upgraded on success.
import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { dummyHash, hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword } from '../oauth/passwords.js';
import { canonicalUsername, type User } from '../storage/index.js';

export const LOGIN_FAILED = 'Incorrect username or password.';
export const LOCKED = 'Too many failed sign-in attempts. Please wait a few minutes and try again.';

export type LoginResult = { ok: true; user: User } | { ok: false; status: 401 | 429; error: string; retryAfter?: number };

export async function checkLogin(
  request: FastifyRequest,
  deps: Pick<AppDeps, 'storage' | 'throttle' | 'events'>,
  username: string,
  password: string,
  now: number,
): Promise<LoginResult> {
  const { storage, throttle } = deps;
  // UI-06: locked keys get the same answer whatever the password.
  const keys = [`user:${canonicalUsername(username)}`, `ip:${request.ip}`]; // UN-01: the form the account is found by
  const wait = throttle.retryAfter(keys, now);
  if (wait > 0) return { ok: false, status: 429, error: LOCKED, retryAfter: wait };
  // UI-05: unknown users verify against a dummy hash, so status, body and timing match.
  const user = username.length > 0 && username.length <= 255 ? await storage.users.findByUsername(username) : undefined;
  const tooLong = password.length === 0 || password.length > MAX_PASSWORD_LENGTH;
  const valid = !tooLong && (await verifyPassword(user?.passwordHash ?? (await dummyHash()), password));
  if (!user || !valid || user.disabled) {
    throttle.recordFailure(keys, now);
    // EV-01: the name as typed (bounded), never the password.
    await deps.events.record({
      type: 'login.failed',
      userId: user?.id,
      username: username.slice(0, 255),
      ip: request.ip,
      details: { reason: !user ? 'unknown user' : user.disabled ? 'disabled user' : 'wrong password' },
    });
    return { ok: false, status: 401, error: LOGIN_FAILED };
  }
  throttle.recordSuccess(keys[0]!);
  await deps.events.record({ type: 'login.succeeded', userId: user.id, username: user.username, ip: request.ip });
  if (needsRehash(user.passwordHash)) await storage.users.setPasswordHash(user.id, await hashPassword(password), now);
  return { ok: true, user };
}
