// RFC 8693 (OAuth 2.0 Token Exchange) §2.1, §2.2, §4.1: a confidential client, typically an API that
// received a user's access token, exchanges that token (the subject token) for one meant for another
// resource, to call it on the user's behalf. The policy, in one place:
//
// - Which client may exchange for which resource is the operator's: `gatehouse clients create
//   --token-exchange-resource URI` (client metadata `token_exchange_resources`). Dynamic registration
//   cannot set it (RFC 7591 metadata of that name is ignored), so a self-registered client that
//   registers this grant can exchange for nothing. Every `resource`/`audience` must be a registered
//   resource on the client's list, else `invalid_target` (RFC 8693 §2.2.2); one is required.
// - The subject token (and the actor token, if any) is a live access token of this server: our
//   signature and issuer, not expired, not revoked, its user still enabled (tokens/status.ts); else
//   `invalid_grant`. The subject token is a user's (a client's own client_credentials token has no
//   user to act for). Only the token type `urn:ietf:params:oauth:token-type:access_token` is taken and
//   issued (`requested_token_type`, `issued_token_type`).
// - Delegation (§4.1): the new token says who acts with an `act` claim, `{ sub, client_id }` of the
//   actor, and keeps the subject token's own `act` nested inside it (the chain of earlier actors). The
//   actor is the subject of `actor_token`, which must have been issued to the requesting client (a
//   client names itself or one of its own tokens, never somebody else's); without one the requesting
//   client itself is the actor.
// - Impersonation (a token without a new `act`, as if issued to the subject directly) is off: only a
//   client registered with `--token-exchange-impersonation` gets it, and only when it sends no
//   `actor_token`. An `act` the subject token already had is kept even then: an exchange never
//   hides an earlier delegation.
// - Scope: at most the subject token's (a wider `scope` is `invalid_scope`), and only what the target
//   resources offer. Without `scope`, the subject token's scopes that the resources offer.
// - Lifetime: never past the subject token's `exp`, so that chained exchanges cannot prolong access.
// - No refresh token is ever issued by an exchange: the caller exchanges again while the subject
//   token lives.
// - DPoP (RFC 9449; RFC 8693 says nothing): a request with a DPoP proof gets a token bound to the
//   proof's key (cnf.jkt, token_type DPoP). A DPoP-bound subject token is exchanged only with a proof
//   (a sender-constrained token is never turned into a bearer token; the new one is bound to the
//   caller's key, as the caller cannot hold the user's), and a DPoP-bound actor token only with a proof
//   of its own key (it was issued to this client for that key).
import type { Config } from '../../config/config.js';
import type { Client, Resource, Storage } from '../../storage/index.js';
import { invalidGrant, invalidRequest, invalidScope, invalidTarget, unauthorizedClient } from '../errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { required, single, type Params } from '../params.js';
import { parseResourceUri, resourceTarget, RESOURCE_PARAMETER } from '../resources.js';
import { formatScope, isSubset, parseScope } from '../scopes.js';
import { mintAccessToken, type AccessTokenClaims, type ActorClaim } from '../tokens/jwt.js';
import { activeAccessToken } from '../tokens/status.js';
import type { GrantHandler, TokenResponse } from './types.js';
import { tokenTypeOf } from './issue.js';

/** RFC 8693 §3: the one token type taken and issued. */
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Client metadata: the resources the client may exchange tokens for (set by the operator only). */
export const TOKEN_EXCHANGE_RESOURCES = 'token_exchange_resources';
/** Client metadata: the client may impersonate (explicit opt-out of delegation-only). */
export const TOKEN_EXCHANGE_IMPERSONATION = 'token_exchange_impersonation';
/** RFC 8693 §2.1 `audience`: here, like `resource`, the URI of a registered resource. */
export const AUDIENCE_PARAMETER = 'audience';
/** Bounds the nested `act` chain (and with it the size of the tokens) of repeated exchanges. */
export const MAX_ACT_DEPTH = 5;
const MAX_TARGETS = 10;

