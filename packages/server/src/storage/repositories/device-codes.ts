// RFC 8628 device authorization requests. Every change of state is one conditional update, so that
// of concurrent requests exactly one wins: a decision only on a pending, live code; a redemption only
// of an approved, unredeemed one; a poll only against the poll time it read (slow_down bookkeeping).
import type { Selectable } from 'kysely';
import type { AccessTokenRef, DeviceCode, DeviceCodeStatus, TokenSelector } from '../records.js';
import { isUniqueViolation } from '../errors.js';
import type { DeviceCodeTable } from '../schema.js';
import { accessTokenFromColumns, accessTokenRefs, affected, scopesFromColumn, scopesToColumn, selectedBy, type Db } from './columns.js';

function toDeviceCode(row: Selectable<DeviceCodeTable>): DeviceCode {
  return {
    deviceCodeHash: row.device_code_hash,
    userCodeHash: row.user_code_hash,
    clientId: row.client_id,
    scopes: scopesFromColumn(row.scope),
    status: row.status as DeviceCodeStatus,
    userId: row.user_id,
    authTime: row.auth_time,
    sid: row.sid,
    interval: row.poll_interval,
    lastPolledAt: row.last_polled_at,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
    consumedAt: row.consumed_at,
    familyId: row.family_id,
    accessToken: accessTokenFromColumns(row.access_token_jti, row.access_token_expires_at),
  };
}

/** The user's answer to a pending device code. */
export interface DeviceDecision {
  status: Exclude<DeviceCodeStatus, 'pending'>;
  userId: string;
  authTime: number;
  sid: string | null;
}

export class DeviceCodeRepository {
  constructor(private readonly db: Db) {}
  /** Stores a new code; false when another stored code has the same user code (draw another). */
  async create(code: DeviceCode): Promise<boolean> {
    try {
      await this.insert(code);
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
  private async insert(code: DeviceCode): Promise<void> {
    await this.db
      .insertInto('device_codes')
      .values({
        device_code_hash: code.deviceCodeHash,
        user_code_hash: code.userCodeHash,
        client_id: code.clientId,
        scope: scopesToColumn(code.scopes),
        status: code.status,
        user_id: code.userId,
        auth_time: code.authTime,
        sid: code.sid,
        poll_interval: code.interval,
        last_polled_at: code.lastPolledAt,
        created_at: code.createdAt,
        expires_at: code.expiresAt,
        decided_at: code.decidedAt,
        consumed_at: code.consumedAt,
        family_id: code.familyId,
        access_token_jti: code.accessToken?.jti ?? null,
        access_token_expires_at: code.accessToken?.expiresAt ?? null,
      })
      .execute();
  }
  async findByDeviceCodeHash(deviceCodeHash: string): Promise<DeviceCode | undefined> {
    const row = await this.db.selectFrom('device_codes').selectAll().where('device_code_hash', '=', deviceCodeHash).executeTakeFirst();
    return row && toDeviceCode(row);
  }
  /** A user code the user may still act on: pending and not expired. */
  async findPendingByUserCodeHash(userCodeHash: string, now: number): Promise<DeviceCode | undefined> {
    const row = await this.db
      .selectFrom('device_codes')
      .selectAll()
      .where('user_code_hash', '=', userCodeHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row && toDeviceCode(row);
  }
  /** One conditional update: true only for the single decision on a pending, live code. */
  async decide(deviceCodeHash: string, decision: DeviceDecision, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('device_codes')
      .set({ status: decision.status, user_id: decision.userId, auth_time: decision.authTime, sid: decision.sid, decided_at: now })
      .where('device_code_hash', '=', deviceCodeHash)
      .where('status', '=', 'pending')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /**
   * Records a poll at `now` with the interval the client must keep from now on, if the last poll is
   * still the one the caller read (`previous`); false when a concurrent poll came first.
   */
  async recordPoll(deviceCodeHash: string, previous: number | null, now: number, interval: number): Promise<boolean> {
    const r = await this.db
      .updateTable('device_codes')
      .set({ last_polled_at: now, poll_interval: interval })
      .where('device_code_hash', '=', deviceCodeHash)
      .where('last_polled_at', previous === null ? 'is' : '=', previous)
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** One conditional update: true only for the single redemption of an approved code. */
  async consume(deviceCodeHash: string, now: number, accessToken: AccessTokenRef): Promise<boolean> {
    const r = await this.db
      .updateTable('device_codes')
      .set({ consumed_at: now, access_token_jti: accessToken.jti, access_token_expires_at: accessToken.expiresAt })
      .where('device_code_hash', '=', deviceCodeHash)
      .where('status', '=', 'approved')
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** Access tokens issued from this user's device codes that have not expired yet. */
  async liveAccessTokensOf(userId: string, now: number): Promise<AccessTokenRef[]> {
    const rows = await this.db
      .selectFrom('device_codes')
      .select(['access_token_jti', 'access_token_expires_at'])
      .where('user_id', '=', userId)
      .where('access_token_expires_at', '>', now)
      .execute();
    return accessTokenRefs(rows);
  }
  /** Live access tokens issued from the device codes the selector names, with the scope each granted. */
  async liveAccessTokensSelected(selector: TokenSelector, now: number): Promise<(AccessTokenRef & { scopes: string[] })[]> {
    const rows = await this.db
      .selectFrom('device_codes')
      .select(['access_token_jti', 'access_token_expires_at', 'scope'])
      .where((eb) => selectedBy(eb, selector))
      .where('access_token_expires_at', '>', now)
      .execute();
    return rows.flatMap((r) => accessTokenRefs([r]).map((ref) => ({ ...ref, scopes: scopesFromColumn(r.scope) })));
  }
  /**
   * The unredeemed device codes the selector names become denied: the device polling for one gets
   * access_denied (RFC 8628 §3.5). A user selector reaches only codes that user decided on.
   */
  async voidUnredeemed(selector: TokenSelector, now: number): Promise<number> {
    const r = await this.db
      .updateTable('device_codes')
      .set({ status: 'denied', decided_at: now })
      .where((eb) => selectedBy(eb, selector))
      .where('consumed_at', 'is', null)
      .where('status', '!=', 'denied')
      .executeTakeFirst();
    return affected(r);
  }
  /** Codes that expired, and were redeemed (if at all), before `before`. */
  async deleteSpent(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('device_codes')
      .where('device_code_hash', 'in', (qb) =>
        qb
          .selectFrom('device_codes')
          .select('device_code_hash')
          .where('expires_at', '<', before)
          .where((eb) => eb.or([eb('consumed_at', 'is', null), eb('consumed_at', '<', before)]))
          .limit(limit),
      )
      .executeTakeFirst();
    return affected(r);
  }
}
