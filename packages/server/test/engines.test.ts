// package.json's engines.node must be true to the lockfile: every package npm installs has to accept
// every Node.js version the root range promises (a `cookie@2`, which wants Node 22, once slipped in
// through a patch update). The check itself is scripts/check-engines.mjs, which CI also runs on the
// installed tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repositoryRoot } from './repository-root.js';

interface LockedPackage {
  where: string;
  name: string;
  version: string;
  engines: string | undefined;
}

interface EnginesCheck {
  satisfies(version: string, range: string): boolean;
  sampleVersions(range: string, extra?: string[]): string[];
  lockfilePackages(root: string): LockedPackage[];
  violations(packages: LockedPackage[], versions: string[]): Array<LockedPackage & { rejected: string[] }>;
}

const root = repositoryRoot();
const load = async (): Promise<EnginesCheck> =>
  (await import(pathToFileURL(join(root, 'scripts', 'check-engines.mjs')).href)) as EnginesCheck;

test('the engines range matcher reads the forms package.json files use', async () => {
  const { satisfies } = await load();
  const cases: Array<[string, string, boolean]> = [
    ['20.20.2', '>=20.19', true],
    ['20.18.3', '>=20.19', false],
    ['20.20.2', '>=22', false],
    ['21.7.0', '20.x || 22.x || 23.x', false],
    ['22.1.0', '20.x || 22.x || 23.x', true],
    ['20.20.2', '^14.17.0 || ^16.13.0 || >=18.0.0', true],
    ['20.20.2', '10.* || >= 12.*', true],
    ['20.20.2', '>= 0.10', true],
    ['26.9.0', '^20.19.0 || >=22 <27', true],
    ['27.0.0', '^20.19.0 || >=22 <27', false],
    ['21.0.0', '^20.19.0 || >=22 <27', false],
    ['1.2.9', '~1.2', true],
    ['1.3.0', '~1.2', false],
    ['0.2.5', '^0.2', true],
    ['0.3.0', '^0.2', false],
    ['2.3.9', '1.2.3 - 2.3', true],
    ['2.4.0', '1.2.3 - 2.3', false],
    ['20.20.2', '*', true],
  ];
  for (const [version, range, expected] of cases) assert.equal(satisfies(version, range), expected, `${version} in "${range}"`);
});

test('every package in package-lock.json accepts every Node.js version the root engines field promises', async () => {
  const { sampleVersions, lockfilePackages, violations } = await load();
  const range = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node;
  assert.equal(typeof range, 'string', 'package.json has engines.node');
  const versions = sampleVersions(range!);
  assert.ok(versions.length > 0, `engines.node "${range}" admits no version`);
  const packages = lockfilePackages(root);
  assert.ok(packages.length > 50, 'the lockfile lists the installed packages');
  const bad = violations(packages, versions).map((p) => `${p.name}@${p.version} wants "${p.engines}", rejects ${p.rejected.join(', ')}`);
  assert.deepEqual(bad, []);
});
