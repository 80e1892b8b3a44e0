// Two-factor recovery codes: stored as SHA-256 digests (high-entropy codes), each used once.
import { affected, type Db } from './columns.js';

export class RecoveryCodeRepository {
  constructor(private readonly db: Db) {}

  /** Replaces the user's codes with these digests. */
  async replace(userId: string, codeHashes: readonly string[], now: number): Promise<void> {
    await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    if (codeHashes.length === 0) return;
    await this.db
      .insertInto('recovery_codes')
      .values(codeHashes.map((h) => ({ code_hash: h, user_id: userId, created_at: now, used_at: null })))
      .execute();
  }

  /** One conditional update: true only for the single use of an unused code of this user. */
  async use(userId: string, codeHash: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('recovery_codes')
      .set({ used_at: now })
      .where('code_hash', '=', codeHash)
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return affected(r) === 1;
  }

  async countUnused(userId: string): Promise<number> {
    const row = await this.db
      .selectFrom('recovery_codes')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .where('user_id', '=', userId)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async deleteAllOf(userId: string): Promise<number> {
    return affected(await this.db.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst());
  }
}
