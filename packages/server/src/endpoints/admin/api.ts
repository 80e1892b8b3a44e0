// The admin API (/admin/api, JSON): thin handlers over the service layer of oauth/admin/. One table of
// routes: each names its TypeBox schemas, which validate the request here and make the OpenAPI 3.1
// document at /admin/api/openapi.json (openapi.ts). Errors: RFC 6750 §3 for the token (auth.ts),
// {"error":"invalid_request"} for bad input, 404 not_found, 409 invalid_request for conflicts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TObject, TSchema } from '@sinclair/typebox';
import type { AppDeps } from '../../app-types.js';
import * as admin from '../../oauth/admin/index.js';
import { asInvalidRequest } from '../../oauth/admin/context.js';
import { sendLogoutNotices, type LifecycleResult } from '../../oauth/lifecycle.js';
import { parseScopeList } from '../../oauth/scopes.js';
import { adminContext, authenticateAdminToken } from './auth.js';
import { openApiDocument } from './openapi.js';
import * as S from './schemas.js';

export const ADMIN_API_PREFIX = '/admin/api';

export interface HandlerInput {
  params: Record<string, string>;
  query: Record<string, string | undefined>;
  // The validated body (its schema's shape); `{}` when the route takes none and none was sent.
  body: Record<string, unknown>;
  ctx: admin.AdminContext;
  deps: AppDeps;
  request: FastifyRequest;
}

export interface AdminRoute {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Below ADMIN_API_PREFIX, Fastify syntax (`/users/:id`). */
  path: string;
  summary: string;
  tag: 'users' | 'clients' | 'resources' | 'keys' | 'events';
  params?: TObject;
  query?: TObject;
  body?: TSchema;
  /** The success status (200 unless said). */
  status?: number;
  handle(input: HandlerInput): Promise<unknown>;
}

/** What a revoking action did, as the API reports it; its back-channel logout tokens are sent first. */
async function revoked(input: HandlerInput, result: LifecycleResult): Promise<Record<string, number>> {
  if (result.logout.length > 0) await sendLogoutNotices(input.deps, result.logout, input.request.log, input.ctx.now);
  return {
    sessions: result.sessions,
    refresh_token_families: result.families,
    access_tokens_denied: result.accessTokens,
    codes_voided: result.codes,
    device_codes_voided: result.deviceCodes,
    grants_deleted: result.grants,
  };
}

