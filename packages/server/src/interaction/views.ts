// The pages of the authorization server: landing, login, consent, logout and errors. Every value goes through
// the escape-by-default `html` tag (UI-08); no script and no third-party content (UI-07); the
// stylesheet is served by Gatehouse itself.
import type { ConsentGroup } from '../oauth/resources.js';
import { html, type Html } from './html.js';

export { escapeHtml } from './html.js';

/**
 * Where the operator's branding goes (interaction/branding.ts): sendPage fills these in. They start
 * with `<`, which no escaped value can contain, so a reflected value can never produce one.
 */
export const BRAND_SLOTS = { name: '<!--gatehouse:brand-name-->', logo: '<!--gatehouse:brand-logo-->' } as const;
const NAME_SLOT = html`<!--gatehouse:brand-name-->`;
const LOGO_SLOT = html`<!--gatehouse:brand-logo-->`;

export interface LayoutOptions {
  /** A wider card (the account pages). */
  wide?: boolean;
}

/** The page frame shared by every Gatehouse page: one stylesheet, the brand colour, the brand line. */
export function layout(title: string, body: Html, options: LayoutOptions = {}): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <meta name="color-scheme" content="light dark" />
        <title>${title} · ${NAME_SLOT}</title>
        <link rel="stylesheet" href="/assets/gatehouse.css" />
        <link rel="stylesheet" href="/assets/brand.css" />
      </head>
      <body>
        <main class="${options.wide ? 'card wide' : 'card'}">
          <p class="brand">${LOGO_SLOT}<span class="brand-name">${NAME_SLOT}</span></p>
          ${body}
        </main>
      </body>
    </html> `;
}

export const hiddenFields = (fields: Record<string, string | undefined>): Html[] =>
  Object.entries(fields)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" /> `);

export interface LoginView {
  /** The client the sign-in continues to; undefined for a sign-in to the account pages. */
  clientName: string | undefined;
  action: string;
  csrfToken: string;
  username?: string | undefined;
  error?: string | undefined;
  /** Further hidden fields the form carries (the device flow's user code). */
  hidden?: Record<string, string | undefined>;
  /** Further content after the form (the passkey sign-in of two-factor-views.ts). */
  extra?: Html | undefined;
}

export function loginPage(v: LoginView): Html {
  const error = v.error ? html`<p class="error" role="alert" id="login-error">${v.error}</p>` : '';
  const described = v.error ? html` aria-describedby="login-error"` : '';
  const heading = v.clientName === undefined ? 'Sign in to your account' : 'Sign in';
  return layout(
    heading,
    html`<h1>${heading}</h1>
      ${
        v.clientName === undefined
          ? html`<p class="lead">to see and manage your account</p>`
          : html`<p class="lead">to continue to <strong class="client-name">${v.clientName}</strong></p>`
      }
      ${error}
      <form method="post" action="${v.action}" ${described}>
        <input type="hidden" name="csrf_token" value="${v.csrfToken}" />
        ${hiddenFields(v.hidden ?? {})}<label for="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autocomplete="username"
          autocapitalize="none"
          spellcheck="false"
          required
          maxlength="255"
          value="${v.username ?? ''}"
          ${v.username ? '' : html` autofocus`}
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          maxlength="1024"
          ${v.username ? html` autofocus` : ''}
        />
        <button type="submit" class="primary">Sign in</button>
      </form>
      ${v.extra ?? ''}`,
  );
}

export interface ConsentView {
  clientName: string;
  userName: string;
  groups: readonly ConsentGroup[];
  newItems: ReadonlySet<string>;
  action: string;
  csrfToken: string;
  redirectHost: string;
  /** CM-02: set for a client that came from a Client ID Metadata Document: the host that published it. */
  documentHost?: string | undefined;
}

/** The heading of one block of a consent page: the account, an API (name and host), or other permissions. */
export function groupHeading(group: ConsentGroup): Html {
  if (group.kind === 'account') return html`<h2 class="group-name">Your account</h2> `;
  if (group.kind === 'other') return html`<h2 class="group-name">Other permissions</h2> `;
  let host = group.resourceUri ?? '';
  try {
    host = new URL(host).host || host;
  } catch {
    // shown as registered
  }
  return html`<h2 class="group-name">${group.resourceName}</h2>
    <p class="group-uri">${host}</p> `;
}

