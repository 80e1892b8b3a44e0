import type { Selectable } from 'kysely';
import type { AccessTokenRef, Grant, RefreshSuccessor, RefreshToken, TokenSelector } from '../records.js';
import type { RefreshTokenTable } from '../schema.js';
import type { User } from '../records.js';
import { toUser } from './users.js';
import {
  accessTokenFromColumns,
  accessTokenRefs,
  affected,
  fromFlag,
  scopesFromColumn,
  scopesToColumn,
  selectedBy,
  type Db,
} from './columns.js';
import { PreparedQuery } from './prepared.js';

type RefreshTokenColumns = [
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  string | null,
  number,
  number,
  number,
  number | null,
  number | null,
  string | null,
  number | null,
  string | null,
  string | null,
  number | null,
  string | null,
  string | null,
  string | null,
];
const insertRefreshToken = new PreparedQuery<never, RefreshTokenColumns>(21, (db, ...p) =>
  db.insertInto('refresh_tokens').values({
    token_hash: p[0]!,
    family_id: p[1]!,
    client_id: p[2]!,
    user_id: p[3]!,
    scope: p[4]!,
    resources: p[5]!,
    auth_time: p[6]!,
    sid: p[7]!,
    created_at: p[8]!,
    expires_at: p[9]!,
    idle_expires_at: p[10]!,
    rotated_at: p[11]!,
    revoked_at: p[12]!,
    access_token_jti: p[13]!,
    access_token_expires_at: p[14]!,
    successor_hash: p[15]!,
    successor_response: p[16]!,
    successor_expires_at: p[17]!,
    dpop_jkt: p[18]!,
    amr: p[19]!,
    acr: p[20]!,
  }),
);
const findRefreshToken = new PreparedQuery<Selectable<RefreshTokenTable>, [string]>(1, (db, tokenHash) =>
  db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash),
);
// Introspection needs only whether the token's user still exists and is enabled: a scalar subquery
// instead of the two joins above (PostgreSQL plans it in a third of the time, and fewer columns come back).
const findRefreshTokenWithUserState = new PreparedQuery<Selectable<RefreshTokenTable> & { u_disabled: number | null }, [string]>(
  1,
  (db, tokenHash) =>
    db
      .selectFrom('refresh_tokens')
      .selectAll('refresh_tokens')
      .select((eb) => eb.selectFrom('users').select('users.disabled').whereRef('users.id', '=', 'refresh_tokens.user_id').as('u_disabled'))
      .where('refresh_tokens.token_hash', '=', tokenHash),
);
const findRefreshTokenWithUser = new PreparedQuery<
  Selectable<RefreshTokenTable> & {
    u_id: string | null;
    u_username: string | null;
    u_password_hash: string | null;
    u_email: string | null;
    u_name: string | null;
    u_claims: string | null;
    u_disabled: number | null;
    u_created_at: number | null;
    u_updated_at: number | null;
    g_scope: string | null;
    g_created_at: number | null;
    g_updated_at: number | null;
    g_last_used_at: number | null;
  },
  [string]
>(1, (db, tokenHash) =>
  db
    .selectFrom('refresh_tokens')
    .leftJoin('users', 'users.id', 'refresh_tokens.user_id')
    .leftJoin('grants', (join) =>
      join.onRef('grants.user_id', '=', 'refresh_tokens.user_id').onRef('grants.client_id', '=', 'refresh_tokens.client_id'),
    )
    .selectAll('refresh_tokens')
    .select([
      'users.id as u_id',
      'users.username as u_username',
      'users.password_hash as u_password_hash',
      'users.email as u_email',
      'users.name as u_name',
      'users.claims as u_claims',
      'users.disabled as u_disabled',
      'users.created_at as u_created_at',
      'users.updated_at as u_updated_at',
      'grants.scope as g_scope',
      'grants.created_at as g_created_at',
      'grants.updated_at as g_updated_at',
      'grants.last_used_at as g_last_used_at',
    ])
    .where('refresh_tokens.token_hash', '=', tokenHash),
);
const markRefreshTokenRotated = new PreparedQuery<never, [number, string | null, string | null, number | null, string]>(
  5,
  (db, now, successorHash, successorResponse, successorExpiresAt, tokenHash) =>
    db
      .updateTable('refresh_tokens')
      .set({
        rotated_at: now,
        successor_hash: successorHash,
        successor_response: successorResponse,
        successor_expires_at: successorExpiresAt,
      })
      .where('token_hash', '=', tokenHash)
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null),
);

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
    // Absent when unbound, so that records of unbound codes and tokens look as they always did.
    ...(row.dpop_jkt === null ? {} : { dpopJkt: row.dpop_jkt }),
    ...(row.amr === null || row.amr === undefined ? {} : { amr: scopesFromColumn(row.amr) }),
    ...(row.acr === null || row.acr === undefined ? {} : { acr: row.acr }),
  };
}

