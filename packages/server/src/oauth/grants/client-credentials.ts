// RFC 6749 §4.4: the client acts on its own behalf. Confidential clients only; no refresh token
// (§4.4.3). Without a scope parameter the token carries every non-OpenID scope the client registered
// (RFC 6749 §3.3 lets the server choose a documented default).
import { accessTokenAudience, type Config } from '../../config/config.js';
import { invalidScope, unauthorizedClient } from '../errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { single } from '../params.js';
import { formatScope, isSubset, OIDC_SCOPES, parseScope } from '../scopes.js';
import { mintAccessToken } from '../tokens/jwt.js';
import type { GrantHandler, TokenResponse } from './types.js';

export interface ClientCredentialsDeps {
  config: Pick<Config, 'issuer' | 'accessTokenTtl' | 'accessTokenAudience'>;
  keys: KeyStore;
}

export const clientCredentialsGrant = {
  grantType: 'client_credentials' as const,
  parameters: ['scope'],
  registration: { confidentialOnly: true, withoutUser: true },
  async handle({ params, client, now }, { config, keys }): Promise<TokenResponse> {
    if (client.isPublic) throw unauthorizedClient('public clients cannot use client_credentials');
    const requested = parseScope(single(params, 'scope'));
    const allowed = client.scopes.filter((s) => !OIDC_SCOPES.has(s));
    if (requested.some((s) => OIDC_SCOPES.has(s))) throw invalidScope('OpenID Connect scopes need a user: use the authorization code flow');
    if (!isSubset(requested, allowed)) throw invalidScope('the requested scope is not allowed for this client');
    const scope = formatScope(requested.length > 0 ? requested : allowed);
    const access = await mintAccessToken(keys, {
      issuer: config.issuer,
      audience: accessTokenAudience(config),
      ttl: config.accessTokenTtl,
      subject: client.clientId,
      clientId: client.clientId,
      scope,
      now,
    });
    return { access_token: access.token, token_type: 'Bearer', expires_in: config.accessTokenTtl, scope };
  },
} satisfies GrantHandler<ClientCredentialsDeps>;
