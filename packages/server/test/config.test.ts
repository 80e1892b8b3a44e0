// Configuration: defaults < GATEHOUSE_* environment < flags, validated once, frozen; TL-01 issuer rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessTokenAudience, ConfigError, loadConfig, validateIssuer } from '../src/config/config.js';

test('defaults are secure and match CONTRACT.md', () => {
  const c = loadConfig({});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 9000);
  assert.equal(c.issuer, 'http://127.0.0.1:9000', 'the issuer defaults to http://HOST:PORT');
  assert.equal(c.databaseUrl, 'sqlite:./data/gatehouse.db');
  assert.equal(c.codeTtl, 60, 'AC-02: codes live 60 s by default');
  assert.equal(c.accessTokenTtl, 600);
  assert.equal(c.refreshTokenTtl, 30 * 86400);
  assert.ok(c.refreshTokenIdleTtl <= c.refreshTokenTtl);
  assert.equal(c.pkceRequiredForConfidentialClients, true, 'PK-01: PKCE required of confidential clients by default');
  assert.deepEqual(c.trustProxy, [], 'TL-03: X-Forwarded-* not trusted by default');
  assert.equal(c.trustProxyHops, 0);
  assert.ok(c.loginMaxFailures >= 1 && c.loginMaxFailures <= 20, 'UI-06: a throttle is on by default');
});

test('environment overrides defaults and flags override the environment', () => {
  const env = { GATEHOUSE_PORT: '9100', GATEHOUSE_CODE_TTL: '30', GATEHOUSE_ACCESS_TOKEN_TTL: '120' };
  const fromEnv = loadConfig(env);
  assert.equal(fromEnv.port, 9100);
  assert.equal(fromEnv.issuer, 'http://127.0.0.1:9100');
  assert.equal(fromEnv.codeTtl, 30);
  const withFlags = loadConfig(env, { port: '9200', 'code-ttl': '45' });
  assert.equal(withFlags.port, 9200);
  assert.equal(withFlags.codeTtl, 45);
  assert.equal(withFlags.accessTokenTtl, 120, 'the environment still applies where no flag is given');
});

test('an empty environment variable counts as unset', () => {
  assert.equal(loadConfig({ GATEHOUSE_PORT: '' }).port, 9000);
});

test('booleans accept true/false words and reject anything else', () => {
  assert.equal(loadConfig({ GATEHOUSE_PKCE_REQUIRED_FOR_CONFIDENTIAL: 'false' }).pkceRequiredForConfidentialClients, false);
  assert.equal(loadConfig({ GATEHOUSE_PKCE_REQUIRED_FOR_CONFIDENTIAL: 'TRUE' }).pkceRequiredForConfidentialClients, true);
  assert.deepEqual(loadConfig({ GATEHOUSE_TRUST_PROXY: '0' }).trustProxy, [], 'false words still mean no proxy');
  assert.throws(() => loadConfig({ GATEHOUSE_TRUST_PROXY: 'maybe' }), ConfigError);
});

test('invalid values fail at boot with a ConfigError naming the option', async (t) => {
  const cases: [string, Record<string, string>, Record<string, string>][] = [
    ['a non-numeric port', { GATEHOUSE_PORT: 'http' }, {}],
    ['a port above 65535', { GATEHOUSE_PORT: '70000' }, {}],
    ['a negative port', {}, { port: '-1' }],
    ['a zero code TTL', { GATEHOUSE_CODE_TTL: '0' }, {}],
    ['a code TTL above 10 minutes (RFC 6749 §4.1.2)', { GATEHOUSE_CODE_TTL: '601' }, {}],
    ['a fractional TTL', { GATEHOUSE_ACCESS_TOKEN_TTL: '1.5' }, {}],
    ['an unknown log level', { GATEHOUSE_LOG_LEVEL: 'loud' }, {}],
    ['an empty database URL flag', {}, { database: '' }],
    ['a relative access token audience', { GATEHOUSE_ACCESS_TOKEN_AUDIENCE: 'api' }, {}],
  ];
  for (const [name, env, flags] of cases) {
    await t.test(name, () => assert.throws(() => loadConfig(env, flags), ConfigError));
  }
});

test('TL-01 the issuer is https, or http only on a loopback host, without query, fragment or userinfo', async (t) => {
  const rejected = [
    'http://example.com',
    'http://as.example:9000',
    'http://localhost.evil.test:9000',
    'http://127.0.0.1.nip.io',
    'https://as.example?x=1',
    'https://as.example/?',
    'https://as.example#f',
    'https://user:pw@as.example',
    'ftp://as.example',
    'as.example',
    '',
  ];
  for (const issuer of rejected) {
    await t.test(`rejects ${JSON.stringify(issuer)}`, () => {
      assert.throws(() => validateIssuer(issuer), ConfigError);
      if (issuer !== '') assert.throws(() => loadConfig({ GATEHOUSE_ISSUER: issuer }), ConfigError);
    });
  }
  for (const issuer of [
    'https://as.example',
    'https://as.example/tenant-a',
    'http://127.0.0.1:9000',
    'http://localhost:9000',
    'http://[::1]:9000',
  ]) {
    await t.test(`accepts ${issuer}`, () => assert.equal(loadConfig({ GATEHOUSE_ISSUER: issuer }).issuer, issuer));
  }
});

test('the issuer is stored without a trailing slash (RFC 8414 §3.3 exact comparison)', () => {
  assert.equal(loadConfig({ GATEHOUSE_ISSUER: 'https://as.example/' }).issuer, 'https://as.example');
});

test('an IPv6 host gives a bracketed default issuer', () => {
  assert.equal(loadConfig({ GATEHOUSE_HOST: '::1' }).issuer, 'http://[::1]:9000');
});

test('a non-loopback host without an explicit issuer is refused (TL-01: would be plain http)', () => {
  assert.throws(() => loadConfig({ GATEHOUSE_HOST: '0.0.0.0' }), ConfigError);
});

test('the idle refresh lifetime never exceeds the absolute one', () => {
  const c = loadConfig({ GATEHOUSE_REFRESH_TOKEN_TTL: '100', GATEHOUSE_REFRESH_TOKEN_IDLE_TTL: '500' });
  assert.equal(c.refreshTokenTtl, 100);
  assert.equal(c.refreshTokenIdleTtl, 100);
});

test('the configuration is frozen after boot', () => {
  const c = loadConfig({ GATEHOUSE_ACCESS_TOKEN_AUDIENCE: 'https://api.example' });
  assert.ok(Object.isFrozen(c));
  assert.throws(() => {
    (c as { codeTtl: number }).codeTtl = 9999;
  }, TypeError);
  assert.throws(() => (c.accessTokenAudience as string[]).push('https://evil.example'), TypeError);
});

test('the access token audience defaults to the issuer and takes a list', () => {
  assert.deepEqual(accessTokenAudience(loadConfig({})), ['http://127.0.0.1:9000']);
  assert.deepEqual(accessTokenAudience(loadConfig({ GATEHOUSE_ACCESS_TOKEN_AUDIENCE: 'https://a.example, https://b.example' })), [
    'https://a.example',
    'https://b.example',
  ]);
});
