// RFC 8628 §3.4, §3.5: the device polls the token endpoint with its device code. Until the user has
// decided it gets authorization_pending (or slow_down, with the interval raised by 5 s, when it polls
// faster than the interval); then access_denied, expired_token, or the tokens, once: the redemption
// is one conditional update (DV-01), and a replay revokes what the code issued, as for codes (AC-01).
// Public and confidential clients; no redirect URI. Refresh tokens as in the code grant.
import type { Storage } from '../../storage/index.js';
import { sha256 } from '../crypto.js';
import { invalidGrant, OAuthError } from '../errors.js';
import type { KeyStore } from '../keys/key-store.js';
import { required } from '../params.js';
import { consentItems, grantResources, grantTarget, RESOURCE_PARAMETER } from '../resources.js';
import { isSubset } from '../scopes.js';
import { revokeFamily } from '../tokens/revocation.js';
import { redeemOnce, type TokenConfig } from './issue.js';
import type { GrantDeps, GrantHandler, TokenResponse } from './types.js';

export interface DeviceCodeDeps {
  config: TokenConfig;
  keys: KeyStore;
  storage: Pick<Storage, 'transaction' | 'deviceCodes' | 'users' | 'grants' | 'resources'>;
  events: GrantDeps['events'];
}

/** RFC 8628 §3.5: how much a slow_down raises the interval. */
export const SLOW_DOWN_STEP = 5;
const MAX_DEVICE_CODE_LENGTH = 256;
const INVALID = 'the device code is invalid';

// RFC 8628 §3.5: these answers are token error responses (RFC 6749 §5.2), so all are 400.
const pending = () => new OAuthError('authorization_pending', 'the user has not yet approved the request');
const slowDown = (interval: number) => new OAuthError('slow_down', `polling too fast: wait at least ${interval} seconds between requests`);
const denied = () => new OAuthError('access_denied', 'the user denied the request', { status: 400 });
const expired = () => new OAuthError('expired_token', 'the device code has expired: start a new device authorization');

export const deviceCodeGrant = {
  grantType: 'urn:ietf:params:oauth:grant-type:device_code' as const,
  parameters: ['device_code', RESOURCE_PARAMETER],
  registration: { issuesRefreshTokens: true },
  async handle({ params, client, now, dpopJkt }, { config, keys, storage, events }): Promise<TokenResponse> {
    const deviceCode = required(params, 'device_code');
    if (deviceCode.length > MAX_DEVICE_CODE_LENGTH) throw invalidGrant(INVALID);
    const hash = sha256(deviceCode);
    const stored = await storage.deviceCodes.findByDeviceCodeHash(hash);
    if (!stored) throw invalidGrant(INVALID, { detail: 'unknown device code' });
    if (stored.clientId !== client.clientId) throw invalidGrant(INVALID, { detail: 'device code of another client' });
    if (stored.consumedAt !== null) {
      await revokeFamily(storage, { familyId: stored.familyId, codeAccessToken: stored.accessToken }, now);
      await events.record({
        type: 'code.reused',
        userId: stored.userId,
        clientId: client.clientId,
        details: { family: stored.familyId, grant: 'device_code' },
      });
      throw invalidGrant(INVALID, { detail: 'device code reuse: tokens revoked' });
    }
    if (stored.expiresAt <= now) throw expired();
    if (stored.status === 'denied') throw denied();
    if (stored.status === 'pending') {
      // A poll sooner than the interval after the previous one, or one that lost a race with a
      // concurrent poll, is too fast: the interval grows by 5 s for this and every later request.
      const tooFast = stored.lastPolledAt !== null && now - stored.lastPolledAt < stored.interval;
      const interval = tooFast ? stored.interval + SLOW_DOWN_STEP : stored.interval;
      if (!(await storage.deviceCodes.recordPoll(hash, stored.lastPolledAt, now, interval))) {
        throw slowDown(stored.interval + SLOW_DOWN_STEP);
      }
      throw tooFast ? slowDown(interval) : pending();
    }

    // Approved. The user must still exist and be enabled, and the consent must still cover the scope.
    const userId = stored.userId!;
    const user = await storage.users.findById(userId);
    if (!user || user.disabled) throw invalidGrant(INVALID, { detail: 'user gone or disabled' });
    const granted = await grantResources(stored.resources, storage.resources);
    const consent = await storage.grants.find(userId, client.clientId);
    if (!consent || !isSubset(consentItems(stored.scopes, granted), consent.scopes))
      throw invalidGrant(INVALID, { detail: 'consent revoked' });

    // RFC 8707 §2.2: a token for the resources the device authorization named (or a subset), else the default audience.
    const target = grantTarget(params, client, granted, stored.scopes, config);
    return redeemOnce(keys, config, storage, {
      client,
      user,
      scopes: stored.scopes,
      resources: stored.resources,
      familyId: stored.familyId,
      authTime: stored.authTime ?? stored.decidedAt ?? now,
      sid: stored.sid,
      target,
      consume: (tx, access) => tx.deviceCodes.consume(hash, now, access),
      winnerAccessToken: async () => (await storage.deviceCodes.findByDeviceCodeHash(hash))?.accessToken,
      invalid: INVALID,
      now,
      dpopJkt,
    });
  },
} satisfies GrantHandler<DeviceCodeDeps>;
