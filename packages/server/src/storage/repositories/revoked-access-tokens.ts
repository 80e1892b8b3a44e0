import type { AccessTokenRef } from '../records.js';
import { affected, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';

const findRevoked = new PreparedQuery<{ jti: string }, [string]>(1, (db, jti) =>
  db.selectFrom('revoked_access_tokens').select('jti').where('jti', '=', jti),
);

/** The jti denylist: revoked access tokens until they expire. */
export class RevokedAccessTokenRepository {
  constructor(private readonly db: Db) {}
  async add(entries: readonly AccessTokenRef[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insertInto('revoked_access_tokens')
      .values(entries.map((e) => ({ jti: e.jti, expires_at: e.expiresAt })))
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }
  async isRevoked(jti: string): Promise<boolean> {
    const row = await findRevoked.first(this.db, jti);
    return row !== undefined;
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('revoked_access_tokens')
      .where('jti', 'in', (qb) => qb.selectFrom('revoked_access_tokens').select('jti').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
