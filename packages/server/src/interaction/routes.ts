// The login and consent pages of an interaction (one authorization request, or a sign-in to the
// account pages: purpose 'account'). Each POST must carry the interaction's CSRF token, come from this
// browser (binding cookie) and from our own origin (UI-02); answers to a POST redirect with 303 (RU-09).
// Whatever the purpose, a successful password check ends in completeSignIn (a new session, UI-03):
// an authorization request goes on to consent or the client, an account sign-in to its return path.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeRateLimit } from '../http/rate-limit.js';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import type { AuthorizationRequest } from '../oauth/authorization-request.js';
import { errorResponseUrl } from '../oauth/authorization-response.js';
import { digestsEqual, sha256 } from '../oauth/crypto.js';
import { accessDenied, unmetAuthenticationRequirements } from '../oauth/errors.js';
import { AMR_PASSWORD } from '../oauth/two-factor/acr.js';
import { issueCode, type SignIn } from '../oauth/grants/authorization-code.js';
import { single, type Params } from '../oauth/params.js';
import { consentGroups } from '../oauth/resources.js';
import { ClientMetadataDocumentError, metadataDocumentHostOf } from '../oauth/client-metadata-document.js';
import type { AccountInteraction, Client, Interaction } from '../storage/index.js';
import { ACCOUNT_SIGN_IN, safeReturnTo } from './account-session.js';
import { bindingOf, browserCookieName, csrfTokenFor, csrfTokenValid, originAllowed, readCookie } from './cookies.js';
import { beginAccountSignIn, consentNeeded, cookieSettings, currentSession, startSession } from './flow.js';
import { checkLogin } from './login.js';
import { sendErrorPage, sendPage } from './page.js';
import { afterPassword, secondFactorRoutes, UNMET } from './two-factor-login.js';
import { passkeySignIn } from './two-factor-views.js';
import { consentPage, loginPage } from './views.js';

const INTERACTION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface Loaded {
  kind: 'authorization';
  interaction: Interaction;
  request: AuthorizationRequest;
  client: Client;
  binding: string;
}

/** A sign-in to the account pages: no client, no request, a path to return to. */
export interface LoadedAccount {
  kind: 'account';
  interaction: AccountInteraction;
  binding: string;
}

