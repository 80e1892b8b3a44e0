// RFC 9700 §4.14.2, RFC 6749 §4.1.2: when a code is reused or a rotated refresh token is replayed,
// the whole family is revoked: its refresh tokens, and the access tokens issued from it (by jti,
// denied until they expire).
import type { AccessTokenRef, Storage } from '../../storage/index.js';

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
