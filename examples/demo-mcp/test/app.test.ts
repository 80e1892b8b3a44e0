// The demo MCP server without an authorization server: what a client sees before it has a token.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { buildMcpApp, MCP_SCOPE } from '../src/app.js';

async function listening(t: { after(fn: () => Promise<void>): void }) {
  // The resource names the port, so listen first on a port picked here, then build the app for it.
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const resource = `http://127.0.0.1:${port}/mcp`;
  const server = buildMcpApp({ issuer: 'http://127.0.0.1:1', resource }).listen(port, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { resource, base: `http://127.0.0.1:${port}` };
}

test('the MCP server publishes RFC 9728 metadata naming the authorization server and its scope', async (t) => {
  const { resource, base } = await listening(t);
  const res = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`);
  assert.equal(res.status, 200);
  const metadata = (await res.json()) as Record<string, unknown>;
  assert.equal(metadata.resource, resource);
  assert.deepEqual(metadata.authorization_servers, ['http://127.0.0.1:1']);
  assert.deepEqual(metadata.scopes_supported, [MCP_SCOPE]);
});

test('without a token every method on /mcp is 401 with a challenge that points at the metadata', async (t) => {
  const { base } = await listening(t);
  for (const method of ['POST', 'GET', 'DELETE']) {
    const res = await fetch(`${base}/mcp`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    assert.equal(res.status, 401, method);
    const challenge = res.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.ok(challenge.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`), challenge);
    assert.doesNotMatch(challenge, /error=/, 'no token: no error code (RFC 6750 §3.1)');
  }
  const bad = await fetch(`${base}/mcp`, { method: 'POST', headers: { authorization: 'Bearer not-a-jwt' } });
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});

test('the resource must be a URL with a path', () => {
  assert.throws(() => buildMcpApp({ issuer: 'http://127.0.0.1:1', resource: 'http://127.0.0.1:9200' }), TypeError);
  assert.throws(() => buildMcpApp({ issuer: 'http://127.0.0.1:1', resource: 'http://127.0.0.1:9200/mcp?x=1' }), TypeError);
});
