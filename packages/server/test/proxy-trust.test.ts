// PX-01 (RFC 9700 §4.13): X-Forwarded-For is believed only from the operator's proxies, named by
// address or CIDR or counted in hops; a blanket "trust every hop" is refused at boot. Otherwise one
// client picks a new address per request and walks around the per-IP login lock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { Browser, pkce, startInteraction, startServer } from './helpers.js';

const C1 = 'https://c1.example/cb';

test('PX-01 --trust-proxy true is refused with a message that names the safe options; bad CIDRs and both options too', () => {
  for (const value of ['true', 'yes', '*']) {
    assert.throws(
      () => loadConfig({ GATEHOUSE_TRUST_PROXY: value }),
      (e: unknown) => e instanceof ConfigError && /--trust-proxy-hops/.test(e.message),
    );
  }
  for (const value of ['10.0.0.0/33', 'proxy.example', '10.0.0.0/8/1', '::1/129']) {
    assert.throws(() => loadConfig({ GATEHOUSE_TRUST_PROXY: value }), ConfigError, value);
  }
  assert.throws(() => loadConfig({ GATEHOUSE_TRUST_PROXY: '127.0.0.1', GATEHOUSE_TRUST_PROXY_HOPS: '1' }), ConfigError);
  assert.deepEqual(loadConfig({ GATEHOUSE_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1,::1' }).trustProxy, ['10.0.0.0/8', '127.0.0.1', '::1']);
  assert.deepEqual(loadConfig({ GATEHOUSE_TRUST_PROXY: 'false' }).trustProxy, []);
});

/** Failed sign-ins from one socket (127.0.0.1), each with another username and a new X-Forwarded-For. */
async function spoofedFailures(env: Record<string, string>, forwardedFor: (i: number) => string, attempts = 8): Promise<number[]> {
  const server = await startServer({ GATEHOUSE_LOGIN_MAX_FAILURES: '5', ...env });
  try {
    const client = await server.createClient({ redirectUris: [C1] });
    const statuses: number[] = [];
    for (let i = 0; i < attempts; i++) {
      const browser = new Browser(server.app);
      const { form } = await startInteraction(browser, {
        clientId: client.clientId,
        redirectUri: C1,
        scope: 'openid',
        challenge: pkce().challenge,
      });
      const res = await browser.post(
        form.action,
        { ...form.fields, username: `nobody-${i}`, password: 'wrong password' },
        { 'x-forwarded-for': forwardedFor(i) },
      );
      statuses.push(res.statusCode);
    }
    return statuses;
  } finally {
    await server.close();
  }
}

test('PX-01 X-Forwarded-For from an address that is not a trusted proxy is ignored: the per-IP lock still catches the socket', async () => {
  const statuses = await spoofedFailures({ GATEHOUSE_TRUST_PROXY: '10.0.0.0/8' }, (i) => `203.0.113.${i + 1}`);
  assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
  assert.ok(
    statuses.slice(5).every((s) => s === 429),
    `after 5 failures from one socket: ${statuses.join(',')}`,
  );
});

test('PX-01 with no proxy configured X-Forwarded-For is ignored too', async () => {
  const statuses = await spoofedFailures({}, (i) => `203.0.113.${i + 1}`);
  assert.ok(
    statuses.slice(5).every((s) => s === 429),
    statuses.join(','),
  );
});

test('PX-01 from a trusted proxy the forwarded client address is used, so different clients behind it are counted apart', async () => {
  const statuses = await spoofedFailures({ GATEHOUSE_TRUST_PROXY: '127.0.0.1' }, (i) => `203.0.113.${i + 1}`);
  assert.ok(
    statuses.every((s) => s === 401),
    `each client has its own count: ${statuses.join(',')}`,
  );
});

test('PX-01 with --trust-proxy-hops 1 only the hop our proxy added counts: a client prepending fake hops is still caught', async () => {
  const statuses = await spoofedFailures({ GATEHOUSE_TRUST_PROXY_HOPS: '1' }, (i) => `198.51.100.${i + 1}, 203.0.113.7`);
  assert.ok(
    statuses.slice(5).every((s) => s === 429),
    statuses.join(','),
  );
});
