// RFC 6749 §4.1.2.1, §5.2; RFC 8628 §3.5; RFC 6750 §3.1; RFC 7591 §3.2.2; OIDC Core §3.1.2.6;
// OpenID Connect Unmet Authentication Requirements 1.0 (unmet_authentication_requirements)
// One error type for the protocol. `description` is public and uses only the characters RFC 6749 §5.2
// allows; `detail` is private and only ever logged.

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'unmet_authentication_requirements'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'not_found'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

const STATUS: Record<OAuthErrorCode, number> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  unsupported_response_type: 400,
  invalid_scope: 400,
  access_denied: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  unmet_authentication_requirements: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_redirect_uri: 400,
  invalid_client_metadata: 400,
  invalid_target: 400,
  unsupported_token_type: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
  not_found: 404,
  authorization_pending: 400,
  slow_down: 400,
  expired_token: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
};

// RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E (no `"` and no `\`).
export function safeDescription(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ' ').slice(0, 300);
}

export interface OAuthErrorOptions {
  /** Private: logged, never sent. */
  detail?: string;
  cause?: unknown;
  status?: number;
  /** Extra response headers (e.g. WWW-Authenticate). */
  headers?: Record<string, string>;
}

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly description: string;
  readonly status: number;
  readonly detail: string | undefined;
  readonly headers: Record<string, string>;

  constructor(code: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(`${code}: ${description}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.code = code;
    this.description = safeDescription(description);
    this.status = options.status ?? STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

type Factory = (description: string, options?: OAuthErrorOptions) => OAuthError;
const factory =
  (code: OAuthErrorCode): Factory =>
  (description, options) =>
    new OAuthError(code, description, options);

export const invalidRequest = factory('invalid_request');
export const invalidClient = factory('invalid_client');
export const invalidGrant = factory('invalid_grant');
export const unauthorizedClient = factory('unauthorized_client');
export const unsupportedGrantType = factory('unsupported_grant_type');
export const unsupportedResponseType = factory('unsupported_response_type');
export const invalidScope = factory('invalid_scope');
export const accessDenied = factory('access_denied');
export const loginRequired = factory('login_required');
export const consentRequired = factory('consent_required');
export const interactionRequired = factory('interaction_required');
/** OpenID Connect Core 1.0 errata 2 §3.1.2.6 (from OpenID Connect Unmet Authentication Requirements 1.0). */
export const unmetAuthenticationRequirements = factory('unmet_authentication_requirements');
export const invalidRedirectUri = factory('invalid_redirect_uri');
export const invalidClientMetadata = factory('invalid_client_metadata');
export const invalidTarget = factory('invalid_target');
