// RFC 7517 (JWKS), RFC 7518 §3: signing keys. ES256 signs access tokens, RS256 signs ID tokens.
// Keys live in the database so that every node signs with the same keys; they are imported once and
// kept in memory, and reloaded on an interval so that a rotation done on one node reaches the others.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKeyRepository, SigningKeyRow } from '../../storage/index.js';

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';
/** Every algorithm keeps one active key: ES256 signs access tokens, RS256 (default) or the client's
 * registered id_token_signed_response_alg signs ID tokens. */
export const SUPPORTED_SIGNING_ALGS: readonly SigningAlg[] = ['RS256', 'ES256', 'EdDSA'];
export const REQUIRED_ALGS: readonly SigningAlg[] = SUPPORTED_SIGNING_ALGS;

export interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  status: 'next' | 'active' | 'retired';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  activatedAt: number | null;
}

export async function generateSigningKey(alg: SigningAlg, status: 'next' | 'active', now: number): Promise<SigningKeyRow> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}), ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const published: JWK = { ...publicJwk, kid, use: 'sig', alg };
  return {
    kid,
    alg,
    use: 'sig',
    private_jwk: JSON.stringify({ ...privateJwk, kid, alg }),
    public_jwk: JSON.stringify(published),
    status,
    created_at: now,
    activated_at: status === 'active' ? now : null,
    retired_at: null,
    remove_after: null,
  };
}

export class KeyStore {
  private keys: LoadedKey[] = [];
  private jwksCache: { keys: JWK[] } = { keys: [] };
  private byKid = new Map<string, LoadedKey>();

  constructor(private readonly repo: SigningKeyRepository) {}

  /**
   * Creates the first keys when the database has none, then loads them. Creating them is one decision
   * for the cluster (issue 12, R5): `exclusively` runs its callback under a database lock (the server
   * passes storage/database.ts `exclusively`), so of several nodes started at once on an empty
   * database one creates the keys and the others wait, then load the winner's: no node ever signs
   * with a key that the others do not publish.
   */
  async initialise(
    now: number,
    exclusively: (fn: (repo: SigningKeyRepository) => Promise<void>) => Promise<void> = (fn) => fn(this.repo),
  ): Promise<void> {
    const missing = (rows: readonly SigningKeyRow[]) => REQUIRED_ALGS.filter((alg) => !rows.some((r) => r.alg === alg && r.status === 'active'));
    if (missing(await this.repo.list()).length > 0) {
      await exclusively(async (repo) => {
        for (const alg of missing(await repo.list())) await repo.create(await generateSigningKey(alg, 'active', now));
      });
    }
    await this.reload(now);
  }

  /** Reloads keys from the database (cheap when nothing changed: rows are few). */
  async reload(now: number): Promise<void> {
    const rows = await this.repo.list();
    const visible = rows.filter((r) => r.status !== 'retired' || (r.remove_after ?? Infinity) > now);
    const loaded: LoadedKey[] = [];
    for (const row of visible) {
      const existing = this.byKid.get(row.kid);
      const publicJwk = JSON.parse(row.public_jwk) as JWK;
      const privateKey = existing?.privateKey ?? ((await importJWK(JSON.parse(row.private_jwk) as JWK, row.alg)) as CryptoKey);
      const publicKey = existing?.publicKey ?? ((await importJWK(publicJwk, row.alg)) as CryptoKey);
      loaded.push({
        kid: row.kid,
        alg: row.alg as SigningAlg,
        status: row.status as LoadedKey['status'],
        privateKey,
        publicKey,
        publicJwk,
        activatedAt: row.activated_at,
      });
    }
    this.keys = loaded;
    this.byKid = new Map(loaded.map((k) => [k.kid, k]));
    this.jwksCache = { keys: loaded.map((k) => k.publicJwk) };
  }

  /** The key that signs for `alg` now: the most recently activated active key (deterministic on every node). */
  signingKey(alg: SigningAlg): LoadedKey {
    let best: LoadedKey | undefined;
    for (const k of this.keys) {
      if (k.alg !== alg || k.status !== 'active') continue;
      if (!best || (k.activatedAt ?? 0) > (best.activatedAt ?? 0) || ((k.activatedAt ?? 0) === (best.activatedAt ?? 0) && k.kid > best.kid)) best = k;
    }
    if (!best) throw new Error(`no active ${alg} signing key`);
    return best;
  }

  /** Public keys only: kid, use, alg and the public members (KR-01). */
  jwks(): { keys: JWK[] } {
    return this.jwksCache;
  }

  /** The public key for a kid, for verifying our own tokens. */
  findKey(kid: string): LoadedKey | undefined {
    return this.byKid.get(kid);
  }

  list(): readonly LoadedKey[] {
    return this.keys;
  }
}
