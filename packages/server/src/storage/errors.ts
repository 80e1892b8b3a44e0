// What a database error means, told apart by the driver's codes so that callers never look at them.

/** A unique or primary-key constraint refused the row (PostgreSQL 23505, SQLite's CONSTRAINT codes). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