export type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export function interactionRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, clock } = deps;
  const settings = cookieSettings(deps);
  const issuerOrigin = new URL(config.issuer).origin;

  const page = (reply: FastifyReply, loaded: Loaded, body: Parameters<typeof sendPage>[1], status = 200) =>
    sendPage(reply, body, { status, formTargets: [loaded.request.redirectUri] });

  const stale = (reply: FastifyReply) =>
    sendErrorPage(
      reply,
      400,
      'This sign-in request has expired',
      'The sign-in request is no longer valid or was started in another browser.',
    );

  /** A live account sign-in of this browser (undefined when the id names none). */
  async function loadAccount(request: IdRequest, now: number): Promise<LoadedAccount | undefined> {
    const { id } = request.params;
    const browser = INTERACTION_ID.test(id) ? readCookie(request, browserCookieName(settings)) : undefined;
    const interaction = browser ? await storage.interactions.findActiveAccount(id, now) : undefined;
    if (!interaction || !browser || !digestsEqual(sha256(browser), interaction.browserHash)) return undefined;
    return { kind: 'account', interaction, binding: bindingOf(browser, id) };
  }

  /** Loads a live interaction of this browser (either purpose), or answers with an error page. */
  async function load(request: IdRequest, reply: FastifyReply, now: number): Promise<Loaded | LoadedAccount | undefined> {
    const { id } = request.params;
    const browser = INTERACTION_ID.test(id) ? readCookie(request, browserCookieName(settings)) : undefined;
    const binding = browser === undefined ? undefined : bindingOf(browser, id);
    const interaction = binding ? await storage.interactions.findActive(id, now) : undefined;
    if (binding && !interaction) {
      const account = await loadAccount(request, now);
      if (account) return account;
    }
    let client: Client | undefined;
    try {
      client =
        interaction && browser && digestsEqual(sha256(browser), interaction.browserHash)
          ? await deps.clientResolver.find(interaction.clientId)
          : undefined;
    } catch (e) {
      // A metadata document that became unusable since /authorize ends the interaction.
      if (!(e instanceof ClientMetadataDocumentError)) throw e;
    }
    if (!interaction || !binding || !client) {
      stale(reply);
      return undefined;
    }
    return { kind: 'authorization', interaction, request: interaction.request, client, binding };
  }

  /** The login page of either purpose: the client's name, or "Sign in to your account". */
  const loginFor = (loaded: Loaded | LoadedAccount, username: string | undefined, error?: string) =>
    loginPage({
      clientName: loaded.kind === 'account' ? undefined : loaded.client.clientName,
      action: `/interaction/${loaded.interaction.id}/login`,
      csrfToken: csrfTokenFor(loaded.binding),
      username,
      error,
      extra: passkeySignIn(loaded.interaction.id, csrfTokenFor(loaded.binding)),
    });
  const pageFor = (reply: FastifyReply, loaded: Loaded | LoadedAccount, body: Parameters<typeof sendPage>[1], status = 200) =>
    loaded.kind === 'account' ? sendPage(reply, body, { status }) : page(reply, loaded, body, status);

  /** UI-02: the form body, with the CSRF token of this interaction and, when the browser sends one, our own Origin. */
  function postedForm(request: FastifyRequest, reply: FastifyReply, loaded: Loaded | LoadedAccount): Params | undefined {
    // The token is checked before anything else is read: a missing, repeated or wrong one is a 403.
    const tokens = request.body instanceof Map ? (request.body as Params).get('csrf_token') : undefined;
    if (!originAllowed(request.headers.origin, issuerOrigin) || tokens?.length !== 1 || !csrfTokenValid(loaded.binding, tokens[0])) {
      sendErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Go back to the application and try again.');
      return undefined;
    }
    return formBody(request);
  }

  async function renderConsent(reply: FastifyReply, loaded: Loaded, userId: string): Promise<FastifyReply> {
    const user = await storage.users.findById(userId);
    const consent = await consentNeeded(deps, loaded.client, userId, loaded.request);
    const registered = consent.resources.length > 0 ? [] : await storage.resources.list();
    return page(
      reply,
      loaded,
      consentPage({
        clientName: loaded.client.clientName,
        documentHost: metadataDocumentHostOf(loaded.client),
        userName: user?.name ?? user?.username ?? '',
        groups: consentGroups(loaded.request.scopes, consent.resources, registered),
        newItems: consent.newItems,
        action: `/interaction/${loaded.interaction.id}/consent`,
        csrfToken: csrfTokenFor(loaded.binding),
        redirectHost: new URL(loaded.request.redirectUri).host || loaded.request.redirectUri,
      }),
    );
  }

  /** Ends the interaction: consumes it once and redirects to the client (the browser keeps its binding cookie, DS-01). */
  async function finish(reply: FastifyReply, loaded: Loaded, location: () => Promise<string>, now: number): Promise<FastifyReply> {
    if (!(await storage.interactions.consume(loaded.interaction.id, now))) return stale(reply);
    return reply.redirect(await location(), 303);
  }

  const codeFor = (loaded: Loaded, signIn: SignIn, now: number) => () => issueCode(deps, loaded.request, signIn, now);

  /**
   * What happens after a successful sign-in, for both purposes (a second-factor step goes before this):
   * UI-03 a new session; an account sign-in then goes to its return path, an authorization request to
   * its consent page or straight back to the client with a code.
   */
  async function completeSignIn(
    request: FastifyRequest,
    reply: FastifyReply,
    loaded: Loaded | LoadedAccount,
    userId: string,
    amr: readonly string[],
    now: number,
  ): Promise<FastifyReply> {
    const session = await startSession(request, reply, deps, userId, now, amr);
    await storage.interactions.bindUser(loaded.interaction.id, userId, session.authTime, session.sid);
    if (loaded.kind === 'account') {
      if (!(await storage.interactions.consume(loaded.interaction.id, now))) return stale(reply);
      return reply.redirect(safeReturnTo(loaded.interaction.returnTo), 303);
    }
    const consent = await consentNeeded(deps, loaded.client, userId, loaded.request);
    if (consent.needed) return reply.redirect(`/interaction/${loaded.interaction.id}`, 303);
    const signIn = { userId, authTime: session.authTime, sid: session.sid, amr: session.amr, acr: session.acr };
    return finish(reply, loaded, codeFor(loaded, signIn, now), now);
  }

  /** OpenID Connect: the request asked for two factors and the user has no second factor. */
  const unmetRedirect = (loaded: Loaded) => async () =>
    errorResponseUrl(loaded.request.redirectUri, config.issuer, unmetAuthenticationRequirements(UNMET), loaded.request.state);

  // The account sign-in: an interaction of purpose 'account' and the same login page. A browser that
  // is signed in already goes straight to the (allowlisted) return path. DS-01: it writes an
  // interaction for anyone, so it is limited per IP like /authorize.
  const signInLimit = routeRateLimit(config, 'authorize');
  app.get<{ Querystring: Record<string, unknown> }>(
    ACCOUNT_SIGN_IN,
    { config: { browser: true, ...signInLimit } },
    async (request, reply) => {
      const now = clock();
      const raw = request.query.return_to;
      const returnTo = safeReturnTo(typeof raw === 'string' ? raw : undefined);
      if (await currentSession(request, deps, now)) return reply.redirect(returnTo, 303);
      return reply.redirect(await beginAccountSignIn(request, reply, deps, returnTo, now), 303);
    },
  );

  app.get<{ Params: { id: string } }>('/interaction/:id', { config: { browser: true } }, async (request, reply) => {
    const now = clock();
    const loaded = await load(request, reply, now);
    if (!loaded) return reply;
    const { interaction } = loaded;
    // Two-factor sign-in: the password was right, the second factor is still owed.
    if (interaction.userId === null && interaction.pendingUserId)
      return reply.redirect(`/interaction/${interaction.id}/second-factor`, 303);
    if (loaded.kind === 'account') return sendPage(reply, loginFor(loaded, undefined));
    if (interaction.userId === null) return page(reply, loaded, loginFor(loaded, loaded.request.loginHint));
    // The consent page is only for the user who signed in for this interaction, still signed in.
    const signedIn = await currentSession(request, deps, now);
    if (!signedIn || signedIn.user.id !== interaction.userId) return stale(reply);
    return renderConsent(reply, loaded, interaction.userId);
  });

  app.register(async (scoped) => {
    // Per-IP ceiling on login posts (DS-01, http/rate-limit.ts), on top of the login throttle (DS-03).
    scoped.post<{ Params: { id: string } }>(
      '/interaction/:id/login',
      { config: { browser: true, ...routeRateLimit(config, 'login') } },
      async (request, reply) => {
        const now = clock();
        const loaded = await load(request, reply, now);
        const form = loaded && postedForm(request, reply, loaded);
        if (!loaded || !form) return reply;
        const username = (single(form, 'username') ?? '').trim();
        const password = single(form, 'password') ?? '';
        const again = (status: number, error: string) => pageFor(reply, loaded, loginFor(loaded, username.slice(0, 255), error), status);

        const result = await checkLogin(request, reply, deps, username, password, now);
        if (!result.ok) {
          if (result.retryAfter !== undefined) reply.header('Retry-After', String(result.retryAfter));
          return again(result.status, result.error);
        }
        // Two-factor sign-in (two-factor-login.ts): a user with a second factor gives it before the session starts.
        const acrValues = loaded.kind === 'account' ? undefined : loaded.request.acrValues;
        const next = await afterPassword(deps, loaded.interaction.id, acrValues, result.user.id);
        if (next === 'second-factor') return reply.redirect(`/interaction/${loaded.interaction.id}/second-factor`, 303);
        if (next === 'unmet' && loaded.kind === 'authorization') return finish(reply, loaded, unmetRedirect(loaded), now);
        return completeSignIn(request, reply, loaded, result.user.id, AMR_PASSWORD, now);
      },
    );
  });

  app.post<{ Params: { id: string } }>('/interaction/:id/consent', { config: { browser: true } }, async (request, reply) => {
    const now = clock();
    const loaded = await load(request, reply, now);
    if (loaded?.kind === 'account') return stale(reply); // no consent for an account sign-in
    const form = loaded && postedForm(request, reply, loaded);
    if (!loaded || !form) return reply;
    const { interaction } = loaded;
    const userId = interaction.userId;
    const signedIn = await currentSession(request, deps, now);
    // The consent must come from the user who signed in for this interaction, still signed in.
    if (userId === null || !signedIn || signedIn.user.id !== userId) return stale(reply);
    const decision = single(form, 'decision');
    if (decision === 'deny') {
      const denied = accessDenied('the user denied the request');
      return finish(
        reply,
        loaded,
        async () => errorResponseUrl(loaded.request.redirectUri, config.issuer, denied, loaded.request.state),
        now,
      );
    }
    if (decision !== 'allow') return sendErrorPage(reply, 400, 'Invalid request', 'Choose Allow or Deny.');
    const { items } = await consentNeeded(deps, loaded.client, userId, loaded.request);
    const existing = await storage.grants.find(userId, loaded.client.clientId);
    await storage.grants.save(userId, loaded.client.clientId, [...new Set([...(existing?.scopes ?? []), ...items])], now);
    const signIn = {
      userId,
      authTime: interaction.authTime ?? signedIn.session.authTime,
      sid: interaction.sid ?? signedIn.session.sid,
      amr: signedIn.session.amr,
      acr: signedIn.session.acr,
    };
    return finish(reply, loaded, codeFor(loaded, signIn, now), now);
  });

  // The second-factor page and the passkey sign-in of an interaction, either purpose (two-factor-login.ts).
  secondFactorRoutes(app, deps, { load, postedForm, page: pageFor, completeSignIn, stale });
}
