// The admin service layer (issue 11): every operation of the `gatehouse` CLI, the admin API
// (/admin/api) and the admin console (/admin) goes through the functions of oauth/admin/, so the three
// cannot drift apart. Each action records exactly one security event (SECURITY-CHECKLIST EV-01) naming
// who acted: `by: cli`, or `by: admin` with the acting admin's username and id.
import type { Config } from '../../config/config.js';
import type { Storage } from '../../storage/index.js';
import { OAuthError } from '../errors.js';
import type { LifecycleDeps } from '../lifecycle.js';
import type { SecurityEventInput, SecurityEvents } from '../security-events.js';

/** Who acts: the operator at the command line, or a signed-in admin (API token or console session). */
export type AdminActor = { by: 'cli' } | { by: 'admin'; userId: string; username: string; ip?: string | null | undefined };

/**
 * Removes a user's second factors (TOTP secrets, recovery codes). The two-factor tables belong to
 * another part of Gatehouse; until it is wired (AppDeps.secondFactors) the operation reports
 * `available: false` and removes nothing.
 */
export interface SecondFactorRemover {
  removeAll(userId: string, now: number): Promise<number>;
}

export interface AdminContext {
  storage: Storage;
  events: Pick<SecurityEvents, 'record'>;
  /** Epoch seconds (deps.clock() of the caller). */
  now: number;
  actor: AdminActor;
  config: Pick<Config, 'issuer' | 'keyRotationInterval' | 'accessTokenTtl' | 'idTokenTtl'>;
  secondFactors?: SecondFactorRemover | undefined;
}

/** The details every admin event carries about who acted. */
export function actorDetails(actor: AdminActor): Record<string, unknown> {
  return actor.by === 'cli' ? { by: 'cli' } : { by: 'admin', admin: actor.username, admin_id: actor.userId };
}

export async function recordAdminEvent(ctx: AdminContext, event: SecurityEventInput): Promise<void> {
  await ctx.events.record({
    ...event,
    ip: ctx.actor.by === 'admin' ? (ctx.actor.ip ?? null) : null,
    details: { ...(event.details ?? {}), ...actorDetails(ctx.actor) },
  });
}

/** The LifecycleDeps of oauth/lifecycle.ts for this actor (those functions record their own event). */
export function lifecycleDeps(ctx: AdminContext): LifecycleDeps {
  const { actor } = ctx;
  return {
    storage: ctx.storage,
    events: ctx.events,
    now: ctx.now,
    by: actor.by,
    ip: actor.by === 'admin' ? actor.ip : undefined,
    admin: actor.by === 'admin' ? { userId: actor.userId, username: actor.username } : undefined,
  };
}

export function notFound(what: string): OAuthError {
  return new OAuthError('not_found', `no such ${what}`);
}

/** A refused input: 400 invalid_request with the reason (never a secret in it). */
export function badInput(description: string): OAuthError {
  return new OAuthError('invalid_request', description);
}

/** A request that conflicts with the current state (a duplicate name, the last key of an algorithm): 409 invalid_request. */
export function conflict(description: string): OAuthError {
  return new OAuthError('invalid_request', description, { status: 409 });
}

/** Validation errors of the shared client and resource rules become invalid_request, keeping their description. */
export function asInvalidRequest(e: unknown): never {
  if (e instanceof OAuthError && e.status === 400 && e.code !== 'invalid_request') throw badInput(e.description);
  throw e;
}
