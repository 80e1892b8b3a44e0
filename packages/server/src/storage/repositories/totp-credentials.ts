// RFC 6238 TOTP credentials, one per user. The secret is sealed under the key-encryption key (KP-01,
// oauth/at-rest.ts) bound to its row, like private signing keys; without a key it stays in plaintext
// (the server warns at start) and is sealed at the next start with a key (sealAll).
import type { Selectable } from 'kysely';
import type { TotpCredential } from '../records.js';
import type { TotpCredentialTable } from '../schema.js';
import { affected, type Db } from './columns.js';
import type { SigningKeySealer } from './signing-keys.js';

const aadOf = (userId: string) => `totp_credentials.secret:${userId}`;

export class TotpCredentialRepository {
  constructor(
    private readonly db: Db,
    private readonly sealer?: SigningKeySealer,
  ) {}

  private toRecord(row: Selectable<TotpCredentialTable>): TotpCredential {
    const stored = row.secret;
    let secret = stored;
    if (this.sealer?.isSealed(stored)) secret = this.sealer.reveal(stored, aadOf(row.user_id));
    else if (stored.startsWith('v1.'))
      throw new Error(`the TOTP secret of user ${row.user_id} is sealed and no key-encryption key was given`);
    return {
      userId: row.user_id,
      secret,
      confirmedAt: row.confirmed_at,
      lastUsedStep: row.last_used_step,
      createdAt: row.created_at,
    };
  }

  async find(userId: string): Promise<TotpCredential | undefined> {
    const row = await this.db.selectFrom('totp_credentials').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && this.toRecord(row);
  }

  /** Starts an enrolment: an unconfirmed credential, replacing an unconfirmed one. False when a confirmed one exists. */
  async begin(userId: string, secret: string, now: number): Promise<boolean> {
    const sealed = this.sealer ? this.sealer.protect(secret, aadOf(userId)) : secret;
    await this.db.deleteFrom('totp_credentials').where('user_id', '=', userId).where('confirmed_at', 'is', null).execute();
    const existing = await this.db.selectFrom('totp_credentials').select('user_id').where('user_id', '=', userId).executeTakeFirst();
    if (existing) return false;
    await this.db
      .insertInto('totp_credentials')
      .values({ user_id: userId, secret: sealed, confirmed_at: null, last_used_step: null, created_at: now })
      .execute();
    return true;
  }

  /**
   * One conditional update: accepts the code of time step `step` only when no code of this step or a
   * later one was accepted before, so a code is used once and two parallel uses cannot both pass.
   * `confirm` marks an unconfirmed enrolment confirmed; otherwise only a confirmed credential counts.
   */
  async useStep(userId: string, step: number, now: number, confirm: boolean): Promise<boolean> {
    let q = this.db
      .updateTable('totp_credentials')
      .set(confirm ? { last_used_step: step, confirmed_at: now } : { last_used_step: step })
      .where('user_id', '=', userId)
      .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]));
    q = confirm ? q.where('confirmed_at', 'is', null) : q.where('confirmed_at', 'is not', null);
    return affected(await q.executeTakeFirst()) === 1;
  }

  async delete(userId: string): Promise<number> {
    return affected(await this.db.deleteFrom('totp_credentials').where('user_id', '=', userId).executeTakeFirst());
  }

  /** KP-01: the key-encryption keys that sealed stored secrets and that the sealer cannot open (empty: all open). */
  async missingKeyEncryptionKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('totp_credentials').select('secret').execute();
    const missing = new Set<string>();
    for (const { secret } of rows) {
      if (!secret.startsWith('v1.')) continue;
      if (this.sealer === undefined || !this.sealer.canOpen(secret)) missing.add(this.sealer?.sealedBy(secret) ?? 'unknown');
    }
    return [...missing].sort();
  }

  /** KP-01: seals plaintext secrets under the current key-encryption key (one conditional update per row). */
  async sealAll(): Promise<number> {
    const sealer = this.sealer;
    if (!sealer?.configured) return 0;
    const rows = await this.db.selectFrom('totp_credentials').select(['user_id', 'secret']).execute();
    let sealed = 0;
    for (const row of rows) {
      if (!sealer.needsRewrap(row.secret)) continue;
      const plain = sealer.isSealed(row.secret) ? sealer.reveal(row.secret, aadOf(row.user_id)) : row.secret;
      const r = await this.db
        .updateTable('totp_credentials')
        .set({ secret: sealer.protect(plain, aadOf(row.user_id)) })
        .where('user_id', '=', row.user_id)
        .where('secret', '=', row.secret)
        .executeTakeFirst();
      sealed += affected(r);
    }
    return sealed;
  }
}
