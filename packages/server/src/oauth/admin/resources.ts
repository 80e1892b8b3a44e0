// Admin operations on protected resources and their scopes (RFC 8707): list, create, update, delete.
// The rules are oauth/resources.ts; this adds the events (admin.resource_*).
import {
  deleteResource,
  registerResource,
  ResourceError,
  resourceView,
  updateResource,
  type ResourceChanges,
  type ResourceInput,
} from '../resources.js';
import { ADMIN_SCOPE, adminApiResourceUri } from './api-resource.js';
import { conflict, notFound, recordAdminEvent, type AdminContext } from './context.js';

export async function listResources(ctx: Pick<AdminContext, 'storage'>): Promise<Record<string, unknown>[]> {
  return (await ctx.storage.resources.list()).map(resourceView);
}

export async function getResource(ctx: Pick<AdminContext, 'storage'>, uri: string): Promise<Record<string, unknown>> {
  const resource = uri.length <= 2000 ? await ctx.storage.resources.find(uri) : undefined;
  if (!resource) throw notFound('resource');
  return resourceView(resource);
}

/** Registers a resource; its introspection credentials (if any) are returned once. Records admin.resource_created. */
export async function createResource(ctx: AdminContext, input: ResourceInput) {
  let registered;
  try {
    registered = await registerResource(ctx.storage, input, ctx.now);
  } catch (e) {
    if (e instanceof ResourceError) throw conflict(e.message);
    throw e;
  }
  await recordAdminEvent(ctx, {
    type: 'admin.resource_created',
    clientId: registered.credentials?.clientId ?? null,
    details: { resource: registered.resource.uri, scope: registered.resource.scopes.join(' ') },
  });
  return registered;
}

/** The admin API's own resource keeps its scope and cannot be deleted here (it would lock every admin out). */
function guardAdminApi(ctx: AdminContext, uri: string, changes?: ResourceChanges): void {
  if (ctx.actor.by !== 'admin' || uri !== adminApiResourceUri(ctx.config)) return;
  if (!changes) throw conflict('the admin API resource cannot be deleted through the admin API or console');
  if (changes.scopes !== undefined && !changes.scopes.includes(ADMIN_SCOPE))
    throw conflict('the admin API resource must keep the admin scope');
}

export async function changeResource(ctx: AdminContext, uri: string, changes: ResourceChanges): Promise<Record<string, unknown>> {
  if (!(uri.length <= 2000 && (await ctx.storage.resources.find(uri)))) throw notFound('resource');
  guardAdminApi(ctx, uri, changes);
  let updated;
  try {
    updated = await updateResource(ctx.storage, uri, changes, ctx.now);
  } catch (e) {
    if (e instanceof ResourceError) throw notFound('resource');
    throw e;
  }
  await recordAdminEvent(ctx, { type: 'admin.resource_updated', details: { resource: uri, scope: updated.scopes.join(' ') } });
  return resourceView(updated);
}

export async function removeResource(ctx: AdminContext, uri: string): Promise<void> {
  guardAdminApi(ctx, uri);
  if (!(uri.length <= 2000 && (await deleteResource(ctx.storage, uri)))) throw notFound('resource');
  await recordAdminEvent(ctx, { type: 'admin.resource_deleted', details: { resource: uri } });
}
