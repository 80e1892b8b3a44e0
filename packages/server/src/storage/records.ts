// The domain records the repositories return and take: camelCase, booleans, arrays and parsed JSON.
// No column name leaves storage/; the tables themselves are in schema.ts. Only types come from oauth/
// (the unions of grant types and authentication methods, the signing algorithms, the validated
// authorization request), never code.
import type { JWK } from 'jose';
import type { AuthorizationRequest } from '../oauth/authorization-request.js';
import type { ClientAuthMethod } from '../oauth/client-auth/index.js';
import type { GrantType } from '../oauth/grants/index.js';
import type { SigningAlg } from '../oauth/keys/key-store.js';
import type { SecurityEventType } from '../oauth/security-events.js';

/** An access token recorded beside what issued it, so that it can be denied by jti later. */
export interface AccessTokenRef {
  jti: string;
  expiresAt: number;
}

export interface Client {
  clientId: string;
  clientName: string;
  /** SHA-256 digest of the secret; null for public clients. */
  secretHash: string | null;
  redirectUris: readonly string[];
  grantTypes: readonly GrantType[];
  scopes: readonly string[];
  authMethod: ClientAuthMethod;
  isPublic: boolean;
  /** Further registered metadata under its RFC 7591 / OIDC names. */
  metadata: Readonly<Record<string, unknown>>;
  createdAt: number;
  /** RFC 7592: SHA-256 digest of the registration access token (dynamically registered clients only). */
  registrationAccessTokenHash?: string | null;
  /** 0021_admin: disabled by an operator (it cannot authenticate or be used; its tokens are inactive). */
  disabled?: boolean;
}

/** RFC 7591 §3: an initial access token for dynamic client registration, kept as its digest. */
export interface RegistrationToken {
  tokenHash: string;
  /** Registrations it may still authorise. */
  usesLeft: number;
  createdAt: number;
  expiresAt: number;
}

export interface User {
  id: string;
  username: string;
  passwordHash: string;
  email: string | null;
  name: string | null;
  /** Further OIDC standard claims. */
  claims: Readonly<Record<string, unknown>>;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** 0021_admin: `admin` may use the admin API and console; absent or null: no role. */
  role?: UserRole | null;
}

/** The roles a user may have (0021_admin): one so far. */
export type UserRole = 'admin';

export interface AuthorizationCode {
  codeHash: string;
  familyId: string;
  clientId: string;
  userId: string;
  redirectUri: string;
  /** Whether the authorization request named redirect_uri (then the token request must repeat it). */
  redirectUriProvided: boolean;
  scopes: readonly string[];
  /** RFC 8707: the resources the code was authorized for (empty: the default audience). */
  resources: readonly string[];
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  nonce: string | null;
  authTime: number;
  sid: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
  /** The access token issued when the code was redeemed. */
  accessToken: AccessTokenRef | null;
  /** RFC 9449 §10: the DPoP key (thumbprint) the token request must prove, from dpop_jkt at /authorize. */
  dpopJkt?: string | null | undefined;
  /** RFC 8176: how the user authenticated for this code (null: before two-factor sign-in existed). */
  amr?: readonly string[] | null | undefined;
  acr?: string | null | undefined;
}

export interface RefreshToken {
  tokenHash: string;
  familyId: string;
  clientId: string;
  userId: string;
  /** The scope granted to the family (a refresh may narrow the access token, never the family). */
  scopes: readonly string[];
  /** RFC 8707: the resources the family was authorized for (empty: the default audience). */
  resources: readonly string[];
  authTime: number;
  sid: string | null;
  createdAt: number;
  /** The family's absolute expiry: a rotation never extends it. */
  expiresAt: number;
  idleExpiresAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
  /** The access token issued beside this refresh token. */
  accessToken: AccessTokenRef | null;
  /** After rotation, for the grace window: the successor and its sealed token response. */
  successor: RefreshSuccessor | null;
  /** RFC 9449 §5: the DPoP key (thumbprint) every refresh of this public client's family must prove. */
  dpopJkt?: string | null | undefined;
  /** RFC 8176: how the user authenticated for the family (refreshed ID tokens repeat it). */
  amr?: readonly string[] | null | undefined;
  acr?: string | null | undefined;
}

export interface RefreshSuccessor {
  /** Digest of the successor refresh token. */
  hash: string;
  /** The successor's token response, sealed with a key only the rotated token derives. */
  sealed: string;
  expiresAt: number;
}

/** A user's consent to a client. */
export interface Grant {
  userId: string;
  clientId: string;
  scopes: readonly string[];
  createdAt: number;
  updatedAt: number;
  /** When a token was last issued for it (to the minute); null: never since it was recorded. */
  lastUsedAt: number | null;
}

export interface Session {
  /** SHA-256 digest of the session cookie's value. */
  idHash: string;
  /** The public session id (the `sid` claim). */
  sid: string;
  userId: string;
  authTime: number;
  createdAt: number;
  expiresAt: number;
  /** RFC 8176: how the session was authenticated (e.g. ["pwd"], ["pwd","otp"]); absent for older sessions. */
  amr?: readonly string[] | undefined;
  /** The session's authentication context class (oauth/two-factor/acr.ts). */
  acr?: string | undefined;
}

/** One authorization request between /authorize and the redirect back to the client. */
export interface Interaction {
  id: string;
  clientId: string;
  request: AuthorizationRequest;
  /** Digest of the browser-binding cookie. */
  browserHash: string;
  /** Who signed in for it (null until someone did). */
  userId: string | null;
  authTime: number | null;
  sid: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
  /** Two-factor sign-in: the user who passed the first factor and must give a second one (null: nobody). */
  pendingUserId?: string | null | undefined;
  /** RFC 8176: how the pending user passed the first factor. */
  pendingAmr?: readonly string[] | null | undefined;
}

