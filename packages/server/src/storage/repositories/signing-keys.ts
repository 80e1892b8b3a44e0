import type { Selectable } from 'kysely';
import type { JWK } from 'jose';
import type { SigningKey } from '../records.js';
import type { SigningKeyTable } from '../schema.js';
import type { AtRest } from '../../oauth/at-rest.js';
import { affected, type Db } from './columns.js';

/** KP-01: what seals private JWKs (oauth/at-rest.ts); only its methods are used here. */
export type SigningKeySealer = Pick<AtRest, 'configured' | 'protect' | 'reveal' | 'isSealed' | 'canOpen' | 'sealedBy' | 'needsRewrap'>;

/** The associated data of a sealed private JWK: the row it belongs to. */
const aadOf = (kid: string) => `signing_keys.private_jwk:${kid}`;

function openPrivateJwk(row: Pick<Selectable<SigningKeyTable>, 'kid' | 'private_jwk'>, sealer: SigningKeySealer | undefined): JWK {
  const stored = row.private_jwk;
  if (stored.startsWith('{')) return JSON.parse(stored) as JWK;
  if (sealer === undefined) throw new Error(`signing key ${row.kid} is sealed at rest and no key-encryption key was given`);
  return JSON.parse(sealer.reveal(stored, aadOf(row.kid))) as JWK;
}

function toSigningKey(row: Selectable<SigningKeyTable>, sealer: SigningKeySealer | undefined): SigningKey {
  return {
    kid: row.kid,
    alg: row.alg as SigningKey['alg'],
    use: 'sig',
    privateJwk: openPrivateJwk(row, sealer),
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    status: row.status as SigningKey['status'],
    createdAt: row.created_at,
    activatedAt: row.activated_at,
    retiredAt: row.retired_at,
    removeAfter: row.remove_after,
  };
}

export type SigningKeyChanges = Partial<Pick<SigningKey, 'status' | 'activatedAt' | 'retiredAt' | 'removeAfter'>>;

export interface SealingReport {
  /** Keys in the table. */
  total: number;
  /** Keys (re)sealed under the current key-encryption key by this call. */
  sealed: number;
}

