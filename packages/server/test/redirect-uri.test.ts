// RFC 6749 §3.1.2, RFC 9700 §2.1/§4.1.3 (exact match), RFC 8252 §7.3 (loopback port), RU-06 registration rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OAuthError } from '../src/oauth/errors.js';
import { assertRegistrableRedirectUri, matchRedirectUri } from '../src/oauth/redirect-uri.js';
import { RU01_VARIANTS, RU05_CASES, RU06_UNSAFE } from './cases.js';

const REGISTERED = 'https://c1.example/cb';

test('RU-01 rejects every variant of a registered redirect URI', async (t) => {
  assert.equal(matchRedirectUri(REGISTERED, [REGISTERED]), REGISTERED);
  for (const [name, uri] of RU01_VARIANTS) {
    await t.test(`rejects ${name}: ${uri}`, () => assert.equal(matchRedirectUri(uri, [REGISTERED]), undefined));
  }
});

test('RU-01 a registered URI with a query matches only with exactly that query', () => {
  const reg = 'https://c1.example/cb?tenant=a';
  assert.equal(matchRedirectUri(reg, [reg]), reg);
  for (const uri of [
    'https://c1.example/cb',
    'https://c1.example/cb?tenant=b',
    'https://c1.example/cb?tenant=a&x=1',
    'https://c1.example/cb?TENANT=a',
  ]) {
    assert.equal(matchRedirectUri(uri, [reg]), undefined, uri);
  }
});

test('RU-05 loopback redirect URIs: only the port may vary', async (t) => {
  for (const [name, uri, ok] of RU05_CASES) {
    await t.test(`${name} (${uri}) is ${ok ? 'accepted' : 'rejected'}`, () => {
      assert.equal(matchRedirectUri(uri, ['http://127.0.0.1/cb']), ok ? uri : undefined);
    });
  }
});

test('RU-05 a registered http://localhost URI: only the port may vary, and the host is exactly localhost', async (t) => {
  const cases: [string, boolean][] = [
    ['http://localhost/cb', true],
    ['http://localhost:51234/cb', true],
    ['http://localhost:51234/cb?x=1', false],
    ['http://localhost:51234/cb2', false],
    ['http://localhost:51234/cb/x', false],
    ['http://localhost.evil.test/cb', false],
    ['http://localhost.evil.test:51234/cb', false],
    ['http://localhost./cb', false],
    ['http://LOCALHOST:51234/cb', false],
    ['http://localhost:51234@evil.test/cb', false],
    ['http://evil.test@localhost:51234/cb', false],
    ['http://localhost:/cb', false],
    ['http://localhost:51234/cb#x', false],
    ['https://localhost:51234/cb', false],
    ['http://127.0.0.1:51234/cb', false],
    ['http://[::1]:51234/cb', false],
    ['http://sub.localhost:51234/cb', false],
  ];
  for (const [uri, ok] of cases) {
    await t.test(`${uri} is ${ok ? 'accepted' : 'rejected'}`, () => {
      assert.equal(matchRedirectUri(uri, ['http://localhost/cb']), ok ? uri : undefined);
    });
  }
  assert.equal(
    matchRedirectUri('http://localhost:4000/cb?tenant=a', ['http://localhost:8080/cb?tenant=a']),
    'http://localhost:4000/cb?tenant=a',
  );
  assert.equal(matchRedirectUri('http://localhost:4000/cb?tenant=b', ['http://localhost:8080/cb?tenant=a']), undefined);
});

test('RU-05 without loopbackAnyPort (confidential clients) a loopback URI matches only exactly', () => {
  const exact = { loopbackAnyPort: false };
  for (const reg of ['http://127.0.0.1:8080/cb', 'http://[::1]:8080/cb', 'http://localhost:8080/cb']) {
    assert.equal(matchRedirectUri(reg, [reg], exact), reg);
    assert.equal(matchRedirectUri(reg.replace(':8080', ':8081'), [reg], exact), undefined, reg);
    assert.equal(matchRedirectUri(reg.replace(':8080', ''), [reg], exact), undefined, reg);
    assert.equal(matchRedirectUri(reg.replace(':8080', ':8081'), [reg]), reg.replace(':8080', ':8081'), `${reg} with the relaxation`);
  }
});

test('RU-05 the port relaxation applies to IPv6 loopback registrations too, and to nothing else', () => {
  assert.equal(matchRedirectUri('http://[::1]:4000/cb', ['http://[::1]/cb']), 'http://[::1]:4000/cb');
  assert.equal(matchRedirectUri('https://c1.example:8443/cb', ['https://c1.example/cb']), undefined);
  assert.equal(matchRedirectUri('http://127.0.0.1:4000/cb', ['https://c1.example/cb']), undefined);
});

test('RU-06 registration rejects unsafe redirect URIs with invalid_redirect_uri', async (t) => {
  const localhostLookAlikes: [string, string][] = [
    ['a localhost suffix', 'http://localhost.evil.test/cb'],
    ['a localhost subdomain', 'http://app.localhost/cb'],
    ['localhost with a trailing dot', 'http://localhost./cb'],
    ['upper-case LOCALHOST', 'http://LOCALHOST/cb'],
    ['localhost userinfo', 'http://localhost@evil.test/cb'],
  ];
  for (const [name, uri] of [...RU06_UNSAFE, ...localhostLookAlikes]) {
    await t.test(`rejects ${name}: ${uri}`, () => {
      assert.throws(
        () => assertRegistrableRedirectUri(uri),
        (e: unknown) => e instanceof OAuthError && e.code === 'invalid_redirect_uri',
      );
    });
  }
});

test('RU-06 registration accepts https, loopback http (127.0.0.1, [::1], localhost) and reverse-domain private-use schemes', async (t) => {
  for (const uri of [
    'https://c1.example/cb',
    'https://c1.example/cb?tenant=a',
    'https://c1.example:8443/cb',
    'http://127.0.0.1/cb',
    'http://127.0.0.1:8080/cb',
    'http://[::1]/cb',
    'http://localhost/cb',
    'http://localhost:8080/cb?x=1',
    'com.example.app:/oauth2redirect',
  ]) {
    await t.test(uri, () => assert.doesNotThrow(() => assertRegistrableRedirectUri(uri)));
  }
});
