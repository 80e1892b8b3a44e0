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

export function interactionCookieName(s: CookieSettings, interactionId: string): string {
  return `${s.secure ? '__Host-' : ''}gatehouse.i.${interactionId.slice(0, 22)}`;
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
 * UI-02: a form post must not come from another origin. Browsers send `Origin: null` for posts from
 * pages with `Referrer-Policy: no-referrer` (ours, UI-07), so `null` and an absent Origin carry no
 * information; the interaction's CSRF token and SameSite cookies protect those posts.
 */
export function originAllowed(origin: string | undefined, issuerOrigin: string): boolean {
  return origin === undefined || origin === 'null' || origin === issuerOrigin;
}
