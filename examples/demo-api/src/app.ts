// The demo photos API: a resource server protected with @gatehouse/resource-server.
// It knows nothing of passwords: every request carries an RFC 9068 JWT access token issued by
// Gatehouse for this API's resource identifier (the token's `aud`), checked against the
// issuer's JWKS, with the scope each route needs (RFC 6750 errors otherwise). DPoP-bound tokens
// (RFC 9449) come with `Authorization: DPoP` and a proof, which the library checks.
import Fastify, { type FastifyInstance } from 'fastify';
import {
  fastifyAccessToken,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
  type AccessTokenVerifier,
} from '@gatehouse/resource-server';
import { LibraryFullError, PhotoStore, type NewPhoto } from './photos.js';

export const SCOPES = { read: 'photos:read', write: 'photos:write' } as const;

export interface ApiOptions {
  /** Issuer identifier of the authorization server, e.g. http://127.0.0.1:9000 */
  issuer: string;
  /** This API's resource identifier: the audience its access tokens must carry, e.g. http://127.0.0.1:9100 */
  resource: string;
  /** JWKS location; default: `jwks_uri` from the issuer's metadata. */
  jwksUri?: string;
  /** A ready verifier instead of issuer/jwksUri (tests, or a verifier shared by several apps). */
  verifier?: AccessTokenVerifier;
  /**
   * Verify every token by introspection (RFC 7662) with this API's own credentials, printed once by
   * `gatehouse resources create`: revocations are seen at once, and only tokens minted for this API are active.
   */
  introspection?: { clientId: string; clientSecret: string };
  store?: PhotoStore;
  logger?: boolean;
}

const photoSchema = {
  type: 'object',
  required: ['id', 'title', 'description', 'thumbnail', 'createdAt'],
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    thumbnail: { type: 'string' },
    createdAt: { type: 'string' },
  },
} as const;

export function buildApi(options: ApiOptions): FastifyInstance {
  const store = options.store ?? new PhotoStore();
  const metadataUrl = protectedResourceMetadataUrl(options.resource);
  const app = Fastify({
    logger: options.logger ? { level: 'info' } : false,
    // Unknown JSON members are dropped, not an error; types are enforced, never coerced.
    ajv: { customOptions: { removeAdditional: 'all', coerceTypes: false } },
  });

  void app.register(
    fastifyAccessToken,
    options.verifier
      ? { verifier: options.verifier }
      : {
          issuer: options.issuer,
          audience: options.resource,
          ...(options.jwksUri ? { jwksUri: options.jwksUri } : {}),
          ...(options.introspection ? { introspection: options.introspection } : {}),
          resourceMetadata: metadataUrl,
          // RFC 9449: DPoP-bound tokens are accepted (with a proof; a bound token as Bearer is refused).
          // The resource identifier is where clients reach this API, so it is the base of every proof's htu.
          publicUrl: options.resource,
        },
  );

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  // RFC 9728: where clients learn which authorization server and scopes this API uses.
  const metadata = protectedResourceMetadata({
    resource: options.resource,
    authorizationServers: [options.issuer],
    scopesSupported: [SCOPES.read, SCOPES.write],
    bearerMethodsSupported: ['header'],
    resourceName: 'Gatehouse demo photos API',
  });
  app.get(new URL(metadataUrl).pathname, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(metadata));

  app.register(async (api) => {
    api.get(
      '/me',
      {
        config: { scopes: [] },
        schema: {
          response: {
            200: {
              type: 'object',
              required: ['sub', 'client_id', 'scope'],
              properties: { sub: { type: 'string' }, client_id: { type: 'string' }, scope: { type: 'string' } },
            },
          },
        },
      },
      async (request) => {
        const token = request.accessToken!;
        return { sub: token.sub, client_id: token.client_id, scope: token.scope ?? '' };
      },
    );

    api.get(
      '/photos',
      {
        config: { scopes: [SCOPES.read] },
        schema: {
          response: {
            200: { type: 'object', required: ['photos'], properties: { photos: { type: 'array', items: photoSchema } } },
          },
        },
      },
      async (request) => ({ photos: store.list(request.accessToken!.sub) }),
    );

    api.get<{ Params: { id: string } }>(
      '/photos/:id',
      { config: { scopes: [SCOPES.read] }, schema: { response: { 200: photoSchema } } },
      async (request, reply) => {
        const photo = store.list(request.accessToken!.sub).find((p) => p.id === request.params.id);
        if (!photo) return reply.code(404).send({ error: 'not_found' });
        return photo;
      },
    );

    api.post<{ Body: NewPhoto }>(
      '/photos',
      {
        config: { scopes: [SCOPES.write] },
        schema: {
          body: {
            type: 'object',
            required: ['title'],
            properties: {
              title: { type: 'string', minLength: 1, maxLength: 100 },
              description: { type: 'string', maxLength: 500 },
            },
          },
          response: { 201: photoSchema },
        },
      },
      async (request, reply) => {
        try {
          const photo = store.add(request.accessToken!.sub, request.body);
          return reply
            .code(201)
            .header('location', `/photos/${encodeURIComponent(photo.id)}`)
            .send(photo);
        } catch (error) {
          if (error instanceof LibraryFullError) return reply.code(409).send({ error: 'library_full' });
          throw error;
        }
      },
    );
  });

  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ error: 'not_found' }));
  app.setErrorHandler(async (error, request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if ((error as { validation?: unknown }).validation) {
      return reply.code(400).send({ error: 'invalid_request', error_description: 'The request body is not valid' });
    }
    if (status >= 400 && status < 500) return reply.code(status).send({ error: 'invalid_request' });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'server_error' });
  });

  return app;
}
