// The account's sign-in security page, /account/security: set up or turn off an authenticator app
// (RFC 6238 TOTP, confirmed by a first code; its QR code is an SVG made here, shown as a data: image),
// recovery codes (shown once), passkeys (WebAuthn registration, named, listed, removed). Every form
// carries a CSRF token derived from the session cookie and is refused from a foreign Origin (UI-02).
// Turning TOTP off needs the password or a current code; wrong codes and passwords there count in the
// second-factor guess throttle (UI-06). Also serves the two scripts the passkey buttons use.
//
// `securitySession` is the account pages' `requireSignedIn` (interaction/account-session.ts: a browser
// without a session goes to the account sign-in and comes back here) plus the binding this page's CSRF
// tokens and WebAuthn challenges are derived from.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { AppDeps } from '../app-types.js';
import { formBody } from '../http/params.js';
import { routeRateLimit } from '../http/rate-limit.js';
import { single, type Params } from '../oauth/params.js';
import { MAX_PASSWORD_LENGTH, verifyPassword } from '../oauth/passwords.js';
import { registerPasskey, registrationOptions, relyingPartyOf } from '../oauth/two-factor/passkeys.js';
import {
  beginTotpEnrolment,
  checkTotpCode,
  confirmTotpEnrolment,
  hasSecondFactor,
  removePasskey,
  removeTotp,
  replaceRecoveryCodes,
  secondFactorsOf,
} from '../oauth/two-factor/second-factor.js';
import { totpUri } from '../oauth/two-factor/totp.js';
import { csrfTokenFor, csrfTokenValid, originAllowed, readCookie, sessionCookieName } from './cookies.js';
import { requireSignedIn } from './account-session.js';
import { cookieSettings, type SignedIn } from './flow.js';
import { sendErrorPage, sendPage } from './page.js';
import { guessKeys, secondFactorThrottle } from './two-factor-login.js';
import { recoveryCodesPage, securityPage, totpEnrolPage, TWO_FACTOR_SCRIPT, WEBAUTHN_SCRIPT } from './two-factor-views.js';

export const SECURITY_PATH = '/account/security';

const NOTICES: Record<string, string> = {
  'totp-off': 'The authenticator app is turned off.',
  'passkey-added': 'The passkey was added.',
  'passkey-removed': 'The passkey was removed.',
};

const SCRIPT = readFileSync(new URL('../../../assets/two-factor.js', import.meta.url), 'utf8');
const require = createRequire(import.meta.url);
// @simplewebauthn/browser's own bundle (it defines window.SimpleWebAuthnBrowser), served from our origin.
const WEBAUTHN_BUNDLE = readFileSync(
  join(dirname(dirname(require.resolve('@simplewebauthn/browser'))), 'dist', 'bundle', 'index.umd.min.js'),
  'utf8',
);

interface Signed {
  signedIn: SignedIn;
  /** The secret the page's CSRF tokens and WebAuthn challenges are bound to (from the session cookie). */
  binding: string;
}

/** The signed-in user of this browser, or a redirect to the account sign-in. */
export async function securitySession(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: AppDeps,
  _now: number,
): Promise<Signed | undefined> {
  const signedIn = await requireSignedIn(request, reply, deps, SECURITY_PATH);
  const raw = readCookie(request, sessionCookieName(cookieSettings(deps)));
  if (!signedIn || !raw) return undefined;
  return { signedIn, binding: `account-security.${raw}` };
}

