// The account pages: a signed-in person sees and changes their profile and password, the apps that
// hold access to their account (and removes that access: oauth/lifecycle.ts revokeGrant, LC-01), and
// their sessions (and ends them: oauth/logout.ts endBrowserSession, as logout does). Every page needs a
// live session (account-session.ts requireSignedIn: else the account sign-in); every form post needs
// the session's CSRF token and our Origin (UI-02) and answers with 303 (POST-redirect-GET) or a page.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../app-types.js';
import { routeRateLimit } from '../http/rate-limit.js';
import {
  endUserSession,
  listGrants,
  passwordProblem,
  revokeGrant,
  sendLogoutNotices,
  setUserPassword,
  updateProfile,
  type LifecycleDeps,
  type LogoutNotice,
} from '../oauth/lifecycle.js';
import { endBrowserSession } from '../oauth/logout.js';
import { single, type Params } from '../oauth/params.js';
import { grantGroups } from '../oauth/resources.js';
import { ACCOUNT_HOME, postedAccountForm, requireSignedIn, type AccountSession } from './account-session.js';
import { accountPage, type AccountView } from './account-views.js';
import { endSession } from './flow.js';
import { checkLogin } from './login.js';
import { sendErrorPage, sendPage } from './page.js';
import { signedOutPage } from './views.js';

/** The fixed messages shown after a change (`?notice=`); nothing from the request is reflected. */
const NOTICES: Record<string, string> = {
  profile: 'Your profile was saved.',
  password: 'Your password was changed. Your other sessions were signed out, and every app must sign you in again.',
  'app-removed': 'Access removed. That app can no longer use your account, and its tokens were revoked.',
  'session-ended': 'That session was signed out.',
};

const MAX_NAME = 200;
const MAX_EMAIL = 254;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

