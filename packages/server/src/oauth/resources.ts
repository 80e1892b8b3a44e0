// RFC 8707 (resource indicators): the APIs tokens are minted for. A resource is registered by the
// operator with its URI (the `aud` of its tokens), a name, its scopes and their plain words.
//
// The rules, in one place:
// - `resource` may repeat; each value must be an absolute URI without a fragment (RFC 8707 §2) and a
//   registered resource, else `invalid_target`.
// - A client may ask for a resource when the resource has no scopes, or when the client's registered
//   scopes include at least one of the resource's scopes.
// - With `resource`, every requested scope other than the OpenID Connect ones must be offered by one of
//   the requested resources (else `invalid_scope`), and an access token carries `aud` = exactly the
//   resources it is for and only the scopes those resources offer (no OpenID scope: such a token is not
//   for the authorization server's own userinfo endpoint).
// - Without `resource` the default audience applies, as before resources existed: the client's
//   registered default resources, else the server's `--access-token-audience` (the issuer by default);
//   the token carries the granted scope.
// - A resource may shorten the access-token lifetime (never lengthen it past --access-token-ttl, which
//   the key-retention arithmetic relies on) and choose the signing algorithm.
import { accessTokenAudience, type Config } from '../config/config.js';
import type { Client, ClientRepository, Resource, ResourceRepository } from '../storage/index.js';
import { randomToken, sha256 } from './crypto.js';
import { invalidClientMetadata, invalidScope, invalidTarget } from './errors.js';
import { SUPPORTED_SIGNING_ALGS, type SigningAlg } from './keys/key-store.js';
import type { Params } from './params.js';
import { describeScopes, isValidScopeToken, OIDC_SCOPES, type ScopeDescription } from './scopes.js';

export const RESOURCE_PARAMETER = 'resource';
export const DEFAULT_RESOURCE_SIGNING_ALG: SigningAlg = 'ES256';
const MAX_RESOURCE_URI_LENGTH = 2000;
const MAX_RESOURCES_PER_REQUEST = 10;

