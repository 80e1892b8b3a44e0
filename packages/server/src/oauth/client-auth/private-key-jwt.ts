// RFC 7523 §2.2 and §3, RFC 7521 §4.2, OIDC Core §9: private_key_jwt. The client signs a short-lived
// JWT with a key whose public half it registered (jwks or jwks_uri) and sends it as client_assertion.
// Accepted only when (CA-07, PJ-01, JW-01..JW-04):
//   - client_assertion_type is urn:ietf:params:oauth:client-assertion-type:jwt-bearer;
//   - the signature verifies with a key of the client's registered set, chosen by kid (or, without
//     kid, by key type), never by a key carried in the header; the algorithm is asymmetric and on
//     ASSERTION_SIGNING_ALGS (never `none`, never HS* over a public key);
//   - iss = sub = client_id; aud is the issuer identifier as a single string (the token endpoint URL
//     and arrays are refused: a client that uses the endpoint URL as audience can be tricked into
//     signing assertions for another server, CVE-2025-27370/27371);
//   - exp is present, not past (30 s leeway), and at most MAX_ASSERTION_LIFETIME seconds ahead; when
//     iat is present, exp - iat is at most that too; nbf, when present, is not in the future;
//   - jti is present and has not been seen for this client (a replay cache in the database).
import { createLocalJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { Client } from '../../storage/index.js';
import { ASSERTION_SIGNING_ALGS, registeredJwksOf, registeredJwksUriOf, usableJwksOf, type ClientJwks } from '../client-keys.js';
import { sha256 } from '../crypto.js';
import { invalidRequest, OAuthError } from '../errors.js';
import { single } from '../params.js';
import { ClientAuthFailure, type ClientAuthContext, type ClientAuthStrategy, type Presented } from './types.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The longest an assertion may live: exp at most this far from now (and from iat). */
export const MAX_ASSERTION_LIFETIME = 300;
/** Leeway for clock differences (JW-05: at most 60 s). */
export const ASSERTION_CLOCK_TOLERANCE = 30;
/** JW-04: larger assertions are refused before they are decoded. */
const MAX_ASSERTION_LENGTH = 16 * 1024;
const MAX_JTI_LENGTH = 256;

async function keysOf(client: Client, context: ClientAuthContext): Promise<ClientJwks> {
  const inline = registeredJwksOf(client);
  if (inline) return inline;
  const uri = registeredJwksUriOf(client);
  if (uri === undefined) throw new ClientAuthFailure('the client registered no keys');
  if (!context.fetchJwks) throw new ClientAuthFailure('jwks_uri cannot be fetched by this server');
  let document: unknown;
  try {
    document = await context.fetchJwks(uri);
  } catch (e) {
    throw new ClientAuthFailure(`jwks_uri could not be fetched: ${(e as Error).message}`);
  }
  try {
    return usableJwksOf(document);
  } catch (e) {
    throw new ClientAuthFailure(`jwks_uri does not hold a usable JWK Set: ${e instanceof OAuthError ? e.description : String(e)}`);
  }
}

export const privateKeyJwt = {
  method: 'private_key_jwt' as const,
  confidential: true,
  usesKeys: true,
  uses: (request) => request.params.has('client_assertion') || request.params.has('client_assertion_type'),
  extract(request): Presented {
    const type = single(request.params, 'client_assertion_type');
    const assertion = single(request.params, 'client_assertion');
    if (type === undefined || assertion === undefined)
      throw invalidRequest('client_assertion and client_assertion_type must be sent together');
    if (type !== CLIENT_ASSERTION_TYPE) throw new ClientAuthFailure(`unsupported client_assertion_type ${type.slice(0, 100)}`);
    if (assertion.length > MAX_ASSERTION_LENGTH) throw new ClientAuthFailure('client assertion too large');
    let claims: JWTPayload;
    try {
      claims = decodeJwt(assertion);
    } catch {
      throw new ClientAuthFailure('malformed client assertion');
    }
    if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw new ClientAuthFailure('client assertion without sub');
    if (claims.iss !== claims.sub) throw new ClientAuthFailure('client assertion iss differs from sub');
    const bodyId = single(request.params, 'client_id');
    if (bodyId !== undefined && bodyId !== claims.sub) throw invalidRequest('client_id does not match the client assertion');
    return { clientId: claims.sub, assertion };
  },
  async verify(presented, client, context) {
    if (!client || !context || presented.assertion === undefined) return false;
    // Checked here as well as by the caller, so that an assertion for a client of another method spends no jti.
    if (client.authMethod !== privateKeyJwt.method) return false;
    const jwks = await keysOf(client, context);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(presented.assertion, createLocalJWKSet(jwks), {
        algorithms: [...ASSERTION_SIGNING_ALGS],
        issuer: client.clientId,
        subject: client.clientId,
        audience: context.issuer,
        clockTolerance: ASSERTION_CLOCK_TOLERANCE,
        currentDate: new Date(context.now * 1000),
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
      }));
    } catch (e) {
      throw new ClientAuthFailure(
        `client assertion refused: ${(e as { code?: string }).code ?? 'error'} ${(e as Error).message}`.slice(0, 300),
      );
    }
    if (typeof payload.aud !== 'string') throw new ClientAuthFailure('client assertion aud must be a single string');
    const exp = payload.exp!;
    if (exp > context.now + MAX_ASSERTION_LIFETIME + ASSERTION_CLOCK_TOLERANCE)
      throw new ClientAuthFailure('client assertion exp too far in the future');
    if (typeof payload.iat === 'number' && exp - payload.iat > MAX_ASSERTION_LIFETIME)
      throw new ClientAuthFailure('client assertion lives too long (exp - iat)');
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH)
      throw new ClientAuthFailure('client assertion jti missing or too long');
    // Kept until the assertion could no longer be accepted anyway; the sweep removes it later.
    const fresh = await context.jtis.record(sha256(JSON.stringify([client.clientId, jti])), exp + ASSERTION_CLOCK_TOLERANCE);
    if (!fresh) throw new ClientAuthFailure('client assertion jti replayed');
    return true;
  },
} satisfies ClientAuthStrategy;
