// RFC 6750 §3 and §3.1 (the Bearer challenge and its error codes), RFC 6749 §5.2 (characters allowed in
// error_description), RFC 9728 §5.1 (resource_metadata in the challenge), RFC 9110 §11.6.1 (WWW-Authenticate).
//
// Modelled on jose's error classes: every class carries a `code` that never changes, both as a static
// member (`InvalidTokenError.code`) and on the instance (`err.code`). The public `description` is a fixed
// sentence chosen by this library; whatever caused the failure (a jose error, a network error) is kept as
// `cause` for logging and is never sent to the client.

export type AccessTokenErrorCode =
  'missing_token' | 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | 'invalid_dpop_proof';

/** The authentication scheme a challenge names: RFC 6750 `Bearer`, or RFC 9449 §7.1 `DPoP`. */
export type ChallengeScheme = 'Bearer' | 'DPoP';

/** What the `WWW-Authenticate` challenge says besides the error itself. */
export interface ChallengeParameters {
  /** RFC 6750 §3 `realm`. */
  realm?: string | undefined;
  /** RFC 9728 §5.1 `resource_metadata`: the URL of this resource's protected-resource metadata. */
  resourceMetadata?: string | undefined;
  /** RFC 9449 §7.1 `algs` of a DPoP challenge: the proof algorithms this resource accepts. */
  dpopAlgorithms?: readonly string[] | undefined;
}

/** The JSON body sent with an error. `error` is absent when no credentials were sent (RFC 6750 §3.1). */
export interface AccessTokenErrorBody {
  error?: Exclude<AccessTokenErrorCode, 'missing_token'>;
  error_description: string;
}

/** Everything an HTTP framework needs to answer with an error. */
export interface AccessTokenErrorReply {
  status: number;
  headers: Record<string, string>;
  body: AccessTokenErrorBody;
}

// RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ), i.e. printable ASCII without `"` and `\`.
const DESCRIPTION_FORBIDDEN = /[^\x20-\x21\x23-\x5B\x5D-\x7E]/g;
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** Restricts a text to the RFC 6749 §5.2 character set (others become spaces) and 200 characters. */
export function safeDescription(text: string): string {
  const cleaned = text.replace(DESCRIPTION_FORBIDDEN, ' ').trim().slice(0, 200);
  return cleaned === '' ? 'Access denied' : cleaned;
}

/** True if `value` is a scope token as RFC 6749 §3.3 defines it. */
export function isScopeToken(value: unknown): value is string {
  return typeof value === 'string' && SCOPE_TOKEN.test(value);
}

