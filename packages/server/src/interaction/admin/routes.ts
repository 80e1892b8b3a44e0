// The admin console (/admin): server-rendered pages for a signed-in user with the admin role. Others
// get a 403 page; a browser without a session goes to /account/sign-in?return_to=… (the account
// pages). Every form carries a CSRF token derived from the session cookie (per session, unknown to
// other sites: the cookie is HttpOnly) and must come from our origin (UI-02); answers to a POST
// redirect with 303 (RU-09) or show a one-time secret. Every action goes through oauth/admin/, the
// same functions as the admin API and the CLI, and so is one security event.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app-types.js';
import { formBody } from '../../http/params.js';
import * as admin from '../../oauth/admin/index.js';
import { OAuthError } from '../../oauth/errors.js';
import { sendLogoutNotices, type LifecycleResult } from '../../oauth/lifecycle.js';
import { single, type Params } from '../../oauth/params.js';
import { parseScopeList } from '../../oauth/scopes.js';
import { csrfTokenFor, csrfTokenValid, originAllowed, readCookie, sessionCookieName } from '../cookies.js';
import { cookieSettings, currentSession } from '../flow.js';
import { sendErrorPage, sendPage } from '../page.js';
import * as views from './views.js';

export const ACCOUNT_SIGN_IN = '/account/sign-in';

interface Admin {
  ctx: admin.AdminContext;
  csrf: string;
  binding: string;
  frame: (section: views.Section, notice?: string) => views.Frame;
}

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string | string[] | undefined> }>;

const text = (v: string | string[] | undefined): string => (typeof v === 'string' ? v.slice(0, 255) : '');

