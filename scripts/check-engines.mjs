// Checks that every package npm may install (package-lock.json, and node_modules when present) accepts
// every Node.js version the root package.json's `engines.node` promises, and the running Node.js.
// Usage: node scripts/check-engines.mjs [--node VERSION ...]
// Exits 1 and lists the packages whose `engines.node` excludes one of those versions.
//
// The range matching below covers what package.json files use for `engines.node`: `||`, hyphen
// ranges, comparators (>=, >, <=, <, =), ^, ~ and x-ranges (20, 20.x, 20.*, *). Pre-release tags are
// ignored (Node.js releases have none).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** '20.19' → [20, 19, null]; wildcards and missing parts are null. */
function parsePartial(text) {
  const core = text.replace(/^v/, '').split(/[-+]/)[0];
  const parts = core.split('.');
  if (parts.length > 3 || parts.some((p) => !/^(\d+|[xX*]|)$/.test(p))) throw new Error(`cannot parse version ${JSON.stringify(text)}`);
  const out = [null, null, null];
  for (let i = 0; i < parts.length; i++) {
    if (/^\d+$/.test(parts[i])) out[i] = Number(parts[i]);
    else break; // everything after a wildcard is a wildcard too
  }
  return out;
}

export function parseVersion(text) {
  const [a, b, c] = parsePartial(text);
  if (a === null) throw new Error(`not a version: ${text}`);
  return [a, b ?? 0, c ?? 0];
}

function compare(x, y) {
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
  return 0;
}

/** The smallest version above every version matching the partial `p` (20.19 → 20.20.0, 20 → 21.0.0). */
function bumpPartial(p) {
  if (p[1] === null) return [p[0] + 1, 0, 0];
  if (p[2] === null) return [p[0], p[1] + 1, 0];
  return [p[0], p[1], p[2] + 1];
}

const fill = (p) => [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];

/** One comparator as a list of [operator, version] bounds (operators: >=, <, <=, >, =). */
function bounds(comparator) {
  const m = /^(>=|<=|>|<|=|\^|~>?|)\s*(.*)$/.exec(comparator);
  const op = m[1];
  const p = parsePartial(m[2]);
  if (p[0] === null) return op === '<' || op === '>' ? [['<', [0, 0, 0]]] : []; // *, x: anything (< *: nothing)
  const exact = p[2] !== null;
  switch (op) {
    case '':
    case '=':
      return exact
        ? [['=', p]]
        : [
            ['>=', fill(p)],
            ['<', bumpPartial(p)],
          ];
    case '>=':
      return [['>=', fill(p)]];
    case '>':
      return exact ? [['>', p]] : [['>=', bumpPartial(p)]];
    case '<':
      return [['<', fill(p)]];
    case '<=':
      return exact ? [['<=', p]] : [['<', bumpPartial(p)]];
    case '~':
    case '~>':
      return [
        ['>=', fill(p)],
        ['<', p[1] === null ? [p[0] + 1, 0, 0] : [p[0], p[1] + 1, 0]],
      ];
    case '^': {
      const low = fill(p);
      let high;
      if (p[0] > 0 || p[1] === null) high = [p[0] + 1, 0, 0];
      else if (p[1] > 0 || p[2] === null) high = [0, p[1] + 1, 0];
      else high = [0, 0, p[2] + 1];
      return [
        ['>=', low],
        ['<', high],
      ];
    }
    default:
      throw new Error(`unknown operator in ${comparator}`);
  }
}

function test(version, [op, bound]) {
  const c = compare(version, bound);
  return op === '>=' ? c >= 0 : op === '>' ? c > 0 : op === '<' ? c < 0 : op === '<=' ? c <= 0 : c === 0;
}

