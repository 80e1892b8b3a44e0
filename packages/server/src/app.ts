// buildApp(deps): registers plugins and routes; never listens.
import { readFileSync } from 'node:fs';
import { edgeServerOptions, registerEdgeLimits } from './http/edge-limits.js';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import type { AppDeps } from './app-types.js';
import { OAuthError } from './oauth/errors.js';
import { parseUrlEncoded, ParamsError } from './oauth/params.js';
import { authorizeEndpoint } from './endpoints/authorize.js';
import { interactionRoutes } from './interaction/routes.js';
import { RESPONSE_CSP, sendErrorPage, sendPage } from './interaction/page.js';
import { accountRoutes } from './interaction/account.js';
import { brandingOf, brandStylesheet } from './interaction/branding.js';
import { landingPage } from './interaction/views.js';
import { tokenEndpoint } from './endpoints/token.js';
import { introspectionEndpoint } from './endpoints/introspect.js';
import { revocationEndpoint } from './endpoints/revoke.js';
import { wellKnownEndpoints } from './endpoints/well-known.js';
import { userinfoEndpoint } from './endpoints/userinfo.js';
import { endSessionEndpoint } from './endpoints/end-session.js';
import { deviceAuthorizationEndpoint } from './endpoints/device-authorization.js';
import { deviceRoutes } from './interaction/device.js';
import { twoFactorRoutes } from './interaction/two-factor.js';
import { healthEndpoints } from './health/health.js';
import { isUnavailable, originalError } from './storage/errors.js';
import { pushedAuthorizationRequestEndpoint } from './endpoints/par.js';
import { registrationEndpoint } from './endpoints/register.js';
import { adminApiEndpoints } from './endpoints/admin/api.js';
import { adminConsoleRoutes } from './interaction/admin/routes.js';
import { trustProxySetting } from './config/config.js';
import { registerRateLimits } from './http/rate-limit.js';
import { errorBody, requestIdGenerator } from './http/request-id.js';

export const BODY_LIMIT = 64 * 1024;
const STYLESHEET = readFileSync(new URL('../../assets/gatehouse.css', import.meta.url), 'utf8');

/**
 * The headers @fastify/helmet 13 (helmet 8) sent with our configuration — CSP from CSP_DIRECTIVES
 * without helmet's defaults, X-Frame-Options DENY, Referrer-Policy no-referrer, HSTS on https issuers,
 * COOP same-origin, no CORP, and helmet's other defaults — followed by TE-01's no-store. helmet rebuilt
 * them on every request; they never change, so they are built here once
 * (test/security-headers-fixed.test.ts compares them with helmet's own output).
 */
export function securityHeaders(https: boolean): Record<string, string> {
  return {
    ...RESPONSE_CSP,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Origin-Agent-Cluster': '?1',
    'Referrer-Policy': 'no-referrer',
    ...(https ? { 'Strict-Transport-Security': 'max-age=31536000; includeSubDomains' } : {}),
    'X-Content-Type-Options': 'nosniff',
    'X-DNS-Prefetch-Control': 'off',
    'X-Download-Options': 'noopen',
    'X-Frame-Options': 'DENY',
    'X-Permitted-Cross-Domain-Policies': 'none',
    'X-XSS-Protection': '0',
    // TE-01: nothing Gatehouse answers may be cached unless a route says otherwise.
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
  };
}

