// RFC 7517; SECURITY-CHECKLIST KR-01, KR-02, R5 (mirrors the OpenID suite's `oidcc-server-rotate-keys`):
// two-phase signing key rotation.
//
//   next     created by a rotation: published in the JWKS, signs nothing yet.
//   active   promoted once it has been published for JWKS_MAX_AGE (the longest an RP may cache the
//            JWKS) plus KEY_RELOAD_INTERVAL (the longest another node may take to start publishing it),
//            so no token ever carries a kid that a verifier could not have seen.
//   retired  the previous active key of the algorithm, from the moment of promotion: it signs nothing
//            and stays published until remove_after = retirement + the longest token lifetime + a
//            margin, so every token it signed keeps verifying until it expires. Cleanup deletes it later.
//
// Every function here takes the storage and an explicit `now` (no clock, no timers): the server runs
// runKeySchedule on a timer on every node and the CLI calls the others on demand. Nodes may race:
// promotion is one conditional update (status 'next' -> 'active') in a transaction that retires the
// other active keys of the algorithm, duplicate `next` keys are resolved the same way on every node
// (the oldest wins), and KeyStore.signingKey picks the signing key deterministically from the rows.
import { CLOCK_LEEWAY } from '../clock-leeway.js';
import type { Config } from '../../config/config.js';
import type { Log } from '../../log.js';
import type { SecurityEvents } from '../security-events.js';
import type { SigningKey, Storage } from '../../storage/index.js';
import {
  generateSigningKey,
  isPublished,
  JWKS_MAX_AGE,
  pickSigningKey,
  SUPPORTED_SIGNING_ALGS,
  type KeyStore,
  type SigningAlg,
} from './key-store.js';

export { isPublished };

/** How often every node reloads the keys from the database (and runs the schedule), in seconds. */
export const KEY_RELOAD_INTERVAL = 60;
/**
 * How long a `next` key is published before it may sign: every verifier's cached JWKS has expired,
 * every node has reloaded, and a node whose clock runs up to CLOCK_LEEWAY ahead (R4) still waits long enough.
 */
export const PUBLISH_DELAY = JWKS_MAX_AGE + KEY_RELOAD_INTERVAL + CLOCK_LEEWAY;
/**
 * Added to the longest token lifetime before a retired key leaves the JWKS: a node may go on signing
 * with the old key until its next reload (≤ 60 s), clocks differ between nodes (R4), verifiers allow
 * up to 60 s of leeway (JW-05), and logout tokens (2 min) are signed with the ID token key.
 */
export const RETIREMENT_MARGIN = 300;

export interface KeyPolicy {
  /** Seconds an active key signs before a rotation starts; 0 = no automatic rotation. */
  rotationInterval: number;
  /** Seconds a `next` key is published before it is promoted. */
  publishDelay: number;
  /** Seconds a retired key stays published. */
  retention: number;
}

export function keyPolicy(config: Pick<Config, 'keyRotationInterval' | 'accessTokenTtl' | 'idTokenTtl'>): KeyPolicy {
  return {
    rotationInterval: config.keyRotationInterval,
    publishDelay: PUBLISH_DELAY,
    // Access tokens are signed with ES256 and ID tokens with RS256 (or the client's algorithm); one
    // retention for every key keeps it simple and is never shorter than what a key signed.
    retention: Math.max(config.accessTokenTtl, config.idTokenTtl) + RETIREMENT_MARGIN,
  };
}

export type KeyStorage = Pick<Storage, 'signingKeys' | 'transaction'>;

export class KeyRotationError extends Error {}

export function isSigningAlg(value: string): value is SigningAlg {
  return (SUPPORTED_SIGNING_ALGS as readonly string[]).includes(value);
}

/** Oldest first, ties by kid: the same order on every node. */
function oldestFirst(a: SigningKey, b: SigningKey): number {
  return a.createdAt - b.createdAt || (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0);
}

/** The key that signs for `alg` (the one rule, pickSigningKey, that KeyStore.signingKey uses too). */
export function currentActiveKey(keys: readonly SigningKey[], alg: string): SigningKey | undefined {
  return pickSigningKey(keys, alg);
}

/** The pending `next` key of `alg` (the oldest, should a race have left two). */
export function pendingKey(rows: readonly SigningKey[], alg: string): SigningKey | undefined {
  return rows.filter((r) => r.alg === alg && r.status === 'next').sort(oldestFirst)[0];
}

