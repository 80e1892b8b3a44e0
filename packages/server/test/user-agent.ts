// A scripted user agent over real HTTP (fetch): a cookie jar, manual redirects, real form parsing,
// and the Origin header a browser sends with form posts.
import { createServer } from 'node:net';
import { loadConfig } from '../src/config/config.js';
import { createGatehouse, type Gatehouse } from '../src/server.js';
import { parseForm } from './helpers.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface ListeningServer extends Gatehouse {
  issuer: string;
}

export async function listen(env: Record<string, string> = {}): Promise<ListeningServer> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    GATEHOUSE_DATABASE_URL: 'sqlite::memory:',
    GATEHOUSE_ISSUER: issuer,
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_LOG_LEVEL: 'silent',
    ...env,
  });
  const gatehouse = await createGatehouse(config);
  await gatehouse.app.listen({ host: '127.0.0.1', port });
  return { ...gatehouse, issuer };
}

export class UserAgent {
  readonly jar = new Map<string, string>();
  pages: { url: string; html: string }[] = [];

  private cookieHeader(): Record<string, string> {
    return this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  private keep(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && new Date(a.split('=')[1]!).getTime() < Date.now()),
      );
      if (value === '' || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }

  async fetch(url: string, init: { method?: string; form?: Record<string, string>; origin?: string } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...this.cookieHeader(), accept: 'text/html' };
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = init.origin ?? new URL(url).origin;
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    this.keep(res);
    return res;
  }

  /**
   * Opens an authorization URL and acts like a person: fills the login form, presses a consent
   * button, follows redirects until the browser is sent to `redirectPrefix`. Returns that URL.
   */
  async authorize(
    url: string,
    redirectPrefix: string,
    user: { username: string; password: string },
    decision: 'allow' | 'deny' = 'allow',
  ): Promise<URL> {
    let next: { url: string; form?: Record<string, string> } = { url };
    for (let step = 0; step < 10; step++) {
      const res = await this.fetch(next.url, next.form ? { form: next.form } : {});
      if (res.status >= 300 && res.status < 400) {
        const location = new URL(res.headers.get('location')!, next.url).href;
        if (location.startsWith(redirectPrefix)) return new URL(location);
        next = { url: location };
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) throw new Error(`page ${next.url} answered ${res.status}: ${html.slice(0, 300)}`);
      this.pages.push({ url: next.url, html });
      const f = parseForm(html);
      const action = new URL(f.action, next.url).href;
      if ('password' in f.fields) next = { url: action, form: { ...f.fields, username: user.username, password: user.password } };
      else {
        const button = f.buttons.find((b) => b.name === 'decision' && b.value === decision);
        if (!button) throw new Error('no consent button');
        next = { url: action, form: { ...f.fields, decision } };
      }
    }
    throw new Error('too many steps');
  }
}

/** A form POST to a listening server with a client's Basic credentials (form-encoded, RFC 6749 §2.3.1); the status and the JSON body. */
export async function postClientForm(
  issuer: string,
  path: string,
  body: Record<string, string>,
  client: { id: string; secret: string },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${issuer}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(body).toString(),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
