// OIDC Core §5.3 (UserInfo) with RFC 6750 §2-3 bearer token usage: the token comes from the
// Authorization header (scheme case-insensitive) or a form-encoded POST body, never the query;
// errors carry a WWW-Authenticate Bearer challenge. RFC 9449 §7: a DPoP-bound token comes as
// `Authorization: DPoP <token>` with a proof for this request (htm, htu, ath) signed by the bound key;
// such a token sent as Bearer is refused (DP-02), and DPoP errors carry a DPoP challenge.
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { claimsForScopes } from '../oauth/claims.js';
import { OAuthError } from '../oauth/errors.js';
import { parseScopeList } from '../oauth/scopes.js';
import { activeAccessTokenWithUser } from '../oauth/tokens/status.js';
import { DPOP_SIGNING_ALGS, verifyProof } from '../oauth/dpop.js';
import { dpopDeps, dpopProofs } from '../http/dpop.js';
import { errorBody } from '../http/request-id.js';

export function bearerChallenge(realm: string, error?: OAuthError, scope?: string, scheme: 'Bearer' | 'DPoP' = 'Bearer'): string {
  const parts = [`realm="${realm}"`];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description}"`);
  if (scope) parts.push(`scope="${scope}"`);
  if (scheme === 'DPoP') parts.push(`algs="${DPOP_SIGNING_ALGS.join(' ')}"`);
  return `${scheme} ${parts.join(', ')}`;
}

/** RFC 6750 §2.1, §2.2, RFC 9449 §7.1: the token of a request and its scheme, undefined when none, OAuthError when malformed. */
export function extractToken(request: FastifyRequest): { token: string; scheme: 'Bearer' | 'DPoP' } | undefined {
  const header = request.headers.authorization;
  let fromHeader: { token: string; scheme: 'Bearer' | 'DPoP' } | undefined;
  if (header !== undefined) {
    const m = /^(bearer|dpop)(?: +([A-Za-z0-9\-._~+/]+=*))? *$/i.exec(header);
    if (!m) {
      if (/^(bearer|dpop)\b/i.test(header)) throw new OAuthError('invalid_request', 'malformed authorization header');
      // IN-05, RFC 6750 §3.1: another scheme (Basic, …) carries no access token: the caller answers
      // as for a request without credentials, 401 with a bare Bearer challenge (as the resource-server
      // library does).
    } else {
      const scheme = m[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer';
      if (!m[2]) throw new OAuthError('invalid_request', `the ${scheme} authorization header has no token`);
      fromHeader = { token: m[2], scheme };
    }
  }
  let fromBody: string | undefined;
  if (request.method === 'POST' && request.body instanceof Map) {
    const values = (request.body as Map<string, string[]>).get('access_token');
    if (values && values.length > 1) throw new OAuthError('invalid_request', 'access_token sent more than once');
    fromBody = values?.[0];
  }
  if (fromHeader !== undefined && fromBody !== undefined)
    throw new OAuthError('invalid_request', 'send the access token in exactly one way');
  return fromHeader ?? (fromBody === undefined ? undefined : { token: fromBody, scheme: 'Bearer' });
}

/** RFC 6750 §2.1, §2.2: the bearer token of a request, undefined when none, OAuthError when malformed. */
export function extractBearer(request: FastifyRequest): string | undefined {
  const presented = extractToken(request);
  if (presented?.scheme === 'DPoP') throw new OAuthError('invalid_request', 'unsupported authorization scheme');
  return presented?.token;
}

export function userinfoEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, keys, storage, clock } = deps;
  const realm = new URL(config.issuer).host;
  const dpop = dpopDeps(deps);
  const userinfoUrl = `${config.issuer}/userinfo`;

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    let scheme: 'Bearer' | 'DPoP' = 'Bearer';
    const fail = (status: number, error?: OAuthError, scope?: string) => {
      reply.status(status).header('WWW-Authenticate', bearerChallenge(realm, error, scope, scheme));
      return reply.send(
        errorBody(error ? error.toJSON() : { error: 'invalid_request', error_description: 'an access token is required' }, request),
      );
    };
    let presented: { token: string; scheme: 'Bearer' | 'DPoP' } | undefined;
    try {
      presented = extractToken(request);
    } catch (e) {
      return fail(400, e as OAuthError);
    }
    if (presented === undefined) {
      // BR-01: no credentials → a bare challenge, no error code.
      reply.status(401).header('WWW-Authenticate', bearerChallenge(realm));
      return reply.send();
    }
    const { token } = presented;
    scheme = presented.scheme;
    const now = clock();
    // LC-01: one statement checks the denylist, the client and the user (deleted or disabled → 401).
    const active = await activeAccessTokenWithUser({ keys, issuer: config.issuer, storage }, token, now);
    if (!active) return fail(401, new OAuthError('invalid_token', 'the access token is invalid, expired or revoked'));
    const { claims, user } = active;
    const jkt = claims.cnf?.jkt;
    if (scheme === 'Bearer' && jkt !== undefined) {
      // DP-02: a DPoP-bound token is not a bearer token.
      scheme = 'DPoP';
      return fail(401, new OAuthError('invalid_token', 'the access token is DPoP-bound: send it with the DPoP scheme and a proof'));
    }
    if (scheme === 'DPoP') {
      if (jkt === undefined) return fail(401, new OAuthError('invalid_token', 'the access token is not DPoP-bound'));
      try {
        await verifyProof(dpop, {
          proofs: dpopProofs(request),
          method: request.method,
          url: userinfoUrl,
          accessToken: token,
          expectedJkt: jkt,
          nonce: false,
          now,
          ip: request.ip,
        });
      } catch (e) {
        if (e instanceof OAuthError && e.code === 'invalid_dpop_proof') return fail(401, e);
        throw e;
      }
    }
    const scopes = parseScopeList(claims.scope);
    if (!scopes.includes('openid'))
      return fail(403, new OAuthError('insufficient_scope', 'the access token lacks the openid scope'), 'openid');
    if (!user) return fail(401, new OAuthError('invalid_token', 'the access token is invalid, expired or revoked'));
    return reply.send({ sub: user.id, ...claimsForScopes(user, scopes) });
  };

  const limit = { config: routeRateLimit(config, 'userinfo') };
  app.get('/userinfo', limit, handler);
  app.post('/userinfo', limit, handler);
}