export function twoFactorRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { storage, clock, config } = deps;
  const issuerOrigin = new URL(config.issuer).origin;
  const rp = relyingPartyOf(config.issuer);
  const guesses = secondFactorThrottle(deps);

  app.get(TWO_FACTOR_SCRIPT, async (_request, reply) =>
    reply.header('Cache-Control', 'public, max-age=3600').removeHeader('Pragma').type('text/javascript; charset=utf-8').send(SCRIPT),
  );
  app.get(WEBAUTHN_SCRIPT, async (_request, reply) =>
    reply
      .header('Cache-Control', 'public, max-age=3600')
      .removeHeader('Pragma')
      .type('text/javascript; charset=utf-8')
      .send(WEBAUTHN_BUNDLE),
  );

  /** UI-02: a posted form of the security page: signed in, our CSRF token, our Origin. */
  async function posted(request: FastifyRequest, reply: FastifyReply, now: number): Promise<{ s: Signed; form: Params } | undefined> {
    const s = await securitySession(request, reply, deps, now);
    if (!s) return undefined;
    const tokens = request.body instanceof Map ? (request.body as Params).get('csrf_token') : undefined;
    if (!originAllowed(request.headers.origin, issuerOrigin) || tokens?.length !== 1 || !csrfTokenValid(s.binding, tokens[0])) {
      sendErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Reload the page and try again.');
      return undefined;
    }
    return { s, form: formBody(request) };
  }

  async function overview(reply: FastifyReply, s: Signed, extra: { notice?: string; error?: string } = {}, status = 200) {
    const userId = s.signedIn.user.id;
    const f = await secondFactorsOf(storage, userId);
    return sendPage(
      reply,
      securityPage({
        csrfToken: csrfTokenFor(s.binding),
        userName: s.signedIn.user.name ?? s.signedIn.user.username,
        totp: f.totp,
        recoveryCodesLeft: f.recoveryCodesLeft,
        passkeys: await storage.passkeys.listOf(userId),
        ...extra,
      }),
      { status },
    );
  }

  async function enrolPage(reply: FastifyReply, s: Signed, error?: string, status = 200) {
    const credential = await storage.totpCredentials.find(s.signedIn.user.id);
    if (!credential || credential.confirmedAt !== null) return reply.redirect(SECURITY_PATH, 303);
    const uri = totpUri(credential.secret, rp.id, s.signedIn.user.username);
    const svg = await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
    return sendPage(
      reply,
      totpEnrolPage({
        csrfToken: csrfTokenFor(s.binding),
        qrCode: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
        secret: credential.secret.replace(/(.{4})(?=.)/g, '$1 '),
        error,
      }),
      { status },
    );
  }

  const showCodes = (reply: FastifyReply, codes: readonly string[]) =>
    sendPage(reply.header('Cache-Control', 'no-store'), recoveryCodesPage(codes));

  app.get<{ Querystring: { done?: string } }>(SECURITY_PATH, { config: { browser: true } }, async (request, reply) => {
    const s = await securitySession(request, reply, deps, clock());
    if (!s) return reply;
    const done = typeof request.query.done === 'string' ? request.query.done : undefined;
    return overview(reply, s, { notice: done !== undefined ? NOTICES[done] : undefined });
  });

  app.get(`${SECURITY_PATH}/totp`, { config: { browser: true } }, async (request, reply) => {
    const s = await securitySession(request, reply, deps, clock());
    if (!s) return reply;
    return enrolPage(reply, s);
  });

  app.register(async (scoped) => {
    const limited = { config: { browser: true, ...routeRateLimit(config, 'login') } };

    scoped.post(`${SECURITY_PATH}/totp`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      if (!(await beginTotpEnrolment(storage, p.s.signedIn.user.id, now))) return reply.redirect(SECURITY_PATH, 303);
      return reply.redirect(`${SECURITY_PATH}/totp`, 303);
    });

    scoped.post(`${SECURITY_PATH}/totp/confirm`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      const user = p.s.signedIn.user;
      const keys = guessKeys(user.id, request.ip);
      const wait = guesses.retryAfter(keys, now);
      if (wait > 0) {
        reply.header('Retry-After', String(wait));
        return enrolPage(reply, p.s, 'Too many incorrect codes. Please wait a few minutes and try again.', 429);
      }
      const codes = await confirmTotpEnrolment(storage, user.id, single(p.form, 'code') ?? '', now);
      if (!codes) {
        guesses.recordFailure(keys, now);
        return enrolPage(reply, p.s, 'That code is not right. Enter the code your app shows now.', 400);
      }
      guesses.recordSuccess(keys[0]!);
      await deps.events.record({ type: 'two_factor.totp_enabled', userId: user.id, username: user.username, ip: request.ip });
      await deps.events.record({ type: 'two_factor.recovery_codes_created', userId: user.id, username: user.username, ip: request.ip });
      return showCodes(reply, codes);
    });

    scoped.post(`${SECURITY_PATH}/totp/remove`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      const user = p.s.signedIn.user;
      const keys = guessKeys(user.id, request.ip);
      const wait = guesses.retryAfter(keys, now);
      if (wait > 0) {
        reply.header('Retry-After', String(wait));
        return overview(reply, p.s, { error: 'Too many incorrect attempts. Please wait a few minutes and try again.' }, 429);
      }
      const proof = single(p.form, 'proof') ?? '';
      // The password, or a current code of the app being turned off (consumed like at sign-in).
      const proven =
        (proof.length > 0 && proof.length <= MAX_PASSWORD_LENGTH && (await verifyPassword(user.passwordHash, proof))) ||
        (await checkTotpCode(storage, user.id, proof, now));
      if (!proven) {
        guesses.recordFailure(keys, now);
        return overview(reply, p.s, { error: 'That is not your password or a current code.' }, 400);
      }
      guesses.recordSuccess(keys[0]!);
      await removeTotp(storage, user.id);
      await deps.events.record({ type: 'two_factor.totp_disabled', userId: user.id, username: user.username, ip: request.ip });
      return reply.redirect(`${SECURITY_PATH}?done=totp-off`, 303);
    });

    scoped.post(`${SECURITY_PATH}/recovery-codes`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      const user = p.s.signedIn.user;
      if (!(await hasSecondFactor(storage, user.id))) return reply.redirect(SECURITY_PATH, 303);
      const codes = await replaceRecoveryCodes(storage, user.id, now);
      await deps.events.record({ type: 'two_factor.recovery_codes_created', userId: user.id, username: user.username, ip: request.ip });
      return showCodes(reply, codes);
    });

    scoped.post(`${SECURITY_PATH}/passkeys/options`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      const options = await registrationOptions(storage, rp, p.s.signedIn.user, p.s.binding, now);
      return reply.header('Cache-Control', 'no-store').type('application/json').send(options);
    });

    scoped.post(`${SECURITY_PATH}/passkeys`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      const user = p.s.signedIn.user;
      let response: unknown;
      try {
        response = JSON.parse(single(p.form, 'response') ?? '');
      } catch {
        response = undefined;
      }
      const result = await registerPasskey(storage, rp, user, p.s.binding, response, single(p.form, 'name') ?? '', now);
      if (typeof result === 'string') {
        const error =
          result === 'too-many' ? 'You have too many passkeys. Remove one first.' : 'The passkey could not be added. Try again.';
        return overview(reply, p.s, { error }, 400);
      }
      await deps.events.record({
        type: 'two_factor.passkey_added',
        userId: user.id,
        username: user.username,
        ip: request.ip,
        details: { name: result.name },
      });
      return reply.redirect(`${SECURITY_PATH}?done=passkey-added`, 303);
    });

    scoped.post(`${SECURITY_PATH}/passkeys/remove`, limited, async (request, reply) => {
      const now = clock();
      const p = await posted(request, reply, now);
      if (!p) return reply;
      const user = p.s.signedIn.user;
      const id = single(p.form, 'credential_id') ?? '';
      if (id.length === 0 || id.length > 1400 || !(await removePasskey(storage, user.id, id))) {
        return overview(reply, p.s, { error: 'That passkey was not found.' }, 400);
      }
      await deps.events.record({ type: 'two_factor.passkey_removed', userId: user.id, username: user.username, ip: request.ip });
      return reply.redirect(`${SECURITY_PATH}?done=passkey-removed`, 303);
    });
  });
}
