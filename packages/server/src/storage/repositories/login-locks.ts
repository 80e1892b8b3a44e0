import type { LoginLock } from '../records.js';
import { isUniqueViolation } from '../errors.js';
import { affected, type Db } from './columns.js';

/**
 * DS-03: the login throttle's entries when there is no Redis, so that every node and the CLI
 * (`gatehouse users unlock`) see the same locks and a restart forgets none. Writes are
 * compare-and-set on `version`, so two nodes counting failures at once never lose one.
 */
export class LoginLockRepository {
  constructor(private readonly db: Db) {}

  async findMany(keys: readonly string[]): Promise<LoginLock[]> {
    if (keys.length === 0) return [];
    const rows = await this.db
      .selectFrom('login_locks')
      .selectAll()
      .where('key', 'in', [...keys])
      .execute();
    return rows.map((r) => ({
      key: r.key,
      account: r.account,
      state: JSON.parse(r.state) as Record<string, unknown>,
      version: Number(r.version),
      expiresAt: Number(r.expires_at),
    }));
  }

  /**
   * Writes `state` if the stored version is still `expectedVersion` (0: the entry must not exist yet).
   * False when another writer came first; the caller reads again and retries.
   */
  async compareAndSet(
    key: string,
    account: string | null,
    expectedVersion: number,
    state: Record<string, unknown>,
    expiresAt: number,
  ): Promise<boolean> {
    const json = JSON.stringify(state);
    if (expectedVersion === 0) {
      try {
        await this.db.insertInto('login_locks').values({ key, account, state: json, version: 1, expires_at: expiresAt }).execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    }
    const r = await this.db
      .updateTable('login_locks')
      .set({ state: json, version: expectedVersion + 1, expires_at: expiresAt })
      .where('key', '=', key)
      .where('version', '=', expectedVersion)
      .executeTakeFirst();
    return affected(r) === 1;
  }

  /** Forgets every entry of one account (its own, its networks', its devices'). */
  async deleteAccount(account: string): Promise<number> {
    return affected(await this.db.deleteFrom('login_locks').where('account', '=', account).executeTakeFirst());
  }

  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('login_locks')
      .where('key', 'in', (qb) => qb.selectFrom('login_locks').select('key').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