export async function buildApp(deps: AppDeps, options: { logger?: FastifyServerOptions['logger'] } = {}): Promise<FastifyInstance> {
  const { config } = deps;
  // UI-01, UI-07, TL-04, TE-01: headers for every response, computed once (pages, interaction/page.ts,
  // add their redirect to form-action; a route may set its own Cache-Control).
  const fixedHeaders = securityHeaders(config.issuer.startsWith('https:'));
  const app = Fastify({
    // IN-09: a URL Fastify cannot route (bad percent-encoding in a path parameter, FST_ERR_BAD_URL) gets
    // the protocol's invalid_request (an error page for a browser), not Fastify's own error body.
    frameworkErrors: (error, request, raw) => {
      const reply = (raw as unknown as FastifyReply).headers(fixedHeaders).header('X-Request-Id', request.id);
      request.log.info({ error: 'invalid_request', detail: error.code }, 'request refused');
      if (String(request.headers.accept ?? '').includes('text/html'))
        return sendErrorPage(reply, 400, 'Invalid request', 'The address of this page is malformed.');
      return reply.status(400).send(errorBody(new OAuthError('invalid_request', 'the request URL is malformed').toJSON(), request));
    },
    logger: options.logger ?? false,
    // Random request ids (http/request-id.ts): in every log line (reqId), X-Request-Id and error answers.
    genReqId: requestIdGenerator(config),
    bodyLimit: BODY_LIMIT,
    trustProxy: trustProxySetting(config) as FastifyServerOptions['trustProxy'],
    routerOptions: { maxParamLength: 200 },
    // IN-05: header and request deadlines that fire, 414 and 431 (http/edge-limits.ts).
    ...edgeServerOptions(config),
    // Shutdown (main.ts): health/health.ts answers requests that arrive while draining with the
    // protocol's 503 and closes keep-alive connections after their response; close() ends idle ones.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  // The operator's branding, read by sendPage for every page (interaction/branding.ts).
  const branding = brandingOf(config);
  app.decorate('branding', branding);
  const brandCss = brandStylesheet(branding);

  await app.register(cookie);
  // DS-01, DS-02: per-endpoint rate limits (http/rate-limit.ts); routes name their own limit.
  await registerRateLimits(app, deps.redis);
  // Strict form parsing: bad percent-encoding or UTF-8 is an invalid_request, never a 500 (IN-03).
  await app.register(formbody, {
    bodyLimit: BODY_LIMIT,
    parser: (body: string) => {
      try {
        return parseUrlEncoded(body) as unknown as Record<string, unknown>;
      } catch (e) {
        if (e instanceof ParamsError) throw new OAuthError('invalid_request', e.message);
        throw e;
      }
    },
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(fixedHeaders).header('X-Request-Id', request.id);
    done();
  });
  deps.metrics?.register(app);
  registerEdgeLimits(app);

  app.setErrorHandler((thrown: FastifyError | OAuthError, request, reply) => {
    const browser = request.routeOptions.config?.browser === true;
    // An error raised while handling another (a failed ROLLBACK, a rethrow with `cause`) is judged by the original.
    const wrapperCounts = thrown instanceof OAuthError || (typeof thrown.statusCode === 'number' && thrown.statusCode < 500);
    const error = (wrapperCounts ? thrown : originalError(thrown)) as FastifyError | OAuthError;
    let oauth: OAuthError;
    if (error instanceof OAuthError) {
      oauth = error;
      if (oauth.code === 'invalid_client') deps.metrics?.clientAuthenticationFailed();
      if (oauth.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.info({ error: oauth.code, detail: oauth.detail }, 'request refused');
    } else if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      const status = error.statusCode === 415 ? 400 : error.statusCode;
      const description =
        status === 413
          ? 'the request body is too large'
          : error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? 'unsupported content type'
            : 'the request is malformed';
      oauth = new OAuthError('invalid_request', description, { status });
      request.log.info({ error: 'invalid_request', detail: error.code }, 'request refused');
    } else if (isUnavailable(thrown)) {
      request.log.error({ err: error }, 'storage unavailable');
      oauth = new OAuthError('temporarily_unavailable', 'the service is temporarily unavailable, try again shortly', {
        headers: { 'Retry-After': '5' },
      });
    } else {
      request.log.error({ err: error }, 'unhandled error');
      oauth = new OAuthError('server_error', 'the server could not complete the request');
    }
    if (browser) {
      if (oauth.status === 429) {
        const wait = oauth.headers['Retry-After'];
        return sendErrorPage(
          reply.headers(oauth.headers),
          429,
          'Too many attempts',
          `Too many attempts from your network. Please wait${wait ? ` ${wait} seconds` : ' a moment'} and try again.`,
        );
      }
      return sendErrorPage(
        reply.headers(oauth.headers),
        oauth.status,
        oauth.status >= 500 ? 'Something went wrong' : 'Invalid request',
        oauth.description,
      );
    }
    return reply.status(oauth.status).headers(oauth.headers).send(errorBody(oauth.toJSON(), request));
  });

  healthEndpoints(app, deps);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send(errorBody({ error: 'not_found', error_description: 'no such endpoint' }, request)),
  );

  app.get('/assets/gatehouse.css', async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').removeHeader('Pragma').type('text/css; charset=utf-8').send(STYLESHEET),
  );
  app.get('/assets/brand.css', async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').removeHeader('Pragma').type('text/css; charset=utf-8').send(brandCss),
  );
  // The landing page: what this server is, with the way to the account pages and to discovery.
  app.get('/', { config: { browser: true } }, async (_request, reply) =>
    sendPage(reply, landingPage({ discoveryUrl: '/.well-known/openid-configuration' })),
  );

  wellKnownEndpoints(app, deps);
  authorizeEndpoint(app, deps);
  interactionRoutes(app, deps);
  accountRoutes(app, deps);
  tokenEndpoint(app, deps);
  introspectionEndpoint(app, deps);
  revocationEndpoint(app, deps);
  userinfoEndpoint(app, deps);
  endSessionEndpoint(app, deps);
  deviceAuthorizationEndpoint(app, deps);
  deviceRoutes(app, deps);
  twoFactorRoutes(app, deps);
  pushedAuthorizationRequestEndpoint(app, deps);
  registrationEndpoint(app, deps);
  adminApiEndpoints(app, deps);
  adminConsoleRoutes(app, deps);
  return app;
}
