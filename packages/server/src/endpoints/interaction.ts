// The login and consent pages of an interaction (one authorization request). Each POST must carry the
// interaction's CSRF token, come from this browser (binding cookie) and from our own origin (UI-02);
// answers to a POST redirect with 303 (RU-09).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { AppDeps } from '../app-types.js';
import { errorResponseUrl, type AuthorizationRequest } from '../oauth/authorization-request.js';
import { clientFromRow, type Client } from '../oauth/clients.js';
import { digestsEqual, nowSeconds, sha256 } from '../oauth/crypto.js';
import { accessDenied } from '../oauth/errors.js';
import { dummyHash, hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword } from '../oauth/passwords.js';
import { describeScopes } from '../oauth/scopes.js';
import type { InteractionRow } from '../storage/index.js';
import { clearCookie, csrfTokenFor, csrfTokenValid, interactionCookieName, originAllowed, readCookie } from '../interaction/cookies.js';
import { consentNeeded, cookieSettings, currentSession, issueCode, redirectSource, startSession } from '../interaction/flow.js';
import { consentPage, loginPage } from '../interaction/views.js';
import { renderErrorPage } from './authorize.js';

const INTERACTION_ID = /^[A-Za-z0-9_-]{43}$/;
const LOGIN_FAILED = 'Incorrect username or password.';
const LOCKED = 'Too many failed sign-in attempts. Please wait a few minutes and try again.';

interface Loaded {
  row: InteractionRow;
  request: AuthorizationRequest;
  client: Client;
  binding: string;
}