/** RFC 8707 §2: an absolute URI, no fragment. Returns undefined when the value is not one. */
export function parseResourceUri(value: string): string | undefined {
  if (value.length > MAX_RESOURCE_URI_LENGTH || value.includes('#') || /[\s<>"{}|\\^`\u0000-\u001f\u007f]/.test(value)) return undefined;
  try {
    const url = new URL(value);
    return url.protocol.length > 1 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a client may ask for tokens for this resource (see the rules above). */
export function clientMayUse(client: Pick<Client, 'scopes'>, resource: Pick<Resource, 'scopes'>): boolean {
  return resource.scopes.length === 0 || resource.scopes.some((s) => client.scopes.includes(s));
}

/**
 * The registered resources a request names with `resource`, checked for syntax, registration and the
 * client's right to use them. Empty when the request names none. Throws `invalid_target`.
 */
export async function requestedResources(
  params: Params,
  client: Pick<Client, 'scopes'>,
  repo: Pick<ResourceRepository, 'findMany'>,
): Promise<Resource[]> {
  const values = [...new Set(params.get(RESOURCE_PARAMETER) ?? [])];
  if (values.length === 0) return [];
  if (values.length > MAX_RESOURCES_PER_REQUEST) throw invalidTarget(`at most ${MAX_RESOURCES_PER_REQUEST} resources per request`);
  for (const value of values) {
    if (parseResourceUri(value) === undefined) throw invalidTarget('resource must be an absolute URI without a fragment');
  }
  const found = await repo.findMany(values);
  const byUri = new Map(found.map((r) => [r.uri, r]));
  return values.map((uri) => {
    const resource = byUri.get(uri);
    if (!resource) throw invalidTarget('the requested resource is not known to this server', { detail: uri });
    if (!clientMayUse(client, resource)) throw invalidTarget('this client may not request tokens for that resource', { detail: uri });
    return resource;
  });
}

/** With resources: every requested non-OpenID scope must be offered by one of them. */
export function assertScopesOffered(scopes: readonly string[], resources: readonly Resource[]): void {
  if (resources.length === 0) return;
  const offered = new Set(resources.flatMap((r) => r.scopes));
  const stray = scopes.filter((s) => !OIDC_SCOPES.has(s) && !offered.has(s));
  if (stray.length > 0) throw invalidScope('the requested scope is not offered by the requested resources');
}

/** At the token endpoint: the resources of the grant to mint for now (a subset, or all of them). */
export function narrowResources(params: Params, granted: readonly string[]): string[] {
  const asked = [...new Set(params.get(RESOURCE_PARAMETER) ?? [])];
  if (asked.length === 0) return [...granted];
  for (const uri of asked) {
    if (parseResourceUri(uri) === undefined) throw invalidTarget('resource must be an absolute URI without a fragment');
    if (!granted.includes(uri)) throw invalidTarget('the resource was not part of this authorization');
  }
  return asked;
}

/** Who an access token is for, with what scope, for how long, signed how. */
export interface TokenTarget {
  audience: string[];
  scopes: string[];
  ttl: number;
  alg: SigningAlg;
}

export type TargetConfig = Pick<Config, 'issuer' | 'accessTokenAudience' | 'accessTokenTtl'>;

/** The client's registered default resources (metadata `default_resources`). */
export function defaultResourcesOf(client: Pick<Client, 'metadata'>): string[] {
  const value = client.metadata.default_resources;
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The target of a token for explicit resources. */
export function resourceTarget(resources: readonly Resource[], scopes: readonly string[], config: TargetConfig): TokenTarget {
  const offered = new Set(resources.flatMap((r) => r.scopes));
  const algs = new Set(resources.map((r) => r.signingAlg));
  const ttls = resources.map((r) => r.accessTokenTtl ?? config.accessTokenTtl);
  return {
    audience: resources.map((r) => r.uri),
    scopes: scopes.filter((s) => offered.has(s)),
    ttl: Math.min(config.accessTokenTtl, ...ttls),
    alg: algs.size === 1 ? [...algs][0]! : DEFAULT_RESOURCE_SIGNING_ALG,
  };
}

/** The target of a token when no resource applies: the default audience, the granted scope. */
export function defaultTarget(client: Pick<Client, 'metadata'>, scopes: readonly string[], config: TargetConfig): TokenTarget {
  const perClient = defaultResourcesOf(client);
  return {
    audience: perClient.length > 0 ? perClient : accessTokenAudience(config),
    scopes: [...scopes],
    ttl: config.accessTokenTtl,
    alg: DEFAULT_RESOURCE_SIGNING_ALG,
  };
}

/**
 * The registered resources a code or refresh-token family was authorized for, in their order. A
 * resource deleted since the authorization makes the grant unusable for it: `invalid_target`.
 */
export async function grantResources(uris: readonly string[], repo: Pick<ResourceRepository, 'findMany'>): Promise<Resource[]> {
  if (uris.length === 0) return [];
  const found = new Map((await repo.findMany(uris)).map((r) => [r.uri, r]));
  return uris.map((uri) => {
    const resource = found.get(uri);
    if (!resource) throw invalidTarget('a resource of this authorization is no longer registered', { detail: uri });
    return resource;
  });
}

/** At the token endpoint: the target for the grant's resources, narrowed by `resource` (or the default). */
export function grantTarget(
  params: Params,
  client: Pick<Client, 'metadata'>,
  granted: readonly Resource[],
  scopes: readonly string[],
  config: TargetConfig,
): TokenTarget {
  if (granted.length === 0) {
    narrowResources(params, []);
    return defaultTarget(client, scopes, config);
  }
  const chosen = new Set(
    narrowResources(
      params,
      granted.map((r) => r.uri),
    ),
  );
  return resourceTarget(
    granted.filter((r) => chosen.has(r.uri)),
    scopes,
    config,
  );
}

/**
 * What a consent covers. OpenID scopes are about the account and stand alone; a resource's scope is
 * consented per resource (`URI#scope`: several resources may use the same scope names, and a URI
 * has no fragment, so the form is unambiguous); a scope asked for without a resource stands alone.
 */
export function consentItems(scopes: readonly string[], resources: readonly Pick<Resource, 'uri' | 'scopes'>[]): string[] {
  if (resources.length === 0) return [...scopes];
  const items: string[] = [];
  for (const scope of scopes) {
    if (OIDC_SCOPES.has(scope)) items.push(scope);
    else for (const r of resources) if (r.scopes.includes(scope)) items.push(`${r.uri}#${scope}`);
  }
  return items;
}

/** One block of the consent page: who asks for what, in plain words. */
export interface ConsentGroup {
  /** account: the OpenID scopes; resource: one API; other: scopes no registered API describes. */
  kind: 'account' | 'resource' | 'other';
  /** The API's name (kind resource). */
  resourceName: string | undefined;
  /** The resource URI (shown so that the user sees where the access goes). */
  resourceUri: string | undefined;
  scopes: (ScopeDescription & { item: string })[];
}

/**
 * The consent page's blocks: the OpenID scopes (the account), then one block per API. With `resource`
 * the APIs are the requested ones; without it a scope is shown under the first registered resource
 * that offers it (with its plain words), and scopes no resource offers come last, by name.
 */
export function consentGroups(scopes: readonly string[], requested: readonly Resource[], registered: readonly Resource[]): ConsentGroup[] {
  const account = describeScopes(scopes.filter((s) => OIDC_SCOPES.has(s))).map((d) => ({ ...d, item: d.scope }));
  const groups: ConsentGroup[] =
    account.length > 0 ? [{ kind: 'account', resourceName: undefined, resourceUri: undefined, scopes: account }] : [];
  const others = scopes.filter((s) => !OIDC_SCOPES.has(s));
  const block = (r: Resource, list: readonly string[], qualified: boolean): ConsentGroup => ({
    kind: 'resource',
    resourceName: r.name,
    resourceUri: r.uri,
    scopes: list.map((scope) => ({ scope, description: r.scopeDescriptions[scope], item: qualified ? `${r.uri}#${scope}` : scope })),
  });
  if (requested.length > 0) {
    for (const r of requested) {
      const list = others.filter((s) => r.scopes.includes(s));
      if (list.length > 0 || r.scopes.length === 0) groups.push(block(r, list, true));
    }
    return groups;
  }
  const placed = new Map<Resource, string[]>();
  const unplaced: string[] = [];
  for (const scope of others) {
    const owner = registered.find((r) => r.scopes.includes(scope));
    if (owner) placed.set(owner, [...(placed.get(owner) ?? []), scope]);
    else unplaced.push(scope);
  }
  for (const [r, list] of placed) groups.push(block(r, list, false));
  if (unplaced.length > 0)
    groups.push({
      kind: 'other',
      resourceName: undefined,
      resourceUri: undefined,
      scopes: unplaced.map((scope) => ({ scope, description: undefined, item: scope })),
    });
  return groups;
}

/**
 * What a stored grant (consent items, consentItems) allows, in the consent page's blocks: the account
 * page's "connected apps". Items of a resource (`URI#scope`) go under that resource; an item of a
 * resource that is no longer registered is shown by name.
 */
export function grantGroups(items: readonly string[], registered: readonly Resource[]): ConsentGroup[] {
  const plain: string[] = [];
  const byResource = new Map<string, string[]>();
  for (const item of items) {
    const hash = item.indexOf('#');
    if (hash < 0) plain.push(item);
    else byResource.set(item.slice(0, hash), [...(byResource.get(item.slice(0, hash)) ?? []), item.slice(hash + 1)]);
  }
  const groups = consentGroups(plain, [], registered);
  const gone: string[] = [];
  for (const [uri, scopes] of byResource) {
    const resource = registered.find((r) => r.uri === uri);
    if (resource) groups.push(...consentGroups(scopes, [resource], []));
    else gone.push(...scopes);
  }
  if (gone.length > 0)
    groups.push({
      kind: 'other',
      resourceName: undefined,
      resourceUri: undefined,
      scopes: gone.map((scope) => ({ scope, description: undefined, item: scope })),
    });
  return groups;
}

// ---------------------------------------------------------------------------------------------------
// Registration (the `gatehouse resources` commands call these).

export interface ResourceInput {
  uri: string;
  name?: string | undefined;
  scopes?: readonly string[] | undefined;
  scopeDescriptions?: Readonly<Record<string, string>> | undefined;
  accessTokenTtl?: number | null | undefined;
  signingAlg?: string | undefined;
  mayIntrospect?: boolean | undefined;
}

export interface IntrospectionCredentials {
  clientId: string;
  clientSecret: string;
}

export interface RegisteredResource {
  resource: Resource;
  /** Shown once; only the secret's digest is stored. */
  credentials: IntrospectionCredentials | undefined;
}

export class ResourceError extends Error {}

function validName(name: string | undefined, uri: string): string {
  const value = (name ?? new URL(uri).host ?? uri).trim() || uri;
  if (value.length > 200) throw invalidClientMetadata('a resource name has at most 200 characters');
  return value;
}

function validScopes(scopes: readonly string[], descriptions: Readonly<Record<string, string>>): void {
  for (const s of scopes) {
    if (!isValidScopeToken(s)) throw invalidClientMetadata(`invalid scope token: ${JSON.stringify(s)}`);
    if (OIDC_SCOPES.has(s)) throw invalidClientMetadata(`${s} is an OpenID Connect scope of the authorization server, not of a resource`);
  }
  for (const [scope, words] of Object.entries(descriptions)) {
    if (!scopes.includes(scope))
      throw invalidClientMetadata(`a description was given for ${scope}, which the resource does not list in its scopes`);
    if (words.trim().length === 0 || words.length > 200)
      throw invalidClientMetadata(`the description of ${scope} must have 1 to 200 characters`);
  }
}

function validAlg(alg: string | undefined): SigningAlg {
  const value = alg ?? DEFAULT_RESOURCE_SIGNING_ALG;
  if (!(SUPPORTED_SIGNING_ALGS as readonly string[]).includes(value)) {
    throw invalidClientMetadata(`the signing algorithm must be one of ${SUPPORTED_SIGNING_ALGS.join(', ')}`);
  }
  return value as SigningAlg;
}

function validTtl(ttl: number | null | undefined): number | null {
  if (ttl === undefined || ttl === null) return null;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400) throw invalidClientMetadata('the access-token lifetime is 1 to 86400 seconds');
  return ttl;
}

/** The client row that holds a resource's introspection credentials (no grant may use it). */
function introspectionClient(resource: Pick<Resource, 'uri' | 'name'>, now: number): { client: Client; secret: string } {
  let clientId = `rs_${randomToken(16)}`;
  while (clientId.includes('-')) clientId = `rs_${randomToken(16)}`;
  const secret = randomToken(32);
  return {
    secret,
    client: {
      clientId,
      clientName: `${resource.name} (resource server)`,
      secretHash: sha256(secret),
      redirectUris: [],
      grantTypes: [],
      scopes: [],
      authMethod: 'client_secret_basic',
      isPublic: false,
      metadata: { resource_server: resource.uri },
      createdAt: now,
    },
  };
}

export interface ResourceStorage {
  resources: ResourceRepository;
  clients: ClientRepository;
  transaction<T>(fn: (tx: { resources: ResourceRepository; clients: ClientRepository }) => Promise<T>): Promise<T>;
}

export async function registerResource(storage: ResourceStorage, input: ResourceInput, now: number): Promise<RegisteredResource> {
  const uri = parseResourceUri(input.uri);
  if (uri === undefined) throw invalidTarget('the resource URI must be an absolute URI without a fragment (RFC 8707 §2)');
  const scopes = [...new Set(input.scopes ?? [])];
  const scopeDescriptions = { ...(input.scopeDescriptions ?? {}) };
  validScopes(scopes, scopeDescriptions);
  const base = {
    uri,
    name: validName(input.name, uri),
    scopes,
    scopeDescriptions,
    accessTokenTtl: validTtl(input.accessTokenTtl),
    signingAlg: validAlg(input.signingAlg),
    mayIntrospect: input.mayIntrospect ?? true,
    createdAt: now,
    updatedAt: now,
  };
  const credentials = base.mayIntrospect ? introspectionClient(base, now) : undefined;
  const resource: Resource = { ...base, introspectionClientId: credentials?.client.clientId ?? null };
  return storage.transaction(async (tx) => {
    if (await tx.resources.find(uri)) throw new ResourceError(`a resource ${uri} is already registered`);
    if (credentials) await tx.clients.create(credentials.client);
    await tx.resources.create(resource);
    return { resource, credentials: credentials && { clientId: credentials.client.clientId, clientSecret: credentials.secret } };
  });
}

export interface ResourceChanges {
  name?: string | undefined;
  scopes?: readonly string[] | undefined;
  scopeDescriptions?: Readonly<Record<string, string>> | undefined;
  accessTokenTtl?: number | null | undefined;
  signingAlg?: string | undefined;
}

export async function updateResource(storage: ResourceStorage, uri: string, changes: ResourceChanges, now: number): Promise<Resource> {
  const current = await storage.resources.find(uri);
  if (!current) throw new ResourceError(`no resource ${uri} is registered`);
  const scopes = changes.scopes !== undefined ? [...new Set(changes.scopes)] : current.scopes;
  const merged = { ...current.scopeDescriptions, ...(changes.scopeDescriptions ?? {}) };
  // Descriptions of scopes the resource no longer lists are dropped with them.
  const scopeDescriptions = Object.fromEntries(Object.entries(merged).filter(([s]) => scopes.includes(s)));
  if (changes.scopeDescriptions) validScopes(scopes, { ...changes.scopeDescriptions });
  validScopes(scopes, scopeDescriptions);
  const updated: Resource = {
    ...current,
    name: changes.name !== undefined ? validName(changes.name, uri) : current.name,
    scopes,
    scopeDescriptions,
    accessTokenTtl: changes.accessTokenTtl !== undefined ? validTtl(changes.accessTokenTtl) : current.accessTokenTtl,
    signingAlg: changes.signingAlg !== undefined ? validAlg(changes.signingAlg) : current.signingAlg,
    updatedAt: now,
  };
  await storage.resources.update(updated);
  return updated;
}

/** Deletes a resource and its introspection credentials. Tokens already minted for it stay valid until they expire. */
export async function deleteResource(storage: ResourceStorage, uri: string): Promise<boolean> {
  return storage.transaction(async (tx) => {
    const current = await tx.resources.find(uri);
    if (!current) return false;
    await tx.resources.delete(uri);
    if (current.introspectionClientId) await tx.clients.delete(current.introspectionClientId);
    return true;
  });
}

/** The registered view of a resource (never the secret). */
export function resourceView(resource: Resource): Record<string, unknown> {
  return {
    uri: resource.uri,
    name: resource.name,
    scope: resource.scopes.join(' '),
    scope_descriptions: resource.scopeDescriptions,
    access_token_ttl: resource.accessTokenTtl,
    signing_alg: resource.signingAlg,
    introspection: resource.mayIntrospect,
    introspection_client_id: resource.introspectionClientId,
    created_at: resource.createdAt,
    updated_at: resource.updatedAt,
  };
}
