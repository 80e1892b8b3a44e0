// Photo Printer: a confidential OpenID Connect client (a server-side web app) that signs the
// user in with Gatehouse and reads their photos from the demo API. Tokens never reach the
// browser: it holds only an opaque session id (HttpOnly, SameSite=Lax cookie).
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import * as client from 'openid-client';
import { DEFAULT_SCOPE, isLoopbackUrl, type ClientAppOptions } from './config.js';
import { SessionStore, type Session, type TokenSet } from './session-store.js';
import { SessionEndedError, isInvalidGrant, lazyDiscovery, startLogin, tokenSetFrom } from './oidc.js';
import { ApiError, getJson, getJsonWithDpop, type Photo, type WhoAmI } from './photos-api.js';
import { dashboardPage, deniedPage, errorPage, forbiddenPage, notFoundPage, welcomePage, type HomeNotice } from './views/pages.js';

export const SESSION_COOKIE = 'photo_printer_session';

const STYLESHEET = readFileSync(new URL('../../public/style.css', import.meta.url), 'utf8');

function htmlReply(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

function seeOther(reply: FastifyReply, location: string): FastifyReply {
  return reply.header('cache-control', 'no-store').redirect(location, 303);
}

function stringParam(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof client.ResponseBodyError || error instanceof client.AuthorizationResponseError) {
    return error.error;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function buildClientApp(options: ClientAppOptions): FastifyInstance {
  const baseUrl = new URL(options.baseUrl);
  const issuerUrl = new URL(options.issuer);
  for (const [name, url] of [
    ['baseUrl', baseUrl],
    ['issuer', issuerUrl],
    ['apiUrl', new URL(options.apiUrl)],
  ] as const) {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackUrl(url))) {
      throw new Error(`${name} must use https (plain http only on loopback): ${url.href}`);
    }
  }
  const origin = baseUrl.origin;
  const redirectUri = new URL('callback', origin + '/').href;
  const scope = options.scope ?? DEFAULT_SCOPE;
  const apiUrl = options.apiUrl.replace(/\/$/, '');
  const leewaySeconds = options.refreshLeewaySeconds ?? 30;
  const secureCookie = baseUrl.protocol === 'https:';
  const getConfig = lazyDiscovery(options);
  const sessions = new SessionStore({ ttlMs: (options.sessionTtlSeconds ?? 8 * 3600) * 1000 });
  const useDpop = options.dpop !== false;

  /** RFC 9449: openid-client's DPoP option for this session's key (none when DPoP is off). */
  function dpopOf(config: client.Configuration, session: Session): { DPoP?: client.DPoPHandle } {
    return useDpop && session.dpopKeys ? { DPoP: client.getDPoPHandle(config, session.dpopKeys) } : {};
  }

  const app = Fastify({
    logger: options.logger
      ? {
          level: 'info',
          // The query string of /callback carries the authorization code: never log it.
          serializers: {
            req: (req: { method: string; url: string }) => ({ method: req.method, path: req.url.split('?')[0] }),
          },
        }
      : false,
  });
  app.addHook('onClose', async () => sessions.close());

  void app.register(cookie);
  void app.register(formbody); // the Connect / Sign out buttons post (empty) HTML forms
  void app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        // Chromium applies form-action to the redirects that follow a form submission:
        // "Connect" and "Sign out" post here and are redirected to the authorization server.
        formAction: ["'self'", issuerUrl.origin],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own
    // form posts, which the origin check below would refuse. Other origins get no Referer.
    referrerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: secureCookie ? { maxAge: 31536000 } : false,
  });

  // ---- sessions -----------------------------------------------------------------------
  function sessionOf(request: FastifyRequest): Session | undefined {
    return sessions.get(request.cookies[SESSION_COOKIE]);
  }

  function setSessionCookie(reply: FastifyReply, session: Session): void {
    reply.setCookie(SESSION_COOKIE, session.id, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookie,
    });
  }

  function endSession(reply: FastifyReply, session: Session | undefined): void {
    if (session) sessions.delete(session.id);
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookie });
  }

  /** POSTs from other sites are refused (the cookie is SameSite=Lax anyway). */
  function fromOurOrigin(request: FastifyRequest): boolean {
    const requestOrigin = request.headers.origin;
    return requestOrigin === undefined || requestOrigin === origin;
  }

  /** The provider's configuration, or a 503 page already sent when Gatehouse cannot be reached. */
  async function configOrUnavailable(request: FastifyRequest, reply: FastifyReply): Promise<client.Configuration | undefined> {
    try {
      return await getConfig();
    } catch (error) {
      request.log.error({ err: error }, 'discovery failed');
      htmlReply(
        reply,
        503,
        errorPage({
          heading: 'Gatehouse is not reachable',
          message: 'Photo Printer could not reach Gatehouse to sign you in. Please try again in a moment.',
        }),
      );
      return undefined;
    }
  }

  // ---- tokens -------------------------------------------------------------------------
  function refreshTokens(session: Session, staleAccessToken: string): Promise<TokenSet> {
    if (session.tokens && session.tokens.accessToken !== staleAccessToken) {
      return Promise.resolve(session.tokens); // another request already refreshed
    }
    session.refreshing ??= (async () => {
      const current = session.tokens;
      if (!current?.refreshToken) throw new SessionEndedError('access token expired and no refresh token');
      const config = await getConfig();
      let response;
      try {
        response = await client.refreshTokenGrant(config, current.refreshToken, undefined, dpopOf(config, session));
      } catch (error) {
        if (isInvalidGrant(error)) throw new SessionEndedError('refresh token rejected', { cause: error });
        throw error;
      }
      const next = tokenSetFrom(response, current, { now: Date.now(), leewaySeconds });
      session.tokens = next;
      return next;
    })().finally(() => {
      session.refreshing = undefined;
    });
    return session.refreshing;
  }

  async function usableTokens(session: Session): Promise<TokenSet> {
    const tokens = session.tokens;
    if (!tokens) throw new SessionEndedError('not signed in');
    if (tokens.refreshAt !== undefined && Date.now() >= tokens.refreshAt) {
      return refreshTokens(session, tokens.accessToken);
    }
    return tokens;
  }

  async function callApi<T>(session: Session, path: string): Promise<T> {
    const tokens = await usableTokens(session);
    // A DPoP-bound token goes with a proof of the session's key; a bearer token as it is.
    const get = async (current: TokenSet) => {
      const dpop = current.tokenType === 'dpop' ? dpopOf(await getConfig(), session).DPoP : undefined;
      return dpop
        ? getJsonWithDpop<T>(await getConfig(), dpop, apiUrl, path, current.accessToken)
        : getJson<T>(apiUrl, path, current.accessToken);
    };
    try {
      return await get(tokens);
    } catch (error) {
      if (!(error instanceof ApiError && error.isInvalidToken)) throw error;
      const refreshed = await refreshTokens(session, tokens.accessToken);
      return get(refreshed);
    }
  }

  // ---- routes -------------------------------------------------------------------------
  app.get('/static/style.css', async (_request, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(STYLESHEET),
  );

  app.get('/', async (request, reply) => {
    const session = sessionOf(request);
    if (!session?.user || !session.tokens) {
      const notice = stringParam(request.query, 'notice');
      return htmlReply(reply, 200, welcomePage(notice === 'session-ended' ? (notice as HomeNotice) : undefined));
    }
    const [photos, me] = await Promise.allSettled([callApi<{ photos: Photo[] }>(session, 'photos'), callApi<WhoAmI>(session, 'me')]);
    for (const result of [photos, me]) {
      if (result.status === 'rejected' && result.reason instanceof SessionEndedError) {
        request.log.info({ reason: result.reason.message }, 'session ended');
        endSession(reply, session);
        return seeOther(reply, '/?notice=session-ended');
      }
    }
    let photosError: string | undefined;
    if (photos.status === 'rejected') {
      request.log.warn({ err: photos.reason }, 'photos API call failed');
      photosError = photos.reason instanceof ApiError ? `${photos.reason.message}.` : 'The photos service is not reachable.';
    }
    const tokens = session.tokens;
    return htmlReply(
      reply,
      200,
      dashboardPage({
        displayName: session.user.name ?? session.user.email ?? session.user.sub,
        email: session.user.email,
        issuer: issuerUrl.href.replace(/\/$/, ''),
        grantedScopes: (tokens.scope ?? scope).split(' ').filter(Boolean),
        accessTokenExpiresAt: tokens.accessTokenExpiresAt,
        hasRefreshToken: tokens.refreshToken !== undefined,
        photos: photos.status === 'fulfilled' ? (photos.value.photos ?? []) : undefined,
        photosError,
        me: me.status === 'fulfilled' ? me.value : undefined,
        idTokenClaims: session.user.idTokenClaims,
        now: Date.now(),
      }),
    );
  });

  app.post('/login', async (request, reply) => {
    if (!fromOurOrigin(request)) return htmlReply(reply, 403, forbiddenPage());
    const config = await configOrUnavailable(request, reply);
    if (!config) return reply;
    let session = sessionOf(request);
    if (!session) {
      session = sessions.create();
      setSessionCookie(reply, session);
    }
    // RFC 9449: one DPoP key per browser session, made before the first token request.
    if (useDpop) session.dpopKeys ??= await client.randomDPoPKeyPair('ES256');
    let started;
    try {
      started = await startLogin(config, { redirectUri, scope, now: Date.now(), dpop: dpopOf(config, session).DPoP });
    } catch (error) {
      // The pushed authorization request failed (Gatehouse down, or it refused the request).
      request.log.error({ err: error }, 'pushed authorization request failed');
      return htmlReply(
        reply,
        503,
        errorPage({
          heading: 'Gatehouse is not reachable',
          message: 'Photo Printer could not reach Gatehouse to sign you in. Please try again in a moment.',
        }),
      );
    }
    const { url, pending } = started;
    sessions.addPendingLogin(session, pending);
    return seeOther(reply, url.href);
  });

  app.get('/callback', async (request, reply) => {
    const session = sessionOf(request);
    const state = stringParam(request.query, 'state');
    // Login CSRF (RFC 6749 §10.12): the response must answer a login started by THIS browser.
    const pending = session && state ? sessions.takePendingLogin(session, state) : undefined;
    if (!session || !pending) {
      return htmlReply(
        reply,
        400,
        errorPage({
          heading: 'This sign-in cannot be completed',
          message:
            'The answer from Gatehouse does not match a sign-in started in this browser (or it is too old), ' +
            'so we ignored it. Please start again.',
          code: 'state_mismatch',
        }),
      );
    }

    const config = await configOrUnavailable(request, reply);
    if (!config) return reply;
    const currentUrl = new URL(redirectUri);
    currentUrl.search = new URL(request.url, origin).search;

    let response;
    try {
      // Checks state, iss (RFC 9207), then redeems the code with the PKCE verifier and
      // validates the ID token (iss, aud, exp, iat, nonce).
      response = await client.authorizationCodeGrant(
        config,
        currentUrl,
        {
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          pkceCodeVerifier: pending.codeVerifier,
          idTokenExpected: true,
        },
        undefined,
        dpopOf(config, session),
      );
    } catch (error) {
      if (error instanceof client.AuthorizationResponseError) {
        if (error.error === 'access_denied') return seeOther(reply, '/denied');
        request.log.warn({ error: error.error }, 'authorization error response');
        return htmlReply(
          reply,
          400,
          errorPage({
            heading: 'Sign-in was not completed',
            message: 'Gatehouse did not complete the sign-in.',
            code: error.error,
            detail: error.error_description,
          }),
        );
      }
      request.log.warn({ err: error }, 'authorization response rejected');
      return htmlReply(
        reply,
        400,
        errorPage({
          heading: 'Sign-in did not work',
          message: 'We could not verify the answer from Gatehouse, so we did not sign you in.',
          code: errorCode(error),
        }),
      );
    }

    const claims = response.claims();
    if (!claims) throw new Error('unreachable: idTokenExpected');
    let name = typeof claims.name === 'string' ? claims.name : undefined;
    let email = typeof claims.email === 'string' ? claims.email : undefined;
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        const bound = response.token_type.toLowerCase() === 'dpop';
        const userinfo = await client.fetchUserInfo(config, response.access_token, claims.sub, bound ? dpopOf(config, session) : {});
        if (typeof userinfo.name === 'string') name = userinfo.name;
        if (typeof userinfo.email === 'string') email = userinfo.email;
      } catch (error) {
        request.log.warn({ err: error }, 'userinfo failed; using the ID token claims');
      }
    }

    // A new session id for the signed-in browser (session fixation).
    const signedIn = sessions.rotate(session);
    signedIn.user = { sub: claims.sub, idTokenClaims: { ...claims } };
    if (name) signedIn.user.name = name;
    if (email) signedIn.user.email = email;
    signedIn.tokens = tokenSetFrom(response, undefined, { now: Date.now(), leewaySeconds });
    setSessionCookie(reply, signedIn);
    request.log.info({ sub: claims.sub }, 'signed in');
    return seeOther(reply, '/');
  });

  app.get('/denied', async (_request, reply) => htmlReply(reply, 200, deniedPage()));
  // After a local logout, and where the end_session_endpoint sends the browser back (the
  // registered post_logout_redirect_uri).
  app.get('/signed-out', async (_request, reply) => htmlReply(reply, 200, welcomePage('signed-out')));

  app.post('/logout', async (request, reply) => {
    if (!fromOurOrigin(request)) return htmlReply(reply, 403, forbiddenPage());
    const session = sessionOf(request);
    endSession(reply, session);
    const tokens = session?.tokens;
    if (!tokens) return seeOther(reply, '/signed-out');

    let config: client.Configuration;
    try {
      config = await getConfig();
    } catch {
      return seeOther(reply, '/signed-out');
    }
    const metadata = config.serverMetadata();
    if (tokens.refreshToken && metadata.revocation_endpoint) {
      // RFC 7009: the grant ends with the session; best effort.
      await client
        .tokenRevocation(config, tokens.refreshToken, { token_type_hint: 'refresh_token' })
        .catch((error: unknown) => request.log.warn({ err: error }, 'refresh token revocation failed'));
    }
    if (metadata.end_session_endpoint && tokens.idToken) {
      // OpenID Connect RP-Initiated Logout 1.0.
      const parameters: Record<string, string> = { id_token_hint: tokens.idToken, client_id: options.clientId };
      if (options.postLogoutRedirectUri) parameters.post_logout_redirect_uri = options.postLogoutRedirectUri;
      return seeOther(reply, client.buildEndSessionUrl(config, parameters).href);
    }
    return seeOther(reply, '/signed-out');
  });

  app.setNotFoundHandler(async (_request, reply) => htmlReply(reply, 404, notFoundPage()));
  app.setErrorHandler(async (error, request, reply) => {
    request.log.error({ err: error }, 'request failed');
    const status = (error as { statusCode?: number }).statusCode;
    const code = status && status >= 400 && status < 500 ? status : 500;
    return htmlReply(
      reply,
      code,
      errorPage({
        heading: code === 500 ? 'Something went wrong' : 'That request could not be handled',
        message: code === 500 ? 'Photo Printer hit an unexpected error. Please try again.' : 'Please go back and try again.',
      }),
    );
  });

  return app;
}
