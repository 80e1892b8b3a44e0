// RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2.1-3.1.2.6: the authorization endpoint (GET and POST).
// Validates the request, then either answers at once (signed in, consent on file) or starts an
// interaction bound to this browser and sends the user to the login or consent page.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import {
  AuthorizationPageError, AuthorizationRedirectError, errorResponseUrl, validateAuthorizationRequest,
} from '../oauth/authorization-request.js';
import { nowSeconds, randomToken } from '../oauth/crypto.js';
import { consentRequired, invalidRequest, loginRequired, OAuthError } from '../oauth/errors.js';
import { parseUrlEncoded, queryOf, ParamsError, type Params } from '../oauth/params.js';
import { interactionCookieName, newBrowserSecret, setCookie } from '../interaction/cookies.js';
import { consentNeeded, cookieSettings, currentSession, issueCode } from '../interaction/flow.js';
import { errorPage } from '../interaction/views.js';

export function renderErrorPage(reply: FastifyReply, status: number, title: string, message: string): FastifyReply {
  return reply.status(status).type('text/html; charset=utf-8').send(errorPage(title, message));
}

function authorizeParams(request: FastifyRequest): Params {
  const query = queryOf(request.url);
  if (request.method === 'GET') return parseUrlEncoded(query);
  if (!(request.body instanceof Map)) throw new ParamsError('the authorization request body must be form-encoded');
  if (query.length > 0) throw new ParamsError('send the authorization request either in the URL or in the body');
  return request.body as Map<string, string[]>;
}

export function authorizeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage } = deps;

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const now = nowSeconds();
    let params: Params;
    try {
      params = authorizeParams(request);
    } catch (e) {
      if (e instanceof ParamsError) return renderErrorPage(reply, 400, 'Invalid request', e.message);
      throw e;
    }
    let validated;
    try {
      validated = await validateAuthorizationRequest(params, {
        clients: storage.clients,
        pkceRequiredForConfidentialClients: config.pkceRequiredForConfidentialClients,
      });
    } catch (e) {
      if (e instanceof AuthorizationPageError) return renderErrorPage(reply, 400, e.title, e.description);
      if (e instanceof AuthorizationRedirectError) {
        request.log.info({ error: e.error.code, detail: e.error.detail }, 'authorization request refused');
        return reply.redirect(errorResponseUrl(e.redirectUri, config.issuer, e.error, e.state), 303);
      }
      throw e;
    }
    const { request: authz, client } = validated;
    const fail = (error: OAuthError) => reply.redirect(errorResponseUrl(authz.redirectUri, config.issuer, error, authz.state), 303);

    try {
      const signedIn = await currentSession(request, deps, now);
      const mustLogin =
        !signedIn ||
        authz.prompt.includes('login') ||
        (authz.maxAge !== undefined && now - signedIn.session.auth_time > authz.maxAge);
      if (mustLogin && authz.prompt.includes('none')) return fail(loginRequired('the user is not signed in'));
      if (!mustLogin && signedIn) {
        const consent = await consentNeeded(deps, client, signedIn.user.id, authz);
        if (!consent.needed) {
          const location = await issueCode(deps, authz, signedIn.user.id, signedIn.session.auth_time, signedIn.session.sid, now);
          return reply.redirect(location, 303);
        }
        if (authz.prompt.includes('none')) return fail(consentRequired('the user has not granted this access'));
      }
      const id = randomToken();
      const browser = newBrowserSecret();
      await storage.interactions.create({
        id,
        client_id: client.clientId,
        params: JSON.stringify(authz),
        browser_hash: browser.hash,
        user_id: mustLogin || !signedIn ? null : signedIn.user.id,
        auth_time: mustLogin || !signedIn ? null : signedIn.session.auth_time,
        sid: mustLogin || !signedIn ? null : signedIn.session.sid,
        created_at: now,
        expires_at: now + config.interactionTtl,
        consumed_at: null,
      });
      setCookie(reply, cookieSettings(deps), interactionCookieName(cookieSettings(deps), id), browser.secret, config.interactionTtl);
      return reply.redirect(`/interaction/${id}`, 303);
    } catch (e) {
      if (e instanceof OAuthError) return fail(e);
      request.log.error({ err: e }, 'authorization request failed');
      return fail(new OAuthError('server_error', 'the authorization server could not complete the request'));
    }
  };

  app.get('/authorize', { config: { browser: true } }, handler);
  app.post('/authorize', { config: { browser: true } }, async (request, reply) => {
    if (!(request.body instanceof Map)) return renderErrorPage(reply, 400, 'Invalid request', invalidRequest('the body must be form-encoded').description);
    return handler(request, reply);
  });
}