export interface TokenExchangeDeps {
  config: Pick<Config, 'issuer' | 'accessTokenTtl' | 'accessTokenAudience'>;
  keys: KeyStore;
  storage: Pick<Storage, 'resources' | 'revokedAccessTokens' | 'refreshTokens' | 'users'>;
}

/** The resources the operator allowed this client to exchange tokens for. */
export function tokenExchangeResourcesOf(client: Pick<Client, 'metadata'>): string[] {
  const value = client.metadata[TOKEN_EXCHANGE_RESOURCES];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** Whether the operator let this client impersonate (issue tokens without naming itself as actor). */
export function mayImpersonate(client: Pick<Client, 'metadata'>): boolean {
  return client.metadata[TOKEN_EXCHANGE_IMPERSONATION] === true;
}

/** RFC 8693 §2.2.2: the registered resources named by `resource` and `audience`, each allowed for the client. */
async function targetResources(params: Params, client: Client, storage: TokenExchangeDeps['storage']): Promise<Resource[]> {
  const uris = [...new Set([...(params.get(RESOURCE_PARAMETER) ?? []), ...(params.get(AUDIENCE_PARAMETER) ?? [])])];
  if (uris.length === 0) throw invalidRequest('resource or audience is required: name the API the new token is for');
  if (uris.length > MAX_TARGETS) throw invalidTarget(`at most ${MAX_TARGETS} resources per request`);
  for (const uri of uris)
    if (parseResourceUri(uri) === undefined) throw invalidTarget('resource must be an absolute URI without a fragment');
  const allowed = tokenExchangeResourcesOf(client);
  for (const uri of uris) {
    if (!allowed.includes(uri)) throw invalidTarget('this client may not exchange tokens for that resource', { detail: uri });
  }
  const found = new Map((await storage.resources.findMany(uris)).map((r) => [r.uri, r]));
  return uris.map((uri) => {
    const resource = found.get(uri);
    if (!resource) throw invalidTarget('the requested resource is not known to this server', { detail: uri });
    return resource;
  });
}

function tokenType(params: Params, name: string): void {
  const value = single(params, name);
  if (value !== undefined && value !== ACCESS_TOKEN_TYPE) throw invalidRequest(`unsupported ${name}: only ${ACCESS_TOKEN_TYPE}`);
}

/** A live access token of ours, else invalid_grant (the public description never says why). */
async function liveToken(deps: TokenExchangeDeps, token: string, now: number, which: string): Promise<AccessTokenClaims> {
  const claims = await activeAccessToken({ keys: deps.keys, issuer: deps.config.issuer, storage: deps.storage }, token, now);
  if (!claims) throw invalidGrant(`the ${which} is invalid, expired or revoked`);
  return claims;
}

/** RFC 9449 §6.1: the key thumbprint a token is bound to (cnf.jkt), if any. */
function boundKeyOf(claims: AccessTokenClaims): string | undefined {
  const cnf = claims.cnf as { jkt?: unknown } | undefined;
  return typeof cnf?.jkt === 'string' ? cnf.jkt : undefined;
}

function isActor(value: unknown): value is ActorClaim {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as ActorClaim).sub === 'string';
}

function actDepth(act: ActorClaim | undefined): number {
  let depth = 0;
  for (let a: unknown = act; isActor(a); a = a.act) depth++;
  return depth;
}

/** §4.1: the actor first, the subject token's chain nested inside it. */
function delegation(actor: { sub: string; client_id: string }, prior: ActorClaim | undefined): ActorClaim {
  return prior ? { sub: actor.sub, client_id: actor.client_id, act: prior } : { sub: actor.sub, client_id: actor.client_id };
}

