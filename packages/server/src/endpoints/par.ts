// RFC 9126 §2: the pushed authorization request endpoint, as named steps:
// formBody → authenticateClient (as at the token endpoint; public clients name themselves) →
// pushAuthorizationRequest (the /authorize validation, then stored) → 201 {"request_uri","expires_in"}.
// Errors are JSON (RFC 9126 §2.3), never a page: nobody's browser is here.
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { pushAuthorizationRequest } from '../oauth/pushed-request.js';

export function pushedAuthorizationRequestEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, clock } = deps;
  const auth = clientAuthDeps(deps);

  app.post('/par', { config: routeRateLimit(deps.config, 'par') }, async (request, reply) => {
    const params = formBody(request);
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    const response = await pushAuthorizationRequest(
      params,
      client,
      {
        clients: storage.clients,
        resources: storage.resources,
        pushedRequests: storage.pushedRequests,
        pkceRequiredForConfidentialClients: config.pkceRequiredForConfidentialClients,
      },
      clock(),
    );
    return reply.status(201).send(response);
  });
}
