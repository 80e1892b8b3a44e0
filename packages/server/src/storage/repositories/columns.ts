// How domain values are kept in columns that every dialect has: lists of scope tokens (and of
// resource URIs, which contain no spaces) as one space-separated string, booleans as 0/1, structured values as JSON text.
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

/** A database or a transaction: every repository works on either. */
export type Db = Kysely<Database>;

export const scopesFromColumn = (value: string): string[] => value.split(' ').filter((s) => s.length > 0);
export const scopesToColumn = (scopes: readonly string[]): string => scopes.join(' ');
export const fromFlag = (value: number): boolean => value === 1;
export const toFlag = (value: boolean): number => (value ? 1 : 0);

export function accessTokenFromColumns(jti: string | null, expiresAt: number | null): { jti: string; expiresAt: number } | null {
  return jti !== null && expiresAt !== null ? { jti, expiresAt } : null;
}

/** Rows of (jti, expires_at) pairs as access-token references, skipping rows without one. */
export function accessTokenRefs(rows: readonly { access_token_jti: string | null; access_token_expires_at: number | null }[]) {
  return rows.flatMap((r) => {
    const ref = accessTokenFromColumns(r.access_token_jti, r.access_token_expires_at);
    return ref ? [ref] : [];
  });
}

export const affected = (result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): number =>
  Number(result.numUpdatedRows ?? result.numDeletedRows ?? 0n);
