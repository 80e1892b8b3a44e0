// THE list of grants. The token endpoint's dispatch, grant_types_supported in discovery, client
// registration (which grant types exist, and what each needs) and the CLI's help all derive from it.
// Adding a grant: write grants/<grant>.ts (a GrantHandler), add it here; see docs/architecture.md.
import { authorizationCodeGrant } from './authorization-code.js';
import { clientCredentialsGrant } from './client-credentials.js';
import { deviceCodeGrant } from './device-code.js';
import { refreshTokenGrant } from './refresh-token.js';
import { tokenExchangeGrant } from './token-exchange.js';
import type { GrantDeps, GrantHandler } from './types.js';

export const GRANTS = [authorizationCodeGrant, refreshTokenGrant, clientCredentialsGrant, deviceCodeGrant, tokenExchangeGrant] as const;

export type GrantType = (typeof GRANTS)[number]['grantType'];
export type AnyGrant = GrantHandler<GrantDeps> & { readonly grantType: GrantType };

/** The registry, each grant seen through the common interface. */
export const ALL_GRANTS: readonly AnyGrant[] = GRANTS;

export const GRANT_TYPES: readonly GrantType[] = ALL_GRANTS.map((g) => g.grantType);

const BY_TYPE = new Map<string, AnyGrant>(ALL_GRANTS.map((g) => [g.grantType, g]));

export function findGrant(grantType: string): AnyGrant | undefined {
  return BY_TYPE.get(grantType);
}

export function isGrantType(value: string): value is GrantType {
  return BY_TYPE.has(value);
}

/** The grant types a client gets when it names none. */
export const DEFAULT_GRANT_TYPES: readonly GrantType[] = ALL_GRANTS.filter((g) => g.registration.byDefault === true).map(
  (g) => g.grantType,
);

/** The response_type values of the grants a client registered (RFC 7591 §2.1). */
export function responseTypesOf(grantTypes: readonly string[]): string[] {
  return ALL_GRANTS.flatMap((g) => (grantTypes.includes(g.grantType) && g.registration.responseType ? [g.registration.responseType] : []));
}
