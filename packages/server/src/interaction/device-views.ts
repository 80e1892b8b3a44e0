// The pages of the device flow (RFC 8628 §3.3): the code entry form at the verification URI, the
// confirmation that names the client and says a device is asking, and the final answer. Built with
// the escape-by-default `html` tag (UI-08) in the shared layout.
import type { ConsentGroup } from '../oauth/resources.js';
import { html, type Html } from './html.js';
import { groupHeading, layout } from './views.js';

export interface DeviceCodeView {
  action: string;
  csrfToken: string;
  userCode?: string | undefined;
  error?: string | undefined;
}

export function deviceCodePage(v: DeviceCodeView): Html {
  const error = v.error ? html`<p class="error" role="alert" id="device-error">${v.error}</p>` : '';
  const described = v.error ? html` aria-describedby="device-error"` : '';
  return layout(
    'Connect a device',
    html`<h1>Connect a device</h1>
      <p class="lead">Enter the code shown on your device.</p>
      ${error}
      <form method="post" action="${v.action}" ${described}>
        <input type="hidden" name="csrf_token" value="${v.csrfToken}" />
        <label for="user_code">Code</label>
        <input
          id="user_code"
          name="user_code"
          type="text"
          autocomplete="off"
          autocapitalize="characters"
          spellcheck="false"
          required
          maxlength="32"
          placeholder="XXXX-XXXX"
          value="${v.userCode ?? ''}"
          autofocus
        />
        <button type="submit" class="primary">Continue</button>
      </form>`,
  );
}

export interface DeviceConsentView {
  clientName: string;
  userName: string;
  userCode: string;
  /** What is asked, per API (the account's OpenID scopes, each RFC 8707 resource, other scopes). */
  groups: readonly ConsentGroup[];
  action: string;
  csrfToken: string;
}

export function deviceConsentPage(v: DeviceConsentView): Html {
  const items = v.groups.map((group) => {
    const list = group.scopes.map((s) =>
      s.description
        ? html`<li><span class="scope-text">${s.description}</span><br /><code class="scope-name">${s.scope}</code></li> `
        : html`<li>
            <span class="scope-text">Use the permission <code class="scope-name">${s.scope}</code></span>
          </li> `,
    );
    return html`<section class="scope-group">
      ${groupHeading(group)}
      <ul class="scopes">
        ${list}
      </ul>
    </section> `;
  });
  return layout(
    `Allow ${v.clientName} on a device?`,
    html`<h1>A device wants to use <span class="client-name">${v.clientName}</span> with your account</h1>
      <p class="lead">
        Signed in as <strong>${v.userName}</strong>. A device showing the code <strong class="user-code">${v.userCode}</strong> is asking
        for access. If you allow it, <strong>${v.clientName}</strong> on that device will be able to:
      </p>
      ${items}
      <p class="note">
        Only allow it if you started this on a device you own and it shows this same code. Never enter a code someone else gave you.
      </p>
      <form method="post" action="${v.action}" class="decision">
        <input type="hidden" name="csrf_token" value="${v.csrfToken}" />
        <input type="hidden" name="user_code" value="${v.userCode}" />
        <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
        <button type="submit" name="decision" value="allow" class="primary">Allow</button>
      </form>`,
  );
}

export function deviceDonePage(approved: boolean, clientName: string): Html {
  return approved
    ? layout(
        'Device connected',
        html`<h1>Device connected</h1>
          <p class="lead">
            <strong class="client-name">${clientName}</strong> on your device now has access. You can return to your device and close this
            page.
          </p>`,
      )
    : layout(
        'Access denied',
        html`<h1>Access denied</h1>
          <p class="lead">The device was not given access to your account. You can close this page.</p>`,
      );
}
