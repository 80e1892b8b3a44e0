// RFC 9449: what the endpoints share for DPoP — the DPoP header values of a request, and one DpopDeps per
// application (the replay cache from AppDeps, or the dpop_jtis table; the nonce key from the database).
import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { dpopHeaderValues, DpopNonces, type DpopDeps } from '../oauth/dpop.js';

const perApp = new WeakMap<AppDeps, DpopDeps>();

export function dpopDeps(deps: AppDeps): DpopDeps {
  let found = perApp.get(deps);
  if (!found) {
    found = {
      config: deps.config,
      replay: deps.dpopReplay ?? deps.storage.dpopJtis,
      nonces: new DpopNonces(deps.storage.dpopNonceKeys),
      events: deps.events,
    };
    perApp.set(deps, found);
  }
  return found;
}

/** The DPoP header values of a request (empty when none was sent). */
export function dpopProofs(request: FastifyRequest): string[] {
  return dpopHeaderValues(request.headers.dpop, request.raw.rawHeaders);
}
