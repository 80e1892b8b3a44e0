import type { Grant } from '../records.js';
import type { Selectable } from 'kysely';
import type { GrantTable } from '../schema.js';
import { affected, scopesFromColumn, scopesToColumn, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';

const findGrant = new PreparedQuery<Selectable<GrantTable>, [string, string]>(2, (db, userId, clientId) =>
  db.selectFrom('grants').selectAll().where('user_id', '=', userId).where('client_id', '=', clientId),
);

function toGrant(row: Selectable<GrantTable>): Grant {
  return {
    userId: row.user_id,
    clientId: row.client_id,
    scopes: scopesFromColumn(row.scope),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at ?? null,
  };
}

/** Consents: what a user allowed a client. */
export class GrantRepository {
  constructor(private readonly db: Db) {}
  async find(userId: string, clientId: string): Promise<Grant | undefined> {
    const row = await findGrant.first(this.db, userId, clientId);
    return row && toGrant(row);
  }
  async save(userId: string, clientId: string, scopes: readonly string[], now: number): Promise<void> {
    const scope = scopesToColumn(scopes);
    await this.db
      .insertInto('grants')
      .values({ user_id: userId, client_id: clientId, scope, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['user_id', 'client_id']).doUpdateSet({ scope, updated_at: now }))
      .execute();
  }
  /**
   * Records that a token was issued for the grant, at most once per `resolution` seconds: one
   * conditional update (nothing is written when the stored time is newer). True when it wrote.
   */
  async touch(userId: string, clientId: string, now: number, resolution: number): Promise<boolean> {
    const r = await this.db
      .updateTable('grants')
      .set({ last_used_at: now })
      .where('user_id', '=', userId)
      .where('client_id', '=', clientId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - resolution)]))
      .executeTakeFirst();
    return affected(r) === 1;
  }
  async delete(userId: string, clientId: string): Promise<boolean> {
    return (
      affected(await this.db.deleteFrom('grants').where('user_id', '=', userId).where('client_id', '=', clientId).executeTakeFirst()) > 0
    );
  }
  /** The clients this user has granted access to. */
  async clientsOf(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('grants').select('client_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.client_id);
  }
  /** A user's grants, oldest first (of one client when given). */
  async listOf(userId: string, clientId?: string): Promise<Grant[]> {
    let q = this.db.selectFrom('grants').selectAll().where('user_id', '=', userId);
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    return (await q.orderBy('created_at').orderBy('client_id').execute()).map(toGrant);
  }
  /** The users who granted this client access. */
  async usersOf(clientId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('grants').select('user_id').where('client_id', '=', clientId).execute();
    return rows.map((r) => r.user_id);
  }
  /** Deletes every grant of a user, or of a client; returns how many. */
  async deleteAll(of: { userId: string } | { clientId: string }): Promise<number> {
    const q = this.db.deleteFrom('grants');
    const r = await ('userId' in of ? q.where('user_id', '=', of.userId) : q.where('client_id', '=', of.clientId)).executeTakeFirst();
    return affected(r);
  }
}
