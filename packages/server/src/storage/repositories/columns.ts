// How domain values are kept in columns that every dialect has: lists of scope tokens (and of
// resource URIs, which contain no spaces) as one space-separated string, booleans as 0/1, structured values as JSON text.
import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import type { TokenSelector } from '../records.js';
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

/** The tables a TokenSelector applies to: each has user_id, client_id and sid. */
type SelectableByToken = 'authorization_codes' | 'refresh_tokens' | 'device_codes';

/** The WHERE condition of a TokenSelector; throws on a selector that names neither a user nor a client. */
export function selectedBy<T extends SelectableByToken>(eb: ExpressionBuilder<Database, T>, selector: TokenSelector): Expression<SqlBool> {
  if (selector.userId === undefined && selector.clientId === undefined) throw new Error('a token selector must name a user or a client');
  // Every table of SelectableByToken has these three columns; one of them stands for the union.
  const e = eb as unknown as ExpressionBuilder<Database, 'refresh_tokens'>;
  const parts: Expression<SqlBool>[] = [];
  if (selector.userId !== undefined) parts.push(e('user_id', '=', selector.userId));
  if (selector.clientId !== undefined) parts.push(e('client_id', '=', selector.clientId));
  if (selector.sid !== undefined) parts.push(e('sid', '=', selector.sid));
  if (selector.exceptSid !== undefined) parts.push(e.or([e('sid', 'is', null), e('sid', '!=', selector.exceptSid)]));
  return e.and(parts);
}
