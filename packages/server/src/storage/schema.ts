// Table shapes as Kysely sees them. Times are epoch seconds (bigint in PostgreSQL, integer in SQLite);
// booleans are 0/1 integers and lists are JSON text, so that every query stays dialect-neutral.
export interface ClientTable {
  client_id: string;
  client_secret_hash: string | null;
  client_name: string;
  redirect_uris: string; // JSON string[]
  grant_types: string; // JSON string[]
  scope: string;
  token_endpoint_auth_method: string;
  is_public: number;
  metadata: string; // JSON object of further registered metadata
  created_at: number;
  // 0005_dynamic_registration: digest of the RFC 7592 registration access token, null for other clients.
  registration_access_token_hash: string | null;
  // 0021_admin: 1 while an operator has disabled the client (no authentication, no live tokens).
  disabled: number;
}

export interface UserTable {
  id: string;
  username: string;
  /** UN-01: NFKC + lower case of username, unique (migration 0013_canonical_usernames). */
  username_canonical: string | null;
  password_hash: string;
  email: string | null;
  name: string | null;
  claims: string; // JSON object of further OIDC standard claims
  disabled: number;
  created_at: number;
  updated_at: number;
  // 0021_admin: 'admin' for users of the admin API and console, null for everyone else.
  role: string | null;
}

export interface AuthorizationCodeTable {
  code_hash: string;
  family_id: string;
  client_id: string;
  user_id: string;
  redirect_uri: string;
  redirect_uri_provided: number;
  scope: string;
  resources: string; // space-separated resource indicators
  code_challenge: string | null;
  code_challenge_method: string | null;
  nonce: string | null;
  auth_time: number;
  sid: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  access_token_jti: string | null;
  access_token_expires_at: number | null;
  // 0010_dpop: RFC 9449 §10 dpop_jkt of the authorization request; the token request must prove that key.
  dpop_jkt: string | null;
  // 0020_two_factor: how the user authenticated (RFC 8176 amr as space-separated values, and the acr).
  amr: string | null;
  acr: string | null;
}

export interface RefreshTokenTable {
  token_hash: string;
  family_id: string;
  client_id: string;
  user_id: string;
  scope: string;
  resources: string; // space-separated resource indicators
  auth_time: number;
  sid: string | null;
  created_at: number;
  expires_at: number;
  idle_expires_at: number;
  rotated_at: number | null;
  revoked_at: number | null;
  access_token_jti: string | null;
  access_token_expires_at: number | null;
  // The grace window after a rotation: the successor's digest and its token response, sealed with a
  // key derived from the rotated token itself (oauth/grants/refresh-grace.ts), until successor_expires_at.
  successor_hash: string | null;
  successor_response: string | null;
  successor_expires_at: number | null;
  // 0010_dpop: the DPoP key thumbprint a public client's refresh token is bound to (RFC 9449 §5).
  dpop_jkt: string | null;
  // 0020_two_factor: how the user authenticated for the family (RFC 8176 amr, space-separated) and its acr.
  amr: string | null;
  acr: string | null;
}

