// RFC 6749 §3.3: scope = scope-token *( SP scope-token ), scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
// OIDC Core §5.4: the standard claim scopes. Plain-language descriptions for the consent page.
import { invalidScope } from './errors.js';

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
export const MAX_SCOPE_LENGTH = 2048;

export const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);

export function isValidScopeToken(token: string): boolean {
  return SCOPE_TOKEN.test(token);
}

/** Splits a scope string into a de-duplicated list, in order. Throws invalid_scope on bad syntax. */
export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  if (scope.length > MAX_SCOPE_LENGTH) throw invalidScope('scope is too long');
  const tokens = scope.split(' ').filter((t) => t.length > 0);
  for (const token of tokens) {
    if (!isValidScopeToken(token)) throw invalidScope('scope contains an invalid character');
  }
  return [...new Set(tokens)];
}

/** Splits a space-separated list of scope tokens, de-duplicated, in order (no syntax check). */
export function parseScopeList(scope: string): string[] {
  return [...new Set(scope.split(' ').filter((t) => t.length > 0))];
}

export function formatScope(scopes: Iterable<string>): string {
  return [...scopes].join(' ');
}

/** True when every scope of `requested` is in `allowed`. */
export function isSubset(requested: Iterable<string>, allowed: Iterable<string>): boolean {
  const set = new Set(allowed);
  for (const s of requested) if (!set.has(s)) return false;
  return true;
}

export interface ScopeDescription {
  scope: string;
  /** Plain words, or undefined for a scope Gatehouse does not know (shown by name). */
  description: string | undefined;
}

const DESCRIPTIONS: Record<string, string> = {
  openid: 'Sign you in with your Gatehouse account and learn your account identifier',
  profile: 'See your name and basic profile details',
  email: 'See your email address',
  address: 'See your postal address',
  phone: 'See your phone number',
  offline_access: 'Keep this access when you are not using the app, until you revoke it',
};

export function describeScopes(scopes: readonly string[]): ScopeDescription[] {
  return scopes.map((scope) => ({ scope, description: DESCRIPTIONS[scope] }));
}
