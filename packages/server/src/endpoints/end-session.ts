// OpenID Connect RP-Initiated Logout 1.0, GET and POST /end-session: parse → validate the request
// (oauth/logout-request.ts) → the browser side (interaction/logout.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { queryOrBody } from '../http/params.js';
import { handleLogout, logoutRefused } from '../interaction/logout.js';
import { OAuthError } from '../oauth/errors.js';
import { validateLogoutRequest, type LogoutRequest } from '../oauth/logout-request.js';
import type { Params } from '../oauth/params.js';

export function endSessionEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, keys } = deps;

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    let params: Params;
    let req: LogoutRequest;
    try {
      params = queryOrBody(request);
      req = await validateLogoutRequest(params, { keys, issuer: config.issuer, clients: storage.clients });
    } catch (e) {
      if (!(e instanceof OAuthError) || e.status >= 500) throw e;
      request.log.info({ error: e.code, detail: e.description }, 'logout request refused');
      return logoutRefused(reply);
    }
    return handleLogout(request, reply, deps, params, req);
  };

  app.get('/end-session', { config: { browser: true } }, handler);
  app.post('/end-session', { config: { browser: true } }, handler);
}
