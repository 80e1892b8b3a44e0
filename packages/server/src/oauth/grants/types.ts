// The shape every grant module has: its grant_type, the parameters it reads, and a handler that takes
// only the dependencies it needs (node-oidc-provider grant modules; fosite's narrow handler deps).
import type { Params } from '../params.js';
import type { Client } from '../clients.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
}

export interface GrantContext {
  params: Params;
  client: Client;
  now: number;
}

export interface GrantHandler<Deps> {
  grantType: string;
  parameters: readonly string[];
  handle(ctx: GrantContext, deps: Deps): Promise<TokenResponse>;
}
