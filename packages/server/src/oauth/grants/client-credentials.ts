// RFC 6749 §4.4: the client acts on its own behalf. Confidential clients only; no refresh token
// (§4.4.3). Without a scope parameter the token carries the client's registered default scope, none
// unless one was registered (RFC 6749 §3.3; least privilege, AU-04). RFC 8707: `resource` names the
// APIs the token is for (oauth/resources.ts).
import type { Config } from '../../config/config.js';
import type { Storage } from '../../storage/index.js';
import { defaultScopesOf } from '../clients.js';
import { invalidScope, unauthorizedClient } from '../errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { single } from '../params.js';
import { assertScopesOffered, defaultTarget, requestedResources, resourceTarget, RESOURCE_PARAMETER } from '../resources.js';
import { formatScope, isSubset, OIDC_SCOPES, parseScope } from '../scopes.js';
import { mintAccessToken } from '../tokens/jwt.js';
import { tokenTypeOf } from './issue.js';
import type { GrantHandler, TokenResponse } from './types.js';

export interface ClientCredentialsDeps {
  config: Pick<Config, 'issuer' | 'accessTokenTtl' | 'accessTokenAudience'>;
  keys: KeyStore;
  storage: Pick<Storage, 'resources'>;
}

export const clientCredentialsGrant = {
  grantType: 'client_credentials' as const,
  parameters: ['scope', RESOURCE_PARAMETER],
  registration: { confidentialOnly: true, withoutUser: true },
  async handle({ params, client, now, dpopJkt }, { config, keys, storage }): Promise<TokenResponse> {
    if (client.isPublic) throw unauthorizedClient('public clients cannot use client_credentials');
    const asked = single(params, 'scope');
    const requested = asked !== undefined ? parseScope(asked) : defaultScopesOf(client).filter((s) => !OIDC_SCOPES.has(s));
    const allowed = client.scopes.filter((s) => !OIDC_SCOPES.has(s));
    if (requested.some((s) => OIDC_SCOPES.has(s))) throw invalidScope('OpenID Connect scopes need a user: use the authorization code flow');
    if (!isSubset(requested, allowed)) throw invalidScope('the requested scope is not allowed for this client');
    const resources = await requestedResources(params, client, storage.resources);
    assertScopesOffered(requested, resources);
    const target = resources.length > 0 ? resourceTarget(resources, requested, config) : defaultTarget(client, requested, config);
    const scope = formatScope(target.scopes);
    const access = await mintAccessToken(keys, {
      issuer: config.issuer,
      alg: target.alg,
      audience: target.audience,
      ttl: target.ttl,
      subject: client.clientId,
      clientId: client.clientId,
      scope,
      now,
      jkt: dpopJkt,
    });
    return { access_token: access.token, token_type: tokenTypeOf(access), expires_in: target.ttl, scope };
  },
} satisfies GrantHandler<ClientCredentialsDeps>;
