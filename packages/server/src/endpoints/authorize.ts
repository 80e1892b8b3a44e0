// RFC 6749 §3.1, §4.1.1; OIDC Core §3.1.2.1-3.1.2.6: the authorization endpoint (GET and POST).
// parse → validate (oauth/authorization-request.ts) → answer at once (signed in, consent on file:
// issue the code) or start an interaction and send the user to the login or consent page.
// Errors about client_id or redirect_uri are shown as a page, never redirected (RU-02); so is a
// request_uri that is unknown, expired, used or another client's (PR-01).
import { routeRateLimit } from '../http/rate-limit.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { queryOrBody } from '../http/params.js';
import { beginInteraction, consentNeeded, currentSession } from '../interaction/flow.js';
import { sendErrorPage } from '../interaction/page.js';
import { stepUpFor } from '../interaction/two-factor-login.js';
import { AMR_PASSWORD } from '../oauth/two-factor/acr.js';
import { AuthorizationPageError, AuthorizationRedirectError, validateAuthorizationRequest } from '../oauth/authorization-request.js';
import { errorResponseUrl } from '../oauth/authorization-response.js';
import { consentRequired, invalidRequest, loginRequired, OAuthError } from '../oauth/errors.js';
import { issueCode } from '../oauth/grants/authorization-code.js';
import type { Params } from '../oauth/params.js';
import { pushedRequestRequired, resolvePushedRequest } from '../oauth/pushed-request.js';

export function authorizeEndpoint(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, clock } = deps;

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const now = clock();
    let params: Params;
    try {
      params = queryOrBody(request);
    } catch (e) {
      if (e instanceof OAuthError) return sendErrorPage(reply, 400, 'Invalid request', e.description);
      throw e;
    }
    let validated;
    let pushed = false;
    try {
      // RFC 9126 §4: a request_uri from the PAR endpoint stands for the pushed parameters.
      ({ params, pushed } = await resolvePushedRequest(params, { pushedRequests: storage.pushedRequests }, now));
      validated = await validateAuthorizationRequest(params, {
        clients: deps.clientResolver,
        resources: storage.resources,
        pkceRequiredForConfidentialClients: config.pkceRequiredForConfidentialClients,
      });
    } catch (e) {
      if (e instanceof AuthorizationPageError) {
        if (e.detail !== undefined) request.log.info({ detail: e.detail }, 'authorization request refused with an error page');
        return sendErrorPage(reply, 400, e.title, e.description);
      }
      if (e instanceof AuthorizationRedirectError) {
        request.log.info({ error: e.error.code, detail: e.error.detail }, 'authorization request refused');
        return reply.redirect(errorResponseUrl(e.redirectUri, config.issuer, e.error, e.state), 303);
      }
      throw e;
    }
    const { request: authz, client } = validated;
    const fail = (error: OAuthError) => reply.redirect(errorResponseUrl(authz.redirectUri, config.issuer, error, authz.state), 303);
    if (!pushed && pushedRequestRequired(config.requirePushedAuthorizationRequests, client)) {
      return fail(invalidRequest('this client must use pushed authorization requests (RFC 9126)'));
    }

    try {
      const signedIn = await currentSession(request, deps, now);
      const mustLogin =
        !signedIn || authz.prompt.includes('login') || (authz.maxAge !== undefined && now - signedIn.session.authTime > authz.maxAge);
      if (mustLogin && authz.prompt.includes('none')) return fail(loginRequired('the user is not signed in'));
      // acr_values asking for two factors of a one-factor session: the second factor first (step-up).
      const stepUp = !mustLogin && signedIn ? await stepUpFor(deps, authz, signedIn) : undefined;
      if (stepUp instanceof OAuthError) return fail(stepUp);
      if (stepUp === 'step-up' && signedIn) {
        const pending = { userId: signedIn.user.id, amr: signedIn.session.amr ?? AMR_PASSWORD };
        return reply.redirect(await beginInteraction(request, reply, deps, client, authz, undefined, now, pending), 303);
      }
      if (!mustLogin && signedIn) {
        const consent = await consentNeeded(deps, client, signedIn.user.id, authz);
        if (!consent.needed) {
          const { session } = signedIn;
          return reply.redirect(
            await issueCode(
              deps,
              authz,
              { userId: session.userId, authTime: session.authTime, sid: session.sid, amr: session.amr, acr: session.acr },
              now,
            ),
            303,
          );
        }
        if (authz.prompt.includes('none')) return fail(consentRequired('the user has not granted this access'));
      }
      return reply.redirect(
        await beginInteraction(request, reply, deps, client, authz, mustLogin ? undefined : signedIn?.session, now),
        303,
      );
    } catch (e) {
      if (e instanceof OAuthError) return fail(e);
      request.log.error({ err: e }, 'authorization request failed');
      return fail(new OAuthError('server_error', 'the authorization server could not complete the request'));
    }
  };

  // DS-01: every anonymous authorization request may write an interaction; limited per IP.
  const limit = routeRateLimit(deps.config, 'authorize');
  app.get('/authorize', { config: { browser: true, ...limit } }, handler);
  app.post('/authorize', { config: { browser: true, ...limit } }, handler);
}
