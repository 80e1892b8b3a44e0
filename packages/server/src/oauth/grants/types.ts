// The shape every grant module has (node-oidc-provider's grant modules; fosite's narrow handler
// dependencies): its grant_type, the parameters it reads, how it constrains client registration, and a
// handler that takes only the dependencies it needs.
import type { Config } from '../../config/config.js';
import type { Client, Storage } from '../../storage/index.js';
import type { KeyStore } from '../keys/key-store.js';
import type { Params } from '../params.js';
import type { SecurityEvents } from '../security-events.js';

export interface TokenResponse {
  access_token: string;
  /** RFC 9449 §5: `DPoP` when the access token is bound to the proof's key. */
  token_type: 'Bearer' | 'DPoP';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

export interface GrantContext {
  /** Only the parameters the grant declared (RFC 6749 §3.2: unknown parameters are ignored). */
  params: Params;
  client: Client;
  now: number;
  /** RFC 9449 §5: the thumbprint of the key of the request's verified DPoP proof, if one was sent. */
  dpopJkt?: string | undefined;
}

/** Everything a grant may ask for; each grant names the part it uses with `Pick`. */
export interface GrantDeps {
  config: Config;
  keys: KeyStore;
  storage: Storage;
  /** The security event log: reuse of codes and refresh tokens is recorded there (EV-01). */
  events: Pick<SecurityEvents, 'record'>;
}

/** How a grant constrains the clients that register it (RFC 7591 §2 grant_types). */
export interface GrantRegistration {
  /** Part of a new client's grant types when it names none. */
  byDefault?: boolean;
  /** Needs at least one redirect URI (a browser comes back with a code). */
  needsRedirectUri?: boolean;
  /** Only clients that can keep a secret. */
  confidentialOnly?: boolean;
  /** Issues refresh tokens (when the client also registered the refresh grant). */
  issuesRefreshTokens?: boolean;
  /** Useless without a grant that issues refresh tokens. */
  needsRefreshTokenIssuer?: boolean;
  /**
   * Issues tokens with no user and no consent (client_credentials): a client registered through open
   * dynamic registration (no initial access token, RFC 7591 §3) may not register it.
   */
  withoutUser?: boolean;
  /** The response_type a browser sends to start this grant at /authorize. */
  responseType?: string;
}

export interface GrantHandler<Deps> {
  readonly grantType: string;
  /** The parameters the handler reads, besides grant_type and client authentication. */
  readonly parameters: readonly string[];
  readonly registration: GrantRegistration;
  handle(ctx: GrantContext, deps: Deps): Promise<TokenResponse>;
}
