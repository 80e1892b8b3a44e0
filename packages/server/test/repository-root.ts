// The repository root, for tests that read the repository's own files (docs, lockfile, sources): the
// nearest directory above this file whose package.json has workspaces.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && Array.isArray((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces))
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json with "workspaces" above this test');
    dir = parent;
  }
}