const b = <T>(input: HandlerInput) => input.body as T;

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  // Users
  {
    method: 'GET',
    path: '/users',
    summary: 'List users; q searches username, name and email',
    tag: 'users',
    query: S.UserQuery,
    handle: async ({ ctx, query }) => ({ users: await admin.listUsers(ctx, { q: query.q }) }),
  },
  {
    method: 'POST',
    path: '/users',
    summary: 'Create a user (admin: true gives the admin role)',
    tag: 'users',
    body: S.NewUserBody,
    status: 201,
    handle: async (i) => admin.createUser(i.ctx, b<S.Static<typeof S.NewUserBody>>(i)),
  },
  {
    method: 'GET',
    path: '/users/:id',
    summary: 'Get a user',
    tag: 'users',
    params: S.UserIdParams,
    handle: async ({ ctx, params }) => admin.userView(await admin.findUser(ctx, params.id!)),
  },
  {
    method: 'DELETE',
    path: '/users/:id',
    summary: 'Delete a user and revoke everything of theirs',
    tag: 'users',
    params: S.UserIdParams,
    handle: async (i) => ({ deleted: true, revoked: await revoked(i, await admin.removeUser(i.ctx, i.params.id!)) }),
  },
  {
    method: 'POST',
    path: '/users/:id/disable',
    summary: 'Disable a user: every session, refresh-token family and access token of theirs is revoked',
    tag: 'users',
    params: S.UserIdParams,
    handle: async (i) => ({ disabled: true, revoked: await revoked(i, await admin.setUserDisabled(i.ctx, i.params.id!, true)) }),
  },
  {
    method: 'POST',
    path: '/users/:id/enable',
    summary: 'Enable a disabled user',
    tag: 'users',
    params: S.UserIdParams,
    handle: async (i) => ({ disabled: false, revoked: await revoked(i, await admin.setUserDisabled(i.ctx, i.params.id!, false)) }),
  },
  {
    method: 'POST',
    path: '/users/:id/password',
    summary: 'Set a new password; revokes everything of the user unless keep_sessions',
    tag: 'users',
    params: S.UserIdParams,
    body: S.PasswordBody,
    handle: async (i) => {
      const body = b<S.Static<typeof S.PasswordBody>>(i);
      return { revoked: await revoked(i, await admin.resetPassword(i.ctx, i.params.id!, body.password, body.keep_sessions === true)) };
    },
  },
  {
    method: 'POST',
    path: '/users/:id/role',
    summary: 'Give (admin: true) or take (admin: false) the admin role',
    tag: 'users',
    params: S.UserIdParams,
    body: S.RoleBody,
    handle: async (i) => admin.setAdmin(i.ctx, i.params.id!, b<S.Static<typeof S.RoleBody>>(i).admin),
  },
  {
    method: 'DELETE',
    path: '/users/:id/second-factors',
    summary: 'Remove every second factor of a user (available: false while two-factor sign-in is not installed)',
    tag: 'users',
    params: S.UserIdParams,
    handle: async ({ ctx, params }) => admin.removeSecondFactors(ctx, params.id!),
  },
  {
    method: 'POST',
    path: '/users/:id/sign-out',
    summary: 'Sign a user out everywhere: sessions, refresh-token families and access tokens',
    tag: 'users',
    params: S.UserIdParams,
    handle: async (i) => ({ revoked: await revoked(i, await admin.signOutUser(i.ctx, i.params.id!)) }),
  },
  {
    method: 'GET',
    path: '/users/:id/sessions',
    summary: "List a user's live sessions",
    tag: 'users',
    params: S.UserIdParams,
    handle: async ({ ctx, params }) => ({ sessions: await admin.listSessions(ctx, params.id!) }),
  },
  {
    method: 'DELETE',
    path: '/users/:id/sessions/:sid',
    summary: 'End one session and revoke the tokens issued in it',
    tag: 'users',
    params: S.SessionParams,
    handle: async ({ ctx, params }) => {
      const r = await admin.endSession(ctx, params.id!, params.sid!);
      return { ended: true, refresh_token_families: r.families, access_tokens_denied: r.accessTokens };
    },
  },
  {
    method: 'GET',
    path: '/users/:id/grants',
    summary: "List a user's grants (consents) to clients",
    tag: 'users',
    params: S.UserIdParams,
    handle: async ({ ctx, params }) => ({ grants: await admin.listUserGrants(ctx, params.id!) }),
  },
  {
    method: 'DELETE',
    path: '/users/:id/grants/:client_id',
    summary: "Revoke a user's grant to a client and what the client holds of the user",
    tag: 'users',
    params: S.GrantParams,
    handle: async (i) => ({ revoked: await revoked(i, await admin.revokeUserGrant(i.ctx, i.params.id!, i.params.client_id!)) }),
  },
  // Clients
  {
    method: 'GET',
    path: '/clients',
    summary: 'List clients',
    tag: 'clients',
    handle: async ({ ctx }) => ({ clients: await admin.listClients(ctx) }),
  },
  {
    method: 'POST',
    path: '/clients',
    summary: 'Register a client; a confidential client gets its client_secret in this answer only',
    tag: 'clients',
    body: S.NewClientBody,
    status: 201,
    handle: async (i) => {
      const body = b<S.Static<typeof S.NewClientBody>>(i);
      const { client, clientSecret } = await admin.createClient(i.ctx, {
        clientName: body.client_name,
        redirectUris: body.redirect_uris ?? [],
        grantTypes: body.grant_types,
        scope: body.scope,
        isPublic: body.token_endpoint_auth_method === 'none',
        authMethod: body.token_endpoint_auth_method,
        jwksUri: body.jwks_uri,
        postLogoutRedirectUris: body.post_logout_redirect_uris,
        backchannelLogoutUri: body.backchannel_logout_uri,
        defaultScope: body.default_scope,
        requirePushedAuthorizationRequests: body.require_pushed_authorization_requests === true,
      });
      return { ...admin.clientView(client), ...(clientSecret ? { client_secret: clientSecret } : {}) };
    },
  },
  {
    method: 'GET',
    path: '/clients/:client_id',
    summary: 'Get a client',
    tag: 'clients',
    params: S.ClientIdParams,
    handle: async ({ ctx, params }) => admin.clientView(await admin.findClient(ctx, params.client_id!)),
  },
  {
    method: 'PATCH',
    path: '/clients/:client_id',
    summary: 'Change the redirect URIs, scope or name of a client',
    tag: 'clients',
    params: S.ClientIdParams,
    body: S.ClientChangesBody,
    handle: async (i) => {
      const body = b<S.Static<typeof S.ClientChangesBody>>(i);
      const client = await admin.updateClientSettings(i.ctx, i.params.client_id!, {
        redirectUris: body.redirect_uris,
        scope: body.scope,
        clientName: body.client_name,
      });
      return admin.clientView(client);
    },
  },
  {
    method: 'POST',
    path: '/clients/:client_id/secret',
    summary: 'Rotate the client secret: the new one is in this answer only, the old one stops working at once',
    tag: 'clients',
    params: S.ClientIdParams,
    handle: async ({ ctx, params }) => ({
      client_id: params.client_id,
      client_secret: (await admin.rotateClientSecret(ctx, params.client_id!)).clientSecret,
    }),
  },
  {
    method: 'POST',
    path: '/clients/:client_id/disable',
    summary: 'Disable a client: it cannot authenticate and its tokens are revoked',
    tag: 'clients',
    params: S.ClientIdParams,
    handle: async ({ ctx, params }) => admin.setClientDisabled(ctx, params.client_id!, true),
  },
  {
    method: 'POST',
    path: '/clients/:client_id/enable',
    summary: 'Enable a disabled client',
    tag: 'clients',
    params: S.ClientIdParams,
    handle: async ({ ctx, params }) => admin.setClientDisabled(ctx, params.client_id!, false),
  },
  {
    method: 'DELETE',
    path: '/clients/:client_id',
    summary: 'Delete a client and revoke everything issued to it',
    tag: 'clients',
    params: S.ClientIdParams,
    handle: async (i) => ({ deleted: true, revoked: await revoked(i, await admin.removeClient(i.ctx, i.params.client_id!)) }),
  },
  // Resources
  {
    method: 'GET',
    path: '/resources',
    summary: 'List protected resources and their scopes',
    tag: 'resources',
    handle: async ({ ctx }) => ({ resources: await admin.listResources(ctx) }),
  },
  {
    method: 'POST',
    path: '/resources',
    summary: 'Register a resource; its introspection credentials are in this answer only',
    tag: 'resources',
    body: S.NewResourceBody,
    status: 201,
    handle: async (i) => {
      const body = b<S.Static<typeof S.NewResourceBody>>(i);
      const { resource, credentials } = await admin.createResource(i.ctx, {
        uri: body.uri,
        name: body.name,
        scopes: parseScopeList(body.scope ?? ''),
        scopeDescriptions: body.scope_descriptions,
        accessTokenTtl: body.access_token_ttl,
        signingAlg: body.signing_alg,
        mayIntrospect: body.introspection !== false,
      });
      const view = (await admin.getResource(i.ctx, resource.uri)) as Record<string, unknown>;
      return {
        ...view,
        ...(credentials
          ? {
              introspection_credentials: {
                client_id: credentials.clientId,
                client_secret: credentials.clientSecret,
                token_endpoint_auth_method: 'client_secret_basic',
              },
            }
          : {}),
      };
    },
  },
  {
    method: 'GET',
    path: '/resource',
    summary: 'Get the resource whose URI is the uri query parameter',
    tag: 'resources',
    query: S.ResourceQuery,
    handle: async ({ ctx, query }) => admin.getResource(ctx, query.uri!),
  },
  {
    method: 'PATCH',
    path: '/resource',
    summary: 'Change the name, scopes, descriptions, token lifetime or algorithm of the resource named by uri',
    tag: 'resources',
    query: S.ResourceQuery,
    body: S.ResourceChangesBody,
    handle: async (i) => {
      const body = b<S.Static<typeof S.ResourceChangesBody>>(i);
      return admin.changeResource(i.ctx, i.query.uri!, {
        name: body.name,
        scopes: body.scope === undefined ? undefined : parseScopeList(body.scope),
        scopeDescriptions: body.scope_descriptions,
        accessTokenTtl: body.access_token_ttl,
        signingAlg: body.signing_alg,
      });
    },
  },
  {
    method: 'DELETE',
    path: '/resource',
    summary: 'Delete the resource named by uri and its introspection credentials',
    tag: 'resources',
    query: S.ResourceQuery,
    handle: async ({ ctx, query }) => {
      await admin.removeResource(ctx, query.uri!);
      return { deleted: true };
    },
  },
  // Signing keys
  {
    method: 'GET',
    path: '/keys',
    summary: 'List signing keys (never a private key)',
    tag: 'keys',
    handle: async ({ ctx }) => ({ keys: await admin.listKeys(ctx) }),
  },
  {
    method: 'POST',
    path: '/keys/rotate',
    summary: 'Start a key rotation (alg: an algorithm or all; immediate: sign with the new key at once)',
    tag: 'keys',
    body: S.RotateKeysBody,
    handle: async (i) => {
      const body = b<S.Static<typeof S.RotateKeysBody>>(i);
      const outcomes = await admin.rotateSigningKeys(i.ctx, body.alg ?? 'all', body.immediate === true);
      return {
        rotations: outcomes.map((o) => ({
          alg: o.alg,
          kid: o.kid,
          action: o.action,
          ...(o.promotesAt !== undefined ? { promotes_at: o.promotesAt } : {}),
        })),
      };
    },
  },
  {
    method: 'POST',
    path: '/keys/:kid/retire',
    summary: 'Retire a key at once (leaves the JWKS unless keep_published)',
    tag: 'keys',
    params: S.KidParams,
    body: S.RetireKeyBody,
    handle: async (i) => {
      const o = await admin.retireSigningKey(i.ctx, i.params.kid!, b<S.Static<typeof S.RetireKeyBody>>(i).keep_published === true);
      return { kid: o.row.kid, alg: o.row.alg, previous_status: o.previousStatus, status: 'retired', remove_after: o.removeAfter };
    },
  },
  // Security events
  {
    method: 'GET',
    path: '/events',
    summary: 'List security events, newest first',
    tag: 'events',
    query: S.EventQuery,
    handle: async ({ ctx, query }) => ({
      events: (
        await admin.listEvents(ctx, {
          since: query.since === undefined ? undefined : Number(query.since),
          types: query.type
            ?.split(',')
            .map((t) => t.trim())
            .filter((t) => t.length > 0),
          userId: query.user_id,
          clientId: query.client_id,
          limit: query.limit === undefined ? undefined : Number(query.limit),
        })
      ).map((e) => ({
        id: e.id,
        type: e.type,
        created_at: e.createdAt,
        user_id: e.userId,
        username: e.username,
        client_id: e.clientId,
        ip: e.ip,
        details: e.details,
      })),
    }),
  },
];

