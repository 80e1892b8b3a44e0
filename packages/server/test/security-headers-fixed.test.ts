// app.ts sends a fixed set of security headers computed once per app, in place of @fastify/helmet,
// which rebuilt them on every request. This holds them to what helmet itself sends with the
// configuration Gatehouse used to give it, on JSON answers, errors and 404s, for http and https issuers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import helmet from '@fastify/helmet';
import { CSP_DIRECTIVES } from '../src/interaction/page.js';
import { securityHeaders } from '../src/app.js';
import { startServer } from './helpers.js';

const VARYING = new Set([
  'content-type',
  'content-length',
  'date',
  'connection',
  'keep-alive',
  'etag',
  'access-control-allow-origin',
  'vary',
  'allow',
  // http/request-id.ts: a fresh id per request, the one header that is not fixed.
  'x-request-id',
]);

function fixed(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !VARYING.has(name.toLowerCase()))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** What @fastify/helmet 13 sent with Gatehouse's former configuration (plus its own no-store hook). */
async function helmetReference(https: boolean): Promise<Record<string, unknown>> {
  const app = Fastify();
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: Object.fromEntries(Object.entries(CSP_DIRECTIVES).map(([k, v]) => [k, [...v]])),
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: https ? { maxAge: 31536000, includeSubDomains: true } : false,
    crossOriginResourcePolicy: false,
    crossOriginOpenerPolicy: { policy: 'same-origin' },
  });
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache');
  });
  app.get('/x', async () => ({ ok: true }));
  const res = await app.inject({ method: 'GET', url: '/x' });
  await app.close();
  return fixed(res.headers);
}

for (const https of [false, true]) {
  test(`UI-01 TE-01 the fixed headers are exactly what helmet sent (${https ? 'https' : 'http'} issuer) on JSON answers, errors and 404s`, async (t) => {
    const reference = await helmetReference(https);
    assert.equal(reference['x-frame-options'], 'DENY');
    assert.equal('strict-transport-security' in reference, https);
    assert.deepEqual(fixed(Object.fromEntries(Object.entries(securityHeaders(https)).map(([k, v]) => [k.toLowerCase(), v]))), reference);

    const server = await startServer(https ? { GATEHOUSE_ISSUER: 'https://id.example' } : {});
    t.after(() => server.close());
    for (const [method, url] of [
      ['GET', '/jwks'],
      ['GET', '/.well-known/openid-configuration'],
      ['POST', '/token'],
      ['GET', '/nowhere'],
    ] as const) {
      const res = await server.app.inject({ method, url });
      const got = fixed(res.headers);
      // Routes may choose their own caching (the JWKS and discovery are cacheable); everything else is fixed.
      for (const name of ['cache-control', 'pragma']) {
        delete got[name];
      }
      const expected = { ...reference };
      delete expected['cache-control'];
      delete expected.pragma;
      assert.deepEqual(got, expected, `${method} ${url}`);
    }
    const token = await server.app.inject({ method: 'POST', url: '/token' });
    assert.equal(token.headers['cache-control'], 'no-store');
    assert.equal(token.headers.pragma, 'no-cache');
  });
}
