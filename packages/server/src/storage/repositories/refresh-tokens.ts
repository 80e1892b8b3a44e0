import type { Selectable } from 'kysely';
import type { AccessTokenRef, RefreshSuccessor, RefreshToken } from '../records.js';
import type { RefreshTokenTable } from '../schema.js';
import { accessTokenFromColumns, accessTokenRefs, affected, scopesFromColumn, scopesToColumn, type Db } from './columns.js';

function toRefreshToken(row: Selectable<RefreshTokenTable>): RefreshToken {
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    clientId: row.client_id,
    userId: row.user_id,
    scopes: scopesFromColumn(row.scope),
    resources: scopesFromColumn(row.resources),
    authTime: row.auth_time,
    sid: row.sid,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    idleExpiresAt: row.idle_expires_at,
    rotatedAt: row.rotated_at,
    revokedAt: row.revoked_at,
    accessToken: accessTokenFromColumns(row.access_token_jti, row.access_token_expires_at),
    successor:
      row.successor_hash !== null && row.successor_response !== null && row.successor_expires_at !== null
        ? { hash: row.successor_hash, sealed: row.successor_response, expiresAt: row.successor_expires_at }
        : null,
  };
}

export class RefreshTokenRepository {
  constructor(private readonly db: Db) {}
  async create(token: RefreshToken): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({
        token_hash: token.tokenHash,
        family_id: token.familyId,
        client_id: token.clientId,
        user_id: token.userId,
        scope: scopesToColumn(token.scopes),
        resources: scopesToColumn(token.resources),
        auth_time: token.authTime,
        sid: token.sid,
        created_at: token.createdAt,
        expires_at: token.expiresAt,
        idle_expires_at: token.idleExpiresAt,
        rotated_at: token.rotatedAt,
        revoked_at: token.revokedAt,
        access_token_jti: token.accessToken?.jti ?? null,
        access_token_expires_at: token.accessToken?.expiresAt ?? null,
        successor_hash: token.successor?.hash ?? null,
        successor_response: token.successor?.sealed ?? null,
        successor_expires_at: token.successor?.expiresAt ?? null,
      })
      .execute();
  }
  async findByHash(tokenHash: string): Promise<RefreshToken | undefined> {
    const row = await this.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row && toRefreshToken(row);
  }
  /** One conditional update: true only for the single caller that rotated the token (with its successor for the grace window). */
  async markRotated(tokenHash: string, now: number, successor: RefreshSuccessor | null = null): Promise<boolean> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ rotated_at: now, successor_hash: successor?.hash ?? null, successor_response: successor?.sealed ?? null, successor_expires_at: successor?.expiresAt ?? null })
      .where('token_hash', '=', tokenHash)
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** Revokes every token of a family; returns the still-live access tokens issued alongside them. */
  async revokeFamily(familyId: string, now: number): Promise<AccessTokenRef[]> {
    await this.db.updateTable('refresh_tokens').set({ revoked_at: now }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
    const rows = await this.db
      .selectFrom('refresh_tokens')
      .select(['access_token_jti', 'access_token_expires_at'])
      .where('family_id', '=', familyId)
      .where('access_token_expires_at', '>', now)
      .execute();
    return accessTokenRefs(rows);
  }
  /** Unrevoked families of a user (of one client when given). */
  async familiesOf(userId: string, clientId?: string): Promise<string[]> {
    let q = this.db.selectFrom('refresh_tokens').select('family_id').distinct().where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    return (await q.execute()).map((r) => r.family_id);
  }
  /** Unrevoked families issued in one browser session (its sid). */
  async familiesOfSession(userId: string, sid: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('refresh_tokens')
      .select('family_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('sid', '=', sid)
      .where('revoked_at', 'is', null)
      .execute();
    return rows.map((r) => r.family_id);
  }
  /** Clients holding a live (unrevoked, unexpired) refresh token of this user. */
  async clientsOf(userId: string, now: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('refresh_tokens')
      .select('client_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
    return rows.map((r) => r.client_id);
  }
  /** Forgets successor responses whose grace window ended (they are kept for the window only). */
  async clearExpiredSuccessors(before: number, limit: number): Promise<number> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ successor_hash: null, successor_response: null, successor_expires_at: null })
      .where('token_hash', 'in', (qb) => qb.selectFrom('refresh_tokens').select('token_hash').where('successor_expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('refresh_tokens')
      .where('token_hash', 'in', (qb) => qb.selectFrom('refresh_tokens').select('token_hash').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
