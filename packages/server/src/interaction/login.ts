// The one password check behind every sign-in form (the interaction's login page and the device
// flow's): UI-06 and DS-03 throttling (login-throttle.ts: progressive per account, locks per account and
// network, known devices), UI-05 the same answer and timing for unknown users
// (a dummy hash), disabled users refused like wrong passwords, hashes upgraded on success.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { dummyHash, hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword } from '../oauth/passwords.js';
import type { User } from '../storage/index.js';
import { cookieSettings } from './flow.js';
import { knownDeviceOf, rememberDevice } from './known-device.js';

export const LOGIN_FAILED = 'Incorrect username or password.';
export const LOCKED = 'Too many failed sign-in attempts. Please wait a few minutes and try again.';

export type LoginResult = { ok: true; user: User } | { ok: false; status: 401 | 429; error: string; retryAfter?: number };

export async function checkLogin(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AppDeps, 'storage' | 'throttle' | 'events' | 'keys' | 'config' | 'metrics'>,
  username: string,
  password: string,
  now: number,
): Promise<LoginResult> {
  const { storage, throttle } = deps;
  const settings = cookieSettings(deps);
  // UI-05: unknown users verify against a dummy hash, so status, body and timing match.
  const user = username.length > 0 && username.length <= 255 ? await storage.users.findByUsername(username) : undefined;
  // DS-03: a browser that signed in to this account before gets past delays and other networks' locks.
  const deviceId = user && !user.disabled ? await knownDeviceOf(request, deps, settings, user.id, now) : undefined;
  const keys = throttle.keys(username, request.ip, deviceId);
  const verdict = await throttle.check(keys, deviceId !== undefined, now);
  // UI-06: during a delay or a lock every attempt gets the same answer, whatever the password.
  if (verdict.wait > 0) {
    deps.metrics?.login('locked');
    return { ok: false, status: 429, error: LOCKED, retryAfter: verdict.wait };
  }
  const tooLong = password.length === 0 || password.length > MAX_PASSWORD_LENGTH;
  const valid = !tooLong && (await verifyPassword(user?.passwordHash ?? (await dummyHash()), password));
  if (!user || !valid || user.disabled) {
    const locks = await throttle.recordFailure(keys, verdict.knownDevice, now);
    deps.metrics?.login('failure');
    // EV-01: the name as typed (bounded), never the password.
    await deps.events.record({
      type: 'login.failed',
      userId: user?.id,
      username: username.slice(0, 255),
      ip: request.ip,
      details: { reason: !user ? 'unknown user' : user.disabled ? 'disabled user' : 'wrong password' },
    });
    for (const lock of locks) {
      await deps.events.record({
        type: 'login.locked',
        userId: lock.scope === 'network' ? user?.id : undefined,
        username: lock.scope === 'network' ? username.slice(0, 255) : undefined,
        ip: request.ip,
        details: { scope: lock.scope, network: lock.network, seconds: lock.seconds },
      });
    }
    return { ok: false, status: 401, error: LOGIN_FAILED };
  }
  await throttle.recordSuccess(keys, now);
  deps.metrics?.login('success');
  await rememberDevice(reply, deps, settings, user.id, deviceId, now);
  await deps.events.record({
    type: 'login.succeeded',
    userId: user.id,
    username: user.username,
    ip: request.ip,
    details: verdict.knownDevice ? { known_device: true } : {},
  });
  if (needsRehash(user.passwordHash)) await storage.users.setPasswordHash(user.id, await hashPassword(password), now);
  return { ok: true, user };
}
