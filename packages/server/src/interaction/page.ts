// Every page goes out through sendPage, which owns the page headers: the content type and the CSP,
// built from the one directive list that app.ts also gives helmet for every other response (UI-01,
// UI-07). The only thing a page may add is where its form may lead (the client's redirect origin:
// Chromium applies form-action to the redirect that follows a form post).
import type { FastifyReply } from 'fastify';
import type { Html } from './html.js';
import { errorPage } from './views.js';

/** helmet's directive names (camelCase) and values. */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  // The passkey buttons fetch their WebAuthn options from our own origin (interaction/two-factor-views.ts).
  connectSrc: ["'self'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
} as const satisfies Record<string, readonly string[]>;

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The Content-Security-Policy header of a page whose forms may also lead to `formTargets`. */
export function pageCsp(formTargets: readonly string[] = []): string {
  return Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => [kebab(name), ...values, ...(name === 'formAction' ? formTargets : [])].join(' '))
    .join('; ');
}

/** The Content-Security-Policy of every other response (set once in app.ts), serialised as helmet did
 * (directives joined by ';' without a space). */
export const RESPONSE_CSP: Readonly<Record<string, string>> = {
  'Content-Security-Policy': Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => [kebab(name), ...values].join(' '))
    .join(';'),
};

/** The CSP form-action source that lets a form's redirect reach a client's redirect URI. */
export function redirectSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}

export interface PageOptions {
  status?: number;
  /** Redirect URIs a form on the page may end up at. */
  formTargets?: readonly string[];
}

export function sendPage(reply: FastifyReply, page: Html, options: PageOptions = {}): FastifyReply {
  return reply
    .status(options.status ?? 200)
    .type('text/html; charset=utf-8')
    .header('Content-Security-Policy', pageCsp((options.formTargets ?? []).map(redirectSource)))
    .send(page.toString());
}

export function sendErrorPage(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  return sendPage(reply, errorPage(title, message), { status });
}
