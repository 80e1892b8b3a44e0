// The layering of docs/architecture.md, checked on the source: which folder may import which, where
// HTML may be written, and that each grant type is named by its grant module alone. These are the
// rules that keep a new grant "one file and one line", so they fail the build when broken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GRANT_TYPES } from '../src/oauth/grants/index.js';

// Compiled to dist/test; the sources are two levels up from there.
const SRC = new URL('../../src/', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : [];
  });
}

const files = sources(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));
const folderOf = (path: string) => path.split('/')[0]!;

/** Every `import … from '…'` of a file, resolved to a path under src/ (or the package name). */
function imports(file: { path: string; text: string }): { target: string; typeOnly: boolean }[] {
  const out: { target: string; typeOnly: boolean }[] = [];
  for (const m of file.text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)';/gm)) {
    const spec = m[2]!;
    const target = spec.startsWith('.') ? relative(SRC, join(SRC, file.path, '..', spec)) : spec;
    out.push({ target, typeOnly: m[1] !== undefined });
  }
  return out;
}

test('the source tree is where the layering test looks', () => {
  assert.ok(files.some((f) => f.path === 'oauth/grants/index.ts'));
  assert.ok(files.length > 40, `found only ${files.length} source files`);
});

test('layers: oauth/ and storage/ never import endpoints/, interaction/ or http/', () => {
  const offenders = files
    .filter((f) => ['oauth', 'storage'].includes(folderOf(f.path)))
    .flatMap((f) =>
      imports(f)
        .filter((i) => ['endpoints', 'interaction', 'http'].includes(folderOf(i.target)))
        .map((i) => `${f.path} -> ${i.target}`),
    );
  assert.deepEqual(offenders, []);
});

test('layers: storage/ takes only types from oauth/ (never code), and only storage/ sees tables or Kysely', () => {
  const storageCode = files
    .filter((f) => folderOf(f.path) === 'storage')
    .flatMap((f) =>
      imports(f)
        .filter((i) => folderOf(i.target) === 'oauth' && !i.typeOnly)
        .map((i) => `${f.path} -> ${i.target}`),
    );
  assert.deepEqual(storageCode, []);
  const tables = files
    .filter((f) => folderOf(f.path) !== 'storage')
    .flatMap((f) =>
      imports(f)
        .filter((i) => i.target === 'kysely' || i.target === 'storage/schema.js')
        .map((i) => `${f.path} -> ${i.target}`),
    );
  assert.deepEqual(tables, []);
});

test('pages: no file under endpoints/ writes HTML or sets an HTML content type', () => {
  const offenders = files.filter(
    (f) => folderOf(f.path) === 'endpoints' && (/text\/html/.test(f.text) || /<(?:h1|p|form|html|main|div)\b/i.test(f.text)),
  );
  assert.deepEqual(
    offenders.map((f) => f.path),
    [],
  );
});

test('pages: only interaction/page.ts sets the page CSP header, and only the html tag builds markup', () => {
  const csp = files.filter((f) => /'Content-Security-Policy'/.test(f.text)).map((f) => f.path);
  assert.deepEqual(csp, ['interaction/page.ts']);
  const rawMarkup = files.filter((f) => f.path !== 'interaction/html.ts' && /new Html\(/.test(f.text)).map((f) => f.path);
  assert.deepEqual(rawMarkup, []);
});

test('grants: each grant type string is written in its own grant module only', () => {
  // `refresh_token` is also the RFC 7009 / RFC 7662 token type hint and token_type of introspection.
  const alsoAToken = new Set(['oauth/tokens/hint.ts', 'oauth/tokens/introspection.ts']);
  for (const grantType of GRANT_TYPES) {
    const naming = files.filter((f) => f.text.includes(`'${grantType}'`) || f.text.includes(`"${grantType}"`)).map((f) => f.path);
    const elsewhere = naming.filter((p) => !p.startsWith('oauth/grants/') && !(grantType === 'refresh_token' && alsoAToken.has(p)));
    assert.deepEqual(elsewhere, [], `${grantType} is named outside its grant module`);
    assert.equal(naming.filter((p) => p.startsWith('oauth/grants/')).length, 1, `${grantType} is named by exactly one grant module`);
  }
});
