// RFC 9126 §2: the pushed authorization request endpoint, as named steps:
// formBody → authenticateClient (as at the token endpoint; public clients name themselves) →
// the DPoP proof, if any (RFC 9449 §10.1: its key becomes the request's dpop_jkt) →
// pushAuthorizationRequest (the /authorize validation, then stored) → 201 {"request_uri","expires_in"}.
// Errors are JSON (RFC 9126 §2.3), never a page: nobody's browser is here.
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { pushAuthorizationRequest } from '../oauth/pushed-request.js';
import { verifyProof } from '../oauth/dpop.js';
import { requiresDpop } from '../oauth/clients.js';
import { OAuthError } from '../oauth/errors.js';
import { single } from '../oauth/params.js';
import { dpopDeps, dpopProofs } from '../http/dpop.js';

export function pushedAuthorizationRequestEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, clock } = deps;
  const auth = clientAuthDeps(deps);
  const dpop = dpopDeps(deps);
  const parUrl = `${config.issuer}/par`;

  app.post('/par', { config: routeRateLimit(deps.config, 'par') }, async (request, reply) => {
    let params = formBody(request);
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    const proofs = dpopProofs(request);
    // RFC 9449 §5.2, §10.1: a client registered with dpop_bound_access_tokens binds its requests here too.
    if (proofs.length === 0 && requiresDpop(client))
      throw new OAuthError('invalid_dpop_proof', 'this client must send a DPoP proof with its pushed authorization requests');
    if (proofs.length > 0) {
      const now = clock();
      const jkt = await verifyProof(dpop, {
        proofs,
        method: 'POST',
        url: parUrl,
        nonce: config.dpopNonce,
        now,
        clientId: client.clientId,
        ip: request.ip,
      });
      const named = single(params, 'dpop_jkt');
      if (named !== undefined && named !== jkt) throw new OAuthError('invalid_dpop_proof', 'the DPoP proof key differs from dpop_jkt');
      params = new Map([...params, ['dpop_jkt', [jkt]]]);
    }
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
