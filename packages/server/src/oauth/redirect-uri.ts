// RFC 6749 §3.1.2, RFC 9700 §2.1 and §4.1.3: exact string matching of redirect URIs.
// RFC 8252 §7.3: for loopback IP literals only the port may vary.
// Registration rules (RU-06): absolute, no fragment, no userinfo, no wildcard, no script schemes,
// https unless the host is a loopback IP literal or `localhost`-free native schemes (private-use URI schemes).
import { invalidRedirectUri } from './errors.js';

const DANGEROUS_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]']);

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname);
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
    if (!isLoopbackHost(url.hostname)) {
      throw invalidRedirectUri('plain http redirect URIs are only allowed for loopback IP literals (127.0.0.1 or [::1])');
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

/**
 * RU-01, RU-05: does `requested` match one of the registered URIs exactly? For loopback IP literal
 * registrations with the http scheme, the port may differ; everything else must be identical.
 * Returns the requested URI on a match (the value to redirect to), undefined otherwise.
 */
export function matchRedirectUri(requested: string, registered: readonly string[]): string | undefined {
  if (registered.includes(requested)) return requested;
  const req = parse(requested);
  if (!req || req.protocol !== 'http:' || !isLoopbackHost(req.hostname)) return undefined;
  for (const candidate of registered) {
    const reg = parse(candidate);
    if (!reg || reg.protocol !== 'http:' || !isLoopbackHost(reg.hostname)) continue;
    // Compare everything but the port, on the raw strings: rebuild both without the port.
    const strip = (raw: string, url: URL): string | undefined => {
      const prefix = `http://${url.hostname}`;
      if (!raw.startsWith(prefix)) return undefined;
      const rest = raw.slice(prefix.length);
      const m = /^(?::(\d{1,5}))?([/?].*|)$/.exec(rest);
      if (!m) return undefined;
      return prefix + m[2];
    };
    const a = strip(requested, req);
    const b = strip(candidate, reg);
    if (a !== undefined && a === b) return requested;
  }
  return undefined;
}
