import type { Selectable } from 'kysely';
import type { User, UserRole } from '../records.js';
import type { UserTable } from '../schema.js';
import { affected, fromFlag, toFlag, type Db } from './columns.js';
import { PreparedQuery } from './prepared.js';

const findUser = new PreparedQuery<Selectable<UserTable>, [string]>(1, (db, id) => db.selectFrom('users').selectAll().where('id', '=', id));

/**
 * UN-01: the canonical form of a username, the one that is unique and looked up: Unicode NFKC, then
 * lower case (so `Alice`, `ALICE` and `ａｌｉｃｅ` are one name). Create and every lookup use it.
 */
export function canonicalUsername(username: string): string {
  return username.normalize('NFKC').toLowerCase();
}

export function toUser(row: Omit<Selectable<UserTable>, 'username_canonical' | 'role'> & { role?: string | null }): User {
  return {
    id: row.id,
    username: row.username,
    passwordHash: row.password_hash,
    email: row.email,
    name: row.name,
    claims: JSON.parse(row.claims) as Record<string, unknown>,
    disabled: fromFlag(row.disabled),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    role: row.role === 'admin' ? 'admin' : null,
  };
}

export class UserRepository {
  constructor(private readonly db: Db) {}
  async create(user: User): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        id: user.id,
        username: user.username,
        username_canonical: canonicalUsername(user.username),
        password_hash: user.passwordHash,
        email: user.email,
        name: user.name,
        claims: JSON.stringify(user.claims),
        disabled: toFlag(user.disabled),
        created_at: user.createdAt,
        updated_at: user.updatedAt,
        role: user.role ?? null,
      })
      .execute();
  }
  async findById(id: string): Promise<User | undefined> {
    const row = await findUser.first(this.db, id);
    return row && toUser(row);
  }
  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('username_canonical', '=', canonicalUsername(username))
      .executeTakeFirst();
    return row && toUser(row);
  }
  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('created_at').orderBy('username').execute();
    return rows.map(toUser);
  }
  async setDisabled(id: string, disabled: boolean, now: number): Promise<boolean> {
    return (
      affected(
        await this.db
          .updateTable('users')
          .set({ disabled: toFlag(disabled), updated_at: now })
          .where('id', '=', id)
          .executeTakeFirst(),
      ) > 0
    );
  }
  /** 0021_admin: gives or takes the role; false when there is no such user. */
  async setRole(id: string, role: UserRole | null, now: number): Promise<boolean> {
    return affected(await this.db.updateTable('users').set({ role, updated_at: now }).where('id', '=', id).executeTakeFirst()) > 0;
  }
  async setPasswordHash(id: string, passwordHash: string, now: number): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash, updated_at: now }).where('id', '=', id).execute();
  }
  /** The name and email a user edits on the account page (null clears one), and the claims that go with them. */
  async setProfile(
    id: string,
    profile: { name: string | null; email: string | null; claims: Readonly<Record<string, unknown>> },
    now: number,
  ): Promise<boolean> {
    return (
      affected(
        await this.db
          .updateTable('users')
          .set({ name: profile.name, email: profile.email, claims: JSON.stringify(profile.claims), updated_at: now })
          .where('id', '=', id)
          .executeTakeFirst(),
      ) > 0
    );
  }
  async delete(id: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst()) > 0;
  }
}
