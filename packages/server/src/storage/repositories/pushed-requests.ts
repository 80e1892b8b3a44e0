import type { Selectable } from 'kysely';
import type { PushedRequest } from '../records.js';
import type { PushedRequestTable } from '../schema.js';
import { affected, type Db } from './columns.js';

function paramsOf(text: string): PushedRequest['params'] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((entry: unknown) =>
    Array.isArray(entry) && typeof entry[0] === 'string' && Array.isArray(entry[1]) && entry[1].every((v: unknown) => typeof v === 'string')
      ? [[entry[0], entry[1] as string[]] as const]
      : [],
  );
}

function toPushedRequest(row: Selectable<PushedRequestTable>): PushedRequest {
  return {
    idHash: row.id_hash,
    clientId: row.client_id,
    params: paramsOf(row.params),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
}

/** RFC 9126: pushed authorization requests, each used at most once, by its own client, before it expires. */
export class PushedRequestRepository {
  constructor(private readonly db: Db) {}
  async create(request: PushedRequest): Promise<void> {
    await this.db
      .insertInto('pushed_requests')
      .values({
        id_hash: request.idHash,
        client_id: request.clientId,
        params: JSON.stringify(request.params),
        created_at: request.createdAt,
        expires_at: request.expiresAt,
        consumed_at: request.consumedAt,
      })
      .execute();
  }
  /**
   * One conditional update: the single caller that presents the request_uri, for the client it was
   * pushed by, before it expires, gets the request; every other caller (a second use, another
   * client, too late) gets undefined.
   */
  async consume(idHash: string, clientId: string, now: number): Promise<PushedRequest | undefined> {
    const r = await this.db
      .updateTable('pushed_requests')
      .set({ consumed_at: now })
      .where('id_hash', '=', idHash)
      .where('client_id', '=', clientId)
      .where('expires_at', '>', now)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    if (affected(r) !== 1) return undefined;
    const row = await this.db.selectFrom('pushed_requests').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return row && toPushedRequest(row);
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('pushed_requests')
      .where('id_hash', 'in', (qb) => qb.selectFrom('pushed_requests').select('id_hash').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
