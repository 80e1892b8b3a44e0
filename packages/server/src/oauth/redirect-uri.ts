// RFC 6749 §3.1.2, RFC 9700 §2.1 and §4.1.3: exact string matching of redirect URIs.
// RFC 8252 §7.3, §8.3: for loopback redirect URIs of native (public) clients only the port may vary.
// Registration rules (RU-06): absolute, no fragment, no userinfo, no wildcard, no script schemes,
// https unless the host is loopback (127.0.0.1, [::1] or exactly `localhost`), or a reverse-domain
// private-use scheme (RFC 8252 §7.1).
import { invalidRedirectUri } from './errors.js';

const DANGEROUS_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);
/** RFC 8252 §7.3 / §8.3: the hosts a plain-http redirect URI may name (the name `localhost` only exactly). */
const LOOPBACK_REDIRECT_HOSTS = new Set([...LOOPBACK_HOSTS, 'localhost']);

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/** A loopback IP literal (127.0.0.1 or [::1]); the name `localhost` is not one. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
}

/** A host that a plain-http redirect URI may name: a loopback IP literal or exactly `localhost`. */
export function isLoopbackRedirectHost(hostname: string): boolean {
  return LOOPBACK_REDIRECT_HOSTS.has(hostname);
}

/** Throws invalid_redirect_uri (RFC 7591 §3.2.2) when a URI may not be registered. */
export function assertRegistrableRedirectUri(uri: string): void {
  if (uri.length > 2000) throw invalidRedirectUri('redirect URI is too long');
  if (/[\s<>"{}|\\^`\u0000-\u001f\u007f]/.test(uri)) {
    throw invalidRedirectUri('redirect URI contains characters that are not allowed');
  }
  if (uri.includes('*')) throw invalidRedirectUri('redirect URI must not contain wildcards');
  if (uri.includes('#')) throw invalidRedirectUri('redirect URI must not contain a fragment');
  const url = parse(uri);
  if (!url) throw invalidRedirectUri('redirect URI must be an absolute URI');
  const scheme = url.protocol.toLowerCase();
  if (DANGEROUS_SCHEMES.has(scheme)) throw invalidRedirectUri(`redirect URI scheme ${scheme} is not allowed`);
  if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(uri)) {
    throw invalidRedirectUri('redirect URI must not contain user information');
  }
  if (scheme === 'http:') {
    if (!isLoopbackRedirectHost(url.hostname)) {
      throw invalidRedirectUri('plain http redirect URIs are only allowed for loopback hosts (127.0.0.1, [::1] or localhost)');
    }
  } else if (scheme === 'https:') {
    if (url.hostname === '') throw invalidRedirectUri('redirect URI must have a host');
  } else if (!/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(scheme)) {
    // RFC 8252 §7.1: private-use schemes must be reverse domain names (com.example.app:/cb)
    throw invalidRedirectUri('custom URI schemes must be reverse domain names (RFC 8252 §7.1)');
  }
  // The registered value must be stored exactly as the client will send it: refuse anything the URL
  // parser would normalise (case in scheme/host, default port, dot segments, percent-encoding changes).
  if (scheme === 'http:' || scheme === 'https:') {
    if (url.href !== uri && url.href !== `${uri}/`) {
      throw invalidRedirectUri('redirect URI must be in normalised form (lower-case scheme and host, no default port, no dot segments)');
    }
  }
}

export interface RedirectMatchOptions {
  /**
   * RFC 8252 §7.3: whether a registered loopback URI (http on 127.0.0.1, [::1] or localhost) matches
   * any port. True for public (native) clients; the authorization request passes client.isPublic.
   */
  loopbackAnyPort?: boolean;
}

/**
 * RU-01, RU-05: does `requested` match one of the registered URIs exactly? For http loopback
 * registrations (127.0.0.1, [::1], localhost) the port may differ when `loopbackAnyPort` (the default,
 * RFC 8252 §7.3); the host must be the registered one and path and query stay exact.
 * Returns the requested URI on a match (the value to redirect to), undefined otherwise.
 */
export function matchRedirectUri(requested: string, registered: readonly string[], options: RedirectMatchOptions = {}): string | undefined {
  if (registered.includes(requested)) return requested;
  if (options.loopbackAnyPort === false) return undefined;
  const req = parse(requested);
  if (!req || req.protocol !== 'http:' || !isLoopbackRedirectHost(req.hostname)) return undefined;
  const a = withoutPort(requested, req);
  if (a === undefined) return undefined;
  for (const candidate of registered) {
    const reg = parse(candidate);
    if (!reg || reg.protocol !== 'http:' || !isLoopbackRedirectHost(reg.hostname)) continue;
    if (withoutPort(candidate, reg) === a) return requested;
  }
  return undefined;
}

/**
 * The raw URI without its port, compared on the raw strings (never a normalised form): the text after
 * `http://HOST` must be an optional `:digits` and then nothing, a path or a query. Anything else
 * (userinfo, a longer host such as `localhost.evil.test`, an empty port) is no loopback URI.
 */
function withoutPort(raw: string, url: URL): string | undefined {
  const prefix = `http://${url.hostname}`;
  if (!raw.startsWith(prefix)) return undefined;
  const m = /^(?::(\d{1,5}))?([/?].*|)$/.exec(raw.slice(prefix.length));
  if (!m) return undefined;
  return prefix + m[2];
}
