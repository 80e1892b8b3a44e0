// The load generator: wrk (Debian's package) with bench/wrk/scenario.lua when it is installed, else
// autocannon in a separate process (bench/lib/autocannon-worker.mjs, the same modes), pinned to the
// load core. Every run is bounded by its duration (and wrk's 2 s request timeout).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinned, run, LOAD_CORE } from './procs.mjs';

const SCRIPT = fileURLToPath(new URL('../wrk/scenario.lua', import.meta.url));
const WORKER = fileURLToPath(new URL('./autocannon-worker.mjs', import.meta.url));
export const HAS_WRK = process.env.BENCH_NO_WRK !== '1' && spawnSync('wrk', ['-v']).error === undefined;
export const LOAD_GENERATOR = HAS_WRK ? 'wrk' : 'autocannon';

/**
 * One bounded load run. spec: { mode, method, path, body, auth, cookie, in, out, tokenpath }.
 * Returns { rps, p50_ms, p99_ms, requests, errors, flows, flows_per_s, exhausted, seconds }.
 */
export async function load(baseUrl, spec, { seconds, connections }) {
  const args = Object.entries(spec)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  let out;
  if (HAS_WRK) {
    const [cmd, argv] = pinned(LOAD_CORE, 'wrk', [
      '-t1',
      `-c${connections}`,
      `-d${seconds}s`,
      '--timeout',
      '5s',
      '-s',
      SCRIPT,
      baseUrl,
      '--',
      ...args,
    ]);
    out = await run(cmd, argv, { timeoutMs: (seconds + 30) * 1000 });
  } else {
    const [cmd, argv] = pinned(LOAD_CORE, process.execPath, [WORKER, baseUrl, String(seconds), String(connections), ...args]);
    out = await run(cmd, argv, { timeoutMs: (seconds + 30) * 1000 });
  }
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (!line) throw new Error(`no result from the load generator: ${out.slice(-500)}`);
  const r = JSON.parse(line);
  const secs = r.duration_us / 1e6;
  const errors = r.errors_status + r.errors_connect + r.errors_read + r.errors_write + r.errors_timeout;
  return {
    rps: r.requests / secs,
    p50_ms: r.p50_us / 1000,
    p99_ms: r.p99_us / 1000,
    requests: r.requests,
    errors,
    errors_status: r.errors_status,
    flows: r.flows,
    flows_per_s: r.flows / secs,
    exhausted: r.exhausted === 1,
    seconds: secs,
  };
}
