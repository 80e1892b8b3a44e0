// RFC 7009 §2: the token revocation endpoint, as named steps:
// parseForm → authenticateClient (public clients too, with their client_id: RFC 7009 §2.1) →
// token required → revoke → 200 with an empty body.
// Unknown, invalid and other clients' tokens are ignored and still get 200 (RFC 7009 §2.2); an unknown
// token_type_hint is treated as absent. A storage failure is not caught here: it reaches the app's
// error handler and becomes 503 temporarily_unavailable, never 200 (IR-02, fosite CVE-2020-15223).
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { required, single } from '../oauth/params.js';
import { revokeToken } from '../oauth/tokens/revoke-token.js';

export function revocationEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, keys, clock } = deps;
  const auth = clientAuthDeps(deps);

  app.post('/revoke', { config: routeRateLimit(deps.config, 'revoke') }, async (request, reply) => {
    const params = formBody(request);
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    const token = required(params, 'token');
    const outcome = await revokeToken(
      { keys, issuer: config.issuer, storage },
      { token, hint: single(params, 'token_type_hint'), clientId: client.clientId, now: clock() },
    );
    request.log.info({ client_id: client.clientId, outcome }, 'token revocation');
    return reply.status(200).send();
  });
}
