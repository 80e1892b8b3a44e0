// The pages of Photo Printer. Plain semantic HTML, one small stylesheet, no script.
import { html, raw, type SafeHtml } from './html.js';
import { safeThumbnail, type Photo, type WhoAmI } from '../photos-api.js';

export const APP_NAME = 'Photo Printer';

const SCOPE_WORDS: Record<string, string> = {
  openid: 'Confirm who you are',
  profile: 'Your name',
  email: 'Your email address',
  offline_access: 'Stay connected while you are away',
  'photos:read': 'See your photos',
  'photos:write': 'Add photos to your library',
};

export function describeScope(scope: string): string {
  return SCOPE_WORDS[scope] ?? scope;
}

// Inline SVG (markup, not script or inline style: allowed by the CSP); no emoji font needed.
const PRINTER_ICON = raw(
  '<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="28" height="28">' +
    '<path fill="#1f4fbf" d="M6 2h12v5H6z"/><path fill="#1c2128" d="M3 8h18a1 1 0 0 1 1 1v8h-4v-3H6v3H2V9a1 1 0 0 1 1-1z"/>' +
    '<path fill="#ffffff" stroke="#1c2128" stroke-width="1.5" d="M6.75 14.75h10.5v6.5H6.75z"/>' +
    '<circle cx="18.5" cy="11" r="1" fill="#f4f1ec"/></svg>',
);

interface LayoutOptions {
  title: string;
  signedInAs?: string | undefined;
  body: SafeHtml;
}

