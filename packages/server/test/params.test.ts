// RFC 6749 §3.1, §3.2: form parameters — empty means omitted, no repeats; strict percent-decoding (IN-03).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthError } from '../src/oauth/errors.js';
import { parseUrlEncoded, ParamsError, queryOf, rejectRepeated, repeatedNames, required, single } from '../src/oauth/params.js';

const isInvalidRequest = (e: unknown) => e instanceof OAuthError && e.code === 'invalid_request';

test('parseUrlEncoded decodes application/x-www-form-urlencoded (+ is a space)', () => {
  const p = parseUrlEncoded('a=1&b=x+y&c=%2B%26%3D&d=%C3%BC&e=a=b');
  assert.deepEqual(
    [...p],
    [
      ['a', ['1']],
      ['b', ['x y']],
      ['c', ['+&=']],
      ['d', ['ü']],
      ['e', ['a=b']],
    ],
  );
  assert.deepEqual([...parseUrlEncoded('a+b=c+d')], [['a b', ['c d']]]);
  assert.equal(parseUrlEncoded('').size, 0);
});

test('IN-02 a parameter with no value counts as omitted', () => {
  const p = parseUrlEncoded('state=&scope=openid&nonce&=orphan&&x=1');
  assert.equal(p.has('state'), false);
  assert.equal(p.has('nonce'), false);
  assert.equal(p.has(''), false);
  assert.deepEqual(p.get('scope'), ['openid']);
  assert.deepEqual(p.get('x'), ['1']);
});

test('IN-03 malformed percent-encoding or UTF-8 is an error, never a replacement character', async (t) => {
  for (const input of ['a=%zz', 'a=%C3%28', 'a=%', 'a=%4', '%zz=1', 'a=%E0%A4%A', 'a=%FF', 'a=%ED%A0%80']) {
    await t.test(input, () => assert.throws(() => parseUrlEncoded(input), ParamsError));
  }
});

test('IN-01 repeated parameters are collected and reported, resource may repeat', () => {
  const p = parseUrlEncoded('scope=a&scope=b&resource=https://a.example&resource=https://b.example&x=1');
  assert.deepEqual(p.get('scope'), ['a', 'b']);
  assert.deepEqual(repeatedNames(p), ['scope']);
  assert.throws(() => rejectRepeated(p), isInvalidRequest);
  assert.doesNotThrow(() => rejectRepeated(parseUrlEncoded('resource=https://a.example&resource=https://b.example')));
  // an empty duplicate is omitted, so it is not a repeat
  assert.doesNotThrow(() => rejectRepeated(parseUrlEncoded('code=x&code=')));
});

test('single and required: one value or invalid_request', () => {
  const p = parseUrlEncoded('a=1&b=2&b=3');
  assert.equal(single(p, 'a'), '1');
  assert.equal(single(p, 'missing'), undefined);
  assert.throws(() => single(p, 'b'), isInvalidRequest);
  assert.equal(required(p, 'a'), '1');
  assert.throws(() => required(p, 'missing'), isInvalidRequest);
});

test('__proto__ and constructor are plain parameter names, not object keys', () => {
  const r = parseUrlEncoded('__proto__=x&constructor=y&a=1');
  assert.deepEqual(r.get('__proto__'), ['x']);
  assert.deepEqual(r.get('constructor'), ['y']);
  assert.equal(({} as Record<string, unknown>).x, undefined, 'Object.prototype untouched');
});

test('queryOf returns the raw query string', () => {
  assert.equal(queryOf('/authorize?a=1&b=2'), 'a=1&b=2');
  assert.equal(queryOf('/authorize'), '');
  assert.equal(queryOf('/authorize?'), '');
  assert.equal(queryOf('/x?a=1?b'), 'a=1?b');
});
