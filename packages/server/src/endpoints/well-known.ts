// RFC 8414 and OIDC Discovery 1.0 (the documents are built in oauth/discovery.ts) and RFC 7517 (JWKS).
// All three may be fetched cross-origin and cached.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { authorizationServerMetadata, openIdConfiguration } from '../oauth/discovery.js';
import { JWKS_MAX_AGE } from '../oauth/keys/key-store.js';

export function wellKnownEndpoints(app: FastifyInstance, { config, keys }: AppDeps): void {
  const options = {
    requirePushedAuthorizationRequests: config.requirePushedAuthorizationRequests,
    clientIdMetadataDocuments: config.clientIdMetadataDocuments,
  };
  const metadata = authorizationServerMetadata(config.issuer, options);
  const openid = openIdConfiguration(config.issuer, options);
  const publicJson = (maxAge: number) => ({ 'Cache-Control': `public, max-age=${maxAge}`, 'Access-Control-Allow-Origin': '*' });
  app.get('/.well-known/openid-configuration', async (_request, reply) =>
    reply.headers(publicJson(3600)).removeHeader('Pragma').send(openid),
  );
  app.get('/.well-known/oauth-authorization-server', async (_request, reply) =>
    reply.headers(publicJson(3600)).removeHeader('Pragma').send(metadata),
  );
  app.get('/jwks', async (_request, reply) =>
    reply.headers(publicJson(JWKS_MAX_AGE)).header('Content-Type', 'application/jwk-set+json').removeHeader('Pragma').send(keys.jwks()),
  );
}
