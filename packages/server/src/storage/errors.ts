// What a database error means, told apart by the driver's codes so that callers never look at them.
//
// What counts as "the database is unavailable" (SECURITY-CHECKLIST IN-07, R1, R7): every failure that
// says nothing about the request and everything about the connection to the database. The HTTP layer
// answers these with 503 temporarily_unavailable and Retry-After; anything else stays a 500.

/** Thrown by storage itself: the pool queue is full, a connection could not be had in time, … */
export class StorageUnavailableError extends Error {
  readonly code = 'GATEHOUSE_STORAGE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

// Node socket errors seen by the PostgreSQL driver.
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETDOWN',
  'EHOSTDOWN',
]);

// PostgreSQL SQLSTATE codes (Appendix A of the PostgreSQL manual).
const POSTGRES_CODES = new Set([
  '53300', // too_many_connections (also CONNECTION LIMIT reached)
  '53000', // insufficient_resources
  '53100', // disk_full
  '53200', // out_of_memory
  '57014', // query_canceled (statement_timeout)
  '55P03', // lock_not_available (lock_timeout)
  '55000', // object_not_in_prerequisite_state ("database … is not currently accepting connections")
  '40001', // serialization_failure: retrying is the answer
  '40P01', // deadlock_detected: retrying is the answer
  '25006', // read_only_sql_transaction (a standby after a failover)
]);
// Classes: 08 connection exception, 57P0x operator intervention (admin/crash shutdown, cannot connect now,
// database dropped), 58 system errors (I/O).
const POSTGRES_CLASSES = [/^08/, /^57P0\d$/, /^58/];

// SQLite result codes (better-sqlite3 puts the extended code in `code`).
const SQLITE_PREFIXES = [
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_FULL',
  'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL',
  'SQLITE_NOLCK',
];

// Messages of pg / pg-pool / Kysely that carry no code.
const MESSAGES = [
  /Connection terminated/i,
  /terminating connection/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /connection timeout/i,
  /not queryable/i,
  /Client was closed and is not queryable/i,
  /Cannot use a pool after calling end/i,
  /driver has already been destroyed/i,
  /connection is not open/i,
  /database is locked/i,
  /the database connection is not open/i,
  /server closed the connection unexpectedly/i,
  /Connection ended unexpectedly/i,
];

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Is this one error (not its causes) a connection-level failure? */
function isUnavailableOne(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true;
  if (error === null || typeof error !== 'object') return false;
  const code = codeOf(error);
  if (code) {
    if (SOCKET_CODES.has(code) || POSTGRES_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && POSTGRES_CLASSES.some((re) => re.test(code))) return true;
    if (SQLITE_PREFIXES.some((p) => code === p || code.startsWith(`${p}_`))) return true;
  }
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && MESSAGES.some((re) => re.test(message));
}

/** The chain of an error: itself, then each `cause` (and the members of an AggregateError), bounded. */
export function errorChain(error: unknown): unknown[] {
  const out: unknown[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 16) {
    const e = queue.shift();
    if (e === undefined || e === null || out.includes(e)) continue;
    out.push(e);
    if (typeof e === 'object') {
      if ('cause' in e) queue.push((e as { cause?: unknown }).cause);
      if (e instanceof AggregateError) queue.push(...e.errors);
    }
  }
  return out;
}

/** Errors from storage that mean "try again shortly" rather than a bug: anywhere in the cause chain. */
export function isUnavailable(error: unknown): boolean {
  return errorChain(error).some(isUnavailableOne);
}

/**
 * The error a wrapper was made from: follows `cause` down to the innermost error, so that an error
 * raised while handling another (a failed ROLLBACK, a "wrapped" rethrow) does not hide the original.
 */
export function originalError(error: unknown): unknown {
  const chain = errorChain(error);
  return chain[chain.length - 1] ?? error;
}

/**
 * Does this error leave a PostgreSQL connection in a state nobody should reuse? (The socket is gone,
 * or a query timed out on the client side and its answer may still arrive.)
 */
export function breaksConnection(error: unknown): boolean {
  const code = codeOf(error);
  if (code === '57014' || code === '55P03' || code === '40001' || code === '40P01' || code === '53300' || code === '55000') return false;
  return isUnavailableOne(error);
}

/** A unique or primary-key constraint refused the row (PostgreSQL 23505, SQLite's CONSTRAINT codes). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
