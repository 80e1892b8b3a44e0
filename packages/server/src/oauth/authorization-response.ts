// RFC 6749 §4.1.2 and §4.1.2.1 with RFC 9207: the URL the browser is sent back to, with the code (or
// the error), state and iss appended to the validated redirect_uri.
import type { OAuthError } from './errors.js';

/** RFC 6749 §4.1.2 / §4.1.2.1 with RFC 9207 iss: the URL the browser is sent back to. */
export function authorizationResponseUrl(redirectUri: string, issuer: string, values: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(values)) if (value !== undefined) url.searchParams.append(name, value);
  url.searchParams.append('iss', issuer);
  return url.href;
}

export function errorResponseUrl(redirectUri: string, issuer: string, error: OAuthError, state: string | undefined): string {
  return authorizationResponseUrl(redirectUri, issuer, { error: error.code, error_description: error.description, state });
}
