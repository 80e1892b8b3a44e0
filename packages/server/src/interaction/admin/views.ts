// The admin console's pages (/admin), in the shared layout of interaction/views.ts. Every value goes
// through the escape-by-default `html` tag (UI-08); no script (UI-07); every form carries the
// session's CSRF token (UI-02).
import type { KeyView, SessionView, UserView, GrantListItem } from '../../oauth/admin/index.js';
import type { SecurityEvent } from '../../storage/index.js';
import { html, type Html } from '../html.js';
import { layout } from '../views.js';

export type Section = 'users' | 'clients' | 'resources' | 'keys' | 'events';

const NAV: [Section, string][] = [
  ['users', 'Users'],
  ['clients', 'Clients'],
  ['resources', 'Resources'],
  ['keys', 'Signing keys'],
  ['events', 'Event log'],
];

/** A time as `2026-12-03 18:21 UTC`. */
const iso = (s: number | null | undefined) =>
  s === null || s === undefined ? '–' : `${new Date(s * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** Fixed messages a redirect after a form may name (?done=…): never text from the request. */
export const NOTICES: Record<string, string> = {
  disabled: 'The user is disabled; their sessions and tokens are revoked.',
  enabled: 'The user is enabled.',
  password: 'The password is set; every session and token of the user is revoked.',
  'signed-out': 'The user is signed out everywhere.',
  'session-ended': 'The session has ended.',
  'grant-revoked': 'The grant is revoked.',
  'client-updated': 'The client is saved.',
  'client-disabled': 'The client is disabled; its tokens are revoked.',
  'client-enabled': 'The client is enabled.',
  'keys-rotated': 'A key rotation has started.',
  'role-granted': 'The user is an admin now.',
  'role-revoked': 'The user is no longer an admin.',
};

export interface Frame {
  section: Section;
  admin: string;
  notice?: string | undefined;
}

function frame(f: Frame, title: string, body: Html): Html {
  const notice = f.notice && NOTICES[f.notice] ? html`<p class="admin-notice" role="status">${NOTICES[f.notice]}</p>` : '';
  return layout(
    `${title} · Admin`,
    html`<div class="admin-console">
      <nav class="admin-nav" aria-label="Admin console">
        ${NAV.map(([s, label]) => html`<a href="/admin/${s}" ${s === f.section ? html`aria-current="page"` : ''}>${label}</a> `)}
      </nav>
      <p class="admin-who">Signed in as <strong>${f.admin}</strong></p>
      <h1>${title}</h1>
      ${notice}${body}
    </div>`,
  );
}

/** A one-button form posting to `action` with the CSRF token and `fields`. */
export function actionForm(action: string, csrf: string, label: string, fields: Record<string, string> = {}, cls = 'secondary'): Html {
  return html`<form method="post" action="${action}" class="admin-inline">
    <input type="hidden" name="csrf_token" value="${csrf}" />
    ${Object.entries(fields).map(([n, v]) => html`<input type="hidden" name="${n}" value="${v}" />`)}
    <button type="submit" class="${cls}">${label}</button>
  </form>`;
}

export function usersPage(f: Frame, users: UserView[], q: string): Html {
  const rows = users.map(
    (u) =>
      html`<tr>
        <td><a href="/admin/users/${encodeURIComponent(u.id)}">${u.username}</a></td>
        <td>${u.name ?? ''}</td>
        <td>${u.email ?? ''}</td>
        <td>
          ${u.disabled ? html`<span class="badge">disabled</span>` : 'active'}${u.admin ? html` <span class="badge">admin</span>` : ''}
        </td>
      </tr>`,
  );
  return frame(
    f,
    'Users',
    html`<form method="get" action="/admin/users" class="admin-search" role="search">
        <label for="q">Search by name or email</label>
        <input id="q" name="q" type="text" value="${q}" maxlength="255" />
        <button type="submit" class="secondary">Search</button>
      </form>
      <div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Username</th>
              <th>Name</th>
              <th>Email</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            ${
              rows.length > 0
                ? rows
                : html`<tr>
                    <td colspan="4">No users.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>`,
  );
}

