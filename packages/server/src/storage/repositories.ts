// Small repositories, one per concern, over one Kysely executor (a database or a transaction), so the
// same code serves SQLite and PostgreSQL and every caller can run several of them in one transaction.
import type { Kysely, Selectable } from 'kysely';
import type {
  AuthorizationCodeTable, ClientTable, Database, GrantTable, InteractionTable, RefreshTokenTable,
  SessionTable, SigningKeyTable, UserTable,
} from './schema.js';

export type ClientRow = Selectable<ClientTable>;
export type UserRow = Selectable<UserTable>;
export type AuthorizationCodeRow = Selectable<AuthorizationCodeTable>;
export type RefreshTokenRow = Selectable<RefreshTokenTable>;
export type GrantRow = Selectable<GrantTable>;
export type SessionRow = Selectable<SessionTable>;
export type InteractionRow = Selectable<InteractionTable>;
export type SigningKeyRow = Selectable<SigningKeyTable>;

type Db = Kysely<Database>;

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class ClientRepository {
  constructor(private readonly db: Db) {}
  async create(row: ClientRow): Promise<void> {
    await this.db.insertInto('clients').values(row).execute();
  }
  find(clientId: string): Promise<ClientRow | undefined> {
    return this.db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  }
  list(): Promise<ClientRow[]> {
    return this.db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
  }
  async delete(clientId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export class UserRepository {
  constructor(private readonly db: Db) {}
  async create(row: UserRow): Promise<void> {
    await this.db.insertInto('users').values(row).execute();
  }
  findById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }
  findByUsername(username: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }
  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('username').execute();
  }
  async setDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    const r = await this.db.updateTable('users').set({ disabled: disabled ? 1 : 0, updated_at: now }).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
  }
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

