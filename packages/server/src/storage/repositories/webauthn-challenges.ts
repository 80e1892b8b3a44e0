// Outstanding WebAuthn challenges, as SHA-256 digests, bound to what asked for them (a session or an
// interaction, by digest) and short-lived; each is consumed once (one conditional delete).
import type { WebAuthnChallenge, WebAuthnPurpose } from '../records.js';
import { affected, type Db } from './columns.js';

export class WebAuthnChallengeRepository {
  constructor(private readonly db: Db) {}

  async create(challenge: WebAuthnChallenge): Promise<void> {
    await this.db
      .insertInto('webauthn_challenges')
      .values({
        challenge_hash: challenge.challengeHash,
        purpose: challenge.purpose,
        binding_hash: challenge.bindingHash,
        user_id: challenge.userId,
        expires_at: challenge.expiresAt,
      })
      .execute();
  }

  /** True only for the single caller that consumes a live challenge of this purpose and binding. */
  async consume(challengeHash: string, purpose: WebAuthnPurpose, bindingHash: string, now: number): Promise<boolean> {
    const r = await this.db
      .deleteFrom('webauthn_challenges')
      .where('challenge_hash', '=', challengeHash)
      .where('purpose', '=', purpose)
      .where('binding_hash', '=', bindingHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return affected(r) === 1;
  }

  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('webauthn_challenges')
      .where('challenge_hash', 'in', (qb) =>
        qb.selectFrom('webauthn_challenges').select('challenge_hash').where('expires_at', '<', before).limit(limit),
      )
      .executeTakeFirst();
    return affected(r);
  }
}
