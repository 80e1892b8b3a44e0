import type { Selectable } from 'kysely';
import type { Client } from '../records.js';
import type { ClientTable } from '../schema.js';
import { affected, fromFlag, scopesFromColumn, scopesToColumn, toFlag, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';

const findClient = new PreparedQuery<Selectable<ClientTable>, [string]>(1, (db, clientId) =>
  db.selectFrom('clients').selectAll().where('client_id', '=', clientId),
);

function toClient(row: Selectable<ClientTable>): Client {
  return {
    clientId: row.client_id,
    clientName: row.client_name,
    secretHash: row.client_secret_hash,
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as Client['grantTypes'],
    scopes: scopesFromColumn(row.scope),
    authMethod: row.token_endpoint_auth_method as Client['authMethod'],
    isPublic: fromFlag(row.is_public),
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
    registrationAccessTokenHash: row.registration_access_token_hash,
    disabled: fromFlag(row.disabled),
  };
}

function toRow(client: Client): Selectable<ClientTable> {
  return {
    client_id: client.clientId,
    client_secret_hash: client.secretHash,
    client_name: client.clientName,
    redirect_uris: JSON.stringify(client.redirectUris),
    grant_types: JSON.stringify(client.grantTypes),
    scope: scopesToColumn(client.scopes),
    token_endpoint_auth_method: client.authMethod,
    is_public: toFlag(client.isPublic),
    metadata: JSON.stringify(client.metadata),
    created_at: client.createdAt,
    registration_access_token_hash: client.registrationAccessTokenHash ?? null,
    disabled: toFlag(client.disabled === true),
  };
}

export class ClientRepository {
  constructor(private readonly db: Db) {}
  async create(client: Client): Promise<void> {
    await this.db.insertInto('clients').values(toRow(client)).execute();
  }
  /** RFC 7592 §2.2: replaces everything but the id, the secret, the creation time and the disabled flag. */
  async update(client: Client): Promise<boolean> {
    const { client_id: clientId, client_secret_hash: _secret, created_at: _created, disabled: _disabled, ...changes } = toRow(client);
    const r = await this.db.updateTable('clients').set(changes).where('client_id', '=', clientId).executeTakeFirst();
    return affected(r) === 1;
  }
  /**
   * Replaces the secret's digest (a rotation): the previous secret stops authenticating at once.
   * With `expectedHash`, only if the stored digest still is that one (two rotations cannot both win).
   */
  async setSecretHash(clientId: string, secretHash: string, expectedHash?: string | null): Promise<boolean> {
    let q = this.db.updateTable('clients').set({ client_secret_hash: secretHash }).where('client_id', '=', clientId);
    if (expectedHash !== undefined)
      q = expectedHash === null ? q.where('client_secret_hash', 'is', null) : q.where('client_secret_hash', '=', expectedHash);
    return affected(await q.executeTakeFirst()) === 1;
  }
  async setDisabled(clientId: string, disabled: boolean): Promise<boolean> {
    return (
      affected(
        await this.db
          .updateTable('clients')
          .set({ disabled: toFlag(disabled) })
          .where('client_id', '=', clientId)
          .executeTakeFirst(),
      ) === 1
    );
  }
  async find(clientId: string): Promise<Client | undefined> {
    const row = await findClient.first(this.db, clientId);
    return row && toClient(row);
  }
  async list(): Promise<Client[]> {
    const rows = await this.db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('client_id').execute();
    return rows.map(toClient);
  }
  async delete(clientId: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst()) > 0;
  }
}
