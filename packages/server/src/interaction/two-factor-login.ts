// Two-factor sign-in in an interaction (oauth/two-factor/): after the password, a user with a second
// factor gets the second-factor page (a TOTP code, a recovery code or a passkey), bound to the same
// interaction and browser, with the interaction's CSRF token (UI-02); only then does the session
// start, recording amr and acr (oauth/two-factor/acr.ts). The login page also offers a passwordless
// passkey sign-in. A signed-in one-factor session asked for two factors (acr_values) is sent here too
// (step-up, `stepUpFor` at the authorization endpoint).
//
// UI-06: wrong codes are throttled per user and per client network (GuessThrottle: after
// SECOND_FACTOR_GUESS_LIMIT failures a 60 s lock that doubles with each further lock); during a lock
// every code is refused, the right one included. With ±1 step three TOTP codes are valid at a time:
// 5 guesses a minute, then fewer, give a guesser about 5·3/10^6 per minute at first, and the locks
// double from there. The per-IP route limit of the login page (--rate-limit-login) applies as well.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { routeRateLimit } from '../http/rate-limit.js';
import type { AuthorizationRequest } from '../oauth/authorization-request.js';
import { interactionRequired, unmetAuthenticationRequirements, type OAuthError } from '../oauth/errors.js';
import { single, type Params } from '../oauth/params.js';
import { AMR_PASSKEY, AMR_PASSWORD, meets, requiredAcr, withSecondFactor } from '../oauth/two-factor/acr.js';
import { authenticateWithPasskey, authenticationOptions, relyingPartyOf } from '../oauth/two-factor/passkeys.js';
import { checkSecondFactorCode, hasSecondFactor, secondFactorsOf } from '../oauth/two-factor/second-factor.js';
import { csrfTokenFor } from './cookies.js';
import { clientNetwork } from './device.js';
import type { SignedIn } from './flow.js';
import { GuessThrottle } from './guess-throttle.js';
import type { Html } from './html.js';
import type { IdRequest, Loaded, LoadedAccount } from './routes.js';
import { passkeySignIn, secondFactorPage } from './two-factor-views.js';
import { loginPage } from './views.js';

export const SECOND_FACTOR_GUESS_LIMIT = 5;
export const SECOND_FACTOR_LOCK_SECONDS = 60;
export const UNMET = 'this request requires two-factor sign-in and the account has no second factor';
const WRONG_CODE = 'That code is not right, or it was already used. Try the next code from your app.';
const LOCKED = 'Too many incorrect codes. Please wait a few minutes and try again.';
const PASSKEY_FAILED = 'The passkey could not be verified. Try again, or use another way to sign in.';

const throttles = new WeakMap<object, GuessThrottle>();

/** The one second-factor guess throttle of an app (shared by the sign-in and the security page). */
export function secondFactorThrottle(deps: AppDeps): GuessThrottle {
  let t = throttles.get(deps.storage);
  if (!t) {
    t = new GuessThrottle({ maxFailures: SECOND_FACTOR_GUESS_LIMIT, lockSeconds: SECOND_FACTOR_LOCK_SECONDS, windowSeconds: 3600 });
    throttles.set(deps.storage, t);
  }
  return t;
}

export const guessKeys = (userId: string, ip: string) => [`2fa-user:${userId}`, `2fa-net:${clientNetwork(ip)}`];

/**
 * After a correct password: 'second-factor' when the user has one (the interaction now waits for it),
 * 'unmet' when the request demands two factors and the user has none, else 'signed-in'.
 */
export async function afterPassword(
  deps: Pick<AppDeps, 'storage'>,
  interactionId: string,
  acrValues: readonly string[] | undefined,
  userId: string,
): Promise<'second-factor' | 'unmet' | 'signed-in'> {
  if (await hasSecondFactor(deps.storage, userId)) {
    await deps.storage.interactions.setPending(interactionId, userId, AMR_PASSWORD);
    return 'second-factor';
  }
  return requiredAcr(acrValues) === undefined ? 'signed-in' : 'unmet';
}

