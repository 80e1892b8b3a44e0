// RFC 6749 §4.1.2 (issuing a code) and §4.1.3, RFC 7636 §4.6, OAuth 2.1 §4.1.3 (redeeming it).
// A code is bound to its client, redirect_uri, PKCE challenge, scope, nonce and user. It is redeemed
// with one conditional update in one transaction, so two concurrent redemptions cannot both win; a
// reused code revokes everything issued from it (AC-01).
import type { Config } from '../../config/config.js';
import type { Storage } from '../../storage/index.js';
import type { AuthorizationRequest } from '../authorization-request.js';
import { authorizationResponseUrl } from '../authorization-response.js';
import { randomToken, sha256 } from '../crypto.js';
import { invalidGrant, invalidRequest } from '../errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { required, single } from '../params.js';
import { isValidVerifier, verifierMatches } from '../pkce.js';
import { consentItems, grantResources, grantTarget, RESOURCE_PARAMETER } from '../resources.js';
import { isSubset } from '../scopes.js';
import { assertCodeBinding } from '../dpop.js';
import { revokeFamily } from '../tokens/revocation.js';
import { recordGrantUse, redeemOnce, type TokenConfig } from './issue.js';
import type { GrantDeps, GrantHandler, TokenResponse } from './types.js';

export interface SignIn {
  userId: string;
  authTime: number;
  sid: string | null;
  /** RFC 8176: how the user authenticated, and the acr it reached (oauth/two-factor/acr.ts). */
  amr?: readonly string[] | undefined;
  acr?: string | undefined;
}

/** Issues a one-time code for a validated request; returns the URL that sends the browser back. */
export async function issueCode(
  deps: { config: Pick<Config, 'issuer' | 'codeTtl'>; storage: Pick<Storage, 'codes'> },
  request: AuthorizationRequest,
  signIn: SignIn,
  now: number,
): Promise<string> {
  const code = randomToken();
  await deps.storage.codes.create({
    codeHash: sha256(code),
    familyId: randomToken(16),
    clientId: request.clientId,
    userId: signIn.userId,
    redirectUri: request.redirectUri,
    redirectUriProvided: request.redirectUriProvided,
    scopes: request.scopes,
    resources: request.resources,
    codeChallenge: request.codeChallenge ?? null,
    codeChallengeMethod: request.codeChallengeMethod ?? null,
    nonce: request.nonce ?? null,
    authTime: signIn.authTime,
    sid: signIn.sid,
    createdAt: now,
    expiresAt: now + deps.config.codeTtl,
    consumedAt: null,
    accessToken: null,
    ...(request.dpopJkt ? { dpopJkt: request.dpopJkt } : {}),
    amr: signIn.amr ?? null,
    acr: signIn.acr ?? null,
  });
  return authorizationResponseUrl(request.redirectUri, deps.config.issuer, { code, state: request.state });
}

export interface AuthorizationCodeDeps {
  config: TokenConfig;
  keys: KeyStore;
  storage: Pick<Storage, 'transaction' | 'codes' | 'users' | 'grants' | 'resources'>;
  events: GrantDeps['events'];
}

const MAX_CODE_LENGTH = 256;
const INVALID = 'the authorization code is invalid or expired';

export const authorizationCodeGrant = {
  grantType: 'authorization_code' as const,
  parameters: ['code', 'redirect_uri', 'code_verifier', RESOURCE_PARAMETER],
  registration: { byDefault: true, needsRedirectUri: true, issuesRefreshTokens: true, responseType: 'code' },
  async handle({ params, client, now, dpopJkt }, { config, keys, storage, events }): Promise<TokenResponse> {
    const code = required(params, 'code');
    const redirectUri = single(params, 'redirect_uri');
    const verifier = single(params, 'code_verifier');
    if (code.length > MAX_CODE_LENGTH) throw invalidGrant(INVALID);

    const codeHash = sha256(code);
    const stored = await storage.codes.findByHash(codeHash);
    if (!stored) throw invalidGrant(INVALID, { detail: 'unknown code' });
    // AC-03: a code presented by another client is simply invalid for that client.
    if (stored.clientId !== client.clientId) throw invalidGrant(INVALID, { detail: 'code of another client' });
    if (stored.consumedAt !== null) {
      await revokeFamily(storage, { familyId: stored.familyId, codeAccessToken: stored.accessToken }, now);
      await events.record({ type: 'code.reused', userId: stored.userId, clientId: client.clientId, details: { family: stored.familyId } });
      throw invalidGrant(INVALID, { detail: 'code reuse: tokens revoked' });
    }
    if (stored.expiresAt <= now) throw invalidGrant(INVALID, { detail: 'expired code' });
    // DP-01, RFC 9449 §10: a code issued for dpop_jkt is redeemed only with a proof of that key.
    assertCodeBinding(stored.dpopJkt, dpopJkt, 'the DPoP proof does not match the dpop_jkt of the authorization request');

    // RU-07: the redirect_uri must be the one used at the authorization endpoint.
    if (stored.redirectUriProvided && redirectUri === undefined) throw invalidRequest('missing required parameter: redirect_uri');
    if (redirectUri !== undefined && redirectUri !== stored.redirectUri)
      throw invalidGrant('redirect_uri does not match the authorization request');

    // PK-03 / PK-04: verifier required and matching when a challenge was sent; refused when none was.
    if (stored.codeChallenge !== null) {
      if (verifier === undefined) throw invalidGrant('code_verifier is required');
      if (!isValidVerifier(verifier) || !verifierMatches(verifier, stored.codeChallenge))
        throw invalidGrant('code_verifier does not match the code challenge');
    } else if (verifier !== undefined) {
      throw invalidRequest('code_verifier was sent but the authorization request had no code_challenge');
    }

    // AC-07: the user must still exist and be enabled, and the consent must still cover the scope.
    const user = await storage.users.findById(stored.userId);
    if (!user || user.disabled) throw invalidGrant(INVALID, { detail: 'user gone or disabled' });
    const granted = await grantResources(stored.resources, storage.resources);
    const consent = await storage.grants.find(stored.userId, client.clientId);
    if (!consent || !isSubset(consentItems(stored.scopes, granted), consent.scopes))
      throw invalidGrant(INVALID, { detail: 'consent revoked' });

    // RFC 8707 §2.2: a token for one of the authorized resources (or all of them); the refresh token keeps the whole grant.
    const target = grantTarget(params, client, granted, stored.scopes, config);
    const response = await redeemOnce(keys, config, storage, {
      client,
      user,
      scopes: stored.scopes,
      resources: stored.resources,
      familyId: stored.familyId,
      authTime: stored.authTime,
      sid: stored.sid,
      nonce: stored.nonce,
      amr: stored.amr,
      acr: stored.acr,
      target,
      consume: (tx, access) => tx.codes.consume(codeHash, now, access),
      winnerAccessToken: async () => (await storage.codes.findByHash(codeHash))?.accessToken,
      invalid: INVALID,
      now,
      dpopJkt,
    });
    await recordGrantUse(storage.grants, consent, now);
    return response;
  },
} satisfies GrantHandler<AuthorizationCodeDeps>;
