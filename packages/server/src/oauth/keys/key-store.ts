// RFC 7517 (JWKS), RFC 7518 §3: signing keys. ES256 signs access tokens, RS256 signs ID tokens.
// Keys live in the database so that every node signs with the same keys; they are imported once and
// kept in memory, and reloaded on an interval so that a rotation done on one node reaches the others.
import { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { SigningKey, SigningKeyRepository, SigningKeyStatus } from '../../storage/index.js';

export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';
/** Every algorithm keeps one active key: ES256 signs access tokens, RS256 (default) or the client's
 * registered id_token_signed_response_alg signs ID tokens. */
export const SUPPORTED_SIGNING_ALGS: readonly SigningAlg[] = ['RS256', 'ES256', 'EdDSA'];
export const REQUIRED_ALGS: readonly SigningAlg[] = SUPPORTED_SIGNING_ALGS;
/** Cache-Control max-age of the JWKS: the longest a verifier may go on using a copy (rotation waits for it). */
export const JWKS_MAX_AGE = 300;

/**
 * THE rule for which key signs for `alg`: the most recently activated active key, ties broken by kid,
 * so that every node (and `gatehouse keys list`) picks the same one from the same rows.
 */
export function pickSigningKey<K extends Pick<SigningKey, 'kid' | 'alg' | 'status' | 'activatedAt'>>(
  keys: Iterable<K>,
  alg: string,
): K | undefined {
  let best: K | undefined;
  for (const k of keys) {
    if (k.alg !== alg || k.status !== 'active') continue;
    const ka = k.activatedAt ?? 0;
    const ba = best?.activatedAt ?? 0;
    if (!best || ka > ba || (ka === ba && k.kid > best.kid)) best = k;
  }
  return best;
}

export interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  status: SigningKeyStatus;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  activatedAt: number | null;
  /** The same keys as node:crypto KeyObjects: our own JWTs are signed and verified synchronously with
   * these (oauth/tokens/jws.ts), without WebCrypto's thread-pool hop. */
  privateKeyObject: KeyObject;
  publicKeyObject: KeyObject;
  /** base64url of the protected header {alg, typ, kid} per typ, built on first use (it depends on nothing else). */
  encodedHeaders: Map<string, string>;
}

export async function generateSigningKey(alg: SigningAlg, status: 'next' | 'active', now: number): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
  });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const published: JWK = { ...publicJwk, kid, use: 'sig', alg };
  return {
    kid,
    alg,
    use: 'sig',
    privateJwk: { ...privateJwk, kid, alg },
    publicJwk: published,
    status,
    createdAt: now,
    activatedAt: status === 'active' ? now : null,
    retiredAt: null,
    removeAfter: null,
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
    const missing = (rows: readonly SigningKey[]) =>
      REQUIRED_ALGS.filter((alg) => !rows.some((r) => r.alg === alg && r.status === 'active'));
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
    const visible = rows.filter((key) => isPublished(key, now));
    const loaded: LoadedKey[] = [];
    for (const key of visible) {
      const existing = this.byKid.get(key.kid);
      const privateKey = existing?.privateKey ?? ((await importJWK(key.privateJwk, key.alg)) as CryptoKey);
      const publicKey = existing?.publicKey ?? ((await importJWK(key.publicJwk, key.alg)) as CryptoKey);
      loaded.push({
        kid: key.kid,
        alg: key.alg,
        status: key.status,
        privateKey,
        publicKey,
        publicJwk: key.publicJwk,
        activatedAt: key.activatedAt,
        privateKeyObject: existing?.privateKeyObject ?? KeyObject.from(privateKey),
        publicKeyObject: existing?.publicKeyObject ?? KeyObject.from(publicKey),
        encodedHeaders: existing?.encodedHeaders ?? new Map(),
      });
    }
    this.keys = loaded;
    this.byKid = new Map(loaded.map((k) => [k.kid, k]));
    this.jwksCache = { keys: loaded.map((k) => k.publicJwk) };
  }

  /** The key that signs for `alg` now (pickSigningKey). */
  signingKey(alg: SigningAlg): LoadedKey {
    const key = pickSigningKey(this.keys, alg);
    if (!key) throw new Error(`no active ${alg} signing key`);
    return key;
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

/** Is this key in the JWKS at `now`? Next and active keys are; a retired one until its removal time. */
export function isPublished(key: Pick<SigningKey, 'status' | 'removeAfter'>, now: number): boolean {
  return key.status !== 'retired' || (key.removeAfter ?? Infinity) > now;
}
