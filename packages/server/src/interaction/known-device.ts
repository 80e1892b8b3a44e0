// DS-03: a "known device" is a browser that signed in to an account before. After each successful
// sign-in the browser gets a long-lived cookie: a JWT signed with the server's ES256 key (jose), naming
// the user and a random device id, for KNOWN_DEVICE_TTL (180 days). With it the right password gets in
// even while strangers' failures slow the account down or lock other networks (login-throttle.ts).
// Nothing is stored for it; it lasts as long as the signing key that signed it is published (a key
// rotation forgets devices at the next rotation but one), and it proves nothing without the password.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import type { AppDeps } from '../app-types.js';
import { randomToken } from '../oauth/crypto.js';
import type { CookieSettings } from './cookies.js';
import { setCookie } from './cookies.js';

export const KNOWN_DEVICE_TTL = 180 * 86400;
const TYP = 'gatehouse-known-device+jwt';
const MAX_COOKIE_LENGTH = 2048;

export function knownDeviceCookieName(s: CookieSettings): string {
  return `${s.secure ? '__Host-' : ''}gatehouse.known`;
}

const audience = (issuer: string) => `${issuer}/known-device`;

/** The device id of this browser's cookie when it names `userId` and is ours and unexpired; else undefined. */
export async function knownDeviceOf(
  request: FastifyRequest,
  deps: Pick<AppDeps, 'keys' | 'config'>,
  settings: CookieSettings,
  userId: string,
  now: number,
): Promise<string | undefined> {
  const token = request.cookies[knownDeviceCookieName(settings)];
  if (!token || token.length > MAX_COOKIE_LENGTH) return undefined;
  try {
    const { kid } = decodeProtectedHeader(token);
    const key = typeof kid === 'string' ? deps.keys.findKey(kid) : undefined;
    if (!key) return undefined;
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [key.alg],
      typ: TYP,
      issuer: deps.config.issuer,
      audience: audience(deps.config.issuer),
      subject: userId,
      currentDate: new Date(now * 1000),
    });
    return typeof payload.jti === 'string' ? payload.jti : undefined;
  } catch {
    return undefined;
  }
}

/** Sets (or renews) the cookie after a successful sign-in; keeps the device id when there was one. */
export async function rememberDevice(
  reply: FastifyReply,
  deps: Pick<AppDeps, 'keys' | 'config'>,
  settings: CookieSettings,
  userId: string,
  deviceId: string | undefined,
  now: number,
): Promise<void> {
  const key = deps.keys.signingKey('ES256');
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TYP })
    .setIssuer(deps.config.issuer)
    .setAudience(audience(deps.config.issuer))
    .setSubject(userId)
    .setJti(deviceId ?? randomToken(16))
    .setIssuedAt(now)
    .setExpirationTime(now + KNOWN_DEVICE_TTL)
    .sign(key.privateKey);
  setCookie(reply, settings, knownDeviceCookieName(settings), token, KNOWN_DEVICE_TTL);
}
