import type { SecurityEvent } from '../records.js';
import type { SecurityEventTable } from '../schema.js';
import { affected, type Db } from './columns.js';

function toEvent(row: SecurityEventTable): SecurityEvent {
  return {
    id: row.id,
    type: row.type as SecurityEvent['type'],
    createdAt: Number(row.created_at),
    userId: row.user_id,
    username: row.username,
    clientId: row.client_id,
    ip: row.ip,
    details: JSON.parse(row.details) as Record<string, unknown>,
  };
}

export interface SecurityEventQuery {
  /** Only events at or after this time (epoch seconds). */
  since?: number;
  types?: readonly string[];
  userId?: string;
  clientId?: string;
  /** Newest first, at most this many (default 100). */
  limit?: number;
}

/** The security event log: appended to by every node, read by operators, swept by age. */
export class SecurityEventRepository {
  constructor(private readonly db: Db) {}
  async insert(event: SecurityEvent): Promise<void> {
    await this.db
      .insertInto('security_events')
      .values({
        id: event.id,
        type: event.type,
        created_at: event.createdAt,
        user_id: event.userId,
        username: event.username,
        client_id: event.clientId,
        ip: event.ip,
        details: JSON.stringify(event.details),
      })
      .execute();
  }
  async list(query: SecurityEventQuery = {}): Promise<SecurityEvent[]> {
    let q = this.db.selectFrom('security_events').selectAll();
    if (query.since !== undefined) q = q.where('created_at', '>=', query.since);
    if (query.types !== undefined && query.types.length > 0) q = q.where('type', 'in', [...query.types]);
    if (query.userId !== undefined) q = q.where('user_id', '=', query.userId);
    if (query.clientId !== undefined) q = q.where('client_id', '=', query.clientId);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.limit ?? 100)
      .execute();
    return rows.map(toEvent);
  }
  async deleteOlderThan(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('security_events')
      .where('id', 'in', (qb) => qb.selectFrom('security_events').select('id').where('created_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
