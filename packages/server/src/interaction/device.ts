// RFC 8628 §3.3: the verification URI. A person enters the user code shown by a device (or arrives
// with it pre-filled from verification_uri_complete), signs in with the one login check of login.ts
// when not signed in yet, and allows or denies on a confirmation page that names the client and says
// a device is asking (§5.4: always asked, even when the scopes were granted before).
//
// Forms carry a CSRF token derived from a browser-binding cookie and are refused from a foreign
// Origin (UI-02). Every request that looks a user code up counts as a guess (DV-01): failures are
// counted per client IP (IPv6 per /64, what one host usually holds) and per browser cookie. After
// DEVICE_GUESS_LIMIT (5) failures the key is locked for 60 s, each further lock doubles (GuessThrottle),
// and during a lock even the right code is refused. So one IP gets at most 5 + 5 + 5 + 5 = 20 guesses
// in a code's 600 s life (locks of 60, 120 and 240 s end at 60, 180 and 420 s; the next lasts 480 s),
// and about 55 a day (locks cap at a day). Against 20^8 = 2.56e10 codes: one IP hits one given code
// with probability 20 / 2.56e10 ≈ 8e-10 per code life; 1000 IPs guessing at full speed while 100
// codes are live hit one of them with probability 1000 · 20 · 100 / 2.56e10 ≈ 8e-5 per 10 minutes.
// @fastify/rate-limit adds a ceiling of 30 posts a minute per IP on every device form (--rate-limit-login).
import { isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { routeRateLimit } from '../http/rate-limit.js';
import type { AppDeps } from '../app-types.js';
import { formBody, queryOrBody } from '../http/params.js';
import { sha256 } from '../oauth/crypto.js';
import { DEVICE_PAGE_PATH } from '../oauth/device/authorization.js';
import { formatUserCode, normaliseUserCode, userCodeHash } from '../oauth/device/user-code.js';
import { single, type Params } from '../oauth/params.js';
import { consentGroups, consentItems, grantResources } from '../oauth/resources.js';
import type { Client, DeviceCode } from '../storage/index.js';
import { csrfTokenFor, csrfTokenValid, newBrowserSecret, originAllowed, readCookie, setCookie } from './cookies.js';
import { deviceCodePage, deviceConsentPage, deviceDonePage } from './device-views.js';
import { cookieSettings, currentSession, startSession, type SignedIn } from './flow.js';
import { GuessThrottle } from './guess-throttle.js';
import { hasSecondFactor } from '../oauth/two-factor/second-factor.js';
import { checkLogin } from './login.js';
import { sendErrorPage, sendPage } from './page.js';
import { loginPage } from './views.js';

/** Failed user-code entries per IP or browser before a lock (DV-01). */
export const DEVICE_GUESS_LIMIT = 5;
export const DEVICE_GUESS_LOCK_SECONDS = 60;

const UNKNOWN_CODE = 'That code is not valid or has expired. Check the code on your device and try again.';
const GUESS_LOCKED = 'Too many incorrect codes. Please wait a few minutes and try again.';
const SECOND_FACTOR_ELSEWHERE =
  'This account uses two-step verification. Sign in to your account in this browser first, then enter the code from your device again.';

const LOGIN_PATH = `${DEVICE_PAGE_PATH}/login`;
const CONSENT_PATH = `${DEVICE_PAGE_PATH}/consent`;

interface Found {
  code: DeviceCode;
  client: Client;
  /** The code as shown to people (XXXX-XXXX). */
  userCode: string;
}

/** The throttled unit of a client address: an IPv4 address, or the /64 of an IPv6 one. */
export function clientNetwork(ip: string): string {
  if (!isIPv6(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  // Expand "::" so that the first four groups are the /64 prefix.
  const [head, tail = ''] = ip.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function deviceRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, clock } = deps;
  const settings = cookieSettings(deps);
  const cookieName = `${settings.secure ? '__Host-' : ''}gatehouse.device`;
  const issuerOrigin = new URL(config.issuer).origin;
  // Per node, like the login throttle; the windows are longer than a code's life.
  const guesses = new GuessThrottle({ maxFailures: DEVICE_GUESS_LIMIT, lockSeconds: DEVICE_GUESS_LOCK_SECONDS, windowSeconds: 3600 });

  /** This browser's binding secret, set now when it has none. */
  function binding(request: FastifyRequest, reply: FastifyReply): string {
    const existing = readCookie(request, cookieName);
    if (existing) return existing;
    const { secret } = newBrowserSecret();
    setCookie(reply, settings, cookieName, secret, config.sessionTtl);
    return secret;
  }

  const entryPage = (reply: FastifyReply, secret: string, status: number, userCode?: string, error?: string) =>
    sendPage(reply, deviceCodePage({ action: DEVICE_PAGE_PATH, csrfToken: csrfTokenFor(secret), userCode, error }), { status });

  /** UI-02: the form body of a post from this browser, with its CSRF token, from our own origin (else a 403 page). */
  function postedForm(request: FastifyRequest, reply: FastifyReply): { form: Params; secret: string } | undefined {
    const secret = readCookie(request, cookieName);
    const tokens = request.body instanceof Map ? (request.body as Params).get('csrf_token') : undefined;
    if (!secret || !originAllowed(request.headers.origin, issuerOrigin) || tokens?.length !== 1 || !csrfTokenValid(secret, tokens[0])) {
      sendErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Open the page again and enter the code once more.');
      return undefined;
    }
    return { form: formBody(request), secret };
  }

  /**
   * DV-01: the pending code the person entered, counted as a guess. A locked IP or browser gets the
   * entry form with 429 whatever it typed, the right code included; a wrong code a 400 and a failure.
   * Success never clears failures, so valid codes of one's own cannot launder guesses.
   */
  async function lookUp(
    request: FastifyRequest,
    reply: FastifyReply,
    secret: string,
    typed: string,
    now: number,
  ): Promise<Found | undefined> {
    const keys = [`ip:${clientNetwork(request.ip)}`, `browser:${sha256(secret)}`];
    const wait = guesses.retryAfter(keys, now);
    if (wait > 0) {
      reply.header('Retry-After', String(wait));
      entryPage(reply, secret, 429, typed.slice(0, 32), GUESS_LOCKED);
      return undefined;
    }
    const normalised = normaliseUserCode(typed);
    const code = normalised === undefined ? undefined : await storage.deviceCodes.findPendingByUserCodeHash(userCodeHash(normalised), now);
    const client = code && (await storage.clients.find(code.clientId));
    if (!code || !client || normalised === undefined) {
      guesses.recordFailure(keys, now);
      request.log.info({ event: 'device_code_unknown' }, 'unknown user code entered');
      entryPage(reply, secret, 400, typed.slice(0, 32), UNKNOWN_CODE);
      return undefined;
    }
    return { code, client, userCode: formatUserCode(normalised) };
  }

  /** The confirmation page: the client, the code, and per API (RFC 8707 resources) what it may do. */
  async function consent(reply: FastifyReply, secret: string, found: Found, signedIn: SignedIn): Promise<FastifyReply> {
    const requested = await grantResources(found.code.resources, storage.resources);
    const registered = requested.length > 0 ? [] : await storage.resources.list();
    return sendPage(
      reply,
      deviceConsentPage({
        clientName: found.client.clientName,
        userName: signedIn.user.name ?? signedIn.user.username,
        userCode: found.userCode,
        groups: consentGroups(found.code.scopes, requested, registered),
        action: CONSENT_PATH,
        csrfToken: csrfTokenFor(secret),
      }),
    );
  }

  const login = (reply: FastifyReply, secret: string, found: Found, status = 200, username?: string, error?: string) =>
    sendPage(
      reply,
      loginPage({
        clientName: found.client.clientName,
        action: LOGIN_PATH,
        csrfToken: csrfTokenFor(secret),
        username,
        error,
        hidden: { user_code: found.userCode },
      }),
      { status },
    );

  app.get(DEVICE_PAGE_PATH, { config: { browser: true } }, async (request, reply) => {
    const prefill = single(queryOrBody(request), 'user_code');
    return entryPage(reply, binding(request, reply), 200, prefill?.slice(0, 32));
  });

  app.register(async (scoped) => {
    // A per-IP ceiling on every post that looks a code up (DS-01, http/rate-limit.ts), on top of the guess locks.
    const limited = { config: { browser: true, ...routeRateLimit(config, 'login') } };

    scoped.post(DEVICE_PAGE_PATH, limited, async (request, reply) => {
      const now = clock();
      const posted = postedForm(request, reply);
      if (!posted) return reply;
      const found = await lookUp(request, reply, posted.secret, single(posted.form, 'user_code') ?? '', now);
      if (!found) return reply;
      const signedIn = await currentSession(request, deps, now);
      return signedIn ? consent(reply, posted.secret, found, signedIn) : login(reply, posted.secret, found);
    });

    scoped.post(LOGIN_PATH, limited, async (request, reply) => {
      const now = clock();
      const posted = postedForm(request, reply);
      if (!posted) return reply;
      const found = await lookUp(request, reply, posted.secret, single(posted.form, 'user_code') ?? '', now);
      if (!found) return reply;
      const username = (single(posted.form, 'username') ?? '').trim();
      const result = await checkLogin(request, reply, deps, username, single(posted.form, 'password') ?? '', now);
      if (!result.ok) {
        if (result.retryAfter !== undefined) reply.header('Retry-After', String(result.retryAfter));
        return login(reply, posted.secret, found, result.status, username.slice(0, 255), result.error);
      }
      // Two-factor sign-in: this page does not ask for a second factor, so a password alone never
      // signs such an account in here; a browser signed in with both factors skips this page.
      if (await hasSecondFactor(storage, result.user.id)) {
        return login(reply, posted.secret, found, 403, username.slice(0, 255), SECOND_FACTOR_ELSEWHERE);
      }
      const session = await startSession(request, reply, deps, result.user.id, now);
      return consent(reply, posted.secret, found, { session, user: result.user });
    });

    scoped.post(CONSENT_PATH, limited, async (request, reply) => {
      const now = clock();
      const posted = postedForm(request, reply);
      if (!posted) return reply;
      const found = await lookUp(request, reply, posted.secret, single(posted.form, 'user_code') ?? '', now);
      if (!found) return reply;
      const signedIn = await currentSession(request, deps, now);
      if (!signedIn) return login(reply, posted.secret, found);
      const decision = single(posted.form, 'decision');
      if (decision !== 'allow' && decision !== 'deny') return sendErrorPage(reply, 400, 'Invalid request', 'Choose Allow or Deny.');
      const { user, session } = signedIn;
      if (decision === 'allow') {
        // What is consented, per resource as at /authorize (oauth/resources.ts consentItems).
        const items = consentItems(found.code.scopes, await grantResources(found.code.resources, storage.resources));
        const existing = await storage.grants.find(user.id, found.client.clientId);
        await storage.grants.save(user.id, found.client.clientId, [...new Set([...(existing?.scopes ?? []), ...items])], now);
      }
      const status = decision === 'allow' ? 'approved' : 'denied';
      const decided = await storage.deviceCodes.decide(
        found.code.deviceCodeHash,
        { status, userId: user.id, authTime: session.authTime, sid: session.sid },
        now,
      );
      // Lost to a concurrent decision, or expired in between: the code is no longer pending.
      if (!decided) return entryPage(reply, posted.secret, 400, undefined, UNKNOWN_CODE);
      request.log.info(
        { event: 'device_code_decided', decision: status, client_id: found.client.clientId },
        'device authorization decided',
      );
      return sendPage(reply, deviceDonePage(decision === 'allow', found.client.clientName));
    });
  });
}
