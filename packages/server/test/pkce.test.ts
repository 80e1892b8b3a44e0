// RFC 7636 §4.1-4.2, §4.6 and Appendix B; RFC 9700 §2.1.1 (S256 only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidS256Challenge, isValidVerifier, s256, verifierMatches } from '../src/oauth/pkce.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';

test('s256 matches the RFC 7636 Appendix B example', () => {
  assert.equal(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('PK-05 verifier syntax: 43 to 128 characters of [A-Za-z0-9-._~]', async (t) => {
  const cases: [string, string, boolean][] = [
    ['42 characters', 'a'.repeat(42), false],
    ['43 characters', 'a'.repeat(43), true],
    ['128 characters', 'a'.repeat(128), true],
    ['129 characters', 'a'.repeat(129), false],
    ['every unreserved character', (ALPHABET + ALPHABET).slice(0, 128), true],
    ['a plus sign', `${'a'.repeat(42)}+`, false],
    ['a slash', `${'a'.repeat(42)}/`, false],
    ['padding =', `${'a'.repeat(42)}=`, false],
    ['a space', `${'a'.repeat(42)} `, false],
    ['a percent escape', `${'a'.repeat(40)}%41`, false],
    ['non-ASCII', `${'a'.repeat(42)}ü`, false],
    ['a newline at the end', `${'a'.repeat(43)}\n`, false],
    ['empty', '', false],
  ];
  for (const [name, verifier, valid] of cases) {
    await t.test(`${name} is ${valid ? 'accepted' : 'rejected'}`, () => assert.equal(isValidVerifier(verifier), valid));
  }
});

test('PK-05 S256 challenge syntax: exactly 43 base64url characters', async (t) => {
  const good = s256('a'.repeat(43));
  const cases: [string, string, boolean][] = [
    ['a real S256 challenge', good, true],
    ['42 characters', good.slice(0, 42), false],
    ['44 characters', `${good}A`, false],
    ['with = padding', `${good}=`, false],
    ['base64 (not url) alphabet', `${good.slice(0, 41)}+/`, false],
    ['a dot', `${good.slice(0, 42)}.`, false],
    ['a plain verifier used as challenge (64 chars)', 'a'.repeat(64), false],
    ['empty', '', false],
  ];
  for (const [name, challenge, valid] of cases) {
    await t.test(`${name} is ${valid ? 'accepted' : 'rejected'}`, () => assert.equal(isValidS256Challenge(challenge), valid));
  }
});

test('PK-03 verifierMatches accepts only the verifier the challenge was made from', () => {
  const verifier = 'x'.repeat(43);
  const challenge = s256(verifier);
  assert.equal(verifierMatches(verifier, challenge), true);
  assert.equal(verifierMatches('y'.repeat(43), challenge), false);
  assert.equal(verifierMatches(verifier, s256('y'.repeat(43))), false);
  // plain PKCE is not supported: the challenge equal to the verifier must not match
  assert.equal(verifierMatches(verifier, verifier), false);
});

test('PK-05 verifierMatches refuses a syntactically invalid verifier even when its hash matches', () => {
  for (const bad of [`${'a'.repeat(42)}+`, 'a'.repeat(42), 'a'.repeat(129)]) {
    assert.equal(verifierMatches(bad, s256(bad)), false, bad);
  }
});
