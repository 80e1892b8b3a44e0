// The pages of two-factor sign-in: the second-factor step of a sign-in, the passkey sign-in on the
// login page, and the account's security page (TOTP enrolment, recovery codes, passkeys). Every value
// goes through the escape-by-default `html` tag (UI-08); the only scripts are files of our own origin
// (/assets/two-factor.js and the @simplewebauthn/browser bundle), no inline script or handler (UI-07).
import type { Passkey } from '../storage/index.js';
import { html, type Html } from './html.js';
import { layout } from './views.js';

export const TWO_FACTOR_SCRIPT = '/assets/two-factor.js';
export const WEBAUTHN_SCRIPT = '/assets/simplewebauthn-browser.js';

const scripts = (): Html =>
  html`<script src="${WEBAUTHN_SCRIPT}" defer></script>
    <script src="${TWO_FACTOR_SCRIPT}" defer></script>`;

const errorLine = (id: string, message: string | undefined): Html =>
  message ? html`<p class="error" role="alert" id="${id}">${message}</p>` : html``;

/**
 * A passkey ceremony: a button (shown by the script only where WebAuthn works) that fetches the
 * options, runs navigator.credentials, and posts the result with the form (a real navigation).
 */
function passkeyForm(o: {
  mode: 'authenticate' | 'register';
  optionsUrl: string;
  action: string;
  csrfToken: string;
  label: string;
  id: string;
  fields?: Html;
  /** The main action of its page (a passkey-only second factor). */
  primary?: boolean;
}): Html {
  return html`<form method="post" action="${o.action}" class="passkey" id="${o.id}">
      <input type="hidden" name="csrf_token" value="${o.csrfToken}" />
      <input type="hidden" name="response" value="" />
      ${o.fields ?? ''}
      <button
        type="button"
        class="${o.primary ? 'primary' : 'secondary'} passkey-button"
        hidden
        data-webauthn="${o.mode}"
        data-options="${o.optionsUrl}"
      >
        ${o.label}
      </button>
      <p class="error" role="alert" hidden data-webauthn-error></p>
    </form>
    ${scripts()}`;
}

/** "Sign in with a passkey" under the login form (passwordless: discoverable credentials). */
export function passkeySignIn(interactionId: string, csrfToken: string): Html {
  return html`<div class="alternative">
    <p class="or"><span>or</span></p>
    ${passkeyForm({
      mode: 'authenticate',
      optionsUrl: `/interaction/${interactionId}/passkey/options`,
      action: `/interaction/${interactionId}/passkey`,
      csrfToken,
      label: 'Sign in with a passkey',
      id: 'passkey-sign-in',
    })}
  </div>`;
}

export interface SecondFactorView {
  interactionId: string;
  csrfToken: string;
  /** The client the sign-in continues to; undefined for a sign-in to the account pages. */
  clientName?: string | undefined;
  userName: string;
  /** The user has a TOTP credential or recovery codes: show the code form. */
  codes: boolean;
  passkeys: boolean;
  error?: string | undefined;
}

export function secondFactorPage(v: SecondFactorView): Html {
  const codeForm = v.codes
    ? html`<form method="post" action="/interaction/${v.interactionId}/second-factor" ${v.error ? html`aria-describedby="code-error"` : ''}>
        <input type="hidden" name="csrf_token" value="${v.csrfToken}" />
        <label for="code">Code from your authenticator app</label>
        <input
          id="code"
          name="code"
          type="text"
          inputmode="numeric"
          autocomplete="one-time-code"
          autocapitalize="none"
          spellcheck="false"
          required
          maxlength="32"
          autofocus
        />
        <p class="note">No access to your app? Enter one of your recovery codes instead.</p>
        <button type="submit" class="primary">Verify</button>
      </form>`
    : '';
  const passkey = v.passkeys
    ? html`${v.codes ? html`<p class="or"><span>or</span></p>` : ''}
      ${passkeyForm({
        mode: 'authenticate',
        optionsUrl: `/interaction/${v.interactionId}/passkey/options`,
        action: `/interaction/${v.interactionId}/passkey`,
        csrfToken: v.csrfToken,
        label: 'Use a passkey',
        id: 'passkey-second-factor',
        primary: !v.codes,
      })}`
    : '';
  return layout(
    'Two-step verification',
    html`<h1>Two-step verification</h1>
      <p class="lead">
        Signing in as <strong>${v.userName}</strong>
        ${v.clientName === undefined ? html`to your account` : html`to continue to <strong class="client-name">${v.clientName}</strong>`}.
        Confirm it is you with your second factor.
      </p>
      ${errorLine('code-error', v.error)} ${codeForm} ${passkey}`,
  );
}

