// Browser state at the authorization server: the login session cookie, and a per-interaction cookie
// that binds an interaction to the browser that started it. Both carry 256-bit random values whose
// SHA-256 digests are stored. The CSRF token of an interaction's forms is derived from its binding
// cookie, so a form can only be posted by the browser holding that cookie (UI-02).
// UI-04: __Host- prefix, Secure, HttpOnly, SameSite=Lax, Path=/ when the issuer is https.
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { constantTimeEqual, randomToken, sha256 } from '../oauth/crypto.js';

export interface CookieSettings {
  secure: boolean;
}

export function sessionCookieName(s: CookieSettings): string {
  return s.secure ? '__Host-gatehouse.session' : 'gatehouse.session';
}

/**
 * DS-01: ONE binding cookie per browser (not one per interaction): every interaction it starts stores
 * the digest of the same value, and the CSRF token of each interaction is derived from the value and
 * the interaction id (bindingOf). Its value is `<issued-at, base36>.<256-bit random>`.
 */
export function browserCookieName(s: CookieSettings): string {
  return s.secure ? '__Host-gatehouse.browser' : 'gatehouse.browser';
}

const BROWSER_COOKIE = /^([0-9a-z]{1,11})\.[A-Za-z0-9_-]{43}$/;

/**
 * The browser's binding cookie value to use for a new interaction: the one it sent when it will
 * outlive the interaction, else a new one (`set`: the caller must send it, for `maxAge` seconds).
 */
export function browserBinding(
  sent: string | undefined,
  now: number,
  lifetimes: { cookie: number; interaction: number },
): { value: string; set: boolean } {
  const m = sent === undefined ? null : BROWSER_COOKIE.exec(sent);
  if (m && parseInt(m[1]!, 36) <= now && parseInt(m[1]!, 36) + lifetimes.cookie - now >= lifetimes.interaction) {
    return { value: sent!, set: false };
  }
  return { value: `${now.toString(36)}.${randomToken()}`, set: true };
}

/** The per-interaction secret the CSRF token of an interaction's forms is derived from. */
export function bindingOf(browserValue: string, interactionId: string): string {
  return `${browserValue}.${interactionId}`;
}

function options(s: CookieSettings, maxAge: number) {
  return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: s.secure, maxAge };
}

export function setCookie(reply: FastifyReply, s: CookieSettings, name: string, value: string, maxAge: number): void {
  reply.setCookie(name, value, options(s, maxAge));
}

export function clearCookie(reply: FastifyReply, s: CookieSettings, name: string): void {
  reply.clearCookie(name, { path: '/', httpOnly: true, sameSite: 'lax', secure: s.secure });
}

export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const value = request.cookies[name];
  return value !== undefined && value.length > 0 && value.length <= 128 ? value : undefined;
}

export function newBrowserSecret(): { secret: string; hash: string } {
  const secret = randomToken();
  return { secret, hash: sha256(secret) };
}

export function csrfTokenFor(bindingSecret: string): string {
  return sha256(`gatehouse-csrf.${bindingSecret}`);
}

export function csrfTokenValid(bindingSecret: string, presented: string | undefined): boolean {
  return presented !== undefined && constantTimeEqual(csrfTokenFor(bindingSecret), presented);
}

/**
 * UI-02: the CSRF token of the forms of signed-in pages (the account pages, and the two-factor and
 * admin pages after them): derived from the session cookie's value like an interaction's token is
 * from the binding cookie, so only the browser holding that session can post them, and a new session
 * (UI-03) makes every earlier token worthless.
 */
export function sessionCsrfToken(sessionCookieValue: string): string {
  return csrfTokenFor(`account.${sessionCookieValue}`);
}

export function sessionCsrfTokenValid(sessionCookieValue: string, presented: string | undefined): boolean {
  return csrfTokenValid(`account.${sessionCookieValue}`, presented);
}

/**
 * UI-02: a form post must not come from another origin. Browsers send `Origin: null` for posts from
 * pages with `Referrer-Policy: no-referrer` (ours, UI-07), so `null` and an absent Origin carry no
 * information; the interaction's CSRF token and SameSite cookies protect those posts.
 */
export function originAllowed(origin: string | undefined, issuerOrigin: string): boolean {
  return origin === undefined || origin === 'null' || origin === issuerOrigin;
}
