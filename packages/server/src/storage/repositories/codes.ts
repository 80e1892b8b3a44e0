import type { Selectable } from 'kysely';
import type { AccessTokenRef, AuthorizationCode } from '../records.js';
import type { AuthorizationCodeTable } from '../schema.js';
import { accessTokenFromColumns, accessTokenRefs, affected, fromFlag, scopesFromColumn, scopesToColumn, toFlag, type Db } from './columns.js';

function toCode(row: Selectable<AuthorizationCodeTable>): AuthorizationCode {
  return {
    codeHash: row.code_hash,
    familyId: row.family_id,
    clientId: row.client_id,
    userId: row.user_id,
    redirectUri: row.redirect_uri,
    redirectUriProvided: fromFlag(row.redirect_uri_provided),
    scopes: scopesFromColumn(row.scope),
    resources: scopesFromColumn(row.resources),
    codeChallenge: row.code_challenge,
    codeChallengeMethod: row.code_challenge_method,
    nonce: row.nonce,
    authTime: row.auth_time,
    sid: row.sid,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
    accessToken: accessTokenFromColumns(row.access_token_jti, row.access_token_expires_at),
  };
}

export class AuthorizationCodeRepository {
  constructor(private readonly db: Db) {}
  async create(code: AuthorizationCode): Promise<void> {
    await this.db
      .insertInto('authorization_codes')
      .values({
        code_hash: code.codeHash,
        family_id: code.familyId,
        client_id: code.clientId,
        user_id: code.userId,
        redirect_uri: code.redirectUri,
        redirect_uri_provided: toFlag(code.redirectUriProvided),
        scope: scopesToColumn(code.scopes),
        resources: scopesToColumn(code.resources),
        code_challenge: code.codeChallenge,
        code_challenge_method: code.codeChallengeMethod,
        nonce: code.nonce,
        auth_time: code.authTime,
        sid: code.sid,
        created_at: code.createdAt,
        expires_at: code.expiresAt,
        consumed_at: code.consumedAt,
        access_token_jti: code.accessToken?.jti ?? null,
        access_token_expires_at: code.accessToken?.expiresAt ?? null,
      })
      .execute();
  }
  async findByHash(codeHash: string): Promise<AuthorizationCode | undefined> {
    const row = await this.db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
    return row && toCode(row);
  }
  /** One conditional update: true only for the single caller that consumed the code. */
  async consume(codeHash: string, now: number, accessToken: AccessTokenRef): Promise<boolean> {
    const r = await this.db
      .updateTable('authorization_codes')
      .set({ consumed_at: now, access_token_jti: accessToken.jti, access_token_expires_at: accessToken.expiresAt })
      .where('code_hash', '=', codeHash)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** R8: codes that expired AND were used (if at all) before `before`; younger ones stay so that reuse is detected. */
  async deleteSpent(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('authorization_codes')
      .where('code_hash', 'in', (qb) =>
        qb
          .selectFrom('authorization_codes')
          .select('code_hash')
          .where('expires_at', '<', before)
          .where((eb) => eb.or([eb('consumed_at', 'is', null), eb('consumed_at', '<', before)]))
          .limit(limit),
      )
      .executeTakeFirst();
    return affected(r);
  }
  /** Access tokens issued from this user's codes that have not expired yet (to deny them when the user is signed out everywhere). */
  async liveAccessTokensOf(userId: string, now: number): Promise<AccessTokenRef[]> {
    const rows = await this.db
      .selectFrom('authorization_codes')
      .select(['access_token_jti', 'access_token_expires_at'])
      .where('user_id', '=', userId)
      .where('access_token_expires_at', '>', now)
      .execute();
    return accessTokenRefs(rows);
  }
}
