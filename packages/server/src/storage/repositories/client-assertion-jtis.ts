import { isUniqueViolation } from '../errors.js';
import type { ReplayCache } from '../../oauth/replay-cache.js';
import { affected, type Db } from './columns.js';

/**
 * RFC 7523 §3 item 7: the replay cache of client assertions, in the database so that every node
 * sees every use. The primary key does the work: a second insert of the same digest is a replay.
 * The database implementation of ReplayCache (Redis has the other, redis/replay-cache.ts).
 */
export class ClientAssertionJtiRepository implements ReplayCache {
  constructor(private readonly db: Db) {}
  /** Records a jti digest until `expiresAt`; false when it was already recorded (a replay). */
  async record(jtiHash: string, expiresAt: number): Promise<boolean> {
    try {
      await this.db.insertInto('client_assertion_jtis').values({ jti_hash: jtiHash, expires_at: expiresAt }).execute();
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('client_assertion_jtis')
      .where('jti_hash', 'in', (qb) =>
        qb.selectFrom('client_assertion_jtis').select('jti_hash').where('expires_at', '<', before).limit(limit),
      )
      .executeTakeFirst();
    return affected(r);
  }
}