export function userPage(f: Frame, csrf: string, u: UserView, sessions: SessionView[], grants: GrantListItem[]): Html {
  const base = `/admin/users/${encodeURIComponent(u.id)}`;
  return frame(
    f,
    u.username,
    html`<dl class="admin-facts">
        <dt>Name</dt>
        <dd>${u.name ?? '–'}</dd>
        <dt>Email</dt>
        <dd>${u.email ?? '–'}</dd>
        <dt>Status</dt>
        <dd>${u.disabled ? 'disabled' : 'active'}${u.admin ? ', admin' : ''}</dd>
        <dt>Id</dt>
        <dd><code>${u.id}</code></dd>
        <dt>Created</dt>
        <dd>${iso(u.created_at)}</dd>
      </dl>
      <div class="admin-actions">
        ${u.disabled ? actionForm(`${base}/enable`, csrf, 'Enable') : actionForm(`${base}/disable`, csrf, 'Disable', {}, 'danger')}
        ${actionForm(`${base}/sign-out`, csrf, 'Sign out everywhere')}
        ${u.admin ? actionForm(`${base}/role`, csrf, 'Remove admin role', { admin: 'off' }) : actionForm(`${base}/role`, csrf, 'Make admin', { admin: 'on' })}
      </div>
      <h2>Reset password</h2>
      <form method="post" action="${base}/password" class="admin-form">
        <input type="hidden" name="csrf_token" value="${csrf}" />
        <label for="password">New password (at least 8 characters)</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required minlength="8" maxlength="1024" />
        <p class="note">Every session and token of the user is revoked.</p>
        <button type="submit" class="primary">Set password</button>
      </form>
      <h2>Sessions</h2>
      <div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Session</th>
              <th>Signed in</th>
              <th>Expires</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${
              sessions.length > 0
                ? sessions.map(
                    (s) =>
                      html`<tr>
                        <td><code>${s.sid}</code></td>
                        <td>${iso(s.auth_time)}</td>
                        <td>${iso(s.expires_at)}</td>
                        <td>${actionForm(`${base}/sessions/${encodeURIComponent(s.sid)}/end`, csrf, 'End')}</td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="4">No live sessions.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>
      <h2>Grants</h2>
      <div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Client</th>
              <th>Scope</th>
              <th>Since</th>
              <th></th>
            </tr>
          </thead>
          <tbody>
            ${
              grants.length > 0
                ? grants.map(
                    (g) =>
                      html`<tr>
                        <td>${g.client_name ?? '(deleted client)'}<br /><code>${g.client_id}</code></td>
                        <td>${g.scope}</td>
                        <td>${iso(g.created_at)}</td>
                        <td>${actionForm(`${base}/grants/${encodeURIComponent(g.client_id)}/revoke`, csrf, 'Revoke')}</td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="4">No grants.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>`,
  );
}

export function clientsPage(f: Frame, csrf: string, clients: Record<string, unknown>[]): Html {
  return frame(
    f,
    'Clients',
    html`<div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Client id</th>
              <th>Authentication</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            ${
              clients.length > 0
                ? clients.map(
                    (c) =>
                      html`<tr>
                        <td><a href="/admin/clients/${encodeURIComponent(String(c.client_id))}">${String(c.client_name)}</a></td>
                        <td><code>${String(c.client_id)}</code></td>
                        <td>${String(c.token_endpoint_auth_method)}</td>
                        <td>${c.disabled === true ? html`<span class="badge">disabled</span>` : 'active'}</td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="4">No clients.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>
      <h2>New client</h2>
      <form method="post" action="/admin/clients" class="admin-form">
        <input type="hidden" name="csrf_token" value="${csrf}" />
        <label for="client_name">Name</label>
        <input id="client_name" name="client_name" type="text" required maxlength="200" />
        <label for="redirect_uris">Redirect URIs (one a line)</label>
        <textarea id="redirect_uris" name="redirect_uris" rows="3"></textarea>
        <label for="scope">Scopes</label>
        <input id="scope" name="scope" type="text" value="openid profile email" maxlength="2000" />
        <label class="admin-check"><input type="checkbox" name="public" value="yes" /> Public client (no secret, PKCE)</label>
        <button type="submit" class="primary">Create client</button>
      </form>`,
  );
}

export function clientPage(f: Frame, csrf: string, c: Record<string, unknown>): Html {
  const id = String(c.client_id);
  const base = `/admin/clients/${encodeURIComponent(id)}`;
  const confidential = c.token_endpoint_auth_method === 'client_secret_basic' || c.token_endpoint_auth_method === 'client_secret_post';
  return frame(
    f,
    String(c.client_name),
    html`<dl class="admin-facts">
        <dt>Client id</dt>
        <dd><code>${id}</code></dd>
        <dt>Authentication</dt>
        <dd>${String(c.token_endpoint_auth_method)}</dd>
        <dt>Grant types</dt>
        <dd>${(c.grant_types as string[]).join(', ')}</dd>
        <dt>Status</dt>
        <dd>${c.disabled === true ? 'disabled' : 'active'}</dd>
      </dl>
      <div class="admin-actions">
        ${confidential ? actionForm(`${base}/secret`, csrf, 'Rotate secret') : ''}
        ${c.disabled === true ? actionForm(`${base}/enable`, csrf, 'Enable') : actionForm(`${base}/disable`, csrf, 'Disable', {}, 'danger')}
      </div>
      <h2>Settings</h2>
      <form method="post" action="${base}" class="admin-form">
        <input type="hidden" name="csrf_token" value="${csrf}" />
        <label for="redirect_uris">Redirect URIs (one a line)</label>
        <textarea id="redirect_uris" name="redirect_uris" rows="4">${(c.redirect_uris as string[]).join('\n')}</textarea>
        <label for="scope">Scopes</label>
        <input id="scope" name="scope" type="text" value="${String(c.scope)}" maxlength="2000" />
        <button type="submit" class="primary">Save</button>
      </form>`,
  );
}

/** The new secret, shown once (the page is not cached: Cache-Control no-store on every answer). */
export function secretPage(f: Frame, clientId: string, secret: string, created: boolean): Html {
  return frame(
    f,
    created ? 'Client created' : 'New client secret',
    html`<p class="lead">
        Client <code>${clientId}</code>. Copy the secret now: it is shown only this once and only its digest is stored.
        ${created ? '' : ' The previous secret no longer works.'}
      </p>
      <p class="admin-secret"><code>${secret}</code></p>
      <p><a href="/admin/clients/${encodeURIComponent(clientId)}">Back to the client</a></p>`,
  );
}

export function resourcesPage(f: Frame, csrf: string, resources: Record<string, unknown>[]): Html {
  return frame(
    f,
    'Resources',
    html`<div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>URI</th>
              <th>Scopes</th>
            </tr>
          </thead>
          <tbody>
            ${
              resources.length > 0
                ? resources.map(
                    (r) =>
                      html`<tr>
                        <td>${String(r.name)}</td>
                        <td><code>${String(r.uri)}</code></td>
                        <td>${String(r.scope)}</td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="3">No resources.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>
      <h2>New resource</h2>
      <form method="post" action="/admin/resources" class="admin-form">
        <input type="hidden" name="csrf_token" value="${csrf}" />
        <label for="uri">URI</label>
        <input id="uri" name="uri" type="text" required maxlength="2000" placeholder="https://api.example.com" />
        <label for="name">Name</label>
        <input id="name" name="name" type="text" maxlength="200" />
        <label for="scope">Scopes</label>
        <input id="scope" name="scope" type="text" maxlength="2000" placeholder="api:read api:write" />
        <button type="submit" class="primary">Register resource</button>
      </form>`,
  );
}

export function resourceCreatedPage(f: Frame, uri: string, credentials: { clientId: string; clientSecret: string } | undefined): Html {
  return frame(
    f,
    'Resource registered',
    html`<p class="lead">Resource <code>${uri}</code>.</p>
      ${
        credentials
          ? html`<p>Introspection credentials (client_secret_basic at /introspect), shown only this once:</p>
              <p class="admin-secret">
                client_id <code>${credentials.clientId}</code><br />client_secret <code>${credentials.clientSecret}</code>
              </p>`
          : ''
      }
      <p><a href="/admin/resources">Back to the resources</a></p>`,
  );
}

export function keysPage(f: Frame, csrf: string, keys: KeyView[]): Html {
  return frame(
    f,
    'Signing keys',
    html`<div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Key id</th>
              <th>Algorithm</th>
              <th>Status</th>
              <th>Created</th>
              <th>Leaves the JWKS</th>
            </tr>
          </thead>
          <tbody>
            ${keys.map(
              (k) =>
                html`<tr>
                  <td><code>${k.kid}</code></td>
                  <td>${k.alg}</td>
                  <td>${k.status}${k.signing ? html` <span class="badge">signing</span>` : ''}</td>
                  <td>${iso(k.created_at)}</td>
                  <td>${iso(k.remove_after)}</td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <p class="note">A rotation publishes a new key at once; it starts signing once every verifier can have fetched it.</p>
      ${actionForm('/admin/keys/rotate', csrf, 'Rotate all keys', {}, 'primary')}`,
  );
}

export function eventsPage(f: Frame, events: SecurityEvent[], filter: { type: string; user: string }): Html {
  return frame(
    f,
    'Event log',
    html`<form method="get" action="/admin/events" class="admin-search" role="search">
        <label for="type">Type or subject (login, admin, user.disabled)</label>
        <input id="type" name="type" type="text" value="${filter.type}" maxlength="100" />
        <label for="user">Username</label>
        <input id="user" name="user" type="text" value="${filter.user}" maxlength="255" />
        <button type="submit" class="secondary">Filter</button>
      </form>
      <div class="admin-table">
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Type</th>
              <th>User</th>
              <th>Client</th>
              <th>Details</th>
            </tr>
          </thead>
          <tbody>
            ${
              events.length > 0
                ? events.map(
                    (e) =>
                      html`<tr>
                        <td class="admin-nowrap">${iso(e.createdAt)}</td>
                        <td class="admin-nowrap"><code>${e.type}</code></td>
                        <td>${e.username ?? e.userId ?? ''}</td>
                        <td>${e.clientId ? html`<code>${e.clientId}</code>` : ''}</td>
                        <td class="admin-details">
                          ${Object.entries(e.details)
                            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
                            .join(' ')}
                        </td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="5">No events.</td>
                  </tr>`
            }
          </tbody>
        </table>
      </div>`,
  );
}

export function problemPage(f: Frame, title: string, message: string, back: string): Html {
  return frame(
    f,
    title,
    html`<p class="error" role="alert">${message}</p>
      <p><a href="${back}">Back</a></p>`,
  );
}
