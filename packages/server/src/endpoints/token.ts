// RFC 6749 §3.2, §5.1, §5.2: the token endpoint, as named steps:
// parseForm → authenticateClient → grants.get(grant_type) → client allowed this grant? → handle → JSON.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { authenticateClient } from '../oauth/client-auth/index.js';
import { nowSeconds } from '../oauth/crypto.js';
import { unauthorizedClient, unsupportedGrantType, invalidRequest } from '../oauth/errors.js';
import { single } from '../oauth/params.js';
import { authorizationCodeGrant } from '../oauth/grants/authorization-code.js';
import { clientCredentialsGrant } from '../oauth/grants/client-credentials.js';
import { refreshTokenGrant } from '../oauth/grants/refresh-token.js';
import type { GrantContext, TokenResponse } from '../oauth/grants/types.js';
import { formParams } from './forms.js';

export function tokenEndpoint(app: FastifyInstance, { config, storage, keys }: AppDeps): void {
  const grants = new Map<string, (ctx: GrantContext) => Promise<TokenResponse>>([
    [authorizationCodeGrant.grantType, (ctx) => authorizationCodeGrant.handle(ctx, { config, keys, storage })],
    [refreshTokenGrant.grantType, (ctx) => refreshTokenGrant.handle(ctx, { config, keys, storage })],
    [clientCredentialsGrant.grantType, (ctx) => clientCredentialsGrant.handle(ctx, { config, keys })],
  ]);
  const realm = new URL(config.issuer).host;

  app.post('/token', async (request, reply) => {
    const params = formParams(request);
    const grantType = single(params, 'grant_type');
    if (grantType === undefined) throw invalidRequest('missing required parameter: grant_type');
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params }, { clients: storage.clients, realm });
    const handle = grants.get(grantType);
    if (!handle) throw unsupportedGrantType(`unsupported grant_type: ${grantType}`);
    if (!client.grantTypes.includes(grantType)) throw unauthorizedClient(`this client may not use the ${grantType} grant`);
    const response = await handle({ params, client, now: nowSeconds() });
    return reply.send(response);
  });
}
