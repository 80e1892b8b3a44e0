import type { Selectable } from 'kysely';
import type { AccessTokenRef, AuthorizationCode, TokenSelector } from '../records.js';
import type { AuthorizationCodeTable } from '../schema.js';
import {
  accessTokenFromColumns,
  accessTokenRefs,
  affected,
  fromFlag,
  scopesFromColumn,
  scopesToColumn,
  selectedBy,
  toFlag,
  type Db,
} from './columns.js';
import { PreparedQuery } from './prepared.js';

const insertCode = new PreparedQuery<never, unknown[]>(21, (db, ...p) =>
  db.insertInto('authorization_codes').values({
    code_hash: p[0]!,
    family_id: p[1]!,
    client_id: p[2]!,
    user_id: p[3]!,
    redirect_uri: p[4]!,
    redirect_uri_provided: p[5]!,
    scope: p[6]!,
    resources: p[7]!,
    code_challenge: p[8]!,
    code_challenge_method: p[9]!,
    nonce: p[10]!,
    auth_time: p[11]!,
    sid: p[12]!,
    created_at: p[13]!,
    expires_at: p[14]!,
    consumed_at: p[15]!,
    access_token_jti: p[16]!,
    access_token_expires_at: p[17]!,
    dpop_jkt: p[18]!,
    amr: p[19]!,
    acr: p[20]!,
  }),
);
const findCode = new PreparedQuery<Selectable<AuthorizationCodeTable>, [string]>(1, (db, codeHash) =>
  db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash),
);
const consumeCode = new PreparedQuery<never, [number, string, number, string]>(4, (db, now, jti, expiresAt, codeHash) =>
  db
    .updateTable('authorization_codes')
    .set({ consumed_at: now, access_token_jti: jti, access_token_expires_at: expiresAt })
    .where('code_hash', '=', codeHash)
    .where('consumed_at', 'is', null),
);

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
    // Absent when unbound, so that records of unbound codes and tokens look as they always did.
    ...(row.dpop_jkt === null ? {} : { dpopJkt: row.dpop_jkt }),
    ...(row.amr === null ? {} : { amr: scopesFromColumn(row.amr) }),
    ...(row.acr === null ? {} : { acr: row.acr }),
  };
}

export class AuthorizationCodeRepository {
  constructor(private readonly db: Db) {}
  async create(code: AuthorizationCode): Promise<void> {
    await insertCode.run(
      this.db,
      code.codeHash,
      code.familyId,
      code.clientId,
      code.userId,
      code.redirectUri,
      toFlag(code.redirectUriProvided),
      scopesToColumn(code.scopes),
      scopesToColumn(code.resources),
      code.codeChallenge,
      code.codeChallengeMethod,
      code.nonce,
      code.authTime,
      code.sid,
      code.createdAt,
      code.expiresAt,
      code.consumedAt,
      code.accessToken?.jti ?? null,
      code.accessToken?.expiresAt ?? null,
      code.dpopJkt ?? null,
      code.amr ? scopesToColumn(code.amr) : null,
      code.acr ?? null,
    );
  }
  async findByHash(codeHash: string): Promise<AuthorizationCode | undefined> {
    const row = await findCode.first(this.db, codeHash);
    return row && toCode(row);
  }
  /** One conditional update: true only for the single caller that consumed the code. */
  async consume(codeHash: string, now: number, accessToken: AccessTokenRef): Promise<boolean> {
    return (await consumeCode.affected(this.db, now, accessToken.jti, accessToken.expiresAt, codeHash)) === 1;
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
  /** Live access tokens issued from the codes the selector names, with the scope each code granted. */
  async liveAccessTokensSelected(selector: TokenSelector, now: number): Promise<(AccessTokenRef & { scopes: string[] })[]> {
    const rows = await this.db
      .selectFrom('authorization_codes')
      .select(['access_token_jti', 'access_token_expires_at', 'scope'])
      .where((eb) => selectedBy(eb, selector))
      .where('access_token_expires_at', '>', now)
      .execute();
    return rows.flatMap((r) => accessTokenRefs([r]).map((ref) => ({ ...ref, scopes: scopesFromColumn(r.scope) })));
  }
  /** Deletes the unredeemed codes the selector names (redeemed ones stay, so that their reuse is still detected). */
  async voidUnredeemed(selector: TokenSelector): Promise<number> {
    const r = await this.db
      .deleteFrom('authorization_codes')
      .where((eb) => selectedBy(eb, selector))
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return affected(r);
  }
}
