// Shared pieces of the CLI commands.
import { loadConfig } from '../config/config.js';
import { nowSeconds } from '../oauth/crypto.js';
import { SecurityEvents } from '../oauth/security-events.js';
import { AtRest } from '../oauth/at-rest.js';
import { openStorage, type Storage } from '../storage/index.js';
import type { AdminContext } from '../oauth/admin/context.js';
import { OAuthError } from '../oauth/errors.js';

export class UsageError extends Error {}

/** Opens (and migrates) the database named by --database, GATEHOUSE_DATABASE_URL or the default,
 * with the key-encryption key of the environment (KP-01: keys the CLI creates are sealed too). */
export function storageFor(database: string | undefined): Promise<Storage> {
  const config = loadConfig(process.env, database === undefined ? {} : { database });
  return openStorage(config.databaseUrl, { sealer: AtRest.load(process.env, config) });
}

export async function withStorage<T>(database: string | undefined, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await storageFor(database);
  try {
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--password-stdin reads the password from standard input: pipe it in');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 8192) throw new UsageError('standard input is too long for a password');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/**
 * Identifiers such as client ids and key ids are base64url and may start with `-`. For commands
 * that take one as a positional argument, every single-dash word other than `-h` is an argument,
 * not an option: it is moved behind a `--` so that parseArgs reads it as a positional.
 */
export function dashSafePositionals(args: readonly string[]): string[] {
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (/^-[^-]/.test(arg) && arg !== '-h') positionals.push(arg);
    else options.push(arg);
  }
  return [...options, '--', ...positionals];
}

/**
 * The security event log for a CLI command: every lifecycle action is a row (EV-01), marked
 * `by: cli` in its details by the caller. No log line: the command's own output says what it did.
 */
export function cliEvents(storage: Storage): SecurityEvents {
  return new SecurityEvents(storage.securityEvents, nowSeconds, { info: () => undefined, warn: () => undefined });
}

/** The admin service layer's context for a CLI command (oauth/admin/): the actor is `cli`. */
export function cliAdminContext(storage: Storage, database?: string | undefined): AdminContext {
  const config = loadConfig(process.env, database === undefined ? {} : { database });
  return { storage, events: cliEvents(storage), now: nowSeconds(), actor: { by: 'cli' }, config };
}

/** Runs a service-layer call; an OAuthError it refuses with (bad input, not found, conflict) is printed and exits 1. */
export async function refusedAsExit(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof OAuthError && e.status < 500) {
      process.stderr.write(`gatehouse: ${e.description}\n`);
      return 1;
    }
    throw e;
  }
}
