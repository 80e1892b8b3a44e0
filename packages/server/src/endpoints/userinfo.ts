// OIDC Core §5.3 (UserInfo) with RFC 6750 §2-3 bearer token usage: the token comes from the
// Authorization header (scheme case-insensitive) or a form-encoded POST body, never the query;
// errors carry a WWW-Authenticate Bearer challenge.
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { claimsForScopes } from '../oauth/claims.js';
import { OAuthError } from '../oauth/errors.js';
import { parseScopeList } from '../oauth/scopes.js';
import { activeAccessToken } from '../oauth/tokens/status.js';

export function bearerChallenge(realm: string, error?: OAuthError, scope?: string): string {
  const parts = [`realm="${realm}"`];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description}"`);
  if (scope) parts.push(`scope="${scope}"`);
  return `Bearer ${parts.join(', ')}`;
}

/** RFC 6750 §2.1, §2.2: the bearer token of a request, undefined when none, OAuthError when malformed. */
export function extractBearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  let fromHeader: string | undefined;
  if (header !== undefined) {
    const m = /^bearer(?: +([A-Za-z0-9\-._~+/]+=*))? *$/i.exec(header);
    if (!m) {
      if (/^bearer\b/i.test(header)) throw new OAuthError('invalid_request', 'malformed Bearer authorization header');
      throw new OAuthError('invalid_request', 'unsupported authorization scheme');
    }
    if (!m[1]) throw new OAuthError('invalid_request', 'the Bearer authorization header has no token');
    fromHeader = m[1];
  }
  let fromBody: string | undefined;
  if (request.method === 'POST' && request.body instanceof Map) {
    const values = (request.body as Map<string, string[]>).get('access_token');
    if (values && values.length > 1) throw new OAuthError('invalid_request', 'access_token sent more than once');
    fromBody = values?.[0];
  }
  if (fromHeader !== undefined && fromBody !== undefined)
    throw new OAuthError('invalid_request', 'send the access token in exactly one way');
  return fromHeader ?? fromBody;
}

export function userinfoEndpoint(app: FastifyInstance, { config, keys, storage, clock }: AppDeps): void {
  const realm = new URL(config.issuer).host;

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const fail = (status: number, error?: OAuthError, scope?: string) => {
      reply.status(status).header('WWW-Authenticate', bearerChallenge(realm, error, scope));
      return reply.send(error ? error.toJSON() : { error: 'invalid_request', error_description: 'an access token is required' });
    };
    let token: string | undefined;
    try {
      token = extractBearer(request);
    } catch (e) {
      return fail(400, e as OAuthError);
    }
    if (token === undefined) {
      // BR-01: no credentials → a bare challenge, no error code.
      reply.status(401).header('WWW-Authenticate', bearerChallenge(realm));
      return reply.send();
    }
    const now = clock();
    const claims = await activeAccessToken({ keys, issuer: config.issuer, storage }, token, now);
    if (!claims) return fail(401, new OAuthError('invalid_token', 'the access token is invalid, expired or revoked'));
    const scopes = parseScopeList(claims.scope);
    if (!scopes.includes('openid'))
      return fail(403, new OAuthError('insufficient_scope', 'the access token lacks the openid scope'), 'openid');
    const user = await storage.users.findById(claims.sub);
    if (!user) return fail(401, new OAuthError('invalid_token', 'the access token is invalid, expired or revoked'));
    return reply.send({ sub: user.id, ...claimsForScopes(user, scopes) });
  };

  const limit = { config: routeRateLimit(config, 'userinfo') };
  app.get('/userinfo', limit, handler);
  app.post('/userinfo', limit, handler);
}
