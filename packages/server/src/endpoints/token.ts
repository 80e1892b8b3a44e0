// RFC 6749 §3.2, §5.1, §5.2: the token endpoint, as named steps:
// parseForm → authenticateClient → findGrant(grant_type) → client allowed this grant? →
// the DPoP proof, if any (RFC 9449 §5) → only the grant's parameters → handle → JSON
// (Cache-Control: no-store from the app-wide hook).
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { OAuthError, unauthorizedClient, unsupportedGrantType } from '../oauth/errors.js';
import { requiresDpop } from '../oauth/clients.js';
import { findGrant } from '../oauth/grants/index.js';
import { pick, required } from '../oauth/params.js';
import { verifyProof } from '../oauth/dpop.js';
import { dpopDeps, dpopProofs } from '../http/dpop.js';

export function tokenEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const auth = clientAuthDeps(deps);
  const dpop = dpopDeps(deps);
  const tokenUrl = `${deps.config.issuer}/token`;

  app.post('/token', { config: routeRateLimit(deps.config, 'token') }, async (request, reply) => {
    const params = formBody(request);
    const grantType = required(params, 'grant_type');
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    const grant = findGrant(grantType);
    if (!grant) throw unsupportedGrantType(`unsupported grant_type: ${grantType}`);
    if (!client.grantTypes.includes(grant.grantType)) throw unauthorizedClient(`this client may not use the ${grantType} grant`);
    const now = deps.clock();
    // DP-01: a DPoP header (exactly one) is a proof for this endpoint; it binds what the grant issues.
    const proofs = dpopProofs(request);
    // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens gets no token without a proof, at any grant.
    if (proofs.length === 0 && requiresDpop(client))
      throw new OAuthError('invalid_dpop_proof', 'this client must send a DPoP proof with its token requests');
    const dpopJkt =
      proofs.length === 0
        ? undefined
        : await verifyProof(dpop, {
            proofs,
            method: 'POST',
            url: tokenUrl,
            nonce: deps.config.dpopNonce,
            now,
            clientId: client.clientId,
            ip: request.ip,
          });
    const response = await grant.handle({ params: pick(params, grant.parameters), client, now, dpopJkt }, deps);
    deps.metrics?.tokenIssued(grant.grantType);
    // RFC 9449 §8.2: a fresh nonce for the client's next proof.
    if (dpopJkt !== undefined && deps.config.dpopNonce) reply.header('DPoP-Nonce', await dpop.nonces.current(now));
    return reply.send(response);
  });
}