/**
 * At the authorization endpoint, for a signed-in user: undefined when the session meets the request's
 * acr_values; else the error to return (no second factor: unmet_authentication_requirements;
 * prompt=none: interaction_required), or 'step-up' (ask for the second factor).
 */
export async function stepUpFor(
  deps: Pick<AppDeps, 'storage'>,
  request: AuthorizationRequest,
  signedIn: SignedIn,
): Promise<OAuthError | 'step-up' | undefined> {
  if (meets(signedIn.session.acr, requiredAcr(request.acrValues))) return undefined;
  if (!(await hasSecondFactor(deps.storage, signedIn.user.id))) return unmetAuthenticationRequirements(UNMET);
  if (request.prompt.includes('none')) return interactionRequired('a second factor is required');
  return 'step-up';
}

export interface InteractionHelpers {
  load(request: IdRequest, reply: FastifyReply, now: number): Promise<Loaded | LoadedAccount | undefined>;
  postedForm(request: FastifyRequest, reply: FastifyReply, loaded: Loaded | LoadedAccount): Params | undefined;
  page(reply: FastifyReply, loaded: Loaded | LoadedAccount, body: Html, status?: number): FastifyReply;
  completeSignIn(
    request: FastifyRequest,
    reply: FastifyReply,
    loaded: Loaded | LoadedAccount,
    userId: string,
    amr: readonly string[],
    now: number,
  ): Promise<FastifyReply>;
  stale(reply: FastifyReply): FastifyReply;
}

