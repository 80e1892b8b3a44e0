// IN-05: limits at the HTTP edge on a listening server, driven through raw sockets: 414 for long URLs,
// 431 for large headers, 408 for a client that dribbles its headers or its body; and RFC 6750 §3.1
// at userinfo: another Authorization scheme is "no credentials", 401 with a bare Bearer challenge.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, type TestServer } from './helpers.js';

async function listening(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = {}) {
  const server = await startServer(env);
  t.after(() => server.close());
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.app.server.address() as net.AddressInfo;
  return { server, port };
}

/** Sends `head` and then `dribble` one byte every `everyMs`; resolves with the response and how many dribbled bytes were sent. */
function rawRequest(
  port: number,
  head: string,
  dribble = '',
  everyMs = 100,
): Promise<{ status: number; headers: string; body: string; dribbled: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    let dribbled = 0;
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      if (dribble.length > 0) {
        timer = setInterval(() => {
          if (dribbled >= dribble.length || socket.destroyed) return clearInterval(timer);
          socket.write(dribble[dribbled++]!);
        }, everyMs);
      }
    });
    socket.on('data', (d) => (data += String(d)));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      const m = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(data);
      if (!m) return reject(new Error(`no HTTP response: ${JSON.stringify(data.slice(0, 200))}`));
      resolve({ status: Number(m[1]), headers: m[2]!, body: m[3]!, dribbled });
    });
  });
}

const longQuery = (bytes: number) => `state=${'a'.repeat(bytes)}`;

test('IN-05 a URL over 8 KiB gets 414: JSON on an API path, an error page at /authorize', async (t) => {
  const { server, port } = await listening(t);
  const api = await rawRequest(port, `GET /userinfo?${longQuery(9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  assert.equal(api.status, 414);
  assert.match(api.headers, /content-type: application\/json/i);
  assert.equal((JSON.parse(api.body) as { error: string }).error, 'invalid_request');
  const page = await server.app.inject({ method: 'GET', url: `/authorize?client_id=x&${longQuery(9000)}` });
  assert.equal(page.statusCode, 414);
  assert.match(String(page.headers['content-type']), /text\/html/);
  assert.equal(page.headers.location, undefined);
  // Beyond the header limit the URL is refused before routing, still as 414.
  const huge = await rawRequest(port, `GET /authorize?${longQuery(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  assert.equal(huge.status, 414);
  // Just under the limit is served as usual.
  const ok = await server.app.inject({ method: 'GET', url: `/.well-known/openid-configuration?${longQuery(7000)}` });
  assert.equal(ok.statusCode, 200);
});

test('IN-05 headers over 16 KiB get 431 with a JSON error', async (t) => {
  const { port } = await listening(t);
  const res = await rawRequest(port, `GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: ${'b'.repeat(17_000)}\r\n\r\n`);
  assert.equal(res.status, 431);
  assert.equal((JSON.parse(res.body) as { error: string }).error, 'invalid_request');
});

test('IN-05 a dribbled body gets 408 at the configured request timeout, long before the body is complete', async (t) => {
  const { port } = await listening(t, { GATEHOUSE_HTTP_REQUEST_TIMEOUT: '1500', GATEHOUSE_HTTP_HEADERS_TIMEOUT: '1000' });
  const body = 'grant_type=client_credentials&scope=x'.padEnd(200, 'x');
  // 200 bytes at one per 100 ms would take 20 s; the 408 must come while most of them are unsent.
  const res = await rawRequest(
    port,
    `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`,
    body,
    100,
  );
  assert.equal(res.status, 408);
  assert.equal((JSON.parse(res.body) as { error: string }).error, 'invalid_request');
  assert.ok(res.dribbled < body.length / 2, `refused after ${res.dribbled} of ${body.length} bytes`);
});

test('IN-05 dribbled headers get 408 at the configured headers timeout', async (t) => {
  const { port } = await listening(t, { GATEHOUSE_HTTP_REQUEST_TIMEOUT: '5000', GATEHOUSE_HTTP_HEADERS_TIMEOUT: '1000' });
  const headers = `X-Slow: ${'c'.repeat(200)}\r\n\r\n`;
  const res = await rawRequest(port, 'GET /jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n', headers, 100);
  assert.equal(res.status, 408);
  assert.ok(res.dribbled < headers.length / 2, `refused after ${res.dribbled} of ${headers.length} bytes`);
});

test('IN-05 BR-01 Authorization with another scheme at userinfo gets 401 and a bare Bearer challenge', async (t) => {
  const server: TestServer = await startServer();
  t.after(() => server.close());
  for (const authorization of ['Basic dXNlcjpwYXNz', 'Digest username="u"', 'DPoPx abc']) {
    const res = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization } });
    assert.equal(res.statusCode, 401, authorization);
    const challenge = String(res.headers['www-authenticate']);
    assert.match(challenge, /^Bearer( realm="[^"]*")?$/, challenge);
    assert.doesNotMatch(challenge, /error=/);
  }
  // A malformed Bearer header is still a 400 invalid_request.
  const bad = await server.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: 'Bearer a b c' } });
  assert.equal(bad.statusCode, 400);
});