export interface ResourceTable {
  uri: string;
  name: string;
  scope: string;
  scope_descriptions: string; // JSON object scope -> plain words
  access_token_ttl: number | null;
  signing_alg: string;
  may_introspect: number;
  introspection_client_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface RevokedAccessTokenTable {
  jti: string;
  expires_at: number;
}

export interface GrantTable {
  user_id: string;
  client_id: string;
  scope: string;
  created_at: number;
  updated_at: number;
  /** When a token was last issued for the grant (code exchange or refresh), to the minute (0019_account). */
  last_used_at: number | null;
}

export interface SessionTable {
  id_hash: string;
  sid: string;
  user_id: string;
  auth_time: number;
  created_at: number;
  expires_at: number;
  // 0020_two_factor: how the session was authenticated (RFC 8176 amr, space-separated) and its acr.
  amr: string | null;
  acr: string | null;
}

export interface InteractionTable {
  id: string;
  client_id: string;
  params: string; // JSON of the validated authorization request
  browser_hash: string;
  user_id: string | null;
  auth_time: number | null;
  sid: string | null;
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
  /** null: an authorization request; 'account': a sign-in to the account pages (0019_account). */
  purpose: string | null;
  /** Where an account sign-in goes once done (an allowlisted path). */
  return_to: string | null;
  // 0020_two_factor: the user who passed the first factor and must now give a second one (and how).
  pending_user_id: string | null;
  pending_amr: string | null;
}

export interface SigningKeyTable {
  kid: string;
  alg: string;
  use: string;
  private_jwk: string;
  public_jwk: string;
  status: string; // 'next' | 'active' | 'retired'
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  // The key leaves the JWKS at this time (set when retired: retired_at + the longest token lifetime).
  remove_after: number | null;
}

export interface ClientAssertionJtiTable {
  jti_hash: string; // SHA-256 of (client_id, jti)
  expires_at: number;
}

export interface PushedRequestTable {
  id_hash: string; // SHA-256 of the random part of the request_uri
  client_id: string;
  params: string; // JSON: [name, values[]] pairs of the pushed request, without client credentials
  created_at: number;
  expires_at: number;
  consumed_at: number | null;
}

// 0005_dynamic_registration: RFC 7591 §3 initial access tokens.
export interface RegistrationTokenTable {
  token_hash: string;
  uses_left: number;
  created_at: number;
  expires_at: number;
}

export interface DpopJtiTable {
  jti_hash: string; // SHA-256 of (key thumbprint, jti)
  expires_at: number;
}

export interface DpopNonceKeyTable {
  id: string;
  secret: string; // base64url HMAC key of DPoP nonces (a freshness key, it authenticates nobody)
  created_at: number;
}

export interface Database {
  clients: ClientTable;
  users: UserTable;
  authorization_codes: AuthorizationCodeTable;
  refresh_tokens: RefreshTokenTable;
  revoked_access_tokens: RevokedAccessTokenTable;
  grants: GrantTable;
  sessions: SessionTable;
  interactions: InteractionTable;
  signing_keys: SigningKeyTable;
  registration_tokens: RegistrationTokenTable;
  resources: ResourceTable;
  device_codes: DeviceCodeTable;
  client_assertion_jtis: ClientAssertionJtiTable;
  pushed_requests: PushedRequestTable;
  security_events: SecurityEventTable;
  dpop_jtis: DpopJtiTable;
  dpop_nonce_keys: DpopNonceKeyTable;
  login_locks: LoginLockTable;
  totp_credentials: TotpCredentialTable;
  recovery_codes: RecoveryCodeTable;
  passkeys: PasskeyTable;
  webauthn_challenges: WebAuthnChallengeTable;
}

// 0020_two_factor: RFC 6238 TOTP; the secret is sealed under the KEK (oauth/at-rest.ts) when one is configured.
export interface TotpCredentialTable {
  user_id: string;
  secret: string;
  confirmed_at: number | null; // null until the first valid code confirms the enrolment
  last_used_step: number | null; // the last accepted time step: a code is accepted once, steps only move forward
  created_at: number;
}

// 0020_two_factor: single-use recovery codes, as SHA-256 digests.
export interface RecoveryCodeTable {
  code_hash: string;
  user_id: string;
  created_at: number;
  used_at: number | null;
}

// 0020_two_factor: WebAuthn credentials (passkeys): public key (base64url COSE), signature counter.
export interface PasskeyTable {
  credential_id: string; // base64url
  user_id: string;
  name: string;
  public_key: string;
  counter: number;
  transports: string; // JSON string[]
  created_at: number;
  last_used_at: number | null;
}

// 0020_two_factor: outstanding WebAuthn challenges, as digests, bound to a session or an interaction.
export interface WebAuthnChallengeTable {
  challenge_hash: string;
  purpose: string; // 'register' | 'authenticate'
  binding_hash: string;
  user_id: string | null;
  expires_at: number;
}

// 0008_security_events: what happened to accounts, clients and keys, for operators (never a secret).
export interface SecurityEventTable {
  id: string; // random, so that several nodes insert without coordination
  type: string;
  created_at: number;
  user_id: string | null;
  username: string | null;
  client_id: string | null;
  ip: string | null;
  details: string; // JSON object of further fields
}

export interface DeviceCodeTable {
  device_code_hash: string;
  user_code_hash: string;
  client_id: string;
  scope: string;
  status: string; // 'pending' | 'approved' | 'denied'
  user_id: string | null;
  auth_time: number | null;
  sid: string | null;
  poll_interval: number;
  last_polled_at: number | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  consumed_at: number | null;
  family_id: string;
  access_token_jti: string | null;
  access_token_expires_at: number | null;
  resources: string; // 0018_device_resources: space-separated resource indicators (RFC 8707)
}

// 0015_login_locks: the login throttle's state when there is no Redis (interaction/login-throttle.ts).
export interface LoginLockTable {
  key: string; // the throttle key (account digest, network, device digest or IP), never a raw username
  account: string | null; // the account digest the key belongs to, so that `users unlock` finds them all
  state: string; // JSON of the throttle state
  version: number; // compare-and-set counter
  expires_at: number;
}
