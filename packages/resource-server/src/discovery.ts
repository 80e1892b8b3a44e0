// RFC 8414 §3 (authorization server metadata: well-known URL, §3.3 issuer must be identical),
// OpenID Connect Discovery 1.0 §4 (the openid-configuration fallback).

import { TemporarilyUnavailableError } from './errors.js';
import { fetchJson, type HttpSettings } from './http.js';

export interface AuthorizationServerMetadata {
  issuer: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  [member: string]: unknown;
}

/**
 * The metadata URLs of an issuer, in the order they are tried:
 * RFC 8414 §3.1 (`/.well-known/oauth-authorization-server` inserted before the issuer's path; for an
 * issuer without a path this is `${issuer}/.well-known/oauth-authorization-server`), then OpenID Connect
 * Discovery §4.1 (`/.well-known/openid-configuration` appended to the issuer).
 */
export function discoveryUrls(issuer: string): URL[] {
  const url = new URL(issuer);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const oauth = new URL(`/.well-known/oauth-authorization-server${path}`, url.origin);
  const openid = new URL(`${url.origin}${path}/.well-known/openid-configuration`);
  return [oauth, openid];
}

function unavailable(detail: string, cause?: unknown): TemporarilyUnavailableError {
  return new TemporarilyUnavailableError('The authorization server metadata is unavailable', {
    cause: cause === undefined ? new Error(detail) : new Error(detail, { cause }),
  });
}

/**
 * Fetches the issuer's metadata: RFC 8414 first, OpenID discovery when the first answers anything but 200.
 * The document's `issuer` must equal the configured issuer exactly (RFC 8414 §3.3), or nothing from it is used.
 * Throws TemporarilyUnavailableError (its `cause` says why).
 */
export async function discover(issuer: string, http: HttpSettings): Promise<AuthorizationServerMetadata> {
  const statuses: string[] = [];
  for (const url of discoveryUrls(issuer)) {
    let response;
    try {
      response = await fetchJson(url, {}, http);
    } catch (error) {
      throw unavailable(`fetching ${url.href} failed`, error);
    }
    if (response.body === undefined) {
      statuses.push(`${url.href} answered ${response.status}`);
      continue;
    }
    const metadata = response.body;
    if (metadata['issuer'] !== issuer) {
      throw unavailable(`${url.href} names the issuer ${JSON.stringify(metadata['issuer'])}, expected ${JSON.stringify(issuer)}`);
    }
    return metadata as AuthorizationServerMetadata;
  }
  throw unavailable(`no authorization server metadata: ${statuses.join('; ')}`);
}