export class SigningKeyRepository {
  constructor(
    private readonly db: Db,
    private readonly sealer?: SigningKeySealer,
  ) {}
  async list(): Promise<SigningKey[]> {
    const rows = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').orderBy('kid').execute();
    return rows.map((row) => toSigningKey(row, this.sealer));
  }
  async find(kid: string): Promise<SigningKey | undefined> {
    const row = await this.db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst();
    return row && toSigningKey(row, this.sealer);
  }
  /**
   * KP-01: the key-encryption keys that sealed stored keys and that the sealer does not have (empty
   * when every key can be opened), so that a server refuses to start with a clear message.
   */
  async missingKeyEncryptionKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    const missing = new Set<string>();
    for (const row of rows) {
      if (row.private_jwk.startsWith('{')) continue;
      if (this.sealer === undefined || !this.sealer.canOpen(row.private_jwk))
        missing.add(this.sealer?.sealedBy(row.private_jwk) ?? 'unknown');
    }
    return [...missing].sort();
  }
  /**
   * KP-01: seals plaintext private JWKs under the current key-encryption key; with `rewrap`, also
   * re-seals keys sealed under another (the previous) key. Each row is replaced by one conditional
   * update on its old value, so two nodes doing this at once do not undo each other.
   */
  async sealAll(options: { rewrap: boolean }): Promise<SealingReport> {
    const sealer = this.sealer;
    const rows = await this.db.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute();
    let sealed = 0;
    if (sealer === undefined || !sealer.configured) return { total: rows.length, sealed };
    for (const row of rows) {
      const plaintext = !sealer.isSealed(row.private_jwk);
      if (!(plaintext || (options.rewrap && sealer.needsRewrap(row.private_jwk)))) continue;
      const jwk = JSON.stringify(openPrivateJwk(row, sealer));
      const r = await this.db
        .updateTable('signing_keys')
        .set({ private_jwk: sealer.protect(jwk, aadOf(row.kid)) })
        .where('kid', '=', row.kid)
        .where('private_jwk', '=', row.private_jwk)
        .executeTakeFirst();
      sealed += affected(r);
    }
    return { total: rows.length, sealed };
  }
  async create(key: SigningKey): Promise<void> {
    await this.db
      .insertInto('signing_keys')
      .values({
        kid: key.kid,
        alg: key.alg,
        use: key.use,
        private_jwk: this.sealer ? this.sealer.protect(JSON.stringify(key.privateJwk), aadOf(key.kid)) : JSON.stringify(key.privateJwk),
        public_jwk: JSON.stringify(key.publicJwk),
        status: key.status,
        created_at: key.createdAt,
        activated_at: key.activatedAt,
        retired_at: key.retiredAt,
        remove_after: key.removeAfter,
      })
      .execute();
  }
  async update(kid: string, changes: SigningKeyChanges): Promise<void> {
    const set: Partial<Selectable<SigningKeyTable>> = {};
    if (changes.status !== undefined) set.status = changes.status;
    if (changes.activatedAt !== undefined) set.activated_at = changes.activatedAt;
    if (changes.retiredAt !== undefined) set.retired_at = changes.retiredAt;
    if (changes.removeAfter !== undefined) set.remove_after = changes.removeAfter;
    await this.db.updateTable('signing_keys').set(set).where('kid', '=', kid).execute();
  }
  async delete(kid: string): Promise<void> {
    await this.db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
  }
  /** KR-02: one conditional update, so a `next` key is promoted once, whichever node gets there first. */
  async promote(kid: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('signing_keys')
      .set({ status: 'active', activated_at: now })
      .where('kid', '=', kid)
      .where('status', '=', 'next')
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** Retires every active key of `alg` except `keepKid`; returns how many. */
  async retireActiveExcept(alg: string, keepKid: string, now: number, removeAfter: number): Promise<number> {
    const r = await this.db
      .updateTable('signing_keys')
      .set({ status: 'retired', retired_at: now, remove_after: removeAfter })
      .where('alg', '=', alg)
      .where('status', '=', 'active')
      .where('kid', '!=', keepKid)
      .executeTakeFirst();
    return affected(r);
  }
  /** Retires one key if it still has status `from`; an active key only while another active key of its alg remains. */
  async retire(kid: string, alg: string, from: 'next' | 'active', now: number, removeAfter: number): Promise<boolean> {
    let q = this.db
      .updateTable('signing_keys')
      .set({ status: 'retired', retired_at: now, remove_after: removeAfter })
      .where('kid', '=', kid)
      .where('status', '=', from);
    if (from === 'active') {
      q = q.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('signing_keys as other')
            .select('other.kid')
            .where('other.alg', '=', alg)
            .where('other.status', '=', 'active')
            .where('other.kid', '!=', kid),
        ),
      );
    }
    return affected(await q.executeTakeFirst()) === 1;
  }
  /** Brings a retired key's removal from the JWKS forward to `removeAfter` (never later). */
  async shortenRetirement(kid: string, removeAfter: number): Promise<boolean> {
    const r = await this.db
      .updateTable('signing_keys')
      .set({ remove_after: removeAfter })
      .where('kid', '=', kid)
      .where('status', '=', 'retired')
      .where((eb) => eb.or([eb('remove_after', 'is', null), eb('remove_after', '>', removeAfter)]))
      .executeTakeFirst();
    return affected(r) === 1;
  }
  /** Deletes a key only while it is still `next` (it never signed anything). */
  async deleteNext(kid: string): Promise<boolean> {
    return affected(await this.db.deleteFrom('signing_keys').where('kid', '=', kid).where('status', '=', 'next').executeTakeFirst()) === 1;
  }
  /** R8: retired keys whose time in the JWKS ended before `before`. */
  async deleteRemoved(before: number, limit: number): Promise<number> {
    const r = await this.db
      .deleteFrom('signing_keys')
      .where('kid', 'in', (qb) =>
        qb.selectFrom('signing_keys').select('kid').where('status', '=', 'retired').where('remove_after', '<', before).limit(limit),
      )
      .executeTakeFirst();
    return affected(r);
  }
}
