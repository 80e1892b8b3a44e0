// RFC 8628 §3.1, §3.2: the device authorization endpoint. The client authenticates as at the token
// endpoint (public clients send client_id), must have registered the device grant, and asks for a
// scope within its registered scopes, optionally for registered resources (`resource`, RFC 8707);
// the answer is JSON, never cached.
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { authenticateClient, clientAuthDeps } from '../oauth/client-auth/index.js';
import { DEVICE_AUTHORIZATION_PATH, startDeviceAuthorization } from '../oauth/device/authorization.js';
import { unauthorizedClient } from '../oauth/errors.js';
import { deviceCodeGrant } from '../oauth/grants/device-code.js';
import { pick } from '../oauth/params.js';
import { RESOURCE_PARAMETER } from '../oauth/resources.js';

export function deviceAuthorizationEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const auth = clientAuthDeps(deps);

  app.post(DEVICE_AUTHORIZATION_PATH, { config: routeRateLimit(deps.config, 'deviceAuthorization') }, async (request, reply) => {
    const params = formBody(request);
    const { client } = await authenticateClient({ authorization: request.headers.authorization, params, ip: request.ip }, auth);
    if (!client.grantTypes.includes(deviceCodeGrant.grantType))
      throw unauthorizedClient('this client may not use the device authorization grant');
    return reply.send(await startDeviceAuthorization(deps, client, pick(params, ['scope', RESOURCE_PARAMETER]), deps.clock()));
  });
}
