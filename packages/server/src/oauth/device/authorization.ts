// RFC 8628 §3.1, §3.2: the device authorization request and response. The device code is 256 random
// bits (CR-01), the user code 8 characters (device/user-code.ts); only their SHA-256 digests are
// stored. The scope is validated against the client's registered scopes as at /authorize, and
// `resource` (RFC 8707, AU-02) by the same rules (oauth/resources.ts): registered, usable by the
// client, offering the requested scopes; the device code keeps the resources, so that the consent page
// names the APIs and the device code grant mints tokens whose aud is them.
import type { Config } from '../../config/config.js';
import type { Client, Storage } from '../../storage/index.js';
import { randomToken, sha256 } from '../crypto.js';
import { invalidScope, OAuthError } from '../errors.js';
import { single, type Params } from '../params.js';
import { assertScopesOffered, requestedResources } from '../resources.js';
import { isSubset, parseScope } from '../scopes.js';
import { generateUserCode, normaliseUserCode, userCodeHash } from './user-code.js';

export interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface DeviceAuthorizationDeps {
  config: Pick<Config, 'issuer' | 'deviceCodeTtl' | 'deviceCodeInterval'>;
  storage: Pick<Storage, 'deviceCodes' | 'resources'>;
}

/** The page where people enter user codes (the verification_uri). */
export const DEVICE_PAGE_PATH = '/device';
/** The device authorization endpoint (RFC 8628 §3.1). */
export const DEVICE_AUTHORIZATION_PATH = '/device_authorization';

const MAX_ATTEMPTS = 5;

/** Starts a device authorization for an authenticated client that registered the device grant. */
export async function startDeviceAuthorization(
  deps: DeviceAuthorizationDeps,
  client: Client,
  params: Params,
  now: number,
): Promise<DeviceAuthorizationResponse> {
  const scopes = parseScope(single(params, 'scope'));
  if (scopes.length === 0) throw invalidScope('scope is required');
  if (!isSubset(scopes, client.scopes)) throw invalidScope('the requested scope is not allowed for this client');
  const { config, storage } = deps;
  const resources = await requestedResources(params, client, storage.resources);
  assertScopesOffered(scopes, resources);

  const deviceCode = randomToken();
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const userCode = generateUserCode();
    const stored = await storage.deviceCodes.create({
      deviceCodeHash: sha256(deviceCode),
      userCodeHash: userCodeHash(normaliseUserCode(userCode)!),
      clientId: client.clientId,
      scopes,
      status: 'pending',
      userId: null,
      authTime: null,
      sid: null,
      interval: config.deviceCodeInterval,
      lastPolledAt: null,
      createdAt: now,
      expiresAt: now + config.deviceCodeTtl,
      decidedAt: null,
      consumedAt: null,
      familyId: randomToken(16),
      accessToken: null,
      resources: resources.map((r) => r.uri),
    });
    // Another stored code has the same user code (rare among 2.56e10 codes): draw again.
    if (!stored) continue;
    const verificationUri = `${config.issuer}${DEVICE_PAGE_PATH}`;
    return {
      device_code: deviceCode,
      user_code: userCode,
      verification_uri: verificationUri,
      verification_uri_complete: `${verificationUri}?user_code=${encodeURIComponent(userCode)}`,
      expires_in: config.deviceCodeTtl,
      interval: config.deviceCodeInterval,
    };
  }
  throw new OAuthError('temporarily_unavailable', 'no user code could be issued, try again shortly', { detail: 'user code collisions' });
}
