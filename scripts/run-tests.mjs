// Runs every compiled test file (`dist/test/**/*.test.js` of each workspace) with node:test.
// Node 20's --test has no glob support, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring-filter ...]
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const workspaces = ['packages/resource-server', 'packages/server', 'examples/demo-api', 'examples/demo-client', 'examples/demo-mcp'];
const filters = process.argv.slice(2);

function collect(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = workspaces
  .flatMap((ws) => collect(join(root, ws, 'dist', 'test'), []))
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(result.status ?? 1);
