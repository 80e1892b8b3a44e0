// HTML for the login, consent and error pages. Every reflected value goes through escapeHtml (UI-08);
// no script and no third-party content (UI-07); the stylesheet is served by Gatehouse itself.
import type { ScopeDescription } from '../oauth/scopes.js';

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The page frame shared by every Gatehouse page. */
export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} · Gatehouse</title>
<link rel="stylesheet" href="/assets/gatehouse.css">
</head>
<body>
<main class="card">
<p class="brand" aria-hidden="true">Gatehouse</p>
${body}
</main>
</body>
</html>
`;
}

export interface LoginView {
  clientName: string;
  action: string;
  csrfToken: string;
  username?: string | undefined;
  error?: string | undefined;
}

export function loginPage(v: LoginView): string {
  const error = v.error ? `<p class="error" role="alert" id="login-error">${escapeHtml(v.error)}</p>` : '';
  const described = v.error ? ' aria-describedby="login-error"' : '';
  return layout('Sign in', `<h1>Sign in</h1>
<p class="lead">to continue to <strong class="client-name">${escapeHtml(v.clientName)}</strong></p>
${error}
<form method="post" action="${escapeHtml(v.action)}"${described}>
<input type="hidden" name="csrf_token" value="${escapeHtml(v.csrfToken)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="255" value="${escapeHtml(v.username ?? '')}"${v.username ? '' : ' autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${v.username ? ' autofocus' : ''}>
<button type="submit" class="primary">Sign in</button>
</form>`);
}

export interface ConsentView {
  clientName: string;
  userName: string;
  scopes: readonly ScopeDescription[];
  newScopes: ReadonlySet<string>;
  action: string;
  csrfToken: string;
  redirectHost: string;
}

export function consentPage(v: ConsentView): string {
  const items = v.scopes
    .map((s) => {
      const isNew = v.newScopes.has(s.scope) ? ' <span class="badge">new</span>' : '';
      return s.description
        ? `<li><span class="scope-text">${escapeHtml(s.description)}</span>${isNew}<br><code class="scope-name">${escapeHtml(s.scope)}</code></li>`
        : `<li><span class="scope-text">Use the permission <code class="scope-name">${escapeHtml(s.scope)}</code></span>${isNew}</li>`;
    })
    .join('\n');
  return layout(`Allow ${v.clientName}?`, `<h1><span class="client-name">${escapeHtml(v.clientName)}</span> wants to access your account</h1>
<p class="lead">Signed in as <strong>${escapeHtml(v.userName)}</strong>. If you allow it, <strong>${escapeHtml(v.clientName)}</strong> will be able to:</p>
<ul class="scopes">
${items}
</ul>
<p class="note">You will be sent back to <strong>${escapeHtml(v.redirectHost)}</strong>. Only allow apps you trust.</p>
<form method="post" action="${escapeHtml(v.action)}" class="decision">
<input type="hidden" name="csrf_token" value="${escapeHtml(v.csrfToken)}">
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
</form>`);
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>
<p class="lead">${escapeHtml(message)}</p>
<p class="note">You can close this page and start again from the application you came from.</p>`);
}