export function adminConsoleRoutes(app: FastifyInstance, deps: AppDeps): void {
  const settings = cookieSettings(deps);
  const issuerOrigin = new URL(deps.config.issuer).origin;

  /** The signed-in admin, or undefined after a redirect to sign in or a 403 page. */
  async function signedInAdmin(request: FastifyRequest, reply: FastifyReply): Promise<Admin | undefined> {
    const signedIn = await currentSession(request, deps, deps.clock());
    const raw = readCookie(request, sessionCookieName(settings));
    if (!signedIn || !raw) {
      const returnTo = request.method === 'GET' && request.url.startsWith('/admin') ? request.url : '/admin';
      reply.redirect(`${ACCOUNT_SIGN_IN}?return_to=${encodeURIComponent(returnTo)}`, 303);
      return undefined;
    }
    if (!admin.isAdmin(signedIn.user)) {
      sendErrorPage(reply, 403, 'Not allowed', 'The admin console is only for administrators of this server.');
      return undefined;
    }
    const binding = `admin-console.${raw}`;
    const actor: admin.AdminActor = { by: 'admin', userId: signedIn.user.id, username: signedIn.user.username, ip: request.ip };
    return {
      ctx: { storage: deps.storage, events: deps.events, now: deps.clock(), actor, config: deps.config, secondFactors: deps.secondFactors },
      csrf: csrfTokenFor(binding),
      binding,
      frame: (section, notice) => ({ section, admin: signedIn.user.username, notice }),
    };
  }

  /** UI-02: the CSRF token of this session (checked first, exactly once) and our own Origin. */
  function postedForm(request: FastifyRequest, reply: FastifyReply, a: Admin): Params | undefined {
    const tokens = request.body instanceof Map ? (request.body as Params).get('csrf_token') : undefined;
    if (!originAllowed(request.headers.origin, issuerOrigin) || tokens?.length !== 1 || !csrfTokenValid(a.binding, tokens[0])) {
      sendErrorPage(reply, 403, 'Request refused', 'This form could not be verified. Reload the page and try again.');
      return undefined;
    }
    return formBody(request);
  }

  const page = (reply: FastifyReply, body: Parameters<typeof sendPage>[1], status = 200) => sendPage(reply, body, { status });
  const notice = (request: Req) => text(request.query.done) || undefined;

  /** A refused action (bad input, not found, conflict) as a page; anything else is the error handler's. */
  function refused(reply: FastifyReply, a: Admin, section: views.Section, back: string, e: unknown): FastifyReply {
    if (!(e instanceof OAuthError) || e.status >= 500) throw e;
    return page(reply, views.problemPage(a.frame(section), 'Not done', e.description, back), e.status);
  }

  async function logout(result: LifecycleResult, request: FastifyRequest, now: number): Promise<void> {
    if (result.logout.length > 0) await sendLogoutNotices(deps, result.logout, request.log, now);
  }

  /** GET pages: sign-in check, then render. */
  const get = (path: string, render: (request: Req, reply: FastifyReply, a: Admin) => Promise<FastifyReply>) =>
    app.get(path, { config: { browser: true } }, async (request, reply) => {
      const a = await signedInAdmin(request, reply);
      return a ? render(request as Req, reply, a) : reply;
    });

  /** POST actions: sign-in check, CSRF and Origin, then act; OAuthErrors of the service become a page. */
  const post = (
    path: string,
    section: views.Section,
    back: (request: Req) => string,
    act: (request: Req, reply: FastifyReply, a: Admin, form: Params) => Promise<FastifyReply>,
  ) =>
    app.post(path, { config: { browser: true } }, async (request, reply) => {
      const a = await signedInAdmin(request, reply);
      const form = a && postedForm(request, reply, a);
      if (!a || !form) return reply;
      try {
        return await act(request as Req, reply, a, form);
      } catch (e) {
        return refused(reply, a, section, back(request as Req), e);
      }
    });

  const userUrl = (id: string, done?: string) => `/admin/users/${encodeURIComponent(id)}${done ? `?done=${done}` : ''}`;
  const clientUrl = (id: string, done?: string) => `/admin/clients/${encodeURIComponent(id)}${done ? `?done=${done}` : ''}`;

  app.get('/admin', { config: { browser: true } }, async (request, reply) => {
    const a = await signedInAdmin(request, reply);
    return a ? reply.redirect('/admin/users', 303) : reply;
  });

  // Users
  get('/admin/users', async (request, reply, a) => {
    const q = text(request.query.q);
    return page(reply, views.usersPage(a.frame('users', notice(request)), await admin.listUsers(a.ctx, { q }), q));
  });
  get('/admin/users/:id', async (request, reply, a) => {
    let user;
    try {
      user = await admin.findUser(a.ctx, request.params.id!);
    } catch (e) {
      return refused(reply, a, 'users', '/admin/users', e);
    }
    const [sessions, grants] = [await admin.listSessions(a.ctx, user.id), await admin.listUserGrants(a.ctx, user.id)];
    return page(reply, views.userPage(a.frame('users', notice(request)), a.csrf, admin.userView(user), sessions, grants));
  });
  const userBack = (r: Req) => userUrl(r.params.id!);
  post('/admin/users/:id/disable', 'users', userBack, async (request, reply, a) => {
    await logout(await admin.setUserDisabled(a.ctx, request.params.id!, true), request, a.ctx.now);
    return reply.redirect(userUrl(request.params.id!, 'disabled'), 303);
  });
  post('/admin/users/:id/enable', 'users', userBack, async (request, reply, a) => {
    await admin.setUserDisabled(a.ctx, request.params.id!, false);
    return reply.redirect(userUrl(request.params.id!, 'enabled'), 303);
  });
  post('/admin/users/:id/sign-out', 'users', userBack, async (request, reply, a) => {
    await logout(await admin.signOutUser(a.ctx, request.params.id!), request, a.ctx.now);
    return reply.redirect(userUrl(request.params.id!, 'signed-out'), 303);
  });
  post('/admin/users/:id/password', 'users', userBack, async (request, reply, a, form) => {
    await logout(await admin.resetPassword(a.ctx, request.params.id!, single(form, 'password') ?? ''), request, a.ctx.now);
    return reply.redirect(userUrl(request.params.id!, 'password'), 303);
  });
  post('/admin/users/:id/role', 'users', userBack, async (request, reply, a, form) => {
    const on = single(form, 'admin') === 'on';
    await admin.setAdmin(a.ctx, request.params.id!, on);
    return reply.redirect(userUrl(request.params.id!, on ? 'role-granted' : 'role-revoked'), 303);
  });
  post('/admin/users/:id/sessions/:sid/end', 'users', userBack, async (request, reply, a) => {
    await admin.endSession(a.ctx, request.params.id!, request.params.sid!);
    return reply.redirect(userUrl(request.params.id!, 'session-ended'), 303);
  });
  post('/admin/users/:id/grants/:client_id/revoke', 'users', userBack, async (request, reply, a) => {
    await logout(await admin.revokeUserGrant(a.ctx, request.params.id!, request.params.client_id!), request, a.ctx.now);
    return reply.redirect(userUrl(request.params.id!, 'grant-revoked'), 303);
  });

  // Clients
  get('/admin/clients', async (request, reply, a) =>
    page(reply, views.clientsPage(a.frame('clients', notice(request)), a.csrf, await admin.listClients(a.ctx))),
  );
  const lines = (value: string | undefined) =>
    (value ?? '')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  post(
    '/admin/clients',
    'clients',
    () => '/admin/clients',
    async (_request, reply, a, form) => {
      const isPublic = single(form, 'public') === 'yes';
      const { client, clientSecret } = await admin.createClient(a.ctx, {
        clientName: single(form, 'client_name') ?? '',
        redirectUris: lines(single(form, 'redirect_uris')),
        scope: single(form, 'scope'),
        isPublic,
        authMethod: isPublic ? 'none' : undefined,
      });
      if (!clientSecret) return reply.redirect(clientUrl(client.clientId, 'client-updated'), 303);
      return page(reply, views.secretPage(a.frame('clients'), client.clientId, clientSecret, true));
    },
  );
  get('/admin/clients/:client_id', async (request, reply, a) => {
    let client;
    try {
      client = await admin.findClient(a.ctx, request.params.client_id!);
    } catch (e) {
      return refused(reply, a, 'clients', '/admin/clients', e);
    }
    return page(reply, views.clientPage(a.frame('clients', notice(request)), a.csrf, admin.clientView(client)));
  });
  const clientBack = (r: Req) => clientUrl(r.params.client_id!);
  post('/admin/clients/:client_id', 'clients', clientBack, async (request, reply, a, form) => {
    const scope = single(form, 'scope');
    await admin.updateClientSettings(a.ctx, request.params.client_id!, {
      redirectUris: lines(single(form, 'redirect_uris')),
      scope: scope === undefined ? undefined : parseScopeList(scope).join(' '),
    });
    return reply.redirect(clientUrl(request.params.client_id!, 'client-updated'), 303);
  });
  post('/admin/clients/:client_id/secret', 'clients', clientBack, async (request, reply, a) => {
    const { clientSecret } = await admin.rotateClientSecret(a.ctx, request.params.client_id!);
    return page(reply, views.secretPage(a.frame('clients'), request.params.client_id!, clientSecret, false));
  });
  post('/admin/clients/:client_id/disable', 'clients', clientBack, async (request, reply, a) => {
    await admin.setClientDisabled(a.ctx, request.params.client_id!, true);
    return reply.redirect(clientUrl(request.params.client_id!, 'client-disabled'), 303);
  });
  post('/admin/clients/:client_id/enable', 'clients', clientBack, async (request, reply, a) => {
    await admin.setClientDisabled(a.ctx, request.params.client_id!, false);
    return reply.redirect(clientUrl(request.params.client_id!, 'client-enabled'), 303);
  });

  // Resources
  get('/admin/resources', async (request, reply, a) =>
    page(reply, views.resourcesPage(a.frame('resources', notice(request)), a.csrf, await admin.listResources(a.ctx))),
  );
  post(
    '/admin/resources',
    'resources',
    () => '/admin/resources',
    async (_request, reply, a, form) => {
      const name = single(form, 'name')?.trim();
      const { resource, credentials } = await admin.createResource(a.ctx, {
        uri: single(form, 'uri') ?? '',
        name: name ? name : undefined,
        scopes: parseScopeList(single(form, 'scope') ?? ''),
      });
      return page(reply, views.resourceCreatedPage(a.frame('resources'), resource.uri, credentials));
    },
  );

  // Signing keys
  get('/admin/keys', async (request, reply, a) =>
    page(reply, views.keysPage(a.frame('keys', notice(request)), a.csrf, await admin.listKeys(a.ctx))),
  );
  post(
    '/admin/keys/rotate',
    'keys',
    () => '/admin/keys',
    async (_request, reply, a) => {
      await admin.rotateSigningKeys(a.ctx, 'all', false);
      return reply.redirect('/admin/keys?done=keys-rotated', 303);
    },
  );

  // The security event log
  get('/admin/events', async (request, reply, a) => {
    const type = text(request.query.type).trim();
    const username = text(request.query.user).trim();
    let userId: string | undefined;
    let events;
    try {
      if (username) userId = (await deps.storage.users.findByUsername(username))?.id ?? '-';
      events = await admin.listEvents(a.ctx, { types: type ? [type] : [], userId, limit: 200 });
    } catch (e) {
      return refused(reply, a, 'events', '/admin/events', e);
    }
    return page(reply, views.eventsPage(a.frame('events'), events, { type, user: username }));
  });
}
