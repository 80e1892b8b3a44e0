// Request ids (http/request-id.ts): random, in every log line of the request (pino's reqId), echoed in
// X-Request-Id, in JSON error bodies (request_id) and on error pages; an incoming X-Request-Id is kept
// only from a trusted proxy, and only when short and safe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config/config.js';
import { createGatehouse } from '../src/server.js';
import { loggerOptions } from '../src/main.js';
import { ISSUER, startServer, tokenRequest } from './helpers.js';

async function loggedServer(t: { after(fn: () => Promise<void>): void }) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'info' });
  const gatehouse = await createGatehouse(config, { logger: { ...loggerOptions(config), level: 'info', stream } });
  t.after(() => gatehouse.close());
  return { gatehouse, lines };
}

test('the request id of an error answer is in X-Request-Id, in the body, and on every log line of that request', async (t) => {
  const { gatehouse, lines } = await loggedServer(t);
  const res = await tokenRequest(gatehouse.app, { grant_type: 'client_credentials' }, { clientId: 'nobody', clientSecret: 'nothing' });
  assert.equal(res.statusCode, 401);
  const body = res.json() as { error: string; request_id: string; error_uri?: string };
  assert.equal(body.error, 'invalid_client');
  assert.equal(body.error_uri, undefined);
  const id = res.headers['x-request-id'];
  assert.equal(typeof id, 'string');
  assert.equal(body.request_id, id);
  const ofRequest = lines.filter((l) => l.reqId === id);
  assert.ok(ofRequest.length >= 3, `incoming request, refusal, completion: ${JSON.stringify(ofRequest)}`);
  assert.ok(
    ofRequest.some((l) => l.error === 'invalid_client'),
    'the refusal line names the error',
  );
  assert.ok(ofRequest.some((l) => l.msg === 'request completed'));
});

test('request ids are random (never a sequence), and every answer carries one, a success too', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const res = await server.app.inject({ url: '/.well-known/openid-configuration' });
    assert.equal(res.statusCode, 200);
    const id = String(res.headers['x-request-id']);
    assert.match(id, /^[A-Za-z0-9_-]{16}$/);
    assert.doesNotMatch(id, /^req-\d+$/);
    ids.add(id);
  }
  assert.equal(ids.size, 5);
  const notFound = await server.app.inject({ url: '/nothing-here' });
  assert.equal((notFound.json() as { request_id: string }).request_id, notFound.headers['x-request-id']);
});

test('without a trusted proxy an incoming X-Request-Id is ignored', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const res = await server.app.inject({ url: '/nothing-here', headers: { 'x-request-id': 'from-the-client-1' } });
  assert.notEqual(res.headers['x-request-id'], 'from-the-client-1');
  assert.notEqual((res.json() as { request_id: string }).request_id, 'from-the-client-1');
});

test("a trusted proxy's X-Request-Id is kept when short and safe, and replaced when it is not", async (t) => {
  const server = await startServer({ GATEHOUSE_TRUST_PROXY: '127.0.0.1' });
  t.after(() => server.close());
  const send = (value: string) => server.app.inject({ url: '/nothing-here', headers: { 'x-request-id': value } });
  assert.equal((await send('lb-7f3a.9c:01_x')).headers['x-request-id'], 'lb-7f3a.9c:01_x');
  for (const bad of ['x'.repeat(65), 'has space', 'line\u2028break', '<script>', 'quote"d']) {
    const id = String((await send(bad)).headers['x-request-id']);
    assert.notEqual(id, bad);
    assert.match(id, /^[A-Za-z0-9_-]{16}$/, bad);
  }
  // A proxy list that does not contain the peer: ignored.
  const other = await startServer({ GATEHOUSE_TRUST_PROXY: '10.0.0.0/8' });
  t.after(() => other.close());
  const res = await other.app.inject({ url: '/nothing-here', headers: { 'x-request-id': 'lb-7f3a' } });
  assert.notEqual(res.headers['x-request-id'], 'lb-7f3a');
});

test('an error page shows the request id as its reference', async (t) => {
  const server = await startServer();
  t.after(() => server.close());
  const res = await server.app.inject({ url: '/authorize?client_id=unknown&response_type=code', headers: { accept: 'text/html' } });
  assert.equal(res.statusCode, 400);
  assert.match(String(res.headers['content-type']), /^text\/html/);
  const id = String(res.headers['x-request-id']);
  const shown = /Reference: <code class="request-id">([^<]+)<\/code>/.exec(res.body);
  assert.equal(shown?.[1], id);
});
