// Shared pieces of the CLI commands.
import { loadConfig } from '../config/config.js';
import { openStorage, type Storage } from '../storage/index.js';

export class UsageError extends Error {}

/** Opens (and migrates) the database named by --database, GATEHOUSE_DATABASE_URL or the default. */
export function storageFor(database: string | undefined): Promise<Storage> {
  const config = loadConfig(process.env, database === undefined ? {} : { database });
  return openStorage(config.databaseUrl);
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
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}
