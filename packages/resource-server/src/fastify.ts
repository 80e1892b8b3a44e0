// RFC 6750 §2–§3 for Fastify 5: a plugin that protects the routes that ask for it with
// `config: { scopes: [...] }`, sets `request.accessToken`, and answers failures with the RFC 6750 status,
// `WWW-Authenticate` challenge and a JSON `{ error, error_description }` body.

import fastifyPlugin from 'fastify-plugin';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessTokenClaims } from './claims.js';
import { AccessTokenError } from './errors.js';
import type { VerifierOptions } from './options.js';
import { checkScopeList } from './scopes.js';
import { createVerifier, type AccessTokenVerifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Protects the route: a valid access token granting all these scopes is required (`[]`: any valid
     * token). Routes without it are left alone.
     */
    scopes?: readonly string[];
  }
  interface FastifyRequest {
    /** The verified token's claims on protected routes; null elsewhere. */
    accessToken: AccessTokenClaims | null;
  }
  interface FastifyInstance {
    /** The verifier the plugin uses (for routes that check tokens by hand). */
    accessTokenVerifier: AccessTokenVerifier;
  }
}

/** Plugin options: the verifier options, or a verifier created with `createVerifier`. */
export type FastifyAccessTokenOptions = VerifierOptions | { verifier: AccessTokenVerifier };

function isFormPost(request: FastifyRequest): boolean {
  const contentType = request.headers['content-type'];
  return (
    request.method === 'POST' &&
    typeof contentType === 'string' &&
    contentType.split(';', 1)[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded'
  );
}

async function plugin(fastify: FastifyInstance, options: FastifyAccessTokenOptions): Promise<void> {
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  fastify.decorate('accessTokenVerifier', verifier);
  fastify.decorateRequest('accessToken', null);

  // A misspelt scope is a start-up error, not a 403 at run time.
  fastify.addHook('onRoute', (route) => {
    const scopes = (route.config as { scopes?: unknown } | undefined)?.scopes;
    if (scopes !== undefined) checkScopeList(scopes, `config.scopes of ${route.method} ${route.url}`);
  });

  const authenticate = async (request: FastifyRequest, reply: FastifyReply, scopes: readonly string[]) => {
    try {
      request.accessToken = await verifier(
        {
          headers: request.headers,
          method: request.method,
          body: request.body,
          rawHeaders: request.raw.rawHeaders,
          url: request.raw.url,
          socket: request.raw.socket,
        },
        { scopes },
      );
    } catch (error) {
      if (!(error instanceof AccessTokenError)) throw error;
      const { status, headers, body } = error.toReply(verifier.challenge);
      return reply.code(status).headers(headers).send(body);
    }
    return undefined;
  };

  // Tokens in the Authorization header are checked as soon as the request arrives, before its body is read.
  // A form-encoded POST may carry the token in its body (RFC 6750 §2.2): it is checked once the body is
  // parsed (the application must register a parser for application/x-www-form-urlencoded, e.g. @fastify/formbody).
  fastify.addHook('onRequest', async (request, reply) => {
    const scopes = request.routeOptions.config.scopes;
    if (scopes === undefined || isFormPost(request)) return undefined;
    return authenticate(request, reply, scopes);
  });
  fastify.addHook('preValidation', async (request, reply) => {
    const scopes = request.routeOptions.config.scopes;
    if (scopes === undefined || !isFormPost(request)) return undefined;
    return authenticate(request, reply, scopes);
  });
}

/**
 * Fastify plugin (wrapped with fastify-plugin, so it applies to the whole application):
 * `app.register(fastifyAccessToken, { issuer, audience })`, then
 * `app.get('/photos', { config: { scopes: ['photos:read'] } }, (request) => request.accessToken)`.
 */
export const fastifyAccessToken = fastifyPlugin<FastifyAccessTokenOptions>(plugin, {
  fastify: '5.x',
  name: '@gatehouse/resource-server',
});