export function secondFactorRoutes(app: FastifyInstance, deps: AppDeps, h: InteractionHelpers): void {
  const { storage, clock, config } = deps;
  const rp = relyingPartyOf(config.issuer);
  const guesses = secondFactorThrottle(deps);

  /** The interaction waits for the second factor of this (still enabled) user. */
  async function pendingUser(loaded: Loaded | LoadedAccount) {
    const { interaction } = loaded;
    if (interaction.userId !== null || !interaction.pendingUserId) return undefined;
    const user = await storage.users.findById(interaction.pendingUserId);
    return user && !user.disabled ? user : undefined;
  }

  async function render(
    reply: FastifyReply,
    loaded: Loaded | LoadedAccount,
    userId: string,
    userName: string,
    error?: string,
    status = 200,
  ) {
    const f = await secondFactorsOf(storage, userId);
    return h.page(
      reply,
      loaded,
      secondFactorPage({
        interactionId: loaded.interaction.id,
        csrfToken: csrfTokenFor(loaded.binding),
        clientName: loaded.kind === 'account' ? undefined : loaded.client.clientName,
        userName,
        codes: f.totp || f.recoveryCodesLeft > 0,
        passkeys: f.passkeys > 0,
        error,
      }),
      status,
    );
  }

  app.get<{ Params: { id: string } }>('/interaction/:id/second-factor', { config: { browser: true } }, async (request, reply) => {
    const now = clock();
    const loaded = await h.load(request, reply, now);
    if (!loaded) return reply;
    const user = await pendingUser(loaded);
    if (!user) return h.stale(reply);
    return render(reply, loaded, user.id, user.name ?? user.username);
  });

  app.register(async (scoped) => {
    const limited = { config: { browser: true, ...routeRateLimit(config, 'login') } };

    scoped.post<{ Params: { id: string } }>('/interaction/:id/second-factor', limited, async (request, reply) => {
      const now = clock();
      const loaded = await h.load(request, reply, now);
      const form = loaded && h.postedForm(request, reply, loaded);
      if (!loaded || !form) return reply;
      const user = await pendingUser(loaded);
      if (!user) return h.stale(reply);
      const keys = guessKeys(user.id, request.ip);
      const wait = guesses.retryAfter(keys, now);
      const name = user.name ?? user.username;
      if (wait > 0) {
        reply.header('Retry-After', String(wait));
        return render(reply, loaded, user.id, name, LOCKED, 429);
      }
      const used = await checkSecondFactorCode(storage, user.id, single(form, 'code') ?? '', now);
      if (!used) {
        guesses.recordFailure(keys, now);
        await deps.events.record({
          type: 'login.second_factor_failed',
          userId: user.id,
          username: user.username,
          ip: request.ip,
          details: { method: 'code' },
        });
        return render(reply, loaded, user.id, name, WRONG_CODE, 401);
      }
      guesses.recordSuccess(keys[0]!);
      if (used === 'recovery') {
        const left = await storage.recoveryCodes.countUnused(user.id);
        await deps.events.record({
          type: 'two_factor.recovery_code_used',
          userId: user.id,
          username: user.username,
          ip: request.ip,
          details: { left },
        });
      }
      return h.completeSignIn(request, reply, loaded, user.id, withSecondFactor(loaded.interaction.pendingAmr ?? AMR_PASSWORD, 'otp'), now);
    });

    // WebAuthn options for this interaction: the pending user's passkeys, or (no one signed in yet) any discoverable one.
    scoped.post<{ Params: { id: string } }>('/interaction/:id/passkey/options', limited, async (request, reply) => {
      const now = clock();
      const loaded = await h.load(request, reply, now);
      const form = loaded && h.postedForm(request, reply, loaded);
      if (!loaded || !form) return reply;
      if (loaded.interaction.userId !== null) return h.stale(reply);
      let userId: string | null = null;
      if (loaded.interaction.pendingUserId) {
        const user = await pendingUser(loaded);
        if (!user) return h.stale(reply);
        userId = user.id;
      }
      const options = await authenticationOptions(storage, rp, loaded.binding, userId, now);
      return reply.header('Cache-Control', 'no-store').type('application/json').send(options);
    });

    scoped.post<{ Params: { id: string } }>('/interaction/:id/passkey', limited, async (request, reply) => {
      const now = clock();
      const loaded = await h.load(request, reply, now);
      const form = loaded && h.postedForm(request, reply, loaded);
      if (!loaded || !form) return reply;
      if (loaded.interaction.userId !== null) return h.stale(reply);
      const pending = loaded.interaction.pendingUserId ? await pendingUser(loaded) : undefined;
      if (loaded.interaction.pendingUserId && !pending) return h.stale(reply);
      let response: unknown;
      try {
        response = JSON.parse(single(form, 'response') ?? '');
      } catch {
        response = undefined;
      }
      const result = await authenticateWithPasskey(storage, rp, loaded.binding, response, pending?.id ?? null, now);
      const owner = result && (pending ?? (await storage.users.findById(result.userId)));
      if (!result || !owner || owner.disabled) {
        await deps.events.record({
          type: 'login.second_factor_failed',
          userId: pending?.id,
          username: pending?.username,
          ip: request.ip,
          details: { method: 'passkey', passwordless: pending === undefined },
        });
        if (pending) return render(reply, loaded, pending.id, pending.name ?? pending.username, PASSKEY_FAILED, 401);
        // Passwordless: the login page again, with the reason.
        const csrfToken = csrfTokenFor(loaded.binding);
        return h.page(
          reply,
          loaded,
          loginPage({
            clientName: loaded.kind === 'account' ? undefined : loaded.client.clientName,
            action: `/interaction/${loaded.interaction.id}/login`,
            csrfToken,
            username: loaded.kind === 'account' ? undefined : loaded.request.loginHint,
            error: PASSKEY_FAILED,
            extra: passkeySignIn(loaded.interaction.id, csrfToken),
          }),
          401,
        );
      }
      await deps.events.record({
        type: 'login.succeeded',
        userId: owner.id,
        username: owner.username,
        ip: request.ip,
        details: { method: pending ? 'password+passkey' : 'passkey' },
      });
      const amr = pending ? withSecondFactor(loaded.interaction.pendingAmr ?? AMR_PASSWORD, 'hwk') : [...AMR_PASSKEY];
      return h.completeSignIn(request, reply, loaded, owner.id, amr, now);
    });
  });
}
