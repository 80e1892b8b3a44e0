import type { Selectable } from 'kysely';
import type { Session } from '../records.js';
import type { SessionTable } from '../schema.js';
import { affected, type Db } from './columns.js';

function toSession(row: Selectable<SessionTable>): Session {
  return { idHash: row.id_hash, sid: row.sid, userId: row.user_id, authTime: row.auth_time, createdAt: row.created_at, expiresAt: row.expires_at };
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
      })
      .execute();
  }
  async findActive(idHash: string, now: number): Promise<Session | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).where('expires_at', '>', now).executeTakeFirst();
    return row && toSession(row);
  }
  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
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