export function consentPage(v: ConsentView): Html {
  const items = v.groups.map((group) => {
    const list = group.scopes.map((s) => {
      const isNew = v.newItems.has(s.item) ? html` <span class="badge">new</span>` : '';
      return s.description
        ? html`<li><span class="scope-text">${s.description}</span>${isNew}<br /><code class="scope-name">${s.scope}</code></li> `
        : html`<li>
            <span class="scope-text">Use the permission <code class="scope-name">${s.scope}</code></span
            >${isNew}
          </li> `;
    });
    return html`<section class="scope-group">
      ${groupHeading(group)}
      <ul class="scopes">
        ${list}
      </ul>
    </section> `;
  });
  return layout(
    `Allow ${v.clientName}?`,
    html`<h1><span class="client-name">${v.clientName}</span> wants to access your account</h1>
      ${
        v.documentHost === undefined
          ? ''
          : html`<p class="warning unverified">
              This application named itself in a document published at <strong class="document-host">${v.documentHost}</strong>. Its name
              has not been verified by the operator of this server.
            </p> `
      }
      <p class="lead">Signed in as <strong>${v.userName}</strong>. If you allow it, <strong>${v.clientName}</strong> will be able to:</p>
      ${items}
      <p class="note">You will be sent back to <strong>${v.redirectHost}</strong>. Only allow apps you trust.</p>
      <form method="post" action="${v.action}" class="decision">
        <input type="hidden" name="csrf_token" value="${v.csrfToken}" />
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
        <button type="submit" name="decision" value="allow" class="primary">Allow</button>
      </form>`,
  );
}

export interface ConfirmLogoutView {
  clientName: string | undefined;
  csrfToken: string;
  fields: Record<string, string | undefined>;
}

export function confirmLogoutPage(v: ConfirmLogoutView): Html {
  const who = v.clientName
    ? html`<p class="lead"><strong class="client-name">${v.clientName}</strong> asks to sign you out.</p>`
    : html`<p class="lead">An application asks to sign you out.</p>`;
  return layout(
    'Sign out?',
    html`<h1>Sign out of ${NAME_SLOT}?</h1>
      ${who}
      <p class="note">Signing out ends your ${NAME_SLOT} session in this browser. Applications you signed in to may sign you out too.</p>
      <form method="post" action="/end-session" class="decision">
        ${hiddenFields({ csrf_token: v.csrfToken, ...v.fields })}<button type="submit" name="logout" value="no" class="secondary">
          Stay signed in
        </button>
        <button type="submit" name="logout" value="yes" class="primary">Sign out</button>
      </form>`,
  );
}

export function signedOutPage(stillSignedIn = false): Html {
  return stillSignedIn
    ? layout(
        'Still signed in',
        html`<h1>You are still signed in</h1>
          <p class="lead">Nothing changed. You can close this page.</p>`,
      )
    : layout(
        'Signed out',
        html`<h1>You are signed out</h1>
          <p class="lead">Your ${NAME_SLOT} session in this browser has ended. You can close this page.</p>`,
      );
}

export function errorPage(title: string, message: string, reference?: string): Html {
  return layout(
    title,
    html`<h1>${title}</h1>
      <p class="lead">${message}</p>
      <p class="note">You can close this page and start again from the application you came from.</p>
      ${reference && html`<p class="note">Reference: <code class="request-id">${reference}</code></p>`}`,
  );
}

export interface LandingView {
  discoveryUrl: string;
}

/** GET /: what this server is, and where a person or a developer goes from here. */
export function landingPage(v: LandingView): Html {
  return layout(
    'Welcome',
    html`<h1>Welcome to ${NAME_SLOT}</h1>
      <p class="lead">
        The sign-in service for your applications. Manage your profile, password, sessions and connected apps in your account.
      </p>
      <nav aria-label="Start here">
        <ul class="links">
          <li><a class="button primary" href="/account">Your account</a></li>
          <li><a href="${v.discoveryUrl}">OpenID Connect discovery document</a></li>
        </ul>
      </nav>`,
  );
}
