// RFC 9700 §4.14.2, RFC 6749 §4.1.2: when a code is reused or a rotated refresh token is replayed,
// the whole family is revoked: its refresh tokens, and the access tokens issued from it (by jti,
// denied until they expire).
import type { AccessTokenRef, Repositories, Storage, TokenSelector } from '../../storage/index.js';

export interface FamilyRevocation {
  familyId: string;
  /** An access token issued from the code itself (not recorded on a refresh-token row). */
  codeAccessToken?: AccessTokenRef | null | undefined;
}

export async function revokeFamily(storage: Pick<Storage, 'transaction'>, revocation: FamilyRevocation, now: number): Promise<void> {
  await storage.transaction(async (tx) => {
    const tokens = await tx.refreshTokens.revokeFamily(revocation.familyId, now);
    if (revocation.codeAccessToken && revocation.codeAccessToken.expiresAt > now) tokens.push(revocation.codeAccessToken);
    await tx.revokedAccessTokens.add(tokens);
  });
}

export type SelectedRepositories = Pick<Repositories, 'refreshTokens' | 'revokedAccessTokens' | 'codes' | 'deviceCodes'>;

/** What revokeSelected did. */
export interface SelectedRevocation {
  /** Refresh-token families revoked. */
  families: number;
  /** Distinct access-token ids put on the denylist. */
  accessTokens: number;
  /** Unredeemed authorization codes voided. */
  codes: number;
  /** Unredeemed device codes voided (now denied). */
  deviceCodes: number;
}

/**
 * LC-01, SS-02: revokes, in the caller's transaction, everything user-bound the selector names: the
 * refresh-token families with the access tokens issued beside them, the still-live access tokens
 * issued from codes and device codes (denied by jti until they expire), and the unredeemed codes and
 * device codes. With `keepOfflineAccess` (a browser session ending) access tokens of a grant with
 * offline_access are not denied here: their family decides (the session's families are revoked by
 * the caller's selector all the same, RT-06).
 */
export async function revokeSelected(
  tx: SelectedRepositories,
  selector: TokenSelector,
  now: number,
  options: { keepOfflineAccess?: boolean } = {},
): Promise<SelectedRevocation> {
  const fromFamilies = await tx.refreshTokens.revokeSelected(selector, now);
  const issued = [
    ...(await tx.codes.liveAccessTokensSelected(selector, now)),
    ...(await tx.deviceCodes.liveAccessTokensSelected(selector, now)),
  ];
  const denied = new Map<string, AccessTokenRef>();
  for (const ref of fromFamilies.accessTokens) denied.set(ref.jti, ref);
  for (const { scopes, ...ref } of issued) {
    if (options.keepOfflineAccess && scopes.includes('offline_access')) continue;
    denied.set(ref.jti, ref);
  }
  await tx.revokedAccessTokens.add([...denied.values()]);
  const codes = await tx.codes.voidUnredeemed(selector);
  const deviceCodes = await tx.deviceCodes.voidUnredeemed(selector, now);
  return { families: fromFamilies.families, accessTokens: denied.size, codes, deviceCodes };
}

/**
 * Runs fn in a new transaction of `storage`, or directly on `storage` when it already is one (a
 * transaction's repositories have no transaction()). R is a selection of the repositories.
 */
export function atomically<R extends Partial<Repositories>, T>(
  storage: R & { transaction?: Storage['transaction'] | undefined },
  fn: (tx: R) => Promise<T>,
): Promise<T> {
  return typeof storage.transaction === 'function' ? storage.transaction((tx) => fn(tx as unknown as R)) : fn(storage);
}
