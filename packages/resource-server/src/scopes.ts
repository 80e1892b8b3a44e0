// RFC 6749 §3.3 (scope syntax), RFC 9068 §2.2.3 (`scope` claim), RFC 6750 §3.1 (insufficient_scope, with
// the required scope in the challenge).

import type { AccessTokenClaims } from './claims.js';
import { InsufficientScopeError, isScopeToken } from './errors.js';

/** The scopes a token grants: its space-delimited `scope` claim split into tokens. */
export function scopesOf(claims: Pick<AccessTokenClaims, 'scope'>): string[] {
  return typeof claims.scope === 'string' ? claims.scope.split(' ').filter((scope) => scope !== '') : [];
}

/** Throws TypeError unless every entry is an RFC 6749 §3.3 scope token (a configuration error). */
export function checkScopeList(scopes: unknown, name = 'scopes'): readonly string[] {
  if (!Array.isArray(scopes) || !scopes.every(isScopeToken)) {
    throw new TypeError(`"${name}" must be an array of scope tokens (RFC 6749 §3.3)`);
  }
  return scopes;
}

/**
 * Throws InsufficientScopeError (403, `scope="…"` listing `required`) unless the token grants every one of
 * the required scopes. An empty list requires nothing.
 */
export function requireScopes(claims: Pick<AccessTokenClaims, 'scope'>, required: readonly string[]): void {
  checkScopeList(required, 'required');
  if (required.length === 0) return;
  const granted = new Set(scopesOf(claims));
  if (!required.every((scope) => granted.has(scope))) throw new InsufficientScopeError(required);
}
