// Admin operations on clients (RFC 6749 §2, RFC 7591 §2 metadata): list, create, get, edit redirect
// URIs and scopes, rotate the secret, disable/enable, delete. Registration rules are oauth/clients.ts;
// deleting revokes through oauth/lifecycle.ts (LC-01). Validation errors keep the registration codes
// (invalid_redirect_uri, invalid_client_metadata); the admin API answers them as invalid_request.
import type { Client } from '../../storage/index.js';
import { KEY_AUTH_METHODS } from '../client-auth/index.js';
import { clientMetadata, defaultsMetadata, registerClient, validateNewClient, type NewClientInput } from '../clients.js';
import { randomToken, sha256 } from '../crypto.js';
import { deleteClient, type LifecycleResult } from '../lifecycle.js';
import { parseScopeList } from '../scopes.js';
import { atomically, revokeSelected } from '../tokens/revocation.js';
import { conflict, lifecycleDeps, notFound, recordAdminEvent, type AdminContext } from './context.js';

/** The registration view of a client and whether it is disabled; never a secret or its digest. */
export function clientView(client: Client): Record<string, unknown> {
  return { ...clientMetadata(client), disabled: client.disabled === true };
}

export async function listClients(ctx: Pick<AdminContext, 'storage'>): Promise<Record<string, unknown>[]> {
  return (await ctx.storage.clients.list()).map(clientView);
}

export async function findClient(ctx: Pick<AdminContext, 'storage'>, clientId: string): Promise<Client> {
  const client = clientId.length <= 255 ? await ctx.storage.clients.find(clientId) : undefined;
  if (!client) throw notFound('client');
  return client;
}

/** Registers a client (the CLI's `clients create`); records client.created. The secret is returned once. */
export async function createClient(
  ctx: AdminContext,
  input: NewClientInput,
): Promise<{ client: Client; clientSecret: string | undefined }> {
  const registered = await registerClient(ctx.storage.clients, input, ctx.now);
  await recordAdminEvent(ctx, {
    type: 'client.created',
    clientId: registered.client.clientId,
    details: { client_name: registered.client.clientName, auth_method: registered.client.authMethod },
  });
  return registered;
}

export interface ClientChanges {
  redirectUris?: readonly string[] | undefined;
  /** Space-separated scope list. */
  scope?: string | undefined;
  clientName?: string | undefined;
}

/**
 * Edits the redirect URIs, scopes and name of a client, validated by the registration rules (RU-06,
 * scope syntax; a default scope must stay within the scope). Records client.updated.
 */
export async function updateClientSettings(ctx: AdminContext, clientId: string, changes: ClientChanges): Promise<Client> {
  const existing = await findClient(ctx, clientId);
  const scope = changes.scope ?? existing.scopes.join(' ');
  const valid = validateNewClient({
    clientName: changes.clientName ?? existing.clientName,
    redirectUris: changes.redirectUris ?? existing.redirectUris,
    grantTypes: existing.grantTypes,
    scope,
    isPublic: existing.isPublic,
    authMethod: existing.authMethod,
    jwks: existing.metadata.jwks,
    jwksUri: typeof existing.metadata.jwks_uri === 'string' ? existing.metadata.jwks_uri : undefined,
  });
  const defaultScope = existing.metadata.default_scope;
  if (typeof defaultScope === 'string') defaultsMetadata({ defaultScope }, parseScopeList(scope));
  const client: Client = { ...existing, clientName: valid.clientName, redirectUris: valid.redirectUris, scopes: valid.scopes };
  if (!(await ctx.storage.clients.update(client))) throw notFound('client');
  await recordAdminEvent(ctx, {
    type: 'client.updated',
    clientId,
    details: {
      redirect_uris: client.redirectUris,
      scope: client.scopes.join(' '),
      ...(client.clientName !== existing.clientName ? { client_name: client.clientName } : {}),
    },
  });
  return client;
}

/**
 * CR-02: a new client secret, shown once; only its digest is stored, and it replaces the previous
 * digest in one conditional update, so the previous secret stops authenticating at once (no overlap:
 * deploy the new secret, then rotate again if it leaked in between). Tokens already issued stay.
 * Records client.secret_rotated.
 */
export async function rotateClientSecret(ctx: AdminContext, clientId: string): Promise<{ clientSecret: string }> {
  const client = await findClient(ctx, clientId);
  if (client.isPublic || client.secretHash === null || KEY_AUTH_METHODS.includes(client.authMethod)) {
    throw conflict('this client authenticates without a client secret');
  }
  const clientSecret = randomToken(32);
  if (!(await ctx.storage.clients.setSecretHash(clientId, sha256(clientSecret), client.secretHash))) {
    throw conflict('the client secret changed while it was being rotated; try again');
  }
  await recordAdminEvent(ctx, { type: 'client.secret_rotated', clientId, details: { client_name: client.clientName } });
  return { clientSecret };
}

/**
 * Disables a client: it can no longer authenticate or start an authorization (every endpoint treats
 * it as unknown), its access tokens are inactive and its refresh-token families, codes and device
 * codes are revoked. Grants stay for when it is enabled again. Records admin.client_disabled / _enabled.
 */
export async function setClientDisabled(ctx: AdminContext, clientId: string, disabled: boolean): Promise<Record<string, unknown>> {
  const client = await findClient(ctx, clientId);
  const revoked = await atomically(ctx.storage, async (tx) => {
    await tx.clients.setDisabled(clientId, disabled);
    return disabled ? revokeSelected(tx, { clientId }, ctx.now) : { families: 0, accessTokens: 0, codes: 0, deviceCodes: 0 };
  });
  await recordAdminEvent(ctx, {
    type: disabled ? 'admin.client_disabled' : 'admin.client_enabled',
    clientId,
    details: { families: revoked.families, access_tokens: revoked.accessTokens, codes_voided: revoked.codes },
  });
  return clientView({ ...client, disabled });
}

export async function removeClient(ctx: AdminContext, clientId: string): Promise<LifecycleResult> {
  const result = await deleteClient(lifecycleDeps(ctx), clientId);
  if (!result) throw notFound('client');
  return result;
}
