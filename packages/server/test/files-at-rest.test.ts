// KP-01: the SQLite database is owner-only from its first byte; database URLs are logged redacted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeDatabaseUrl, prepareSqliteFile } from '../src/storage/database.js';
import { openStorage } from '../src/storage/index.js';

const mode = (path: string) => statSync(path).mode & 0o777;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-files-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('KP-01 the database file is created empty with mode 0600 in a new 0700 directory before SQLite writes to it', (t) => {
  const previous = process.umask(0o002); // a permissive umask: group-writable, world-readable by default
  try {
    const file = join(tempDir(t), 'new', 'nested', 'gatehouse.db');
    prepareSqliteFile(file);
    assert.equal(statSync(file).size, 0, 'nothing written yet');
    assert.equal(mode(file), 0o600);
    assert.equal(mode(join(file, '..')), 0o700);
    assert.equal(mode(join(file, '..', '..')), 0o700);
  } finally {
    process.umask(previous);
  }
});

test('KP-01 an opened SQLite database, its -wal and -shm files are 0600; an existing wider file is narrowed', async (t) => {
  const previous = process.umask(0o002);
  try {
    const dir = tempDir(t);
    const file = join(dir, 'data', 'gatehouse.db');
    const storage = await openStorage(`sqlite:${file}`);
    try {
      await storage.users.findByUsername('nobody');
      assert.equal(mode(file), 0o600);
      assert.equal(mode(join(dir, 'data')), 0o700);
      for (const extra of [`${file}-wal`, `${file}-shm`]) if (existsSync(extra)) assert.equal(mode(extra), 0o600, extra);
    } finally {
      await storage.close();
    }
    const wide = join(dir, 'wide.db');
    writeFileSync(wide, '', { mode: 0o644 });
    prepareSqliteFile(wide);
    assert.equal(mode(wide), 0o600);
  } finally {
    process.umask(previous);
  }
});

test('KP-01 a database URL is described by scheme, host and database name only', () => {
  const cases: [string, string][] = [
    ['postgres://admin:s3cret@db.internal:5432/gatehouse?sslmode=require&password=hunter2', 'postgres://db.internal:5432/gatehouse'],
    ['postgresql://user@db/gh', 'postgresql://db/gh'],
    ['postgres://:only-password@db/gh', 'postgres://db/gh'],
    ['postgres://u:p%40ss@[::1]:5432/gh', 'postgres://[::1]:5432/gh'],
    ['sqlite:./data/gatehouse.db', 'sqlite:./data/gatehouse.db'],
    ['postgres:///gh?host=/var/run/postgresql&password=hunter2', 'postgres://(default host)/gh'],
    ['not a url with password hunter2', '(a database URL that does not parse)'],
  ];
  for (const [url, expected] of cases) {
    const described = describeDatabaseUrl(url);
    assert.equal(described, expected, url);
    assert.ok(!/s3cret|hunter2|p%40ss|only-password|admin|user@/.test(described), described);
  }
});
