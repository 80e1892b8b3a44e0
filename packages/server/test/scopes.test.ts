// RFC 6749 §3.3 scope syntax; OIDC Core §5.4 scope descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthError } from '../src/oauth/errors.js';
import {
  describeScopes,
  formatScope,
  isSubset,
  isValidScopeToken,
  MAX_SCOPE_LENGTH,
  OIDC_SCOPES,
  parseScope,
} from '../src/oauth/scopes.js';

test('parseScope splits on spaces, keeps order and removes duplicates', () => {
  assert.deepEqual(parseScope('openid profile email'), ['openid', 'profile', 'email']);
  assert.deepEqual(parseScope('b a b a'), ['b', 'a']);
  assert.deepEqual(parseScope(undefined), []);
  assert.deepEqual(parseScope(''), []);
  assert.deepEqual(parseScope('photos:read urn:example:scope https://api.example/x'), [
    'photos:read',
    'urn:example:scope',
    'https://api.example/x',
  ]);
});

test('scope tokens follow RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E', async (t) => {
  const cases: [string, string, boolean][] = [
    ['a plain token', 'openid', true],
    ['punctuation allowed by the grammar', "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true],
    ['a double quote', 'a"b', false],
    ['a backslash', 'a\\b', false],
    ['a tab', 'a\tb', false],
    ['a newline', 'a\nb', false],
    ['a NUL', 'a\u0000b', false],
    ['DEL', 'a\u007fb', false],
    ['non-ASCII', 'photos:lesen-ü', false],
  ];
  for (const [name, token, valid] of cases) {
    await t.test(`${name} is ${valid ? 'valid' : 'invalid'}`, () => {
      assert.equal(isValidScopeToken(token), valid);
      if (valid) assert.deepEqual(parseScope(token), [token]);
      else
        assert.throws(
          () => parseScope(`openid ${token}`),
          (e: unknown) => e instanceof OAuthError && e.code === 'invalid_scope',
        );
    });
  }
});

test('ST-04 an over-long scope string is refused cleanly', () => {
  const long = Array.from({ length: MAX_SCOPE_LENGTH }, (_, i) => `s${i}`).join(' ');
  assert.ok(long.length > MAX_SCOPE_LENGTH);
  assert.throws(
    () => parseScope(long),
    (e: unknown) => e instanceof OAuthError && ['invalid_scope', 'invalid_request'].includes(e.code),
  );
});

test('isSubset is true only when every requested scope is allowed', () => {
  assert.equal(isSubset(['a', 'b'], ['b', 'a', 'c']), true);
  assert.equal(isSubset([], ['a']), true);
  assert.equal(isSubset(['a', 'd'], ['a', 'b']), false);
  assert.equal(isSubset(['A'], ['a']), false, 'scopes are case-sensitive');
  assert.equal(isSubset(['a'], []), false);
});

test('formatScope joins with single spaces', () => {
  assert.equal(formatScope(['openid', 'profile']), 'openid profile');
  assert.equal(formatScope(new Set(['x'])), 'x');
});

test('describeScopes describes every OpenID scope in words and leaves unknown scopes undescribed', () => {
  const described = describeScopes([...OIDC_SCOPES, 'photos:read']);
  for (const d of described) {
    if (d.scope === 'photos:read') assert.equal(d.description, undefined);
    else {
      assert.ok(d.description && d.description.length > 10, `${d.scope} has a description`);
      assert.notEqual(d.description, d.scope);
    }
  }
  assert.deepEqual(
    described.map((d) => d.scope),
    [...OIDC_SCOPES, 'photos:read'],
    'order kept',
  );
});
