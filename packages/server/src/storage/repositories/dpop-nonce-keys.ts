import { isUniqueViolation } from '../errors.js';
import type { Db } from './columns.js';

const CURRENT = 'current';

/**
 * The HMAC key of server-provided DPoP nonces (RFC 9449 §8), one row shared by every node. The first
 * node to need it inserts its candidate; every other node (and every later start) reads that row.
 */
export class DpopNonceKeyRepository {
  constructor(private readonly db: Db) {}
  /** The shared key: `candidate` if this call created it, else the one already stored. */
  async getOrCreate(candidate: string, now: number): Promise<string> {
    const existing = await this.db.selectFrom('dpop_nonce_keys').select('secret').where('id', '=', CURRENT).executeTakeFirst();
    if (existing) return existing.secret;
    try {
      await this.db.insertInto('dpop_nonce_keys').values({ id: CURRENT, secret: candidate, created_at: now }).execute();
      return candidate;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const row = await this.db.selectFrom('dpop_nonce_keys').select('secret').where('id', '=', CURRENT).executeTakeFirstOrThrow();
    return row.secret;
  }
}