/** When a `next` key may be promoted. */
export function promotableAt(key: Pick<SigningKey, 'createdAt'>, policy: Pick<KeyPolicy, 'publishDelay'>): number {
  return key.createdAt + policy.publishDelay;
}

/** Algorithms that have an active key (the ones the schedule keeps rotating). */
function activeAlgs(rows: readonly SigningKey[]): string[] {
  return [...new Set(rows.filter((r) => r.status === 'active').map((r) => r.alg))].sort();
}

/** Two nodes may create a `next` key at once: keep the oldest, delete the others (they never signed). */
async function dedupeNext(storage: KeyStorage, rows: readonly SigningKey[], alg: string): Promise<SigningKey | undefined> {
  const next = rows.filter((r) => r.alg === alg && r.status === 'next').sort(oldestFirst);
  for (const extra of next.slice(1)) await storage.signingKeys.deleteNext(extra.kid);
  return next[0];
}

/** Creates a `next` key for `alg` (published, not signing); returns the pending key that survived. */
export async function createNextKey(storage: KeyStorage, alg: SigningAlg, now: number): Promise<SigningKey> {
  const row = await generateSigningKey(alg, 'next', now);
  await storage.signingKeys.create(row);
  const survivor = await dedupeNext(storage, await storage.signingKeys.list(), alg);
  return survivor ?? row;
}

/**
 * Promotes one `next` key and retires the other active keys of its algorithm, in one transaction.
 * False when the key was no longer `next` (another node promoted it first): nothing changes then.
 */
export async function promoteKey(
  storage: KeyStorage,
  key: Pick<SigningKey, 'kid' | 'alg'>,
  policy: KeyPolicy,
  now: number,
): Promise<boolean> {
  return storage.transaction(async (tx) => {
    if (!(await tx.signingKeys.promote(key.kid, now))) return false;
    await tx.signingKeys.retireActiveExcept(key.alg, key.kid, now, now + policy.retention);
    return true;
  });
}

export interface ScheduleResult {
  promoted: SigningKey[];
  created: SigningKey[];
}

/**
 * One tick of the automatic schedule (every node, every KEY_RELOAD_INTERVAL):
 * 1. promote each `next` key that has been published for policy.publishDelay;
 * 2. if rotation is on, start a rotation (create a `next` key) for every algorithm whose signing key
 *    is older than policy.rotationInterval and has no `next` key yet.
 * Promotion runs even when automatic rotation is off, so that `gatehouse keys rotate` completes.
 */
export async function runKeySchedule(storage: KeyStorage, policy: KeyPolicy, now: number): Promise<ScheduleResult> {
  const result: ScheduleResult = { promoted: [], created: [] };
  let rows = await storage.signingKeys.list();
  for (const alg of new Set(rows.filter((r) => r.status === 'next').map((r) => r.alg))) {
    const next = await dedupeNext(storage, rows, alg);
    if (next && promotableAt(next, policy) <= now && (await promoteKey(storage, next, policy, now))) result.promoted.push(next);
  }
  if (policy.rotationInterval > 0) {
    if (result.promoted.length > 0) rows = await storage.signingKeys.list();
    for (const alg of activeAlgs(rows)) {
      if (!isSigningAlg(alg) || pendingKey(rows, alg)) continue;
      const current = currentActiveKey(rows, alg)!;
      if ((current.activatedAt ?? current.createdAt) + policy.rotationInterval <= now) {
        result.created.push(await createNextKey(storage, alg, now));
      }
    }
  }
  return result;
}

export interface RotateOutcome {
  alg: SigningAlg;
  kid: string;
  /** created: a new `next` key; pending: a `next` key was already waiting; promoted: the key signs now. */
  action: 'created' | 'pending' | 'promoted';
  /** For created/pending: when the schedule promotes it. */
  promotesAt?: number;
}

/**
 * `gatehouse keys rotate`. Normally starts a two-phase rotation: a `next` key that the schedule
 * promotes after policy.publishDelay. With `immediate` (emergency, e.g. a compromised key) the new
 * key signs at once — verifiers that cached the JWKS must refetch it on the unknown kid (KR-03) —
 * and the previous active key is retired with the usual retention.
 */
