// RFC 6749 §3.2, §5.1, §5.2: the token endpoint, as named steps:
// parseForm → authenticateClient → findGrant(grant_type) → client allowed this grant? →
// only the grant's parameters → handle → JSON (Cache-Control: no-store from the app-wide hook).
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { unauthorizedClient, unsupportedGrantType } from '../oauth/errors.js';
import { findGrant } from '../oauth/grants/index.js';
import { pick, required } from '../oauth/params.js';

export function tokenEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const auth = clientAuthDeps(deps);

  app.post('/token', { config: routeRateLimit(deps.config, 'token') }, async (request, reply) => {
    const params = formBody(request);
    const grantType = required(params, 'grant_type');
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    const grant = findGrant(grantType);
    if (!grant) throw unsupportedGrantType(`unsupported grant_type: ${grantType}`);
    if (!client.grantTypes.includes(grant.grantType)) throw unauthorizedClient(`this client may not use the ${grantType} grant`);
    const response = await grant.handle({ params: pick(params, grant.parameters), client, now: deps.clock() }, deps);
    return reply.send(response);
  });
}