export class AuthorizationCodeRepository {
  constructor(private readonly db: Db) {}
  async create(row: AuthorizationCodeRow): Promise<void> {
    await this.db.insertInto('authorization_codes').values(row).execute();
  }
  findByHash(codeHash: string): Promise<AuthorizationCodeRow | undefined> {
    return this.db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
  }
  /** One conditional update: true only for the single caller that consumed the code. */
  async consume(codeHash: string, now: number, accessTokenJti: string, accessTokenExpiresAt: number): Promise<boolean> {
    const r = await this.db
      .updateTable('authorization_codes')
      .set({ consumed_at: now, access_token_jti: accessTokenJti, access_token_expires_at: accessTokenExpiresAt })
      .where('code_hash', '=', codeHash)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('authorization_codes').where('code_hash', 'in', (qb) =>
      qb.selectFrom('authorization_codes').select('code_hash').where('expires_at', '<', before).limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  /** R8: codes that expired AND were used (if at all) before `before`; younger ones stay so that reuse is detected. */
  async deleteSpent(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('authorization_codes').where('code_hash', 'in', (qb) =>
      qb.selectFrom('authorization_codes').select('code_hash')
        .where('expires_at', '<', before)
        .where((eb) => eb.or([eb('consumed_at', 'is', null), eb('consumed_at', '<', before)]))
        .limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  /** Access tokens issued from this user's codes that have not expired yet (to deny them when the user is signed out everywhere). */
  async liveAccessTokensOf(userId: string, now: number): Promise<{ jti: string; expiresAt: number }[]> {
    const rows = await this.db.selectFrom('authorization_codes').select(['access_token_jti', 'access_token_expires_at'])
      .where('user_id', '=', userId).where('access_token_expires_at', '>', now).execute();
    return rows.flatMap((r) => (r.access_token_jti && r.access_token_expires_at ? [{ jti: r.access_token_jti, expiresAt: r.access_token_expires_at }] : []));
  }
}

export class RefreshTokenRepository {
  constructor(private readonly db: Db) {}
  async create(row: RefreshTokenRow): Promise<void> {
    await this.db.insertInto('refresh_tokens').values(row).execute();
  }
  findByHash(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    return this.db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  }
  /** One conditional update: true only for the single caller that rotated the token. */
  async markRotated(tokenHash: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('refresh_tokens')
      .set({ rotated_at: now })
      .where('token_hash', '=', tokenHash)
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Revokes every token of a family; returns the access tokens issued alongside them. */
  async revokeFamily(familyId: string, now: number): Promise<{ jti: string; expiresAt: number }[]> {
    await this.db.updateTable('refresh_tokens').set({ revoked_at: now }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
    const rows = await this.db
      .selectFrom('refresh_tokens')
      .select(['access_token_jti', 'access_token_expires_at'])
      .where('family_id', '=', familyId)
      .where('access_token_expires_at', '>', now)
      .execute();
    return rows.flatMap((r) => (r.access_token_jti && r.access_token_expires_at ? [{ jti: r.access_token_jti, expiresAt: r.access_token_expires_at }] : []));
  }
  async familiesOf(userId: string, clientId?: string): Promise<string[]> {
    let q = this.db.selectFrom('refresh_tokens').select('family_id').distinct().where('user_id', '=', userId).where('revoked_at', 'is', null);
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    return (await q.execute()).map((r) => r.family_id);
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('refresh_tokens').where('token_hash', 'in', (qb) =>
      qb.selectFrom('refresh_tokens').select('token_hash').where('expires_at', '<', before).limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  /** Live families issued in one browser session (its sid). */
  async familiesOfSession(userId: string, sid: string): Promise<string[]> {
    const rows = await this.db.selectFrom('refresh_tokens').select('family_id').distinct()
      .where('user_id', '=', userId).where('sid', '=', sid).where('revoked_at', 'is', null).execute();
    return rows.map((r) => r.family_id);
  }
  /** Clients holding a live (unrevoked, unexpired) refresh token of this user. */
  async clientsOf(userId: string, now: number): Promise<string[]> {
    const rows = await this.db.selectFrom('refresh_tokens').select('client_id').distinct()
      .where('user_id', '=', userId).where('revoked_at', 'is', null).where('expires_at', '>', now).execute();
    return rows.map((r) => r.client_id);
  }
}

export class RevokedAccessTokenRepository {
  constructor(private readonly db: Db) {}
  async add(entries: readonly { jti: string; expiresAt: number }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db
      .insertInto('revoked_access_tokens')
      .values(entries.map((e) => ({ jti: e.jti, expires_at: e.expiresAt })))
      .onConflict((oc) => oc.column('jti').doNothing())
      .execute();
  }
  async isRevoked(jti: string): Promise<boolean> {
    const row = await this.db.selectFrom('revoked_access_tokens').select('jti').where('jti', '=', jti).executeTakeFirst();
    return row !== undefined;
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('revoked_access_tokens').where('jti', 'in', (qb) =>
      qb.selectFrom('revoked_access_tokens').select('jti').where('expires_at', '<', before).limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export class GrantRepository {
  constructor(private readonly db: Db) {}
  find(userId: string, clientId: string): Promise<GrantRow | undefined> {
    return this.db.selectFrom('grants').selectAll().where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
  }
  async save(userId: string, clientId: string, scope: string, now: number): Promise<void> {
    await this.db
      .insertInto('grants')
      .values({ user_id: userId, client_id: clientId, scope, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet({ scope, updated_at: now }))
      .execute();
  }
  async delete(userId: string, clientId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('grants').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
  /** The clients this user has granted access to. */
  async clientsOf(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('grants').select('client_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.client_id);
  }
}

export class SessionRepository {
  constructor(private readonly db: Db) {}
  async create(row: SessionRow): Promise<void> {
    await this.db.insertInto('sessions').values(row).execute();
  }
  findActive(idHash: string, now: number): Promise<SessionRow | undefined> {
    return this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).where('expires_at', '>', now).executeTakeFirst();
  }
  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }
  async deleteByUser(userId: string): Promise<number> {
    const r = await this.db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('sessions').where('id_hash', 'in', (qb) =>
      qb.selectFrom('sessions').select('id_hash').where('expires_at', '<', before).limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export class InteractionRepository {
  constructor(private readonly db: Db) {}
  async create(row: InteractionRow): Promise<void> {
    await this.db.insertInto('interactions').values(row).execute();
  }
  findActive(id: string, now: number): Promise<InteractionRow | undefined> {
    return this.db
      .selectFrom('interactions')
      .selectAll()
      .where('id', '=', id)
      .where('expires_at', '>', now)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
  }
  async bindUser(id: string, userId: string, authTime: number, sid: string): Promise<void> {
    await this.db.updateTable('interactions').set({ user_id: userId, auth_time: authTime, sid }).where('id', '=', id).execute();
  }
  /** One conditional update: true only for the single request that completes the interaction. */
  async consume(id: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('interactions').set({ consumed_at: now }).where('id', '=', id).where('consumed_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('interactions').where('id', 'in', (qb) =>
      qb.selectFrom('interactions').select('id').where('expires_at', '<', before).limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export class SigningKeyRepository {
  constructor(private readonly db: Db) {}
  list(): Promise<SigningKeyRow[]> {
    return this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
  }
  async create(row: SigningKeyRow): Promise<void> {
    await this.db.insertInto('signing_keys').values(row).execute();
  }
  async update(kid: string, changes: Partial<Pick<SigningKeyRow, 'status' | 'activated_at' | 'retired_at' | 'remove_after'>>): Promise<void> {
    await this.db.updateTable('signing_keys').set(changes).where('kid', '=', kid).execute();
  }
  async delete(kid: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
  }
  find(kid: string): Promise<SigningKeyRow | undefined> {
    return this.db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst();
  }
  /** KR-02: one conditional update, so a `next` key is promoted once, whichever node gets there first. */
  async promote(kid: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('signing_keys').set({ status: 'active', activated_at: now })
      .where('kid', '=', kid).where('status', '=', 'next').executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Retires every active key of `alg` except `keepKid`; returns how many. */
  async retireActiveExcept(alg: string, keepKid: string, now: number, removeAfter: number): Promise<number> {
    const r = await this.db.updateTable('signing_keys').set({ status: 'retired', retired_at: now, remove_after: removeAfter })
      .where('alg', '=', alg).where('status', '=', 'active').where('kid', '!=', keepKid).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
  /** Retires one key if it still has status `from`; an active key only while another active key of its alg remains. */
  async retire(kid: string, alg: string, from: 'next' | 'active', now: number, removeAfter: number): Promise<boolean> {
    let q = this.db.updateTable('signing_keys').set({ status: 'retired', retired_at: now, remove_after: removeAfter })
      .where('kid', '=', kid).where('status', '=', from);
    if (from === 'active') {
      q = q.where(({ exists, selectFrom }) => exists(selectFrom('signing_keys as other').select('other.kid')
        .where('other.alg', '=', alg).where('other.status', '=', 'active').where('other.kid', '!=', kid)));
    }
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Brings a retired key's removal from the JWKS forward to `removeAfter` (never later). */
  async shortenRetirement(kid: string, removeAfter: number): Promise<boolean> {
    const r = await this.db.updateTable('signing_keys').set({ remove_after: removeAfter })
      .where('kid', '=', kid).where('status', '=', 'retired')
      .where((eb) => eb.or([eb('remove_after', 'is', null), eb('remove_after', '>', removeAfter)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
  /** Deletes a key only while it is still `next` (it never signed anything). */
  async deleteNext(kid: string): Promise<boolean> {
    const r = await this.db.deleteFrom('signing_keys').where('kid', '=', kid).where('status', '=', 'next').executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }
  /** R8: retired keys whose time in the JWKS ended before `before`. */
  async deleteRemoved(before: number, limit: number): Promise<number> {
    const r = await this.db.deleteFrom('signing_keys').where('kid', 'in', (qb) =>
      qb.selectFrom('signing_keys').select('kid').where('status', '=', 'retired').where('remove_after', '<', before).limit(limit)).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

export interface Repositories {
  clients: ClientRepository;
  users: UserRepository;
  codes: AuthorizationCodeRepository;
  refreshTokens: RefreshTokenRepository;
  revokedAccessTokens: RevokedAccessTokenRepository;
  grants: GrantRepository;
  sessions: SessionRepository;
  interactions: InteractionRepository;
  signingKeys: SigningKeyRepository;
}

export function createRepositories(db: Db): Repositories {
  return {
    clients: new ClientRepository(db),
    users: new UserRepository(db),
    codes: new AuthorizationCodeRepository(db),
    refreshTokens: new RefreshTokenRepository(db),
    revokedAccessTokens: new RevokedAccessTokenRepository(db),
    grants: new GrantRepository(db),
    sessions: new SessionRepository(db),
    interactions: new InteractionRepository(db),
    signingKeys: new SigningKeyRepository(db),
  };
}
