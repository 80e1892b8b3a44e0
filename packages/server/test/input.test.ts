// Input handling (IN-01, IN-03, IN-05..IN-07) and the token endpoint's transport rules (TE-01, TE-02).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { basic, Browser, pkce, startServer, type TestServer, assertNoStackTrace, assertOAuthError, startInteraction } from './helpers.js';

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const server = await startServer();
  t.after(() => server.close());
  const client = await server.createClient({ redirectUris: ['https://c1.example/cb'], scope: 'openid photos:read' });
  return { server, client, auth: { authorization: basic(client.clientId, client.clientSecret!) } };
}

const raw = (
  server: TestServer,
  url: string,
  payload: string | Buffer,
  headers: Record<string, string> = {},
  method: 'POST' | 'GET' = 'POST',
) =>
  server.app.inject({
    method,
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: method === 'GET' ? undefined : payload,
  });

function assertTokenEndpointHeaders(res: { headers: Record<string, unknown> }) {
  assert.match(String(res.headers['cache-control']), /no-store/, 'TE-01 Cache-Control: no-store');
  assert.equal(res.headers.pragma, 'no-cache', 'TE-01 Pragma: no-cache');
  assert.match(String(res.headers['content-type']), /^application\/json/);
}

test('TE-01 token endpoint answers carry no-store and Pragma no-cache on 200 and on every error', async (t) => {
  const { server, auth } = await setup(t);
  const ok = await raw(server, '/token', 'grant_type=client_credentials&scope=photos:read', auth);
  assert.equal(ok.statusCode, 200);
  assertTokenEndpointHeaders(ok);
  for (const res of [
    await raw(server, '/token', 'grant_type=client_credentials', { authorization: basic('x', 'y') }),
    await raw(server, '/token', 'grant_type=nope', auth),
    await raw(server, '/token', 'grant_type=authorization_code&code=x', auth),
    await raw(server, '/token', 'a=%zz', auth),
    await raw(server, '/token', '{"grant_type":"client_credentials"}', { ...auth, 'content-type': 'application/json' }),
    await raw(server, '/token', 'x'.repeat(70 * 1024), auth),
  ]) {
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode}`);
    assertTokenEndpointHeaders(res);
  }
});

test('TE-02 GET /token is refused with a JSON 404 or 405', async (t) => {
  const { server, auth } = await setup(t);
  const res = await raw(server, '/token?grant_type=client_credentials', '', auth, 'GET');
  assert.ok(res.statusCode === 404 || res.statusCode === 405, `${res.statusCode}`);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.equal(res.json().access_token, undefined);
  for (const method of ['PUT', 'DELETE', 'PATCH'] as const) {
    const r = await server.app.inject({ method, url: '/token', headers: auth });
    assert.ok([404, 405].includes(r.statusCode), `${method}: ${r.statusCode}`);
  }
});

test('TE-02 IN-06 a JSON body or another content type at /token is 400 invalid_request', async (t) => {
  const { server, auth } = await setup(t);
  const json = await raw(server, '/token', JSON.stringify({ grant_type: 'client_credentials' }), {
    ...auth,
    'content-type': 'application/json',
  });
  assertOAuthError(json, 400, 'invalid_request');
  for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/xml']) {
    const res = await raw(server, '/token', 'grant_type=client_credentials', { ...auth, 'content-type': type });
    assertOAuthError(res, [400, 415], 'invalid_request');
  }
  const none = await server.app.inject({ method: 'POST', url: '/token', headers: auth, payload: 'grant_type=client_credentials' });
  assert.ok(none.statusCode === 400 || none.statusCode === 415, `no content type: ${none.statusCode}`);
  assert.equal(
    (
      await raw(server, '/token', 'grant_type=client_credentials&scope=photos:read', {
        ...auth,
        'content-type': 'application/x-www-form-urlencoded; charset=UTF-8',
      })
    ).statusCode,
    200,
    'a charset parameter is fine',
  );
});

test('IN-01 a repeated parameter at /token is invalid_request', async (t) => {
  const { server, auth } = await setup(t);
  for (const body of [
    'grant_type=authorization_code&code=a&code=b&code_verifier=' + 'a'.repeat(43),
    'grant_type=client_credentials&grant_type=client_credentials',
    'grant_type=client_credentials&scope=photos:read&scope=photos:read',
  ]) {
    assertOAuthError(await raw(server, '/token', body, auth), 400, 'invalid_request');
  }
});

test('DP-01 malformed DPoP headers at /token and /userinfo get invalid_dpop_proof or invalid_request, never a 500', async (t) => {
  const { server, auth } = await setup(t);
  const segment = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  for (const dpop of [
    'x',
    '..',
    'a.b.c',
    `${segment('{')}.${segment({})}.sig`,
    `${segment([1])}.${segment({})}.sig`,
    `${segment({ typ: 'dpop+jwt', alg: 'ES256', jwk: 'nope' })}.${segment({})}.sig`,
    `${segment({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: 'EC', crv: 'P-256', x: '!', y: '?' } })}.${segment({})}.sig`,
    `${segment({ typ: 'dpop+jwt', alg: 'RS256', jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } })}.${segment('not json')}.sig`,
    'a'.repeat(9000),
  ]) {
    const res = await raw(server, '/token', 'grant_type=client_credentials', { ...auth, dpop });
    assertOAuthError(res, 400, 'invalid_dpop_proof');
    assertNoStackTrace(res.body);
  }
  for (const authorization of ['DPoP', 'DPoP a b', 'dpop !!!']) {
    const res = await server.app.inject({ url: '/userinfo', headers: { authorization, dpop: 'x' } });
    assert.equal(res.statusCode, 400, `${authorization}: ${res.body}`);
    assertNoStackTrace(res.body);
  }
  const res = await server.app.inject({ url: '/userinfo', headers: { authorization: 'DPoP abc', dpop: 'x' } });
  assert.equal(res.statusCode, 401);
  assert.match(String(res.headers['www-authenticate']), /^DPoP .*error="invalid_token"/);
});

test('IN-03 bad percent-encoding or UTF-8 at /token is 400 invalid_request JSON', async (t) => {
  const { server, auth } = await setup(t);
  for (const body of [
    'grant_type=client_credentials&scope=%zz',
    'grant_type=client_credentials&scope=%C3%28',
    'grant_type=%',
    '%zz=1',
    'scope=%ED%A0%80&grant_type=client_credentials',
  ]) {
    await t.test(body, async () => {
      assertOAuthError(await raw(server, '/token', body, auth), 400, 'invalid_request');
    });
  }
});

test('IN-03 bad encoding on the browser form endpoints gives a 400 page, never 5xx', async (t) => {
  const { server, client } = await setup(t);
  const browser = new Browser(server.app);
  const { form: f } = await startInteraction(browser, {
    clientId: client.clientId,
    redirectUri: 'https://c1.example/cb',
    scope: 'openid',
    challenge: pkce().challenge,
  });
  const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  for (const url of ['/authorize', f.action, f.action.replace(/login$/, 'consent')]) {
    for (const body of ['a=%zz', 'a=%C3%28']) {
      const res = await raw(server, url, body, { cookie });
      assert.equal(res.statusCode, 400, `${url} ${body}: ${res.statusCode}`);
      assertNoStackTrace(res.body);
    }
  }
  const get = await server.app.inject({ method: 'GET', url: '/authorize?client_id=%zz&response_type=code' });
  assert.equal(get.statusCode, 400);
  assert.match(String(get.headers['content-type']), /^text\/html/);
  assert.equal(get.headers.location, undefined);
});

test('IN-05 a body over 64 KiB is refused with 413 before parsing', async (t) => {
  const { server, client, auth } = await setup(t);
  const big = `grant_type=client_credentials&pad=${'x'.repeat(65 * 1024)}`;
  const res = await raw(server, '/token', big, auth);
  assertOAuthError(res, 413, 'invalid_request');
  const authorize = await raw(server, '/authorize', `client_id=${client.clientId}&pad=${'x'.repeat(65 * 1024)}`);
  assert.equal(authorize.statusCode, 413);
  assertNoStackTrace(authorize.body);
  // just under the limit is parsed normally
  const under = await raw(server, '/token', `grant_type=client_credentials&scope=photos:read&pad=${'x'.repeat(60 * 1024)}`, auth);
  assert.equal(under.statusCode, 200, under.body.slice(0, 200));
});

test('unknown routes answer 404 JSON without internals', async (t) => {
  const { server } = await setup(t);
  for (const url of ['/nope', '/token/x', '/.well-known/nope', '/../../etc/passwd', '/%00', '/admin/nope', '/admin/api/nope']) {
    const res = await server.app.inject({ method: 'GET', url });
    assert.equal(res.statusCode, 404, url);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.equal(typeof res.json().error, 'string');
    assertNoStackTrace(res.body);
  }
});

test('IN-07 a storage outage gives 503 temporarily_unavailable JSON with Retry-After and no stack', async (t) => {
  const { server, auth } = await setup(t);
  const clients = server.deps.storage.clients;
  const original = clients.find.bind(clients);
  clients.find = async () => {
    throw Object.assign(new Error('SQLITE_BUSY: database is locked at /work/secret/path.db'), { code: 'SQLITE_BUSY' });
  };
  t.after(() => {
    clients.find = original;
  });
  const res = await raw(server, '/token', 'grant_type=client_credentials', auth);
  const body = assertOAuthError(res, 503, 'temporarily_unavailable');
  assert.ok(Number(res.headers['retry-after']) > 0);
  assert.ok(!JSON.stringify(body).includes('SQLITE'), 'no driver message in the body');
  const page = await server.app.inject({ method: 'GET', url: '/authorize?client_id=x&response_type=code' });
  assert.ok(page.statusCode >= 500, `${page.statusCode}`);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.ok(!page.body.includes('SQLITE'));
  assertNoStackTrace(page.body);
});

test('IN-07 an unexpected error gives 500 server_error JSON without the message or stack', async (t) => {
  const { server, auth } = await setup(t);
  const clients = server.deps.storage.clients;
  const original = clients.find.bind(clients);
  clients.find = async () => {
    throw new TypeError('Cannot read properties of undefined (reading secret_hash_internal)');
  };
  t.after(() => {
    clients.find = original;
  });
  const res = await raw(server, '/token', 'grant_type=client_credentials', auth);
  const body = assertOAuthError(res, 500, 'server_error');
  assert.ok(!JSON.stringify(body).includes('secret_hash_internal'));
});

test('IN-07 error descriptions use only the RFC 6749 §5.2 character set', async (t) => {
  const { server, auth } = await setup(t);
  const responses = [
    await raw(server, '/token', 'grant_type=%22%5C%0A%F0%9F%98%80', auth),
    await raw(server, '/token', 'grant_type=client_credentials&scope=%22', auth),
    await raw(server, '/token', 'grant_type=authorization_code&code=%22%5C', auth),
  ];
  for (const res of responses) {
    const d = res.json().error_description;
    if (d !== undefined) assert.match(String(d), /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/, String(d));
    assert.match(String(res.json().error), /^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/);
  }
});

test('no 5xx from a burst of malformed token requests', async (t) => {
  const { server, auth } = await setup(t);
  const bodies = [
    '',
    '&&&',
    '=',
    '==',
    'grant_type',
    'grant_type=',
    'grant_type=authorization_code',
    'grant_type=refresh_token&refresh_token=',
    'grant_type=client_credentials&scope=' + '%20'.repeat(100),
    `grant_type=authorization_code&code=${'%F0%9F%98%80'.repeat(100)}`,
    'grant_type[]=x',
    'grant_type=client_credentials&__proto__=x&constructor=y',
    `${'a='.repeat(5000)}`,
  ];
  for (const body of bodies) {
    const res = await raw(server, '/token', body, auth);
    assert.ok(res.statusCode < 500, `${body.slice(0, 40)}: ${res.statusCode} ${res.body.slice(0, 100)}`);
    assertNoStackTrace(res.body);
  }
});

test('IN-09 bad percent-encoding in a path parameter is 400 invalid_request (an error page for a browser), not the framework’s error', async (t) => {
  // Found by the fuzzer (test/fuzz.test.ts): Fastify answered {"error":"Bad Request","code":"FST_ERR_BAD_URL",…}.
  const { server } = await setup(t);
  for (const url of ['/register/%zz', '/interaction/%C3%28/login', '/interaction/%zz']) {
    const res = await server.app.inject({ method: url.endsWith('login') ? 'POST' : 'GET', url });
    assertOAuthError(res, 400, 'invalid_request');
    assert.ok(!res.body.includes('FST_'), res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  }
  const page = await server.app.inject({ method: 'GET', url: '/interaction/%zz', headers: { accept: 'text/html,application/xhtml+xml' } });
  assert.equal(page.statusCode, 400);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  assert.match(page.body, /^<!doctype html>/i);
  assertNoStackTrace(page.body);
});