export const tokenExchangeGrant = {
  grantType: 'urn:ietf:params:oauth:grant-type:token-exchange' as const,
  parameters: [
    'subject_token',
    'subject_token_type',
    'actor_token',
    'actor_token_type',
    'requested_token_type',
    'scope',
    RESOURCE_PARAMETER,
    AUDIENCE_PARAMETER,
  ],
  registration: { confidentialOnly: true },
  async handle({ params, client, now, dpopJkt }, deps): Promise<TokenResponse & { issued_token_type: string }> {
    if (client.isPublic) throw unauthorizedClient('public clients cannot exchange tokens');
    const subjectToken = required(params, 'subject_token');
    if (required(params, 'subject_token_type') !== ACCESS_TOKEN_TYPE)
      throw invalidRequest(`unsupported subject_token_type: only ${ACCESS_TOKEN_TYPE}`);
    tokenType(params, 'requested_token_type');
    const actorToken = single(params, 'actor_token');
    const actorTokenType = single(params, 'actor_token_type');
    if ((actorToken === undefined) !== (actorTokenType === undefined))
      throw invalidRequest('actor_token and actor_token_type go together (RFC 8693 §2.1)');
    tokenType(params, 'actor_token_type');

    const resources = await targetResources(params, client, deps.storage);
    const subject = await liveToken(deps, subjectToken, now, 'subject_token');
    // RFC 9449 + RFC 8693 (silent; our policy): a DPoP-bound subject token is never downgraded to a bearer
    // token. It is exchanged only with a DPoP proof, so the new token is bound too (to the caller's key).
    if (boundKeyOf(subject) !== undefined && dpopJkt === undefined)
      throw invalidGrant('a DPoP-bound subject_token is exchanged only with a DPoP proof', { detail: 'bound subject_token, no proof' });
    // A client's own token (client_credentials: sub = client_id) has no user to act for.
    if (subject.sub === subject.client_id) throw invalidGrant('the subject_token must be a token of a user');
    const prior = isActor(subject.act) ? subject.act : undefined;

    let act: ActorClaim | undefined;
    if (actorToken !== undefined) {
      const actor = await liveToken(deps, actorToken, now, 'actor_token');
      if (actor.client_id !== client.clientId) throw invalidGrant('the actor_token was not issued to this client');
      // A DPoP-bound actor token was issued to this client for its own key: the proof must be of that key.
      const actorKey = boundKeyOf(actor);
      if (actorKey !== undefined && actorKey !== dpopJkt)
        throw invalidGrant('the actor_token is DPoP-bound: send a proof of its key', { detail: 'actor_token key mismatch' });
      act = delegation(actor, prior);
    } else if (mayImpersonate(client)) {
      act = prior;
    } else {
      act = delegation({ sub: client.clientId, client_id: client.clientId }, prior);
    }
    if (actDepth(act) > MAX_ACT_DEPTH) throw invalidRequest(`a delegation chain has at most ${MAX_ACT_DEPTH} actors`);

    const held = parseScope(subject.scope);
    const asked = single(params, 'scope');
    const requested = asked === undefined ? held : parseScope(asked);
    if (!isSubset(requested, held)) throw invalidScope('the requested scope exceeds the scope of the subject_token');
    const offered = new Set(resources.flatMap((r) => r.scopes));
    if (asked !== undefined && requested.some((s) => !offered.has(s)))
      throw invalidScope('the requested scope is not offered by the requested resources');
    const target = resourceTarget(resources, requested, deps.config);
    if (target.scopes.length === 0 && offered.size > 0)
      throw invalidScope('the subject_token has no scope that the requested resources offer');

    const ttl = Math.min(target.ttl, subject.exp - now);
    const scope = formatScope(target.scopes);
    const access = await mintAccessToken(deps.keys, {
      issuer: deps.config.issuer,
      alg: target.alg,
      audience: target.audience,
      ttl,
      subject: subject.sub,
      clientId: client.clientId,
      scope,
      now,
      authTime: typeof subject.auth_time === 'number' ? subject.auth_time : undefined,
      sid: typeof subject.sid === 'string' ? subject.sid : undefined,
      act,
      // RFC 9449 §5: bound to the key of the request's proof, like every other grant's tokens.
      jkt: dpopJkt,
    });
    return { access_token: access.token, issued_token_type: ACCESS_TOKEN_TYPE, token_type: tokenTypeOf(access), expires_in: ttl, scope };
  },
} satisfies GrantHandler<TokenExchangeDeps>;