/** Does `version` ('20.20.2', 'v20.20.2') satisfy the npm range `range`? */
export function satisfies(version, range) {
  const v = parseVersion(version);
  return range.split('||').some((set) => {
    const text = set.trim();
    if (text === '') return true;
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    const comparators = hyphen ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`] : text.replace(/(>=|<=|>|<|=|\^|~>?)\s+/g, '$1').split(/\s+/);
    return comparators.every((c) => bounds(c).every((b) => test(v, b)));
  });
}

/**
 * Versions that stand for "every Node.js the range admits": its lowest version and, for every major
 * from 0 to 40, the first and a very late release of that major, kept when the range admits them.
 */
export function sampleVersions(range, extra = []) {
  const candidates = [...extra];
  for (const set of range.split('||')) {
    const m = /(?:>=|\^|~|=|^)\s*v?(\d+(?:\.\d+){0,2})/.exec(set.trim());
    if (m) candidates.push(parseVersion(m[1]).join('.'));
  }
  for (let major = 0; major <= 40; major++) candidates.push(`${major}.0.0`, `${major}.999.0`);
  return [...new Set(candidates)].filter((v) => satisfies(v, range));
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every package of the lockfile: { where, name, version, engines, dev, optional }. */
export function lockfilePackages(root) {
  const lock = readJson(join(root, 'package-lock.json'));
  return Object.entries(lock.packages ?? {})
    .filter(([where]) => where.includes('node_modules/'))
    .map(([where, p]) => ({
      where: `package-lock.json: ${where}`,
      name: where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: p.version,
      engines: typeof p.engines === 'object' && p.engines !== null ? p.engines.node : undefined,
      dev: p.dev === true,
      optional: p.optional === true,
    }));
}

/** Every package installed under node_modules (nested and scoped ones included). */
export function installedPackages(root) {
  const out = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      if (name.startsWith('@')) {
        for (const sub of readdirSync(join(dir, name))) visit(join(dir, name, sub), `${name}/${sub}`);
      } else visit(join(dir, name), name);
    }
  };
  const visit = (path, name) => {
    const manifest = join(path, 'package.json');
    if (existsSync(manifest)) {
      const p = readJson(manifest);
      out.push({ where: path, name, version: p.version, engines: p.engines?.node, dev: false, optional: false });
    }
    walk(join(path, 'node_modules'));
  };
  walk(join(root, 'node_modules'));
  return out;
}

/** Packages whose engines.node rejects one of `versions`. */
export function violations(packages, versions) {
  const out = [];
  for (const p of packages) {
    if (typeof p.engines !== 'string') continue;
    const rejected = versions.filter((v) => !satisfies(v, p.engines));
    if (rejected.length > 0) out.push({ ...p, rejected });
  }
  return out;
}

/** ['21.0.0', '21.999.0', '27.0.0', '28.0.0'] → '21, 27-28' (sampled versions, shown by major). */
function majors(versions) {
  const list = [...new Set(versions.map((v) => parseVersion(v)[0]))].sort((a, b) => a - b);
  const runs = [];
  for (const m of list) {
    const last = runs[runs.length - 1];
    if (last && last[1] === m - 1) last[1] = m;
    else runs.push([m, m]);
  }
  return runs.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(', ');
}

function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const extra = [process.version.slice(1)];
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--node' && args[i + 1]) extra.push(args[++i].replace(/^v/, ''));
    else {
      console.error(`usage: node scripts/check-engines.mjs [--node VERSION ...]`);
      process.exit(2);
    }
  }
  const rootRange = readJson(join(root, 'package.json')).engines?.node;
  if (typeof rootRange !== 'string') {
    console.error('package.json has no engines.node');
    process.exit(1);
  }
  const versions = sampleVersions(
    rootRange,
    extra.filter((v) => satisfies(v, rootRange)),
  );
  const outside = extra.filter((v) => !satisfies(v, rootRange));
  const packages = [...lockfilePackages(root), ...installedPackages(root)];
  const bad = violations(packages, [...versions, ...outside]);
  console.log(
    `engines: root "${rootRange}"; checked ${packages.length} package entries against Node.js ${[...versions, ...outside].join(', ')}`,
  );
  for (const v of outside) console.log(`  note: Node.js ${v} (running or requested) is outside the root range`);
  for (const p of bad) {
    const flags = [p.dev && 'dev', p.optional && 'optional'].filter(Boolean).join(', ');
    console.log(
      `  ${p.name}@${p.version} engines.node "${p.engines}" rejects Node.js ${majors(p.rejected)}${flags ? ` (${flags})` : ''} — ${p.where}`,
    );
  }
  if (bad.length > 0) {
    console.log(
      `engines: ${bad.length} package entr${bad.length === 1 ? 'y does' : 'ies do'} not support every Node.js the root engines field promises`,
    );
    process.exit(1);
  }
  console.log('engines: every package supports every Node.js version the root engines field promises');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
