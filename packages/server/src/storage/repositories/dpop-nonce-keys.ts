import { isUniqueViolation } from '../errors.js';
import { affected, type Db } from './columns.js';
import type { SealingReport, SigningKeySealer } from './signing-keys.js';

const CURRENT = 'current';
/** The associated data of the sealed secret: the row it belongs to (KP-01, like signing keys). */
const aadOf = (id: string) => `dpop_nonce_keys.secret:${id}`;

/**
 * The HMAC key of server-provided DPoP nonces (RFC 9449 §8), one row shared by every node. The first
 * node to need it inserts its candidate; every other node (and every later start) reads that row.
 * KP-01: with a key-encryption key configured, the secret is sealed (oauth/at-rest.ts) under the same
 * key as the private signing keys; a row stored in plaintext before is sealed at start and by
 * `gatehouse keys rewrap`, which also re-seals it under a new key-encryption key.
 */
export class DpopNonceKeyRepository {
  constructor(
    private readonly db: Db,
    private readonly sealer?: SigningKeySealer,
  ) {}

  private open(stored: string): string {
    if (this.sealer === undefined) {
      // The secret is base64url; a sealed value needs the sealer (the server always passes one).
      if (/^[A-Za-z0-9_-]+$/.test(stored)) return stored;
      throw new Error('the DPoP nonce key is sealed at rest and no key-encryption key was given');
    }
    return this.sealer.reveal(stored, aadOf(CURRENT));
  }

  /** The shared key: `candidate` if this call created it, else the one already stored. */
  async getOrCreate(candidate: string, now: number): Promise<string> {
    const existing = await this.db.selectFrom('dpop_nonce_keys').select('secret').where('id', '=', CURRENT).executeTakeFirst();
    if (existing) return this.open(existing.secret);
    const stored = this.sealer ? this.sealer.protect(candidate, aadOf(CURRENT)) : candidate;
    try {
      await this.db.insertInto('dpop_nonce_keys').values({ id: CURRENT, secret: stored, created_at: now }).execute();
      return candidate;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
    const row = await this.db.selectFrom('dpop_nonce_keys').select('secret').where('id', '=', CURRENT).executeTakeFirstOrThrow();
    return this.open(row.secret);
  }

  /** KP-01: the key-encryption keys that sealed the stored secret and that the sealer lacks. */
  async missingKeyEncryptionKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('dpop_nonce_keys').select('secret').execute();
    const missing = new Set<string>();
    for (const row of rows) {
      if (this.sealer === undefined) {
        if (!/^[A-Za-z0-9_-]+$/.test(row.secret)) missing.add('unknown');
      } else if (this.sealer.isSealed(row.secret) && !this.sealer.canOpen(row.secret)) {
        missing.add(this.sealer.sealedBy(row.secret) ?? 'unknown');
      }
    }
    return [...missing].sort();
  }

  /**
   * KP-01: seals a plaintext secret under the current key-encryption key; with `rewrap`, also re-seals
   * one sealed under another (the previous) key. One conditional update on the old value per row.
   */
  async sealAll(options: { rewrap: boolean }): Promise<SealingReport> {
    const sealer = this.sealer;
    const rows = await this.db.selectFrom('dpop_nonce_keys').select(['id', 'secret']).execute();
    let sealed = 0;
    if (sealer === undefined || !sealer.configured) return { total: rows.length, sealed };
    for (const row of rows) {
      const plaintext = !sealer.isSealed(row.secret);
      if (!(plaintext || (options.rewrap && sealer.needsRewrap(row.secret)))) continue;
      const secret = sealer.reveal(row.secret, aadOf(row.id));
      const r = await this.db
        .updateTable('dpop_nonce_keys')
        .set({ secret: sealer.protect(secret, aadOf(row.id)) })
        .where('id', '=', row.id)
        .where('secret', '=', row.secret)
        .executeTakeFirst();
      sealed += affected(r);
    }
    return { total: rows.length, sealed };
  }
}
