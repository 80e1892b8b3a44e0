// docs/security.md ends with an index of the security checklist's requirement ids. These tests keep
// it true to the repository: every id that a test title or a source comment uses has a row, the page
// names no id that nothing uses, every row names a covering test (or says that none exists), and every
// test title it cites exists in the file it cites.
//
// An id is two capital letters of one of the checklist's families, a hyphen and two digits, or a bare
// R followed by a number (the reliability scenarios). A range in a comment (first..last, first…last or
// first–last) stands for every id in it. "Source" is every .ts/.js/.mjs/.cjs file of the repository
// outside node_modules, dist and build output; this file is included and names no id itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { repositoryRoot } from './repository-root.js';

/** The checklist's families (SECURITY-CHECKLIST.md §1). */
const FAMILIES = [
  'RU',
  'AC',
  'PK',
  'ST',
  'RT',
  'CA',
  'TE',
  'BR',
  'RS',
  'IR',
  'JW',
  'KR',
  'UI',
  'CR',
  'TL',
  'IN',
  'AU',
  'CM',
  'DR',
  'DP',
  'PJ',
  'DV',
  'PR',
  'TX',
  'LC',
  'SS',
  'PX',
  'DS',
  'KP',
  'EV',
  'UN',
  'RG',
];
const FAMILY = FAMILIES.join('|');
const ID = new RegExp(`\\b(${FAMILY})-(\\d{2})(?:\\s*(?:\\.\\.|…|–)\\s*(?:\\1-)?(\\d{2}))?(?!\\d)|\\bR(\\d{1,2})\\b`, 'g');
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'data', 'test-artifacts', 'results', 'coverage']);
const SOURCE = /\.(?:ts|mts|cts|js|mjs|cjs)$/;
const DOC = 'docs/security.md';

/** Every requirement id in `text`, ranges expanded. */
function requirementIds(text: string): Set<string> {
  const ids = new Set<string>();
  for (const m of text.matchAll(ID)) {
    if (m[4] !== undefined) {
      ids.add(`R${Number(m[4])}`);
      continue;
    }
    const first = Number(m[2]);
    const last = m[3] === undefined ? first : Number(m[3]);
    for (let n = first; n <= Math.max(first, last); n++) ids.add(`${m[1]}-${String(n).padStart(2, '0')}`);
  }
  return ids;
}

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.') || SKIP_DIRS.has(name)) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (SOURCE.test(name)) out.push(path);
    }
  };
  walk(root);
  return out;
}

/** id -> the files (relative to the root) that use it. */
function idsInRepository(root: string): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    for (const id of requirementIds(readFileSync(file, 'utf8'))) {
      const list = where.get(id) ?? [];
      list.push(relative(root, file).split(sep).join('/'));
      where.set(id, list);
    }
  }
  return where;
}

interface Row {
  id: string;
  coverage: string;
  line: number;
}

/** Rows of the index: table lines whose first cell is one requirement id. */
function indexRows(doc: string): Row[] {
  const rows: Row[] = [];
  doc.split('\n').forEach((text, i) => {
    const cells = text.split('|').map((c) => c.trim());
    if (cells.length < 5 || cells[0] !== '') return;
    const ids = requirementIds(cells[1]!);
    if (ids.size === 1 && [...ids][0] === cells[1]) rows.push({ id: cells[1]!, coverage: cells.slice(3, -1).join('|'), line: i + 1 });
  });
  return rows;
}

/** [file, title] pairs cited in a coverage cell: `path/x.test.ts`: `title`; `title`; `other.test.ts`: … (or a `*.fault.ts` file of the fault suite) */
function citations(coverage: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let file: string | undefined;
  for (const m of coverage.matchAll(/`([^`]+)`/g)) {
    const item = m[1]!;
    if (/^(?:packages|examples)\/[^\s]+\.(?:test|fault)\.ts$/.test(item)) file = item;
    else if (file !== undefined) out.push([file, item]);
  }
  return out;
}

/** The literal titles of test(), it(), describe(), suite(), t.test() and the fault suite's pgTest() calls in a test file. */
function testTitles(source: string): Set<string> {
  const titles = new Set<string>();
  const call = /\b(?:test|it|describe|suite|t\.test|pgTest)(?:\.(?:skip|only|todo))?\(\s*(['"`])((?:\\.|(?!\1)[\s\S])*?)\1/g;
  for (const m of source.matchAll(call)) titles.add(m[2]!.replace(/\\(.)/g, '$1'));
  return titles;
}

const root = repositoryRoot();
const readDoc = () => readFileSync(join(root, DOC), 'utf8');

test('the id scanner finds plain ids, ranges and bare R-numbers, and ignores look-alikes', () => {
  // The ids are split across string literals so that this file itself names none.
  const sample = [
    '// X' + 'Y-01 is no family; U' + 'I-01..U' + 'I-03 and C' + 'A-05…07',
    `test('A` + `C-01 R` + `3: …')`,
    'SHA-256 UTF-8 R2D2 ES256 RFC 9700 §4.14 CVE-2024-28176',
  ].join('\n');
  // Written in lower case so that this file itself names no id.
  const expected = ['ac-01', 'ca-05', 'ca-06', 'ca-07', 'r3', 'ui-01', 'ui-02', 'ui-03'].map((id) => id.toUpperCase());
  assert.deepEqual([...requirementIds(sample)].sort(), expected);
});

test('docs/security.md has a row for every requirement id used in the tests and source, and names no id they do not use', () => {
  const used = idsInRepository(root);
  assert.ok(used.size > 0, 'no requirement ids found in the repository: is the root right?');
  const doc = readDoc();
  const rows = new Set(indexRows(doc).map((r) => r.id));
  const missing = [...used.keys()]
    .filter((id) => !rows.has(id))
    .sort()
    .map((id) => `${id} (used in ${used.get(id)!.join(', ')})`);
  assert.deepEqual(missing, [], `${DOC} has no index row for these ids`);
  const unknown = [...requirementIds(doc)].filter((id) => !used.has(id)).sort();
  assert.deepEqual(unknown, [], `${DOC} names ids that no test or source file uses`);
});

test('every row of the security index cites a covering test or says it is not covered by a test yet', () => {
  const rows = indexRows(readDoc());
  assert.ok(rows.length > 0, `${DOC} has no requirement index`);
  const seen = new Set<string>();
  for (const row of rows) {
    assert.ok(!seen.has(row.id), `${DOC}:${row.line}: ${row.id} has a second row`);
    seen.add(row.id);
    assert.ok(
      citations(row.coverage).length > 0 || /not covered by a test yet/i.test(row.coverage),
      `${DOC}:${row.line}: ${row.id} names no test and does not say it is not covered`,
    );
  }
});

test('every test title cited in docs/security.md exists in the test file it names', () => {
  const titles = new Map<string, Set<string>>();
  const problems: string[] = [];
  let cited = 0;
  for (const row of indexRows(readDoc())) {
    for (const [file, title] of citations(row.coverage)) {
      cited++;
      if (!titles.has(file))
        titles.set(file, existsSync(join(root, file)) ? testTitles(readFileSync(join(root, file), 'utf8')) : new Set());
      if (!existsSync(join(root, file))) problems.push(`${row.id}: ${file} does not exist`);
      else if (!titles.get(file)!.has(title)) problems.push(`${row.id}: no test titled "${title}" in ${file}`);
    }
  }
  assert.ok(cited > 0, 'the index cites no test at all');
  assert.deepEqual(problems, []);
});
