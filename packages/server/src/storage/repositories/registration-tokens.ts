import type { Selectable } from 'kysely';
import type { RegistrationToken } from '../records.js';
import type { RegistrationTokenTable } from '../schema.js';
import { affected, type Db } from './columns.js';

function toToken(row: Selectable<RegistrationTokenTable>): RegistrationToken {
  return { tokenHash: row.token_hash, usesLeft: row.uses_left, createdAt: row.created_at, expiresAt: row.expires_at };
}

/** RFC 7591 §3: initial access tokens for dynamic client registration (digests only). */
export class RegistrationTokenRepository {
  constructor(private readonly db: Db) {}
  async create(token: RegistrationToken): Promise<void> {
    await this.db
      .insertInto('registration_tokens')
      .values({ token_hash: token.tokenHash, uses_left: token.usesLeft, created_at: token.createdAt, expires_at: token.expiresAt })
      .execute();
  }
  async find(tokenHash: string): Promise<RegistrationToken | undefined> {
    const row = await this.db.selectFrom('registration_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toToken(row);
  }
  /** One conditional update: true only when the token was live and had a use left, which is now spent. */
  async consume(tokenHash: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('registration_tokens')
      .set((eb) => ({ uses_left: eb('uses_left', '-', 1) }))
      .where('token_hash', '=', tokenHash)
      .where('uses_left', '>', 0)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** Tokens that expired before `before` or have no use left. */
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('registration_tokens')
      .where('token_hash', 'in', (qb) =>
        qb
          .selectFrom('registration_tokens')
          .select('token_hash')
          .where((eb) => eb.or([eb('expires_at', '<', before), eb('uses_left', '<=', 0)]))
          .limit(limit),
      )
      .executeTakeFirst();
    return affected(r);
  }
}
