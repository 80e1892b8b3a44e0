// Every page goes out through sendPage, which owns the page headers: the content type and the CSP,
// built from the one directive list that app.ts also gives helmet for every other response (UI-01,
// UI-07). The only thing a page may add is where its form may lead (the client's redirect origin:
// Chromium applies form-action to the redirect that follows a form post).
import type { FastifyReply } from 'fastify';
import { DEFAULT_BRANDING, logoSource, type Branding } from './branding.js';
import { escapeHtml, type Html } from './html.js';
import { BRAND_SLOTS, errorPage } from './views.js';

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

/**
 * The Content-Security-Policy header of a page whose forms may also lead to `formTargets`, and whose
 * images may also come from `imageSources` (the operator's logo origin).
 */
export function pageCsp(formTargets: readonly string[] = [], imageSources: readonly string[] = []): string {
  const extra = (name: string) => (name === 'formAction' ? formTargets : name === 'imgSrc' ? imageSources : []);
  return Object.entries(CSP_DIRECTIVES)
    .map(([name, values]) => [kebab(name), ...values, ...extra(name)].join(' '))
    .join('; ');
}

/** The page's markup with the operator's branding in its slots (views.ts BRAND_SLOTS). */
export function withBranding(page: Html, branding: Branding): string {
  const logo = branding.logoUrl ? `<img class="brand-logo" src="${escapeHtml(branding.logoUrl)}" alt="" />` : '';
  return page.toString().split(BRAND_SLOTS.name).join(escapeHtml(branding.name)).split(BRAND_SLOTS.logo).join(logo);
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
  // buildApp decorates the instance with the configured branding (interaction/branding.ts).
  const branding = (reply.server as { branding?: Branding } | undefined)?.branding ?? DEFAULT_BRANDING;
  const logo = logoSource(branding);
  return reply
    .status(options.status ?? 200)
    .type('text/html; charset=utf-8')
    .header('Content-Security-Policy', pageCsp((options.formTargets ?? []).map(redirectSource), logo ? [logo] : []))
    .send(withBranding(page, branding));
}

export function sendErrorPage(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  // The request id (http/request-id.ts), so that a user can quote it and an operator find the log lines.
  return sendPage(reply, errorPage(title, message, reply.request.id), { status });
}
