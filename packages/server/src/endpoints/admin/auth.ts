// RFC 6750 §2.1, §3 and RFC 9068 §4: the admin API accepts Gatehouse's own access tokens as Bearer
// tokens. Each request: a live token of ours (signature, issuer, expiry, jti denylist, client and user
// still there and enabled: tokens/status.ts), `aud` naming the admin API resource, scope `admin`, and
// a subject that is a user with the admin role — read from the database on every request, so taking the
// role away or disabling the user takes effect at once.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app-types.js';
import { ADMIN_SCOPE, adminApiResourceUri } from '../../oauth/admin/api-resource.js';
import type { AdminActor, AdminContext } from '../../oauth/admin/context.js';
import { isAdmin } from '../../oauth/admin/users.js';
import { OAuthError } from '../../oauth/errors.js';
import { parseScopeList } from '../../oauth/scopes.js';
import { activeAccessTokenWithUser } from '../../oauth/tokens/status.js';
import { bearerChallenge, extractBearer } from '../userinfo.js';

export type AdminActorOfRequest = Extract<AdminActor, { by: 'admin' }>;

/** The acting admin of a request, or undefined after answering 400/401/403 with a Bearer challenge. */
export async function authenticateAdminToken(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Pick<AppDeps, 'config' | 'keys' | 'storage' | 'clock'>,
): Promise<AdminActorOfRequest | undefined> {
  const realm = new URL(deps.config.issuer).host;
  const fail = (status: number, error?: OAuthError, scope?: string) => {
    reply.status(status).header('WWW-Authenticate', bearerChallenge(realm, error, scope));
    reply.send(error ? error.toJSON() : undefined);
    return undefined;
  };
  let token: string | undefined;
  try {
    token = extractBearer(request);
  } catch (e) {
    if (e instanceof OAuthError) return fail(400, e);
    throw e;
  }
  if (token === undefined) return fail(401); // BR-01: no credentials, a bare challenge
  const invalid = () => fail(401, new OAuthError('invalid_token', 'the access token is invalid, expired, revoked or not for this API'));
  const active = await activeAccessTokenWithUser(
    { keys: deps.keys, issuer: deps.config.issuer, storage: deps.storage },
    token,
    deps.clock(),
  );
  if (!active) return invalid();
  const { claims, user } = active;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(adminApiResourceUri(deps.config))) return invalid();
  // A DPoP-bound token is not a bearer token (DP-02); the admin API takes bearer tokens only.
  if (claims.cnf?.jkt !== undefined) return invalid();
  if (!parseScopeList(claims.scope).includes(ADMIN_SCOPE))
    return fail(403, new OAuthError('insufficient_scope', 'the access token lacks the admin scope'), ADMIN_SCOPE);
  if (!user || !isAdmin(user))
    return fail(403, new OAuthError('insufficient_scope', 'the user of the access token is not an admin'), ADMIN_SCOPE);
  return { by: 'admin', userId: user.id, username: user.username, ip: request.ip };
}

/** The service-layer context of one request by `actor`. */
export function adminContext(deps: AppDeps, actor: AdminActor): AdminContext {
  return {
    storage: deps.storage,
    events: deps.events,
    now: deps.clock(),
    actor,
    config: deps.config,
    secondFactors: deps.secondFactors,
  };
}
