// Admin operations on the signing keys (oauth/keys/rotation.ts has the rules, KR-02): list, rotate, retire.
import type { SigningKey } from '../../storage/index.js';
import { SUPPORTED_SIGNING_ALGS, type SigningAlg } from '../keys/key-store.js';
import {
  currentActiveKey,
  isPublished,
  isSigningAlg,
  keyPolicy,
  KeyRotationError,
  promotableAt,
  retireKey,
  rotateKeys,
  type KeyPolicy,
  type RetireOutcome,
  type RotateOutcome,
} from '../keys/rotation.js';
import { badInput, conflict, notFound, recordAdminEvent, type AdminContext } from './context.js';

export interface KeyView {
  kid: string;
  alg: string;
  status: string;
  signing: boolean;
  published: boolean;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
  remove_after: number | null;
  promotes_after?: number;
}

export function keyView(key: SigningKey, keys: readonly SigningKey[], policy: KeyPolicy, now: number): KeyView {
  return {
    kid: key.kid,
    alg: key.alg,
    status: key.status,
    signing: key.status === 'active' && currentActiveKey(keys, key.alg)?.kid === key.kid,
    published: isPublished(key, now),
    created_at: key.createdAt,
    activated_at: key.activatedAt,
    retired_at: key.retiredAt,
    remove_after: key.removeAfter,
    ...(key.status === 'next' ? { promotes_after: promotableAt(key, policy) } : {}),
  };
}

/** Every key, private parts never included. */
export async function listKeys(ctx: Pick<AdminContext, 'storage' | 'config' | 'now'>): Promise<KeyView[]> {
  const policy = keyPolicy(ctx.config);
  const rows = await ctx.storage.signingKeys.list();
  return rows.map((r) => keyView(r, rows, policy, ctx.now));
}

/** Starts a rotation of `alg` (`all`: every algorithm with an active key); records key.rotated per key. */
export async function rotateSigningKeys(ctx: AdminContext, alg: string, immediate: boolean): Promise<RotateOutcome[]> {
  if (alg !== 'all' && !isSigningAlg(alg)) throw badInput(`alg must be one of ${SUPPORTED_SIGNING_ALGS.join(', ')} or all`);
  let algs: SigningAlg[];
  if (alg === 'all') {
    const active = new Set((await ctx.storage.signingKeys.list()).filter((r) => r.status === 'active').map((r) => r.alg));
    algs = SUPPORTED_SIGNING_ALGS.filter((a) => active.has(a));
    if (algs.length === 0) algs = [...SUPPORTED_SIGNING_ALGS];
  } else {
    algs = [alg as SigningAlg];
  }
  let outcomes: RotateOutcome[];
  try {
    outcomes = await rotateKeys(ctx.storage, algs, keyPolicy(ctx.config), ctx.now, { immediate });
  } catch (e) {
    if (e instanceof KeyRotationError) throw conflict(e.message);
    throw e;
  }
  for (const o of outcomes)
    if (o.action !== 'pending') await recordAdminEvent(ctx, { type: 'key.rotated', details: { kid: o.kid, alg: o.alg, action: o.action } });
  return outcomes;
}

/** Retires a key at once (see rotation.ts retireKey); records key.retired when it changed. */
export async function retireSigningKey(ctx: AdminContext, kid: string, keepPublished: boolean): Promise<RetireOutcome> {
  if (kid.length > 200 || !(await ctx.storage.signingKeys.find(kid))) throw notFound('signing key');
  let outcome: RetireOutcome;
  try {
    outcome = await retireKey(ctx.storage, kid, keyPolicy(ctx.config), ctx.now, { keepPublished });
  } catch (e) {
    if (e instanceof KeyRotationError) throw conflict(e.message);
    throw e;
  }
  if (outcome.changed)
    await recordAdminEvent(ctx, {
      type: 'key.retired',
      details: { kid, alg: outcome.row.alg, previous_status: outcome.previousStatus },
    });
  return outcome;
}