export async function rotateKeys(
  storage: KeyStorage,
  algs: readonly SigningAlg[],
  policy: KeyPolicy,
  now: number,
  options: { immediate?: boolean } = {},
): Promise<RotateOutcome[]> {
  const out: RotateOutcome[] = [];
  for (const alg of algs) {
    let next = pendingKey(await storage.signingKeys.list(), alg);
    let action: RotateOutcome['action'] = 'pending';
    if (!next) {
      next = await createNextKey(storage, alg, now);
      action = 'created';
    }
    if (options.immediate) {
      if (!(await promoteKey(storage, next, policy, now))) {
        throw new KeyRotationError(`the ${alg} key ${next.kid} changed while it was being promoted; run the command again`);
      }
      out.push({ alg, kid: next.kid, action: 'promoted' });
    } else {
      out.push({ alg, kid: next.kid, action, promotesAt: Math.max(promotableAt(next, policy), now) });
    }
  }
  return out;
}

export interface RetireOutcome {
  row: SigningKey;
  /** The status the key had. */
  previousStatus: string;
  /** When it leaves the JWKS. */
  removeAfter: number;
  changed: boolean;
}

/**
 * `gatehouse keys retire KID`: the key stops signing at once, for a compromised or surplus key.
 * - active: only while another active key of its algorithm exists (else KeyRotationError). By default it
 *   also leaves the JWKS at once, so tokens it signed stop verifying (compromise); with keepPublished it
 *   stays published for the usual retention so that outstanding tokens keep verifying.
 * - next: it never signed anything, so it leaves the JWKS at once.
 * - retired: brings its removal forward to now (unless keepPublished, which changes nothing).
 */
export async function retireKey(
  storage: KeyStorage,
  kid: string,
  policy: KeyPolicy,
  now: number,
  options: { keepPublished?: boolean } = {},
): Promise<RetireOutcome> {
  const row = await storage.signingKeys.find(kid);
  if (!row) throw new KeyRotationError(`no signing key with kid ${kid}`);
  const removeAfter = options.keepPublished ? now + policy.retention : now;
  if (row.status === 'active') {
    if (!(await storage.signingKeys.retire(kid, row.alg, 'active', now, removeAfter))) {
      const still = await storage.signingKeys.find(kid);
      if (still?.status === 'active') {
        throw new KeyRotationError(
          `${kid} is the only active ${row.alg} key: run \`gatehouse keys rotate --alg ${row.alg} --immediate\` first, then retire it`,
        );
      }
      throw new KeyRotationError(`the key ${kid} changed while it was being retired; run the command again`);
    }
    return { row, previousStatus: 'active', removeAfter, changed: true };
  }
  if (row.status === 'next') {
    if (!(await storage.signingKeys.retire(kid, row.alg, 'next', now, now))) {
      throw new KeyRotationError(`the key ${kid} changed while it was being retired; run the command again`);
    }
    return { row, previousStatus: 'next', removeAfter: now, changed: true };
  }
  if (options.keepPublished) return { row, previousStatus: 'retired', removeAfter: row.removeAfter ?? now, changed: false };
  const changed = await storage.signingKeys.shortenRetirement(kid, now);
  return { row, previousStatus: 'retired', removeAfter: changed ? now : (row.removeAfter ?? now), changed };
}

/** The timer body on every node: run the schedule, then reload the keys. Never rejects. */
export async function maintainKeys(
  storage: KeyStorage,
  keys: KeyStore,
  policy: KeyPolicy,
  now: number,
  log: Log,
  events?: Pick<SecurityEvents, 'record'>,
): Promise<void> {
  try {
    const { promoted, created } = await runKeySchedule(storage, policy, now);
    for (const k of created)
      log.info({ kid: k.kid, alg: k.alg, promotesAt: promotableAt(k, policy) }, 'signing key rotation started: next key published');
    for (const k of promoted) {
      log.info({ kid: k.kid, alg: k.alg }, 'signing key promoted: it signs from now on');
      await events?.record({ type: 'key.rotated', details: { kid: k.kid, alg: k.alg, by: 'schedule' } });
    }
  } catch (err) {
    log.warn({ err }, 'signing key rotation failed');
  }
  try {
    await keys.reload(now);
  } catch (err) {
    log.warn({ err }, 'reloading signing keys failed');
  }
}
