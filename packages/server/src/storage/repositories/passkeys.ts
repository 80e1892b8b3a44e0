// WebAuthn credentials (passkeys): public keys and signature counters, never a secret.
import type { Selectable } from 'kysely';
import type { Passkey } from '../records.js';
import type { PasskeyTable } from '../schema.js';
import { affected, type Db } from './columns.js';

function toPasskey(row: Selectable<PasskeyTable>): Passkey {
  return {
    credentialId: row.credential_id,
    userId: row.user_id,
    name: row.name,
    publicKey: row.public_key,
    counter: Number(row.counter),
    transports: JSON.parse(row.transports) as string[],
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
  };
}

export class PasskeyRepository {
  constructor(private readonly db: Db) {}

  async create(passkey: Passkey): Promise<void> {
    await this.db
      .insertInto('passkeys')
      .values({
        credential_id: passkey.credentialId,
        user_id: passkey.userId,
        name: passkey.name,
        public_key: passkey.publicKey,
        counter: passkey.counter,
        transports: JSON.stringify(passkey.transports),
        created_at: passkey.createdAt,
        last_used_at: passkey.lastUsedAt,
      })
      .execute();
  }

  async find(credentialId: string): Promise<Passkey | undefined> {
    const row = await this.db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
    return row && toPasskey(row);
  }

  async listOf(userId: string): Promise<Passkey[]> {
    const rows = await this.db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toPasskey);
  }

  /**
   * One conditional update after a verified assertion: the counter moves from the value the check used
   * to the new one, so two parallel uses of one assertion (or of a cloned key) cannot both pass.
   */
  async recordUse(credentialId: string, expectedCounter: number, newCounter: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('passkeys')
      .set({ counter: newCounter, last_used_at: now })
      .where('credential_id', '=', credentialId)
      .where('counter', '=', expectedCounter)
      .executeTakeFirst();
    return affected(r) === 1;
  }

  async delete(userId: string, credentialId: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom('passkeys')
      .where('credential_id', '=', credentialId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return affected(r) === 1;
  }

  async deleteAllOf(userId: string): Promise<number> {
    return affected(await this.db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst());
  }
}
