// The account pages (README "Account pages"): profile, password, connected apps, sessions, second
// factors and sign out, on one page of sections. Every value goes through the escape-by-default `html`
// tag (UI-08); every form carries the session's CSRF token (UI-02); no script (UI-07).
import type { ConsentGroup } from '../oauth/resources.js';
import { html, type Html } from './html.js';
import { layout } from './views.js';

export interface ConnectedApp {
  clientId: string;
  /** null: the client is gone (the grant is stale). */
  clientName: string | null;
  groups: readonly ConsentGroup[];
  grantedAt: number;
  lastUsedAt: number | null;
}

export interface SessionRow {
  sid: string;
  createdAt: number;
  authTime: number;
  current: boolean;
}

export interface AccountView {
  username: string;
  name: string;
  email: string;
  csrfToken: string;
  apps: readonly ConnectedApp[];
  sessions: readonly SessionRow[];
  /** A fixed message after a change (never text from the request). */
  notice?: string | undefined;
  /** Problems with the profile or password form, by form. */
  errors?: { profile?: string | undefined; password?: string | undefined };
}

/** Times in UTC, readable and machine-readable. */
export function when(epochSeconds: number): Html {
  const iso = new Date(epochSeconds * 1000).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time>`;
}

const csrf = (token: string) => html`<input type="hidden" name="csrf_token" value="${token}" />`;

function problem(id: string, message: string | undefined): Html | string {
  return message ? html`<p class="error" role="alert" id="${id}">${message}</p>` : '';
}

function groupTitle(group: ConsentGroup): Html {
  if (group.kind === 'account') return html`Your account`;
  if (group.kind === 'other') return html`Other permissions`;
  let host = group.resourceUri ?? '';
  try {
    host = new URL(host).host || host;
  } catch {
    // shown as registered
  }
  return html`${group.resourceName} <span class="group-uri">(${host})</span>`;
}

function appCard(app: ConnectedApp, csrfToken: string): Html {
  const name = app.clientName ?? 'An application that no longer exists';
  const groups = app.groups.map(
    (g) =>
      html`<p class="group-name">${groupTitle(g)}</p>
        <ul class="plain">
          ${g.scopes.map((s) =>
            s.description
              ? html`<li>${s.description} <code class="scope-name">${s.scope}</code></li>`
              : html`<li>Use the permission <code class="scope-name">${s.scope}</code></li>`,
          )}
        </ul>`,
  );
  return html`<li class="item">
    <h3 class="item-title">${name}</h3>
    ${groups}
    <p class="meta">
      Allowed ${when(app.grantedAt)} · ${app.lastUsedAt === null ? 'not used since' : html`last used ${when(app.lastUsedAt)}`}
    </p>
    <form method="post" action="/account/apps/remove" class="inline">
      ${csrf(csrfToken)}
      <input type="hidden" name="client_id" value="${app.clientId}" />
      <button type="submit" class="danger">Remove access<span class="visually-hidden"> of ${name}</span></button>
    </form>
  </li>`;
}

function sessionRow(s: SessionRow, index: number, csrfToken: string): Html {
  return html`<li class="item">
    <h3 class="item-title">Session ${index + 1}${s.current ? html` <span class="badge">This browser</span>` : ''}</h3>
    <p class="meta">Started ${when(s.createdAt)} · signed in ${when(s.authTime)}</p>
    <form method="post" action="/account/sessions/sign-out" class="inline">
      ${csrf(csrfToken)}
      <input type="hidden" name="sid" value="${s.sid}" />
      <button type="submit" class="secondary">
        Sign out<span class="visually-hidden"> ${s.current ? 'this browser' : `session ${index + 1}`}</span>
      </button>
    </form>
  </li>`;
}

export function accountPage(v: AccountView): Html {
  const profileError = v.errors?.profile;
  const passwordError = v.errors?.password;
  return layout(
    'Your account',
    html`<h1>Your account</h1>
      <p class="lead">Signed in as <strong>${v.username}</strong></p>
      ${v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : ''}
      <nav aria-label="Sections" class="sections">
        <a href="#profile">Profile</a> <a href="#password">Password</a> <a href="#apps">Connected apps</a> <a href="#sessions">Sessions</a>
        <a href="#second-factors">Second factors</a>
      </nav>

      <section id="profile" aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        ${problem('profile-error', profileError)}
        <form method="post" action="/account/profile" ${profileError ? html`aria-describedby="profile-error"` : ''}>
          ${csrf(v.csrfToken)}
          <label for="name">Name</label>
          <input id="name" name="name" type="text" autocomplete="name" maxlength="200" value="${v.name}" />
          <label for="email">Email</label>
          <input id="email" name="email" type="email" autocomplete="email" maxlength="254" value="${v.email}" />
          <button type="submit" class="primary">Save profile</button>
        </form>
      </section>

      <section id="password" aria-labelledby="password-title">
        <h2 id="password-title">Password</h2>
        <p class="note">Changing your password signs out your other sessions, and every app must sign you in again.</p>
        ${problem('password-error', passwordError)}
        <form method="post" action="/account/password" ${passwordError ? html`aria-describedby="password-error"` : ''}>
          ${csrf(v.csrfToken)}
          <input type="text" name="username" autocomplete="username" value="${v.username}" hidden />
          <label for="current_password">Current password</label>
          <input id="current_password" name="current_password" type="password" autocomplete="current-password" required maxlength="1024" />
          <label for="new_password">New password</label>
          <input
            id="new_password"
            name="new_password"
            type="password"
            autocomplete="new-password"
            required
            minlength="8"
            maxlength="1024"
            aria-describedby="new-password-hint"
          />
          <p class="hint" id="new-password-hint">At least 8 characters.</p>
          <label for="confirm_password">New password again</label>
          <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required maxlength="1024" />
          <button type="submit" class="primary">Change password</button>
        </form>
      </section>

      <section id="apps" aria-labelledby="apps-title">
        <h2 id="apps-title">Connected apps</h2>
        ${
          v.apps.length === 0
            ? html`<p class="note">No app has access to your account.</p>`
            : html`<ul class="items">
                ${v.apps.map((a) => appCard(a, v.csrfToken))}
              </ul>`
        }
      </section>

      <section id="sessions" aria-labelledby="sessions-title">
        <h2 id="sessions-title">Active sessions</h2>
        <ul class="items">
          ${v.sessions.map((s, i) => sessionRow(s, i, v.csrfToken))}
        </ul>
      </section>

      <section id="second-factors" aria-labelledby="second-factors-title">
        <h2 id="second-factors-title">Second factors</h2>
        <p><a href="/account/security">Manage two-factor sign-in</a></p>
      </section>

      <form method="post" action="/account/sign-out" class="sign-out">
        ${csrf(v.csrfToken)}
        <button type="submit" class="secondary">Sign out</button>
      </form>`,
    { wide: true },
  );
}
