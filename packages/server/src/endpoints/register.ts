// RFC 7591 §3 (POST /register) and RFC 7592 §2 (GET/PUT/DELETE /register/:client_id): JSON in,
// JSON out (Cache-Control: no-store from the app-wide hook, TE-01). The initial access token and the
// registration access token are RFC 6750 bearer tokens in the Authorization header; a 401 carries a
// Bearer challenge. POST is rate-limited per IP (DS-01).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeRateLimit } from '../http/rate-limit.js';
import type { AppDeps } from '../app-types.js';
import { OAuthError } from '../oauth/errors.js';
import { queryOf } from '../oauth/params.js';
import {
  authorizeManagement,
  clientInformation,
  deleteDynamicClient,
  MissingBearerToken,
  registerDynamicClient,
  updateDynamicClient,
  type RegistrationDeps,
} from '../oauth/registration.js';
import { bearerChallenge, extractBearer } from './userinfo.js';

/** DS-01: registrations per IP and minute, by default (--rate-limit-register, --rate-limit-window). */
export const REGISTRATION_RATE_LIMIT = { max: 20, timeWindow: 60_000 } as const;

function isJson(request: FastifyRequest): boolean {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

export function registrationEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const realm = new URL(deps.config.issuer).host;
  const registration: RegistrationDeps = {
    storage: deps.storage,
    issuer: deps.config.issuer,
    openRegistration: deps.config.openRegistration,
  };

  /** Runs a handler; a 401 gets its Bearer challenge (RFC 6750 §3: no error code when no token was sent). */
  const withChallenge = async (reply: FastifyReply, fn: () => Promise<FastifyReply>): Promise<FastifyReply> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof OAuthError && e.status === 401) {
        reply.header('WWW-Authenticate', e instanceof MissingBearerToken ? bearerChallenge(realm) : bearerChallenge(realm, e));
      }
      throw e;
    }
  };
  const jsonBody = (request: FastifyRequest): unknown => {
    if (!isJson(request)) throw new OAuthError('invalid_request', 'the request body must be application/json');
    if (queryOf(request.url).length > 0) throw new OAuthError('invalid_request', 'parameters must not be sent in the URL');
    return request.body;
  };

  app.post('/register', { config: routeRateLimit(deps.config, 'register') }, async (request, reply) =>
    withChallenge(reply, async () => {
      const initialAccessToken = extractBearer(request);
      const body = jsonBody(request);
      const response = await registerDynamicClient(registration, { initialAccessToken, body }, deps.clock());
      return reply.status(201).send(response);
    }),
  );

  app.get<{ Params: { clientId: string } }>('/register/:clientId', async (request, reply) =>
    withChallenge(reply, async () => {
      const { client, registrationAccessToken } = await authorizeManagement(deps.storage, request.params.clientId, extractBearer(request));
      return reply.send(clientInformation(client, deps.config.issuer, { registrationAccessToken }));
    }),
  );

  app.put<{ Params: { clientId: string } }>('/register/:clientId', async (request, reply) =>
    withChallenge(reply, async () => {
      const { client } = await authorizeManagement(deps.storage, request.params.clientId, extractBearer(request));
      return reply.send(await updateDynamicClient(registration, client, jsonBody(request)));
    }),
  );

  app.delete<{ Params: { clientId: string } }>('/register/:clientId', async (request, reply) =>
    withChallenge(reply, async () => {
      const { client } = await authorizeManagement(deps.storage, request.params.clientId, extractBearer(request));
      await deleteDynamicClient(registration, client);
      return reply.status(204).send();
    }),
  );
}