export function interactionEndpoints(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, throttle } = deps;
  const settings = cookieSettings(deps);
  const issuerOrigin = new URL(config.issuer).origin;

  const html = (reply: FastifyReply, request: AuthorizationRequest, body: string, status = 200) =>
    reply
      .status(status)
      .type('text/html; charset=utf-8')
      .header(
        'Content-Security-Policy',
        `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self' ${redirectSource(request.redirectUri)}`,
      )
      .send(body);

  const stale = (reply: FastifyReply) =>
    renderErrorPage(reply, 400, 'This sign-in request has expired', 'The sign-in request is no longer valid or was started in another browser.');

  /** Loads a live interaction of this browser, or answers with an error page. */
  async function load(request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, now: number): Promise<Loaded | undefined> {
    const { id } = request.params;
    if (!INTERACTION_ID.test(id)) {
      stale(reply);
      return undefined;
    }
    const binding = readCookie(request, interactionCookieName(settings, id));
    const row = await storage.interactions.findActive(id, now);
    if (!row || !binding || !digestsEqual(sha256(binding), row.browser_hash)) {
      stale(reply);
      return undefined;
    }
    const clientRow = await storage.clients.find(row.client_id);
    if (!clientRow) {
      stale(reply);
      return undefined;
    }
    return { row, request: JSON.parse(row.params) as AuthorizationRequest, client: clientFromRow(clientRow), binding };
  }

  /** UI-02: CSRF token of this interaction and, when the browser sends one, our own Origin. */
  function postAllowed(request: FastifyRequest, reply: FastifyReply, loaded: Loaded): boolean {
    const origin = request.headers.origin;
    const form = request.body instanceof Map ? (request.body as Map<string, string[]>) : undefined;
    const token = form?.get('csrf_token');
    if (!originAllowed(origin, issuerOrigin) || !token || token.length !== 1 || !csrfTokenValid(loaded.binding, token[0])) {
      renderErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Go back to the application and try again.');
      return false;
    }
    return true;
  }

  const field = (request: FastifyRequest, name: string): string | undefined => {
    const values = (request.body as Map<string, string[]>).get(name);
    return values?.length === 1 ? values[0] : undefined;
  };

  async function renderConsent(reply: FastifyReply, loaded: Loaded, userId: string): Promise<FastifyReply> {
    const user = await storage.users.findById(userId);
    const { newScopes } = await consentNeeded(deps, loaded.client, userId, loaded.request);
    return html(
      reply,
      loaded.request,
      consentPage({
        clientName: loaded.client.clientName,
        userName: user?.name ?? user?.username ?? '',
        scopes: describeScopes(loaded.request.scope.split(' ')),
        newScopes,
        action: `/interaction/${loaded.row.id}/consent`,
        csrfToken: csrfTokenFor(loaded.binding),
        redirectHost: new URL(loaded.request.redirectUri).host || loaded.request.redirectUri,
      }),
    );
  }

  /** Ends the interaction: consumes it once, clears its cookie, and redirects to the client. */
  async function finish(reply: FastifyReply, loaded: Loaded, location: () => Promise<string>, now: number): Promise<FastifyReply> {
    if (!(await storage.interactions.consume(loaded.row.id, now))) return stale(reply);
    clearCookie(reply, settings, interactionCookieName(settings, loaded.row.id));
    return reply.redirect(await location(), 303);
  }

  app.get<{ Params: { id: string } }>('/interaction/:id', { config: { browser: true } }, async (request, reply) => {
    const now = nowSeconds();
    const loaded = await load(request, reply, now);
    if (!loaded) return reply;
    if (loaded.row.user_id === null) {
      return html(reply, loaded.request, loginPage({
        clientName: loaded.client.clientName,
        action: `/interaction/${loaded.row.id}/login`,
        csrfToken: csrfTokenFor(loaded.binding),
        username: loaded.request.loginHint,
      }));
    }
    // The consent page is only for the user who signed in for this interaction, still signed in.
    const signedIn = await currentSession(request, deps, now);
    if (!signedIn || signedIn.user.id !== loaded.row.user_id) return stale(reply);
    return renderConsent(reply, loaded, loaded.row.user_id);
  });

  app.register(async (scoped) => {
    // Per-IP ceiling on login posts, on top of the per-account and per-IP failure locks below.
    await scoped.register(rateLimit, { max: 30, timeWindow: 60_000, global: false });
    scoped.post<{ Params: { id: string } }>(
      '/interaction/:id/login',
      { config: { browser: true, rateLimit: { max: 30, timeWindow: 60_000 } } },
      async (request, reply) => {
        const now = nowSeconds();
        const loaded = await load(request, reply, now);
        if (!loaded || !postAllowed(request, reply, loaded)) return reply;
        const username = (field(request, 'username') ?? '').trim();
        const password = field(request, 'password') ?? '';
        const again = (status: number, error: string) =>
          html(reply, loaded.request, loginPage({
            clientName: loaded.client.clientName,
            action: `/interaction/${loaded.row.id}/login`,
            csrfToken: csrfTokenFor(loaded.binding),
            username: username.slice(0, 255),
            error,
          }), status);

        // UI-06: locked keys get the same answer whatever the password.
        const keys = [`user:${username.toLowerCase()}`, `ip:${request.ip}`];
        const wait = throttle.retryAfter(keys, now);
        if (wait > 0) {
          reply.header('Retry-After', String(wait));
          return again(429, LOCKED);
        }
        // UI-05: unknown users verify against a dummy hash, so status, body and timing match.
        const user = username.length > 0 && username.length <= 255 ? await storage.users.findByUsername(username) : undefined;
        const tooLong = password.length === 0 || password.length > MAX_PASSWORD_LENGTH;
        const valid = !tooLong && (await verifyPassword(user?.password_hash ?? (await dummyHash()), password));
        if (!user || !valid || user.disabled === 1) {
          throttle.recordFailure(keys, now);
          request.log.info({ event: 'login_failed' }, 'login failed');
          return again(401, LOGIN_FAILED);
        }
        throttle.recordSuccess(keys[0]!);
        if (needsRehash(user.password_hash)) await storage.users.setPasswordHash(user.id, await hashPassword(password), now);

        const session = await startSession(request, reply, deps, user.id, now);
        await storage.interactions.bindUser(loaded.row.id, user.id, session.auth_time, session.sid);
        const consent = await consentNeeded(deps, loaded.client, user.id, loaded.request);
        if (consent.needed) return reply.redirect(`/interaction/${loaded.row.id}`, 303);
        return finish(reply, loaded, () => issueCode(deps, loaded.request, user.id, session.auth_time, session.sid, now), now);
      },
    );
  });

  app.post<{ Params: { id: string } }>('/interaction/:id/consent', { config: { browser: true } }, async (request, reply) => {
    const now = nowSeconds();
    const loaded = await load(request, reply, now);
    if (!loaded || !postAllowed(request, reply, loaded)) return reply;
    const userId = loaded.row.user_id;
    const signedIn = await currentSession(request, deps, now);
    // The consent must come from the user who signed in for this interaction, still signed in.
    if (userId === null || !signedIn || signedIn.user.id !== userId) return stale(reply);
    const decision = field(request, 'decision');
    if (decision === 'deny') {
      return finish(reply, loaded, async () =>
        errorResponseUrl(loaded.request.redirectUri, config.issuer, accessDenied('the user denied the request'), loaded.request.state), now);
    }
    if (decision !== 'allow') return renderErrorPage(reply, 400, 'Invalid request', 'Choose Allow or Deny.');
    const existing = await storage.grants.find(userId, loaded.client.clientId);
    const scopes = new Set([...(existing ? existing.scope.split(' ') : []), ...loaded.request.scope.split(' ')]);
    await storage.grants.save(userId, loaded.client.clientId, [...scopes].join(' '), now);
    return finish(reply, loaded, () =>
      issueCode(deps, loaded.request, userId, loaded.row.auth_time ?? signedIn.session.auth_time, loaded.row.sid ?? signedIn.session.sid, now), now);
  });
}
