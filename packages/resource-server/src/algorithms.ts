// RFC 7518 §3, RFC 8037, RFC 8725 §3.1: the asymmetric JWS algorithms, the one list that access tokens
// (options.ts) and DPoP proofs (dpop.ts) are checked against. Never `none`, never a MAC (HS*). A module
// of its own, imported by both, so that neither imports the other for it.
export const ASYMMETRIC_JWS_ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
] as const;

/** What a verifier accepts when it is not told otherwise. */
export const DEFAULT_ASYMMETRIC_ALGORITHMS = ['ES256', 'RS256', 'PS256', 'EdDSA'] as const;
