// RFC 7662 §2.2, §4: what the introspection endpoint says about a token.
// Policy (RFC 7662 §4 leaves it to the server): a client may introspect only tokens issued to itself,
// and a registered resource (with the introspection credentials it got at registration) only the
// access tokens whose aud includes it. Everything that is not an active token of the caller — unknown, malformed, expired, revoked, rotated,
// issued to another client, or belonging to a disabled user — gets exactly `{"active":false}`, so the
// answer never tells a caller why a token is inactive or that it belongs to someone else.
import type { AccessTokenClaims } from './jwt.js';
import { lookupOrder } from './hint.js';
import { activeAccessToken, activeRefreshTokenOfEnabledUser, type TokenStatusDeps } from './status.js';
import type { RefreshToken } from '../../storage/index.js';
import { formatScope } from '../scopes.js';

export interface InactiveToken {
  active: false;
}

export interface ActiveToken {
  active: true;
  scope: string;
  client_id: string;
  sub: string;
  aud?: string | string[];
  iss: string;
  exp: number;
  iat: number;
  jti?: string;
  token_type: 'Bearer' | 'DPoP' | 'refresh_token';
  /** RFC 9449 §6.2: the DPoP key a bound access token is bound to. */
  cnf?: { jkt: string };
  auth_time?: number;
  sid?: string;
  /** RFC 8693 §4.1: the actor chain of a token issued by token exchange. */
  act?: AccessTokenClaims['act'];
}

export type IntrospectionResponse = InactiveToken | ActiveToken;

export interface IntrospectionRequest {
  token: string;
  hint: string | undefined;
  /** The authenticated caller: a client, which sees its own tokens... */
  clientId: string;
  /** ...or a resource server (RFC 7662 §2.1, AU-03), which sees the access tokens whose aud includes it. */
  resource?: string | undefined;
  now: number;
}

const inactive = (): InactiveToken => ({ active: false });

function fromAccessToken(claims: AccessTokenClaims): ActiveToken {
  const out: ActiveToken = {
    active: true,
    scope: claims.scope,
    client_id: claims.client_id,
    sub: claims.sub,
    iss: claims.iss,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    token_type: 'Bearer',
  };
  if (claims.aud !== undefined) out.aud = claims.aud;
  if (typeof claims.auth_time === 'number') out.auth_time = claims.auth_time;
  if (typeof claims.sid === 'string' && claims.sid.length > 0) out.sid = claims.sid;
  if (claims.cnf && typeof claims.cnf.jkt === 'string') {
    out.cnf = { jkt: claims.cnf.jkt };
    out.token_type = 'DPoP';
  }
  if (typeof claims.act === 'object' && claims.act !== null) out.act = claims.act;
  return out;
}

/** A refresh token is presented only to us, so its audience is the issuer. It has no jti of its own;
 * its expiry is the sooner of the absolute and the idle expiry. */
function fromRefreshToken(token: RefreshToken, issuer: string): ActiveToken {
  const out: ActiveToken = {
    active: true,
    scope: formatScope(token.scopes),
    client_id: token.clientId,
    sub: token.userId,
    aud: issuer,
    iss: issuer,
    exp: Math.min(token.expiresAt, token.idleExpiresAt),
    iat: token.createdAt,
    token_type: 'refresh_token',
    auth_time: token.authTime,
  };
  if (token.sid) out.sid = token.sid;
  return out;
}

async function findActive(
  deps: TokenStatusDeps,
  kind: 'access_token' | 'refresh_token',
  token: string,
  now: number,
): Promise<ActiveToken | undefined> {
  if (kind === 'access_token') {
    const claims = await activeAccessToken(deps, token, now);
    return claims ? fromAccessToken(claims) : undefined;
  }
  // As the refresh grant does: a disabled or deleted user's refresh token cannot be used.
  const stored = await activeRefreshTokenOfEnabledUser(deps, token, now);
  return stored ? fromRefreshToken(stored, deps.issuer) : undefined;
}

/** Storage errors propagate (the app answers 503); they never turn into `active:false`. */
export async function introspectToken(deps: TokenStatusDeps, request: IntrospectionRequest): Promise<IntrospectionResponse> {
  if (request.resource !== undefined) {
    // A resource server: only access tokens minted for it; refresh tokens are for the authorization server.
    const found = await findActive(deps, 'access_token', request.token, request.now);
    const audience = found ? (Array.isArray(found.aud) ? found.aud : [found.aud]) : [];
    return found && audience.includes(request.resource) ? found : inactive();
  }
  for (const kind of lookupOrder(request.hint)) {
    const found = await findActive(deps, kind, request.token, request.now);
    if (found) return found.client_id === request.clientId ? found : inactive();
  }
  return inactive();
}
