// OIDC Core §5.1 (standard claims) and §5.4 (claims requested by scope values).
import type { User } from '../storage/index.js';

const SCOPE_CLAIMS: Record<string, readonly string[]> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

export const SUPPORTED_CLAIMS = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'sid',
  'at_hash',
  'azp',
  'acr',
  'amr',
  ...Object.values(SCOPE_CLAIMS).flat(),
];

/** Every standard claim the user has, by name. */
export function userClaims(user: User): Record<string, unknown> {
  const extra = user.claims;
  const claims: Record<string, unknown> = { ...extra, preferred_username: user.username, updated_at: user.updatedAt };
  if (user.name) claims.name = user.name;
  if (user.email) {
    claims.email = user.email;
    claims.email_verified = extra.email_verified === true;
  }
  return claims;
}

/** The claims released for the granted scopes (subject excluded). */
export function claimsForScopes(user: User, scopes: readonly string[]): Record<string, unknown> {
  const all = userClaims(user);
  const out: Record<string, unknown> = {};
  for (const scope of scopes) {
    for (const name of SCOPE_CLAIMS[scope] ?? []) if (all[name] !== undefined && all[name] !== null) out[name] = all[name];
  }
  return out;
}
