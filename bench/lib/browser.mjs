// A browser without a browser: fetch with manual redirects and a cookie jar, enough to sign the bench
// user in once at each server through its real pages (the measured flow then reuses the session).
import { createHash } from 'node:crypto';

export const REDIRECT_URI = 'http://127.0.0.1:8080/cb';
export const RESOURCE = 'https://api.bench.example';
export const VERIFIER = 'bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';
export const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

export class Browser {
  constructor(base) {
    this.base = base;
    this.jar = new Map();
  }
  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async request(path, { method = 'GET', form, headers = {} } = {}) {
    const url = new URL(path, this.base);
    const h = { ...headers };
    if (this.jar.size > 0) h.cookie = this.cookieHeader();
    let body;
    if (form) {
      body = new URLSearchParams(form).toString();
      h['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await fetch(url, { method, headers: h, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()),
      );
      if (value === '' || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, location: res.headers.get('location'), text };
  }
  /** Follows redirects until one leaves for the client's redirect URI; returns that URL. */
  async follow(path, limit = 12) {
    let next = path;
    for (let i = 0; i < limit; i++) {
      const r = await this.request(next);
      if (r.status < 300 || r.status >= 400 || !r.location)
        throw new Error(`expected a redirect from ${next}, got ${r.status}: ${r.text.slice(0, 300)}`);
      if (r.location.startsWith(REDIRECT_URI)) return r.location;
      next = new URL(r.location, new URL(next, this.base)).toString();
    }
    throw new Error('too many redirects');
  }
}

export function codeOf(location) {
  const code = new URL(location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${location}`);
  return code;
}

const csrfOf = (html) => {
  const m = /name="csrf_token" value="([^"]+)"/.exec(html);
  if (!m) throw new Error(`no csrf_token in page: ${html.slice(0, 300)}`);
  return m[1];
};

export const GATEHOUSE_SCOPE = 'openid offline_access api:read';
export const PEER_SCOPE = 'openid api:read'; // the peer drops offline_access without prompt=consent; it issues refresh tokens all the same (see servers/oidc-provider.mjs)

export function gatehouseAuthorizePath(clientId) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: GATEHOUSE_SCOPE,
    state: 'bench-state',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  });
  return `/authorize?${q}`;
}

export function peerAuthorizePath(authPath, clientId, { resource = true } = {}) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    scope: PEER_SCOPE,
    state: 'bench-state',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  });
  if (resource) q.set('resource', RESOURCE);
  return `${authPath}?${q}`;
}

/**
 * Gatehouse's real pages: authorize → login form (CSRF) → consent form → callback. Returns the
 * callback URL; the browser then holds the session cookie. With `consent: false` the user already
 * consented and the login answer is the callback. `timeLogin` receives the login POST's duration.
 */
export async function gatehouseSignIn(browser, clientId, { username, password, timeLogin } = {}) {
  const start = await browser.request(gatehouseAuthorizePath(clientId));
  if (start.status !== 303) throw new Error(`authorize answered ${start.status}: ${start.text.slice(0, 300)}`);
  const page = await browser.request(start.location);
  const t0 = process.hrtime.bigint();
  const login = await browser.request(`${start.location}/login`, {
    method: 'POST',
    form: { csrf_token: csrfOf(page.text), username, password },
  });
  timeLogin?.(Number(process.hrtime.bigint() - t0) / 1e6);
  if (login.status !== 303) throw new Error(`login answered ${login.status}: ${login.text.slice(0, 300)}`);
  if (login.location.startsWith(REDIRECT_URI)) return login.location;
  const consent = await browser.request(login.location);
  const done = await browser.request(`${login.location}/consent`, {
    method: 'POST',
    form: { csrf_token: csrfOf(consent.text), decision: 'allow' },
  });
  if (done.status !== 303 || !done.location.startsWith(REDIRECT_URI))
    throw new Error(`consent answered ${done.status}: ${done.text.slice(0, 300)}`);
  return done.location;
}

export function basicAuth(clientId, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A code exchange through fetch (set-up only). */
export async function exchange(base, tokenPath, auth, code) {
  const res = await fetch(new URL(tokenPath, base), {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }).toString(),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`code exchange answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}