export class RefreshTokenRepository {
  constructor(private readonly db: Db) {}
  async create(token: RefreshToken): Promise<void> {
    await insertRefreshToken.run(
      this.db,
      token.tokenHash,
      token.familyId,
      token.clientId,
      token.userId,
      scopesToColumn(token.scopes),
      scopesToColumn(token.resources),
      token.authTime,
      token.sid,
      token.createdAt,
      token.expiresAt,
      token.idleExpiresAt,
      token.rotatedAt,
      token.revokedAt,
      token.accessToken?.jti ?? null,
      token.accessToken?.expiresAt ?? null,
      token.successor?.hash ?? null,
      token.successor?.sealed ?? null,
      token.successor?.expiresAt ?? null,
      token.dpopJkt ?? null,
      token.amr ? scopesToColumn(token.amr) : null,
      token.acr ?? null,
    );
  }
  async findByHash(tokenHash: string): Promise<RefreshToken | undefined> {
    const row = await findRefreshToken.first(this.db, tokenHash);
    return row && toRefreshToken(row);
  }
  /**
   * findByHash with the token's user and the user's grant (consent) to the token's client, each
   * undefined when gone, in one statement.
   */
  async findByHashWithUser(
    tokenHash: string,
  ): Promise<{ token: RefreshToken; user: User | undefined; grant: Grant | undefined } | undefined> {
    const row = await findRefreshTokenWithUser.first(this.db, tokenHash);
    if (!row) return undefined;
    const user =
      row.u_id === null
        ? undefined
        : toUser({
            id: row.u_id,
            username: row.u_username!,
            password_hash: row.u_password_hash!,
            email: row.u_email,
            name: row.u_name,
            claims: row.u_claims!,
            disabled: row.u_disabled!,
            created_at: row.u_created_at!,
            updated_at: row.u_updated_at!,
          });
    const grant: Grant | undefined =
      row.g_scope === null
        ? undefined
        : {
            userId: row.user_id,
            clientId: row.client_id,
            scopes: scopesFromColumn(row.g_scope),
            createdAt: row.g_created_at!,
            updatedAt: row.g_updated_at!,
            lastUsedAt: row.g_last_used_at ?? null,
          };
    return { token: toRefreshToken(row), user, grant };
  }
  /** findByHash with whether the token's user exists and is enabled (false when gone or disabled), in one statement. */
  async findByHashWithUserState(tokenHash: string): Promise<{ token: RefreshToken; userEnabled: boolean } | undefined> {
    const row = await findRefreshTokenWithUserState.first(this.db, tokenHash);
    if (!row) return undefined;
    const { u_disabled: disabled, ...columns } = row;
    return { token: toRefreshToken(columns), userEnabled: disabled !== null && !fromFlag(Number(disabled)) };
  }
  /** One conditional update: true only for the single caller that rotated the token (with its successor for the grace window). */
  async markRotated(tokenHash: string, now: number, successor: RefreshSuccessor | null = null): Promise<boolean> {
    const changed = await markRefreshTokenRotated.affected(
      this.db,
      now,
      successor?.hash ?? null,
      successor?.sealed ?? null,
      successor?.expiresAt ?? null,
      tokenHash,
    );
    return changed === 1;
  }
  /** Revokes every token of a family; returns the still-live access tokens issued alongside them. */
  async revokeFamily(familyId: string, now: number): Promise<AccessTokenRef[]> {
    await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
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
    let q = this.db
      .selectFrom('refresh_tokens')
      .select('family_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    return (await q.execute()).map((r) => r.family_id);
  }
  /**
   * Revokes every unrevoked refresh token the selector names (a family shares its user, client and
   * sid, so whole families go); returns how many families that touched and the still-live access
   * tokens issued beside the tokens it revoked.
   */
  async revokeSelected(selector: TokenSelector, now: number): Promise<{ families: number; accessTokens: AccessTokenRef[] }> {
    const families = await this.db
      .selectFrom('refresh_tokens')
      .select('family_id')
      .distinct()
      .where((eb) => selectedBy(eb, selector))
      .where('revoked_at', 'is', null)
      .execute();
    if (families.length === 0) return { families: 0, accessTokens: [] };
    await this.db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where((eb) => selectedBy(eb, selector))
      .where('revoked_at', 'is', null)
      .execute();
    const rows = await this.db
      .selectFrom('refresh_tokens')
      .select(['access_token_jti', 'access_token_expires_at'])
      .where((eb) => selectedBy(eb, selector))
      .where('revoked_at', '=', now)
      .where('access_token_expires_at', '>', now)
      .execute();
    return { families: families.length, accessTokens: accessTokenRefs(rows) };
  }
  /** Users holding a live (unrevoked, unexpired) refresh token of this client. */
  async usersOf(clientId: string, now: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('refresh_tokens')
      .select('user_id')
      .distinct()
      .where('client_id', '=', clientId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .execute();
    return rows.map((r) => r.user_id);
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
      .where('token_hash', 'in', (qb) =>
        qb.selectFrom('refresh_tokens').select('token_hash').where('successor_expires_at', '<', before).limit(limit),
      )
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
