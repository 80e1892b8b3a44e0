import type { Selectable } from 'kysely';
import type { AccessTokenRef, User } from '../records.js';
import type { UserTable } from '../schema.js';
import { affected, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';
import { toUser } from './users.js';

const findRevoked = new PreparedQuery<{ jti: string }, [string]>(1, (db, jti) =>
  db.selectFrom('revoked_access_tokens').select('jti').where('jti', '=', jti),
);

type UserColumns = { [K in keyof Selectable<UserTable> as `u_${K}`]: Selectable<UserTable>[K] | null };
/** The client row (must exist), the subject's user row (may not) and the denylist entry, in one statement. */
const findAccessTokenState = new PreparedQuery<UserColumns & { revoked: string | null; client_disabled: number }, [string, string, string]>(
  3,
  (db, clientId, userId, jti) =>
    db
      .selectFrom('clients')
      .leftJoin('users', (join) => join.on('users.id', '=', userId))
      .leftJoin('revoked_access_tokens', (join) => join.on('revoked_access_tokens.jti', '=', jti))
      .select([
        'revoked_access_tokens.jti as revoked',
        'clients.disabled as client_disabled',
        'users.id as u_id',
        'users.username as u_username',
        'users.password_hash as u_password_hash',
        'users.email as u_email',
        'users.name as u_name',
        'users.claims as u_claims',
        'users.disabled as u_disabled',
        'users.role as u_role',
        'users.created_at as u_created_at',
        'users.updated_at as u_updated_at',
      ])
      .where('clients.client_id', '=', clientId),
);

/** What an access token's validity depends on in the database, read per request. */
export interface AccessTokenState {
  /** On the jti denylist. */
  revoked: boolean;
  /** The subject as a user (undefined when no user has that id: a deleted user, or a client's own token). */
  user: User | undefined;
}

/** The jti denylist: revoked access tokens until they expire. */
export class RevokedAccessTokenRepository {
  constructor(private readonly db: Db) {}
  async add(entries: readonly AccessTokenRef[]): Promise<void> {
    // Batches keep every statement well under the drivers' parameter limits (a client's deletion may deny many).
    for (let i = 0; i < entries.length; i += 500) {
      await this.db
        .insertInto('revoked_access_tokens')
        .values(entries.slice(i, i + 500).map((e) => ({ jti: e.jti, expires_at: e.expiresAt })))
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
    }
  }
  async isRevoked(jti: string): Promise<boolean> {
    const row = await findRevoked.first(this.db, jti);
    return row !== undefined;
  }
  /**
   * LC-01: whether the token's jti is denied, and its subject user, in one statement; undefined when
   * the token's client no longer exists or is disabled.
   */
  async accessTokenState(jti: string, clientId: string, subject: string): Promise<AccessTokenState | undefined> {
    const row = await findAccessTokenState.first(this.db, clientId, subject, jti);
    // A disabled client's tokens are inactive as a deleted client's are (0021_admin).
    if (!row || row.client_disabled !== 0) return undefined;
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
            role: row.u_role,
            created_at: row.u_created_at!,
            updated_at: row.u_updated_at!,
          });
    return { revoked: row.revoked !== null, user };
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('revoked_access_tokens')
      .where('jti', 'in', (qb) => qb.selectFrom('revoked_access_tokens').select('jti').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