export function layout({ title, signedInAs, body }: LayoutOptions): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · ${APP_NAME}</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/static/style.css" />
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to content</a>
        <header class="site-header">
          <div class="container header-row">
            <a class="brand" href="/">${PRINTER_ICON} ${APP_NAME}</a>
            ${
              signedInAs
                ? html`<form method="post" action="/logout" class="header-form">
                    <span class="signed-in-as">Signed in as <strong>${signedInAs}</strong></span>
                    <button type="submit" class="button secondary">Sign out</button>
                  </form>`
                : ''
            }
          </div>
        </header>
        <main id="main" class="container" tabindex="-1">${body}</main>
        <footer class="site-footer">
          <div class="container">
            <p>A demo client of Gatehouse. Your tokens stay on this app's server; your browser only holds a session cookie.</p>
          </div>
        </footer>
      </body>
    </html> `.value;
}

function connectButton(label: string): SafeHtml {
  return html`<form method="post" action="/login" class="inline-form">
    <button type="submit" class="button primary">${label}</button>
  </form>`;
}

export type HomeNotice = 'signed-out' | 'session-ended';

const NOTICES: Record<HomeNotice, string> = {
  'signed-out': 'You are signed out.',
  'session-ended': 'Your connection to Gatehouse has ended. Connect again to see your photos.',
};

export function welcomePage(notice?: HomeNotice): string {
  return layout({
    title: 'Print your photos',
    body: html` ${notice ? html`<p class="notice" role="status">${NOTICES[notice]}</p>` : ''}
      <section class="hero" aria-labelledby="welcome-heading">
        <h1 id="welcome-heading">Print your photos, beautifully</h1>
        <p class="lead">
          Photo Printer turns the photos you keep with Gatehouse into prints. Connect your account to pick the photos you want on paper.
        </p>
        <ul class="facts">
          <li>We ask only to <strong>see</strong> your photos, never to change them.</li>
          <li>You sign in at Gatehouse: we never see your password.</li>
          <li>You can say no, and you can sign out at any time.</li>
        </ul>
        ${connectButton('Connect with Gatehouse')}
      </section>`,
  });
}

export interface DashboardModel {
  displayName: string;
  email?: string | undefined;
  issuer: string;
  grantedScopes: string[];
  accessTokenExpiresAt?: number | undefined;
  hasRefreshToken: boolean;
  photos?: Photo[] | undefined;
  photosError?: string | undefined;
  me?: WhoAmI | undefined;
  idTokenClaims: Record<string, unknown>;
  now: number;
}

function photoCard(photo: Photo): SafeHtml {
  const thumbnail = safeThumbnail(photo.thumbnail);
  return html`<li class="photo">
    <figure>
      ${
        thumbnail
          ? html`<img src="${thumbnail}" alt="" width="240" height="180" />`
          : html`<div class="placeholder" aria-hidden="true"></div>`
      }
      <figcaption>
        <span class="photo-title">${photo.title}</span>
        ${photo.description ? html`<span class="photo-description">${photo.description}</span>` : ''}
      </figcaption>
    </figure>
  </li>`;
}

function expiresIn(at: number | undefined, now: number): string {
  if (at === undefined) return 'no expiry given';
  const seconds = Math.max(0, Math.round((at - now) / 1000));
  if (seconds < 90) return `in ${seconds} seconds`;
  return `in ${Math.round(seconds / 60)} minutes`;
}

export function dashboardPage(model: DashboardModel): string {
  const photos = model.photos;
  return layout({
    title: 'Your photos',
    signedInAs: model.displayName,
    body: html` <h1>Welcome, ${model.displayName}</h1>
      ${model.email ? html`<p class="lead">Signed in with Gatehouse as <strong>${model.email}</strong>.</p>` : ''}

      <section aria-labelledby="photos-heading">
        <h2 id="photos-heading">Your photos${photos ? html` <span class="count">(${photos.length})</span>` : ''}</h2>
        ${
          model.photosError
            ? html`<div class="alert" role="alert">
                <p><strong>We couldn't load your photos.</strong> ${model.photosError}</p>
              </div>`
            : ''
        }
        ${photos && photos.length === 0 ? html`<p>Your library is empty. Add photos at Gatehouse and come back.</p>` : ''}
        ${
          photos && photos.length > 0
            ? html`<ul class="photos">
                ${photos.map(photoCard)}
              </ul>`
            : ''
        }
      </section>

      <section aria-labelledby="access-heading">
        <h2 id="access-heading">What Photo Printer can access</h2>
        <ul class="scopes">
          ${model.grantedScopes.map((scope) => html`<li><span>${describeScope(scope)}</span> <code>${scope}</code></li>`)}
        </ul>
        <p class="muted">
          Access token kept on our server, renewed automatically; it expires
          ${expiresIn(model.accessTokenExpiresAt, model.now)}${model.hasRefreshToken ? ' and will be refreshed' : ''}.
        </p>
      </section>

      <details class="technical">
        <summary>Technical details</summary>
        <h3>ID token claims</h3>
        <dl class="claims">
          ${Object.entries(model.idTokenClaims).map(
            ([name, value]) =>
              html`<dt>${name}</dt>
                <dd><code>${typeof value === 'string' ? value : JSON.stringify(value)}</code></dd>`,
          )}
        </dl>
        <h3>What the photos API sees (<code>GET /me</code>)</h3>
        ${
          model.me
            ? html`<dl class="claims">
                <dt>sub</dt>
                <dd><code>${model.me.sub}</code></dd>
                <dt>client_id</dt>
                <dd><code>${model.me.client_id ?? ''}</code></dd>
                <dt>scope</dt>
                <dd><code>${model.me.scope ?? ''}</code></dd>
              </dl>`
            : html`<p>Not available.</p>`
        }
        <p>Issuer: <code>${model.issuer}</code></p>
      </details>`,
  });
}

export function deniedPage(): string {
  return layout({
    title: 'You chose not to share your photos',
    body: html` <section class="hero" aria-labelledby="denied-heading">
      <h1 id="denied-heading">You chose not to share your photos</h1>
      <p class="lead">That's fine: Photo Printer has no access to your Gatehouse account and received nothing about you.</p>
      <p>If you change your mind, you can connect again. Gatehouse will ask you once more before sharing anything.</p>
      <div class="actions">
        ${connectButton('Try again')}
        <a class="button secondary" href="/">Back to the home page</a>
      </div>
    </section>`,
  });
}

export interface ErrorModel {
  heading: string;
  message: string;
  /** An OAuth error code or similar, shown for support. */
  code?: string | undefined;
  detail?: string | undefined;
}

export function errorPage(model: ErrorModel): string {
  return layout({
    title: model.heading,
    body: html` <section class="hero" aria-labelledby="error-heading">
      <h1 id="error-heading">${model.heading}</h1>
      <p class="lead">${model.message}</p>
      ${model.code ? html`<p class="muted">Error code: <code>${model.code}</code>${model.detail ? html` — ${model.detail}` : ''}</p>` : ''}
      <div class="actions">
        ${connectButton('Try again')}
        <a class="button secondary" href="/">Back to the home page</a>
      </div>
    </section>`,
  });
}

export function forbiddenPage(): string {
  return layout({
    title: 'Request refused',
    body: html`<h1>Request refused</h1>
      <p>This form was sent from another website, so Photo Printer ignored it.</p>
      <p><a href="/">Go to the Photo Printer home page</a></p>`,
  });
}

export function notFoundPage(): string {
  return layout({
    title: 'Page not found',
    body: html`<h1>Page not found</h1>
      <p><a href="/">Back to the home page</a></p>`,
  });
}
