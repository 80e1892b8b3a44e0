import type { Selectable } from 'kysely';
import type { AccountInteraction, Interaction } from '../records.js';
import type { InteractionTable } from '../schema.js';
import { affected, scopesFromColumn, scopesToColumn, type Db } from './columns.js';

/** The stored request; one written before scopes became a list (`scope: "a b"`) or before resources is read as one. */
function requestOf(params: string): Interaction['request'] {
  const request = JSON.parse(params) as Interaction['request'] & { scope?: unknown };
  if (!Array.isArray(request.scopes)) request.scopes = typeof request.scope === 'string' ? scopesFromColumn(request.scope) : [];
  delete request.scope;
  if (!Array.isArray(request.resources)) request.resources = [];
  return request;
}

/** What both purposes of an interaction store alike: the browser, the sign-in and its pending second factor. */
function commonOf(row: Selectable<InteractionTable>) {
  return {
    id: row.id,
    browserHash: row.browser_hash,
    userId: row.user_id,
    authTime: row.auth_time,
    sid: row.sid,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
    pendingUserId: row.pending_user_id,
    pendingAmr: row.pending_amr === null ? null : scopesFromColumn(row.pending_amr),
  };
}

function toInteraction(row: Selectable<InteractionTable>): Interaction {
  return { ...commonOf(row), clientId: row.client_id, request: requestOf(row.params) };
}

function toAccountInteraction(row: Selectable<InteractionTable>): AccountInteraction {
  return { ...commonOf(row), purpose: 'account', returnTo: row.return_to ?? '/account' };
}

/** Authorization requests waiting for the user to sign in and consent. */
export class InteractionRepository {
  constructor(private readonly db: Db) {}
  async create(interaction: Interaction): Promise<void> {
    await this.db
      .insertInto('interactions')
      .values({
        id: interaction.id,
        client_id: interaction.clientId,
        params: JSON.stringify(interaction.request),
        browser_hash: interaction.browserHash,
        user_id: interaction.userId,
        auth_time: interaction.authTime,
        sid: interaction.sid,
        created_at: interaction.createdAt,
        expires_at: interaction.expiresAt,
        consumed_at: interaction.consumedAt,
        purpose: null,
        return_to: null,
        pending_user_id: interaction.pendingUserId ?? null,
        pending_amr: interaction.pendingAmr ? scopesToColumn(interaction.pendingAmr) : null,
      })
      .execute();
  }
  /** A sign-in to the account pages: no client (empty client_id) and no request. */
  async createAccount(interaction: AccountInteraction): Promise<void> {
    await this.db
      .insertInto('interactions')
      .values({
        id: interaction.id,
        client_id: '',
        params: '{}',
        browser_hash: interaction.browserHash,
        user_id: interaction.userId,
        auth_time: interaction.authTime,
        sid: interaction.sid,
        created_at: interaction.createdAt,
        expires_at: interaction.expiresAt,
        consumed_at: interaction.consumedAt,
        purpose: interaction.purpose,
        return_to: interaction.returnTo,
        pending_user_id: null,
        pending_amr: null,
      })
      .execute();
  }
  /** A live account sign-in (never an authorization request). */
  async findActiveAccount(id: string, now: number): Promise<AccountInteraction | undefined> {
    const row = await this.db
      .selectFrom('interactions')
      .selectAll()
      .where('id', '=', id)
      .where('purpose', '=', 'account')
      .where('expires_at', '>', now)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return row && toAccountInteraction(row);
  }
  /** A live authorization request (never an account sign-in). */
  async findActive(id: string, now: number): Promise<Interaction | undefined> {
    const row = await this.db
      .selectFrom('interactions')
      .selectAll()
      .where('id', '=', id)
      .where('purpose', 'is', null)
      .where('expires_at', '>', now)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return row && toInteraction(row);
  }
  async bindUser(id: string, userId: string, authTime: number, sid: string): Promise<void> {
    await this.db.updateTable('interactions').set({ user_id: userId, auth_time: authTime, sid }).where('id', '=', id).execute();
  }
  /** Two-factor sign-in: the user passed the first factor (`amr`) and must now give a second one. */
  async setPending(id: string, userId: string, amr: readonly string[]): Promise<void> {
    await this.db
      .updateTable('interactions')
      .set({ pending_user_id: userId, pending_amr: scopesToColumn(amr) })
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .execute();
  }
  /** One conditional update: true only for the single request that completes the interaction. */
  async consume(id: string, now: number): Promise<boolean> {
    return (
      affected(
        await this.db
          .updateTable('interactions')
          .set({ consumed_at: now })
          .where('id', '=', id)
          .where('consumed_at', 'is', null)
          .executeTakeFirst(),
      ) === 1
    );
  }
  async deleteExpired(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('interactions')
      .where('id', 'in', (qb) => qb.selectFrom('interactions').select('id').where('expires_at', '<', before).limit(limit))
      .executeTakeFirst();
    return affected(r);
  }
}