export function accountRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { config, storage, clock } = deps;

  const lifecycle = (request: FastifyRequest): LifecycleDeps => ({
    storage,
    events: deps.events,
    now: clock(),
    by: 'user',
    ip: request.ip,
  });

  /** Back-channel logout tokens, after the change committed; never blocks or fails the answer. */
  const notify = (request: FastifyRequest, notices: readonly LogoutNotice[]) => {
    if (notices.length > 0) void sendLogoutNotices(deps, notices, request.log, clock());
  };

  async function render(
    reply: FastifyReply,
    signedIn: AccountSession,
    extra: Pick<AccountView, 'notice' | 'errors'> & { name?: string; email?: string } = {},
    status = 200,
  ): Promise<FastifyReply> {
    const now = clock();
    const { user, session } = signedIn;
    const registered = await storage.resources.list();
    const grants = await listGrants(storage, user.id);
    const sessions = (await storage.sessions.listOf(user.id)).filter((s) => s.expiresAt > now);
    return sendPage(
      reply,
      accountPage({
        username: user.username,
        name: extra.name ?? user.name ?? '',
        email: extra.email ?? user.email ?? '',
        csrfToken: signedIn.csrfToken,
        apps: grants.map((g) => ({
          clientId: g.clientId,
          clientName: g.clientName,
          groups: grantGroups(g.scopes, registered),
          grantedAt: g.createdAt,
          lastUsedAt: g.lastUsedAt,
        })),
        sessions: sessions
          .sort((a, b) => Number(b.idHash === session.idHash) - Number(a.idHash === session.idHash) || b.authTime - a.authTime)
          .map((s) => ({ sid: s.sid, createdAt: s.createdAt, authTime: s.authTime, current: s.idHash === session.idHash })),
        notice: extra.notice,
        errors: extra.errors,
      }),
      { status },
    );
  }

  /** A signed-in form post: the session (else the sign-in) and the checked form (else a 403 page). */
  async function posted(request: FastifyRequest, reply: FastifyReply): Promise<{ signedIn: AccountSession; form: Params } | undefined> {
    const signedIn = await requireSignedIn(request, reply, deps, ACCOUNT_HOME);
    if (!signedIn) return undefined;
    const form = postedAccountForm(request, reply, deps);
    return form ? { signedIn, form } : undefined;
  }

  /** Ends this browser's session as logout does (oauth/logout.ts), clears the cookie, says so. */
  async function signOutHere(request: FastifyRequest, reply: FastifyReply, signedIn: AccountSession): Promise<FastifyReply> {
    const now = clock();
    const ended = await endUserSession(lifecycle(request), signedIn.user.id, signedIn.session.sid);
    if (!ended) await endBrowserSession(storage, signedIn.session, now);
    endSession(reply, deps);
    notify(request, ended?.logout ?? []);
    return sendPage(reply, signedOutPage());
  }

  app.get<{ Querystring: Record<string, unknown> }>(ACCOUNT_HOME, { config: { browser: true } }, async (request, reply) => {
    const signedIn = await requireSignedIn(request, reply, deps, ACCOUNT_HOME);
    if (!signedIn) return reply;
    const key = request.query.notice;
    return render(reply, signedIn, { notice: typeof key === 'string' ? NOTICES[key] : undefined });
  });

  app.post('/account/profile', { config: { browser: true } }, async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const name = (single(p.form, 'name') ?? '').trim();
    const email = (single(p.form, 'email') ?? '').trim();
    const error =
      name.length > MAX_NAME
        ? `The name can have at most ${MAX_NAME} characters.`
        : email.length > MAX_EMAIL || (email !== '' && !EMAIL.test(email))
          ? 'Enter an email address like name@example.com, or leave it empty.'
          : undefined;
    if (error) {
      return render(
        reply,
        p.signedIn,
        { errors: { profile: error }, name: name.slice(0, MAX_NAME), email: email.slice(0, MAX_EMAIL) },
        400,
      );
    }
    await updateProfile(lifecycle(request), p.signedIn.user.id, { name: name || null, email: email || null });
    return reply.redirect(`${ACCOUNT_HOME}?notice=profile#profile`, 303);
  });

  app.register(async (scoped) => {
    // The current password is checked like a sign-in: the per-IP ceiling and the login throttle (UI-06).
    scoped.post('/account/password', { config: { browser: true, ...routeRateLimit(config, 'login') } }, async (request, reply) => {
      const p = await posted(request, reply);
      if (!p) return reply;
      const { user, session } = p.signedIn;
      const current = single(p.form, 'current_password') ?? '';
      const next = single(p.form, 'new_password') ?? '';
      const again = single(p.form, 'confirm_password') ?? '';
      const refuse = (status: number, message: string) => render(reply, p.signedIn, { errors: { password: message } }, status);
      const now = clock();
      const checked = await checkLogin(request, reply, deps, user.username, current, now);
      if (!checked.ok) {
        if (checked.retryAfter !== undefined) reply.header('Retry-After', String(checked.retryAfter));
        return refuse(checked.status, checked.status === 429 ? checked.error : 'The current password is not correct.');
      }
      if (checked.user.id !== user.id) return refuse(400, 'The current password is not correct.');
      const problem = passwordProblem(next);
      if (problem) return refuse(400, `The new password is not acceptable: ${problem}.`);
      if (next !== again) return refuse(400, 'The two new passwords are not the same.');
      const result = await setUserPassword(lifecycle(request), user.id, next, {
        signOut: 'other-sessions-all-tokens',
        keepSession: session,
      });
      notify(request, result?.logout ?? []);
      return reply.redirect(`${ACCOUNT_HOME}?notice=password#password`, 303);
    });
  });

  app.post('/account/apps/remove', { config: { browser: true } }, async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const clientId = single(p.form, 'client_id');
    const userId = p.signedIn.user.id;
    // Only a client this user granted, or that holds a live family of theirs, can be named.
    const known = clientId !== undefined && (await storage.grants.find(userId, clientId)) !== undefined;
    if (!clientId || !known) return sendErrorPage(reply, 400, 'Nothing to remove', 'That app has no access to your account.');
    const result = await revokeGrant(lifecycle(request), userId, clientId);
    notify(request, result?.logout ?? []);
    return reply.redirect(`${ACCOUNT_HOME}?notice=app-removed#apps`, 303);
  });

  app.post('/account/sessions/sign-out', { config: { browser: true } }, async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    const sid = single(p.form, 'sid');
    if (sid !== undefined && sid === p.signedIn.session.sid) return signOutHere(request, reply, p.signedIn);
    const ended = sid === undefined ? undefined : await endUserSession(lifecycle(request), p.signedIn.user.id, sid);
    if (!ended) return sendErrorPage(reply, 400, 'Nothing to sign out', 'That session has already ended.');
    notify(request, ended.logout);
    return reply.redirect(`${ACCOUNT_HOME}?notice=session-ended#sessions`, 303);
  });

  app.post('/account/sign-out', { config: { browser: true } }, async (request, reply) => {
    const p = await posted(request, reply);
    if (!p) return reply;
    return signOutHere(request, reply, p.signedIn);
  });
}