export interface SecurityView {
  csrfToken: string;
  userName: string;
  totp: boolean;
  recoveryCodesLeft: number;
  passkeys: readonly Passkey[];
  notice?: string | undefined;
  error?: string | undefined;
}

const day = (epoch: number) => new Date(epoch * 1000).toISOString().slice(0, 10);

export function securityPage(v: SecurityView): Html {
  const csrf = html`<input type="hidden" name="csrf_token" value="${v.csrfToken}" />`;
  const notice = v.notice ? html`<p class="notice" role="status">${v.notice}</p>` : '';
  const totp = v.totp
    ? html`<p class="status on">Status: <strong>on</strong></p>
        <p class="note">Recovery codes left: <strong>${v.recoveryCodesLeft}</strong></p>
        <form method="post" action="/account/security/recovery-codes" class="inline">
          ${csrf}<button type="submit" class="secondary">New recovery codes</button>
        </form>
        <form method="post" action="/account/security/totp/remove">
          ${csrf}<label for="proof">To turn it off, enter your password or a current code</label>
          <input id="proof" name="proof" type="password" autocomplete="current-password" required maxlength="1024" />
          <button type="submit" class="secondary danger">Turn off authenticator app</button>
        </form>`
    : html`<p class="status">Status: <strong>off</strong></p>
        <p class="note">Use an app such as a password manager or an authenticator app to get a new code every 30 seconds.</p>
        <form method="post" action="/account/security/totp">
          ${csrf}<button type="submit" class="primary">Set up an authenticator app</button>
        </form>`;
  const list =
    v.passkeys.length === 0
      ? html`<p class="note">No passkeys yet.</p>`
      : html`<ul class="passkeys">
          ${v.passkeys.map(
            (p) =>
              html`<li>
                <span class="passkey-name">${p.name}</span>
                <span class="passkey-meta">added ${day(p.createdAt)}${p.lastUsedAt ? html`, last used ${day(p.lastUsedAt)}` : ''}</span>
                <form method="post" action="/account/security/passkeys/remove" class="inline">
                  ${csrf}<input type="hidden" name="credential_id" value="${p.credentialId}" />
                  <button type="submit" class="secondary danger" aria-label="Remove passkey ${p.name}">Remove</button>
                </form>
              </li> `,
          )}
        </ul>`;
  return layout(
    'Security',
    html`<h1>Sign-in security</h1>
      <p class="lead">Signed in as <strong>${v.userName}</strong>.</p>
      ${notice} ${errorLine('security-error', v.error)}
      <section class="security-section">
        <h2 class="group-name">Authenticator app</h2>
        ${totp}
      </section>
      <section class="security-section">
        <h2 class="group-name">Passkeys</h2>
        <p class="note">A passkey signs you in with your device's screen lock, and also works as a second step after your password.</p>
        ${list}
        ${passkeyForm({
          mode: 'register',
          optionsUrl: '/account/security/passkeys/options',
          action: '/account/security/passkeys',
          csrfToken: v.csrfToken,
          label: 'Add a passkey',
          id: 'passkey-register',
          fields: html`<label for="passkey-name">Name of the new passkey</label>
            <input id="passkey-name" name="name" type="text" maxlength="64" required placeholder="e.g. My laptop" />`,
        })}
      </section>`,
  );
}

export interface TotpEnrolView {
  csrfToken: string;
  /** data: URL of the QR code (SVG). */
  qrCode: string;
  /** The secret, in groups of four, for typing in. */
  secret: string;
  error?: string | undefined;
}

export function totpEnrolPage(v: TotpEnrolView): Html {
  return layout(
    'Set up an authenticator app',
    html`<h1>Set up an authenticator app</h1>
      <p class="lead">Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
      <img class="qr" src="${v.qrCode}" width="220" height="220" alt="QR code to add this account to an authenticator app" />
      <p class="note">Can't scan it? Enter this key in the app instead:</p>
      <p><code class="secret">${v.secret}</code></p>
      ${errorLine('enrol-error', v.error)}
      <form method="post" action="/account/security/totp/confirm">
        <input type="hidden" name="csrf_token" value="${v.csrfToken}" />
        <label for="code">Code from the app</label>
        <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="16" autofocus />
        <button type="submit" class="primary">Turn on</button>
      </form>
      <p class="note"><a href="/account/security">Cancel</a></p>`,
  );
}

export function recoveryCodesPage(codes: readonly string[]): Html {
  return layout(
    'Recovery codes',
    html`<h1>Save your recovery codes</h1>
      <p class="lead">
        If you lose your authenticator app or passkeys, each of these codes signs you in once. They are shown only now: store them somewhere
        safe.
      </p>
      <ol class="recovery-codes">
        ${codes.map((c) => html`<li><code>${c}</code></li>`)}
      </ol>
      <p class="note"><a href="/account/security">Done, back to sign-in security</a></p>`,
  );
}