export function adminApiEndpoints(app: FastifyInstance, deps: AppDeps): void {
  const document = openApiDocument(ADMIN_ROUTES, deps.config);
  app.get(`${ADMIN_API_PREFIX}/openapi.json`, async (_request, reply) => reply.send(document));

  for (const route of ADMIN_ROUTES) {
    app.route({
      method: route.method,
      url: `${ADMIN_API_PREFIX}${route.path}`,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const actor = await authenticateAdminToken(request, reply, deps);
        if (!actor) return reply;
        const params = route.params ? S.validated(route.params, request.params, 'path') : {};
        const query = S.validated(route.query ?? S.EmptyQuery, request.query ?? {}, 'query');
        const sent = request.body;
        if (!route.body && sent !== undefined && !(sent instanceof Map && sent.size === 0))
          return reply.status(400).send({ error: 'invalid_request', error_description: 'this request takes no body' });
        const body = route.body ? S.validated(route.body, sent ?? {}, 'body') : {};
        let result: unknown;
        try {
          result = await route.handle({
            params: params as Record<string, string>,
            query: query as Record<string, string | undefined>,
            body: body as Record<string, unknown>,
            ctx: adminContext(deps, actor),
            deps,
            request,
          });
        } catch (e) {
          // The registration rules' codes (invalid_redirect_uri, invalid_target, …) are invalid_request here.
          asInvalidRequest(e);
        }
        return reply.status(route.status ?? 200).send(result);
      },
    });
  }
}
