// RFC 7662 §2: the token introspection endpoint, as named steps:
// parseForm → authenticateClient (confidential clients only) → token required → introspect → JSON.
// Policy: a client may introspect only tokens issued to itself, a registered resource (its
// introspection credentials) only the access tokens for it; every other token is `{"active":false}`
// (see oauth/tokens/introspection.ts). Public clients cannot authenticate, so they cannot introspect
// (RFC 7662 §2.1, §4: the endpoint MUST require authorization); they are refused with invalid_client.
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { invalidClient } from '../oauth/errors.js';
import { required, single } from '../oauth/params.js';
import { resourceServerOf } from '../oauth/clients.js';
import { introspectToken } from '../oauth/tokens/introspection.js';

export function introspectionEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, keys, clock } = deps;
  const auth = clientAuthDeps(deps);

  app.post('/introspect', { config: routeRateLimit(deps.config, 'introspect') }, async (request, reply) => {
    const params = formBody(request);
    const { client, method } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    if (method === 'none') throw invalidClient('client authentication failed', { detail: 'public clients may not introspect tokens' });
    const token = required(params, 'token');
    const resource = resourceServerOf(client);
    if (resource !== undefined && !(await storage.resources.find(resource))?.mayIntrospect) {
      throw invalidClient('client authentication failed', { detail: 'the resource of these credentials is gone or may not introspect' });
    }
    const response = await introspectToken(
      { keys, issuer: config.issuer, storage },
      { token, hint: single(params, 'token_type_hint'), clientId: client.clientId, resource, now: clock() },
    );
    // TE-01: Cache-Control no-store and Pragma no-cache come from the app-wide hook.
    return reply.type('application/json; charset=utf-8').send(response);
  });
}
