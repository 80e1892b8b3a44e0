// Small repositories, one per concern, over one Kysely executor (a database or a transaction), so the
// same code serves SQLite and PostgreSQL and every caller can run several of them in one transaction.
import { JtiRepository } from './jtis.js';
import { ClientRepository } from './clients.js';
import { AuthorizationCodeRepository } from './codes.js';
import type { Db } from './columns.js';
import { DeviceCodeRepository } from './device-codes.js';
import { GrantRepository } from './grants.js';
import { InteractionRepository } from './interactions.js';
import { LoginLockRepository } from './login-locks.js';
import { PushedRequestRepository } from './pushed-requests.js';
import { RefreshTokenRepository } from './refresh-tokens.js';
import { RegistrationTokenRepository } from './registration-tokens.js';
import { ResourceRepository } from './resources.js';
import { SecurityEventRepository } from './security-events.js';
import { RevokedAccessTokenRepository } from './revoked-access-tokens.js';
import { SessionRepository } from './sessions.js';
import { SigningKeyRepository, type SigningKeySealer } from './signing-keys.js';
import { UserRepository } from './users.js';
import { DpopNonceKeyRepository } from './dpop-nonce-keys.js';
import { TotpCredentialRepository } from './totp-credentials.js';
import { RecoveryCodeRepository } from './recovery-codes.js';
import { PasskeyRepository } from './passkeys.js';
import { WebAuthnChallengeRepository } from './webauthn-challenges.js';

export {
  AuthorizationCodeRepository,
  ClientRepository,
  DeviceCodeRepository,
  GrantRepository,
  InteractionRepository,
  RefreshTokenRepository,
  ResourceRepository,
  RevokedAccessTokenRepository,
  SessionRepository,
  SigningKeyRepository,
  UserRepository,
};
export type { DeviceDecision } from './device-codes.js';
export { JtiRepository, PushedRequestRepository };
export { RegistrationTokenRepository, SecurityEventRepository };
export { LoginLockRepository };
export type { SecurityEventQuery } from './security-events.js';
export type { AccessTokenState } from './revoked-access-tokens.js';
export { canonicalUsername } from './users.js';
export type { SigningKeyChanges, SigningKeySealer, SealingReport } from './signing-keys.js';
export { DpopNonceKeyRepository };
export { TotpCredentialRepository, RecoveryCodeRepository, PasskeyRepository, WebAuthnChallengeRepository };

export interface Repositories {
  clients: ClientRepository;
  users: UserRepository;
  codes: AuthorizationCodeRepository;
  refreshTokens: RefreshTokenRepository;
  revokedAccessTokens: RevokedAccessTokenRepository;
  grants: GrantRepository;
  sessions: SessionRepository;
  interactions: InteractionRepository;
  signingKeys: SigningKeyRepository;
  registrationTokens: RegistrationTokenRepository;
  resources: ResourceRepository;
  deviceCodes: DeviceCodeRepository;
  clientAssertionJtis: JtiRepository;
  pushedRequests: PushedRequestRepository;
  securityEvents: SecurityEventRepository;
  dpopJtis: JtiRepository;
  dpopNonceKeys: DpopNonceKeyRepository;
  loginLocks: LoginLockRepository;
  totpCredentials: TotpCredentialRepository;
  recoveryCodes: RecoveryCodeRepository;
  passkeys: PasskeyRepository;
  webauthnChallenges: WebAuthnChallengeRepository;
}

/** What the repositories need besides the database: the sealer of secrets at rest (KP-01). */
export interface RepositoryOptions {
  sealer?: SigningKeySealer;
}

export function createRepositories(db: Db, options: RepositoryOptions = {}): Repositories {
  return {
    clients: new ClientRepository(db),
    users: new UserRepository(db),
    codes: new AuthorizationCodeRepository(db),
    refreshTokens: new RefreshTokenRepository(db),
    revokedAccessTokens: new RevokedAccessTokenRepository(db),
    grants: new GrantRepository(db),
    sessions: new SessionRepository(db),
    interactions: new InteractionRepository(db),
    signingKeys: new SigningKeyRepository(db, options.sealer),
    registrationTokens: new RegistrationTokenRepository(db),
    resources: new ResourceRepository(db),
    deviceCodes: new DeviceCodeRepository(db),
    clientAssertionJtis: new JtiRepository(db, 'client_assertion_jtis'),
    pushedRequests: new PushedRequestRepository(db),
    securityEvents: new SecurityEventRepository(db),
    dpopJtis: new JtiRepository(db, 'dpop_jtis'),
    dpopNonceKeys: new DpopNonceKeyRepository(db, options.sealer),
    loginLocks: new LoginLockRepository(db),
    totpCredentials: new TotpCredentialRepository(db, options.sealer),
    recoveryCodes: new RecoveryCodeRepository(db),
    passkeys: new PasskeyRepository(db),
    webauthnChallenges: new WebAuthnChallengeRepository(db),
  };
}
