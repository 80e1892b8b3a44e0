import type { Selectable } from 'kysely';
import type { Resource } from '../records.js';
import type { ResourceTable } from '../schema.js';
import { affected, fromFlag, scopesFromColumn, scopesToColumn, toFlag, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';

const findResource = new PreparedQuery<Selectable<ResourceTable>, [string]>(1, (db, uri) =>
  db.selectFrom('resources').selectAll().where('uri', '=', uri),
);

function toResource(row: Selectable<ResourceTable>): Resource {
  return {
    uri: row.uri,
    name: row.name,
    scopes: scopesFromColumn(row.scope),
    scopeDescriptions: JSON.parse(row.scope_descriptions) as Record<string, string>,
    accessTokenTtl: row.access_token_ttl,
    signingAlg: row.signing_alg as Resource['signingAlg'],
    mayIntrospect: fromFlag(row.may_introspect),
    introspectionClientId: row.introspection_client_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRow(resource: Resource): Selectable<ResourceTable> {
  return {
    uri: resource.uri,
    name: resource.name,
    scope: scopesToColumn(resource.scopes),
    scope_descriptions: JSON.stringify(resource.scopeDescriptions),
    access_token_ttl: resource.accessTokenTtl,
    signing_alg: resource.signingAlg,
    may_introspect: toFlag(resource.mayIntrospect),
    introspection_client_id: resource.introspectionClientId,
    created_at: resource.createdAt,
    updated_at: resource.updatedAt,
  };
}

/** RFC 8707 protected resources (APIs). */
export class ResourceRepository {
  constructor(private readonly db: Db) {}
  async create(resource: Resource): Promise<void> {
    await this.db.insertInto('resources').values(toRow(resource)).execute();
  }
  async find(uri: string): Promise<Resource | undefined> {
    const row = await findResource.first(this.db, uri);
    return row && toResource(row);
  }
  async findMany(uris: readonly string[]): Promise<Resource[]> {
    if (uris.length === 0) return [];
    if (uris.length === 1) {
      // The usual case (one API), as a statement compiled once.
      const row = await findResource.first(this.db, uris[0]!);
      return row ? [toResource(row)] : [];
    }
    const rows = await this.db
      .selectFrom('resources')
      .selectAll()
      .where('uri', 'in', [...uris])
      .execute();
    return rows.map(toResource);
  }
  /** The resource whose introspection credentials are this client row. */
  async findByIntrospectionClient(clientId: string): Promise<Resource | undefined> {
    const row = await this.db.selectFrom('resources').selectAll().where('introspection_client_id', '=', clientId).executeTakeFirst();
    return row && toResource(row);
  }
  async list(): Promise<Resource[]> {
    const rows = await this.db.selectFrom('resources').selectAll().orderBy('created_at').orderBy('uri').execute();
    return rows.map(toResource);
  }
  async update(resource: Resource): Promise<boolean> {
    const { uri, created_at: _created, ...changes } = toRow(resource);
    return affected(await this.db.updateTable('resources').set(changes).where('uri', '=', uri).executeTakeFirst()) > 0;
  }
  async delete(uri: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('resources').where('uri', '=', uri).executeTakeFirst()) > 0;
  }
}