/**
 * A sign-in to the account pages (not an authorization request): no client, no request; once the
 * user signed in, the browser goes to `returnTo` (an allowlisted path, interaction/account-session.ts).
 */
export interface AccountInteraction {
  id: string;
  purpose: 'account';
  returnTo: string;
  browserHash: string;
  userId: string | null;
  authTime: number | null;
  sid: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
  /** As for an authorization request: the user who passed the first factor and owes a second one. */
  pendingUserId?: string | null | undefined;
  pendingAmr?: readonly string[] | null | undefined;
}

export type SigningKeyStatus = 'next' | 'active' | 'retired';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  privateJwk: JWK;
  publicJwk: JWK;
  status: SigningKeyStatus;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** When a retired key leaves the JWKS. */
  removeAfter: number | null;
}

/** RFC 8707: a protected resource (an API) that access tokens can be minted for. */
export interface Resource {
  /** The resource indicator: an absolute URI without a fragment; the `aud` of its tokens. */
  uri: string;
  name: string;
  /** The scopes this resource accepts. */
  scopes: readonly string[];
  /** Plain words for each scope, shown on the consent page. */
  scopeDescriptions: Readonly<Record<string, string>>;
  /** Access-token lifetime for this resource (null: the server's default). */
  accessTokenTtl: number | null;
  signingAlg: SigningAlg;
  /** Whether the resource may introspect the tokens minted for it (RFC 7662 §2.1). */
  mayIntrospect: boolean;
  /** The client row holding the resource's introspection credentials (null: none issued). */
  introspectionClientId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** RFC 8628: where a device authorization stands. */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied';

/** One device authorization request (RFC 8628 §3.1), from the device's request to the token it redeems. */
export interface DeviceCode {
  /** SHA-256 digest of the device code (256 random bits). */
  deviceCodeHash: string;
  /** SHA-256 digest of the normalised user code (upper case, no dashes). */
  userCodeHash: string;
  clientId: string;
  scopes: readonly string[];
  status: DeviceCodeStatus;
  /** Who approved or denied it (null while pending). */
  userId: string | null;
  authTime: number | null;
  sid: string | null;
  /** The polling interval the client must keep (raised by 5 s on each slow_down). */
  interval: number;
  lastPolledAt: number | null;
  createdAt: number;
  expiresAt: number;
  decidedAt: number | null;
  consumedAt: number | null;
  /** The refresh-token family of the tokens it issues. */
  familyId: string;
  /** The access token issued when it was redeemed. */
  accessToken: AccessTokenRef | null;
  /** RFC 8707: the registered resources the device authorization named (empty: the default audience). */
  resources: readonly string[];
}

/** RFC 9126: a pushed authorization request, waiting for its one use at the authorization endpoint. */
export interface PushedRequest {
  /** SHA-256 digest of the random part of the request_uri. */
  idHash: string;
  clientId: string;
  /** The pushed parameters (client credentials removed), in the order they came. */
  params: readonly (readonly [string, readonly string[]])[];
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

/** What happened to an account, a client or a key, as the security event log keeps it (no secret). */
export interface SecurityEvent {
  id: string;
  type: SecurityEventType;
  createdAt: number;
  userId: string | null;
  username: string | null;
  clientId: string | null;
  ip: string | null;
  /** Further fields of the event (a family id, a reason, a kid); never a token, code, secret or password. */
  details: Readonly<Record<string, unknown>>;
}

/**
 * What a lifecycle action reaches among the user-bound tokens, codes and device codes: every given
 * field must match. At least a user or a client is always named (storage refuses an empty selector).
 */
export interface TokenSelector {
  userId?: string | undefined;
  clientId?: string | undefined;
  /** Issued in this browser session (its public sid). */
  sid?: string | undefined;
  /** Not issued in this browser session (tokens issued without a session included). */
  exceptSid?: string | undefined;
}

/** One login throttle entry (DS-03) as stored: its state is the throttle's own JSON, read with a version for compare-and-set. */
export interface LoginLock {
  key: string;
  account: string | null;
  state: Readonly<Record<string, unknown>>;
  version: number;
  expiresAt: number;
}

/** RFC 6238: a user's TOTP credential. `secret` is the base32 secret, opened from its sealed column. */
export interface TotpCredential {
  userId: string;
  secret: string;
  /** Null until the first valid code confirmed the enrolment: only a confirmed credential counts. */
  confirmedAt: number | null;
  /** The last time step whose code was accepted (codes are single-use, steps only move forward). */
  lastUsedStep: number | null;
  createdAt: number;
}

/** A WebAuthn credential (a passkey) registered by a user. */
export interface Passkey {
  /** base64url credential id. */
  credentialId: string;
  userId: string;
  name: string;
  /** base64url COSE public key. */
  publicKey: string;
  counter: number;
  transports: readonly string[];
  createdAt: number;
  lastUsedAt: number | null;
}

export type WebAuthnPurpose = 'register' | 'authenticate';

/** An outstanding WebAuthn challenge: its digest, what it is for and what it is bound to (a session or an interaction). */
export interface WebAuthnChallenge {
  challengeHash: string;
  purpose: WebAuthnPurpose;
  bindingHash: string;
  userId: string | null;
  expiresAt: number;
}