/** RFC 9110 §5.6.4 quoted-string: escape `"` and `\`, and drop anything that is not printable ASCII. */
function quote(value: string): string {
  return `"${value.replace(/[^\x20-\x7E]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

export interface AccessTokenErrorOptions {
  /** Private: what really went wrong. Kept for logs, never serialized into a response. */
  cause?: unknown;
}

/**
 * Base class of every error `verifyAccessToken` and the adapters produce. Switch on `code` (or use
 * `instanceof` with a subclass); `status` is the HTTP status RFC 6750 §3.1 prescribes.
 */
export abstract class AccessTokenError extends Error {
  abstract readonly code: AccessTokenErrorCode;
  abstract readonly status: 400 | 401 | 403 | 503;
  /** Public description: RFC 6749 §5.2 characters only, never token content or internals. */
  readonly description: string;
  /** Space-delimited scopes the resource requires (only set for `insufficient_scope`). */
  readonly scope: string | undefined;
  /**
   * The scheme of the challenge: `DPoP` for errors about a DPoP request (RFC 9449 §7.1) or about a
   * DPoP-bound token sent as a bearer token; `Bearer` otherwise.
   */
  scheme: ChallengeScheme = 'Bearer';

  constructor(description: string, options: AccessTokenErrorOptions = {}, scope?: string) {
    const safe = safeDescription(description);
    super(safe, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.description = safe;
    this.scope = scope;
  }

  /**
   * The `WWW-Authenticate` header value for this error (RFC 6750 §3), e.g.
   * `Bearer realm="api", error="invalid_token", error_description="The access token expired"`.
   * Without credentials there is no error code (RFC 6750 §3.1). Returns undefined when the failure is
   * not the client's (503): a challenge would wrongly tell it to fetch a new token.
   */
  wwwAuthenticate(parameters: ChallengeParameters = {}): string | undefined {
    if (this.status === 503) return undefined;
    const parts: string[] = [];
    if (parameters.realm !== undefined) parts.push(`realm=${quote(parameters.realm)}`);
    if (this.code !== 'missing_token') {
      parts.push(`error=${quote(this.code)}`, `error_description=${quote(this.description)}`);
      if (this.scope !== undefined) parts.push(`scope=${quote(this.scope)}`);
    }
    if (parameters.resourceMetadata !== undefined) parts.push(`resource_metadata=${quote(parameters.resourceMetadata)}`);
    if (this.scheme === 'DPoP' && parameters.dpopAlgorithms !== undefined && parameters.dpopAlgorithms.length > 0) {
      parts.push(`algs=${quote(parameters.dpopAlgorithms.join(' '))}`);
    }
    return parts.length === 0 ? this.scheme : `${this.scheme} ${parts.join(', ')}`;
  }

  /** The JSON body: `{ error, error_description }` (no `error` when no credentials were sent). */
  toJSON(): AccessTokenErrorBody {
    return this.code === 'missing_token'
      ? { error_description: this.description }
      : { error: this.code, error_description: this.description };
  }

  /** Status, headers (`WWW-Authenticate`, `Cache-Control: no-store`) and JSON body for an HTTP reply. */
  toReply(parameters: ChallengeParameters = {}): AccessTokenErrorReply {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    const challenge = this.wwwAuthenticate(parameters);
    if (challenge !== undefined) headers['www-authenticate'] = challenge;
    return { status: this.status, headers, body: this.toJSON() };
  }
}

/** No access token in the request (RFC 6750 §3.1: 401, challenge without an error code). */
export class MissingTokenError extends AccessTokenError {
  static readonly code = 'missing_token';
  readonly code = 'missing_token';
  readonly status = 401;
  constructor(description = 'An access token is required', options?: AccessTokenErrorOptions) {
    super(description, options);
  }
}

/** Malformed request: token sent more than one way, repeated header, `Bearer` without a token (400). */
export class InvalidRequestError extends AccessTokenError {
  static readonly code = 'invalid_request';
  readonly code = 'invalid_request';
  readonly status = 400;
  constructor(description = 'The request is malformed', options?: AccessTokenErrorOptions) {
    super(description, options);
  }
}

/** The token is expired, revoked, malformed, not signed by the issuer or not meant for this resource (401). */
export class InvalidTokenError extends AccessTokenError {
  static readonly code = 'invalid_token';
  readonly code = 'invalid_token';
  readonly status = 401;
  constructor(description = 'The access token is invalid', options?: AccessTokenErrorOptions) {
    super(description, options);
  }
}

/** The token is valid but lacks a scope the resource requires (403, `scope` lists what is needed). */
export class InsufficientScopeError extends AccessTokenError {
  static readonly code = 'insufficient_scope';
  readonly code = 'insufficient_scope';
  readonly status = 403;
  /** The scopes the resource requires. */
  readonly requiredScopes: readonly string[];
  constructor(
    requiredScopes: readonly string[],
    description = 'The access token does not grant the required scope',
    options?: AccessTokenErrorOptions,
  ) {
    const scopes = requiredScopes.filter(isScopeToken);
    super(description, options, scopes.join(' '));
    this.requiredScopes = Object.freeze(scopes);
  }
}

/**
 * The token could not be checked right now: the authorization server's metadata, keys or introspection
 * endpoint could not be reached or answered wrongly (503, no challenge). Not the client's fault.
 */
export class TemporarilyUnavailableError extends AccessTokenError {
  static readonly code = 'temporarily_unavailable';
  readonly code = 'temporarily_unavailable';
  readonly status = 503;
  constructor(description = 'The access token cannot be verified at the moment', options?: AccessTokenErrorOptions) {
    super(description, options);
  }
}

/**
 * RFC 9449 §7.1: the DPoP proof sent with a DPoP-bound token is missing, malformed, stale, replayed, for
 * another request (htm/htu/ath) or signed by another key than the token is bound to (401, DPoP challenge).
 */
export class InvalidDpopProofError extends AccessTokenError {
  static readonly code = 'invalid_dpop_proof';
  readonly code = 'invalid_dpop_proof';
  readonly status = 401;
  constructor(description = 'The DPoP proof is invalid', options?: AccessTokenErrorOptions) {
    super(description, options);
    this.scheme = 'DPoP';
  }
}
