import type { Selectable } from 'kysely';
import type { Session, User } from '../records.js';
import type { SessionTable, UserTable } from '../schema.js';
import { affected, scopesFromColumn, scopesToColumn, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';
import { toUser } from './users.js';

type SessionWithUserRow = Selectable<SessionTable> &
  Omit<Selectable<UserTable>, 'id' | 'created_at' | 'updated_at'> & { user_created_at: number; user_updated_at: number };
const findActiveSessionWithUser = new PreparedQuery<SessionWithUserRow, [string, number]>(2, (db, idHash, now) =>
  db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id_hash',
      'sessions.sid',
      'sessions.user_id',
      'sessions.auth_time',
      'sessions.created_at',
      'sessions.expires_at',
      'sessions.amr',
      'sessions.acr',
      'users.username',
      'users.password_hash',
      'users.email',
      'users.name',
      'users.claims',
      'users.disabled',
      'users.role',
      'users.created_at as user_created_at',
      'users.updated_at as user_updated_at',
    ])
    .where('sessions.id_hash', '=', idHash)
    .where('sessions.expires_at', '>', now),
);

const findActiveSession = new PreparedQuery<Selectable<SessionTable>, [string, number]>(2, (db, idHash, now) =>
  db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).where('expires_at', '>', now),
);

function toSession(row: Selectable<SessionTable>): Session {
  return {
    idHash: row.id_hash,
    sid: row.sid,
    userId: row.user_id,
    authTime: row.auth_time,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    ...(row.amr ? { amr: scopesFromColumn(row.amr) } : {}),
    ...(row.acr ? { acr: row.acr } : {}),
  };
}

/** Browser sessions at the authorization server. */
export class SessionRepository {
  constructor(private readonly db: Db) {}
  async create(session: Session): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: session.idHash,
        sid: session.sid,
        user_id: session.userId,
        auth_time: session.authTime,
        created_at: session.createdAt,
        expires_at: session.expiresAt,
        amr: session.amr ? scopesToColumn(session.amr) : null,
        acr: session.acr ?? null,
      })
      .execute();
  }
  async findActive(idHash: string, now: number): Promise<Session | undefined> {
    const row = await findActiveSession.first(this.db, idHash, now);
    return row && toSession(row);
  }
  /** findActive and the session's user in one statement (undefined when either is missing). */
  async findActiveWithUser(idHash: string, now: number): Promise<{ session: Session; user: User } | undefined> {
    const row = await findActiveSessionWithUser.first(this.db, idHash, now);
    if (!row) return undefined;
    const user = toUser({
      id: row.user_id,
      username: row.username,
      password_hash: row.password_hash,
      email: row.email,
      name: row.name,
      claims: row.claims,
      disabled: row.disabled,
      role: row.role,
      created_at: row.user_created_at,
      updated_at: row.user_updated_at,
    });
    return { session: toSession(row), user };
  }
  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }
  /** A user's live and expired sessions, oldest first. */
  async listOf(userId: string): Promise<Session[]> {
    const rows = await this.db.selectFrom('sessions').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toSession);
  }
  async deleteByUser(userId: string): Promise<number> {
    return affected(await this.db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst());
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('sessions')
      .where('id_hash', 'in', (qb) => qb.selectFrom('sessions').select('id_hash').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
