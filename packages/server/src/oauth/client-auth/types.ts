// One strategy per client authentication method (RFC 6749 §2.3, RFC 7591 §2 token_endpoint_auth_method).
import type { Client } from '../../storage/index.js';
import type { ReplayCache } from '../replay-cache.js';
import type { Params } from '../params.js';

export interface ClientAuthRequest {
  authorization: string | undefined;
  params: Params;
  /** The client's address, for the security event of a refused authentication. */
  ip?: string;
}

/** What a request presented for one method: who it claims to be, and the proof to check. */
export interface Presented {
  clientId: string;
  /** The client_secret, for the secret methods. */
  secret?: string;
  /** The client_assertion (a JWT), for private_key_jwt. */
  assertion?: string;
}

/** What the assertion-based methods need beyond the client record (RFC 7523 §3). */
export interface ClientAuthContext {
  /** The issuer identifier: the one audience a client assertion may name. */
  issuer: string;
  /** Epoch seconds. */
  now: number;
  /** The replay cache of assertion jtis, shared by every node. */
  jtis: ReplayCache;
  /** Fetches a client's jwks_uri through the SSRF-safe fetcher; absent: jwks_uri clients cannot authenticate. */
  fetchJwks?: ((uri: string) => Promise<unknown>) | undefined;
}

export interface ClientAuthStrategy {
  readonly method: string;
  /** Whether clients of this method prove who they are (a secret or a key); false only for `none`. */
  readonly confidential: boolean;
  /** Whether clients of this method register public keys (jwks or jwks_uri) instead of getting a secret. */
  readonly usesKeys?: boolean;
  /** Whether the request uses this method. Credential-bearing methods are exclusive: a request may use one. */
  uses(request: ClientAuthRequest): boolean;
  /**
   * The presented credentials; throws a ClientAuthFailure (or OAuthError) when the request uses the method
   * but its credentials are malformed.
   */
  extract(request: ClientAuthRequest): Presented;
  /**
   * Checks the proof against the registered client (undefined: unknown client, the same work is done).
   * May throw a ClientAuthFailure to say why (logged only).
   */
  verify(presented: Presented, client: Client | undefined, context: ClientAuthContext | undefined): Promise<boolean> | boolean;
}

/** A failed authentication: the answer is the same 401 for every reason; `detail` is only logged. */
export class ClientAuthFailure extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}
