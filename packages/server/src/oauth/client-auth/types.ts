// One strategy per client authentication method (RFC 6749 §2.3, RFC 7591 §2 token_endpoint_auth_method).
import type { Client } from '../../storage/index.js';
import type { Params } from '../params.js';

export interface ClientAuthRequest {
  authorization: string | undefined;
  params: Params;
}

/** What a request presented for one method: who it claims to be, and the proof to check. */
export interface Presented {
  clientId: string;
  /** The client_secret, for the secret methods. */
  secret?: string;
}

export interface ClientAuthStrategy {
  readonly method: string;
  /** Whether a secret is registered for (and presented by) clients of this method. */
  readonly confidential: boolean;
  /** Whether the request uses this method. Credential-bearing methods are exclusive: a request may use one. */
  uses(request: ClientAuthRequest): boolean;
  /**
   * The presented credentials; throws a ClientAuthFailure (or OAuthError) when the request uses the method
   * but its credentials are malformed.
   */
  extract(request: ClientAuthRequest): Presented;
  /** Checks the proof against the registered client (undefined: unknown client, the same work is done). */
  verify(presented: Presented, client: Client | undefined): Promise<boolean> | boolean;
}

/** A failed authentication: the answer is the same 401 for every reason; `detail` is only logged. */
export class ClientAuthFailure extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}
