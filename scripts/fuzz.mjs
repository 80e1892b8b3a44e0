// `npm run fuzz`: the IN-09 property tests (packages/server/test/fuzz.test.ts) with many more cases
// than `npm test` runs. FUZZ_RUNS (default 10000) cases per endpoint property; FUZZ_SEED replays a run
// (the seed is printed as a test diagnostic); FUZZ_VERBOSE=1 counts error descriptions too.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const file = join(root, 'packages/server/dist/test/fuzz.test.js');
if (!existsSync(file)) {
  console.error('no compiled fuzz test: run `npm run build` first');
  process.exit(1);
}
const seed = process.env.FUZZ_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
const runs = process.env.FUZZ_RUNS ?? '10000';
console.log(`fuzzing with FUZZ_RUNS=${runs} FUZZ_SEED=${seed}`);
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, NODE_ENV: 'test', FUZZ_RUNS: runs, FUZZ_SEED: seed },
});
process.exit(result.status ?? 1);
