import { isUniqueViolation } from '../errors.js';
import type { ReplayCache } from '../../oauth/replay-cache.js';
import { affected, type Db } from './columns.js';

/** The tables that remember used jtis: same columns (jti_hash primary key, expires_at), one per kind of JWT. */
export type JtiTable = 'client_assertion_jtis' | 'dpop_jtis';

/**
 * A replay cache of JWT ids in the database, so that every node sees every use: RFC 7523 §3 item 7
 * (client assertions, `client_assertion_jtis`) and RFC 9449 §11.1 (DPoP proofs, `dpop_jtis`). The
 * primary key does the work: a second insert of the same digest is a replay. The database
 * implementation of ReplayCache (Redis has the other, redis/replay-cache.ts).
 */
export class JtiRepository implements ReplayCache {
  constructor(
    private readonly db: Db,
    private readonly table: JtiTable,
  ) {}
  /** Records a jti digest until `expiresAt`; false when it was already recorded (a replay). */
  async record(jtiHash: string, expiresAt: number): Promise<boolean> {
    try {
      await this.db.insertInto(this.table).values({ jti_hash: jtiHash, expires_at: expiresAt }).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const table = this.table;
    const r = await this.db
      .deleteFrom(table)
      .where('jti_hash', 'in', (qb) => qb.selectFrom(table).select('jti_hash').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
