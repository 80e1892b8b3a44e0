// node bench/profile-summary.mjs FILE.cpuprofile [TOP] — where a V8 CPU profile spends its time:
// self time by function and by module (package, Gatehouse file, or node internals), and the inclusive
// time of Gatehouse's own functions. For profiles written by `npm run bench -- --profile DIR`.
import { readFileSync } from 'node:fs';

const [path, topArg] = process.argv.slice(2);
if (!path) {
  process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(path, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Self samples per node (timeDeltas are per sample).
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
// Idle time (the server waiting for requests) is left out: percentages are of busy time.
for (const [id] of selfUs) if (nodes.get(id).callFrame.functionName === '(idle)') selfUs.delete(id);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const moduleOf = (url) => {
  if (!url) return '(native/v8)';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const g = /packages\/([^/]+)\/dist\/src\/(.*)$/.exec(url);
  if (g) return `gatehouse:${g[1]}/${g[2]}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\//, '');
};
const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${moduleOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const byFunction = new Map();
const byModule = new Map();
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  byFunction.set(label(n), (byFunction.get(label(n)) ?? 0) + us);
  const mod = moduleOf(n.callFrame.url);
  byModule.set(mod, (byModule.get(mod) ?? 0) + us);
  // Inclusive time of Gatehouse functions: walk up once per distinct label on the stack.
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const c = nodes.get(cur);
    if (!/packages\/(server|resource-server)\/dist/.test(c.callFrame.url)) continue;
    const l = label(c);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + us);
  }
}
const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const print = (title, map, n = top) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${pct(v)}  ${k}\n`);
};
process.stdout.write(`${path}: ${(total / 1e6).toFixed(1)} s busy (idle left out)\n`);
print('self time by module', byModule, 20);
print('self time by function', byFunction);
print('inclusive time of Gatehouse functions', inclusive);
