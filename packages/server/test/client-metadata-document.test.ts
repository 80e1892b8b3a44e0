// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a URL client_id is
// fetched through the SSRF-safe fetcher, validated, and used as a public client. Documents are served
// by a local HTTP server on 127.0.0.1; the server under test uses the development opt-out for
// loopback, except where the test is that loopback is refused.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { createSafeFetcher } from '../src/net/safe-fetch.js';
import {
  clientFromMetadataDocument,
  ClientMetadataDocumentError,
  isClientIdMetadataDocumentUrl,
} from '../src/oauth/client-metadata-document.js';
import { createGatehouse } from '../src/server.js';
import {
  assertErrorPage,
  assertOAuthError,
  authorizeUrl,
  Browser,
  continueFlow,
  countRows,
  decodeJwt,
  DEFAULT_USER,
  ISSUER,
  isConsentForm,
  parseForm,
  pkce,
  startServer,
  testClock,
  tokenRequest,
  type TestServer,
} from './helpers.js';

const REDIRECT = 'http://127.0.0.1:7777/callback';
const DEV = { GATEHOUSE_FETCH_ALLOW_INSECURE_LOOPBACK_FOR_DEVELOPMENT: 'true' };

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

/** A document host on 127.0.0.1 that counts the requests it gets per path. */
async function documentHost(t: { after(fn: () => Promise<void> | void): void }, routes: Record<string, Handler>) {
  const hits = new Map<string, number>();
  let base = '';
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    route(req, res, base);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { base, url: (path: string) => `${base}${path}`, hits: (path: string) => hits.get(path) ?? 0 };
}

const json =
  (body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  };

/** A valid document for the URL it is served at, with overrides. */
const doc =
  (extra: Record<string, unknown> = {}): Handler =>
  (req, res, base) =>
    json({ client_id: `${base}${req.url}`, client_name: 'Inspector Gadget', redirect_uris: [REDIRECT], ...extra })(req, res, base);

async function serverWithUser(t: { after(fn: () => Promise<void>): void }, env: Record<string, string> = DEV): Promise<TestServer> {
  const server = await startServer(env);
  t.after(() => server.close());
  await server.createUser(DEFAULT_USER.username, DEFAULT_USER.password);
  return server;
}

function authorize(clientId: string, challenge: string, extra: Record<string, string> = {}): string {
  return authorizeUrl({ clientId, redirectUri: REDIRECT, scope: 'openid profile', state: 's1', challenge, extra });
}

test('CM-02 a URL client_id becomes a public client: the consent page names the host and says it is not verified; the code is exchanged with PKCE', async (t) => {
  const host = await documentHost(t, { '/client.json': doc() });
  const server = await serverWithUser(t);
  const clientId = host.url('/client.json');
  const browser = new Browser(server.app);
  const p = pkce();
  let res = await browser.get(authorize(clientId, p.challenge));
  // Login, then the consent page (public clients are always asked).
  const login = await browser.get(String(res.headers.location));
  const loginForm = parseForm(login.body);
  res = await browser.post(loginForm.action, { ...loginForm.fields, username: DEFAULT_USER.username, password: DEFAULT_USER.password });
  const consent = await browser.get(String(res.headers.location));
  assert.equal(consent.statusCode, 200);
  assert.ok(isConsentForm(parseForm(consent.body)), 'a consent page');
  assert.match(consent.body, /Inspector Gadget/);
  assert.match(consent.body, new RegExp(`class="document-host">127\\.0\\.0\\.1:${new URL(host.base).port}<`));
  assert.match(consent.body, /not been verified by the operator/);
  const location = await continueFlow(
    browser,
    await browser.post(parseForm(consent.body).action, { ...parseForm(consent.body).fields, decision: 'allow' }),
    undefined,
  );
  assert.equal(`${location.origin}${location.pathname}`, REDIRECT);
  const code = location.searchParams.get('code');
  assert.ok(code);
  const token = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: p.verifier },
    { clientId },
  );
  assert.equal(token.statusCode, 200, token.body);
  const claims = decodeJwt((token.json() as { access_token: string }).access_token);
  assert.equal(claims.client_id, clientId);
  // The same transient client authenticates (none) at the revocation endpoint.
  const revoked = await server.app.inject({
    method: 'POST',
    url: '/revoke',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ client_id: clientId, token: (token.json() as { access_token: string }).access_token }).toString(),
  });
  assert.equal(revoked.statusCode, 200, revoked.body);
  // Nothing is stored for the client; the document was fetched once and then served from the cache.
  assert.equal(await countRows(server.deps.storage, 'clients'), 0);
  assert.equal(host.hits('/client.json'), 1);
});

test('CM-02 a document that becomes unusable during sign-in ends the interaction with an error page', async (t) => {
  let valid = true;
  const host = await documentHost(t, {
    '/c.json': (req, res, base) => (valid ? doc() : doc({ client_id: 'https://elsewhere.example/c.json' }))(req, res, base),
  });
  const server = await serverWithUser(t);
  const browser = new Browser(server.app);
  const res = await browser.get(authorize(host.url('/c.json'), pkce().challenge));
  const interaction = String(res.headers.location);
  assert.match(interaction, /^\/interaction\//);
  valid = false;
  server.deps.fetcher.clearCache(); // as if the cached copy had expired
  const page = await browser.get(interaction);
  assertErrorPage(page, REDIRECT);
  assert.equal(host.hits('/c.json'), 2);
});

test('CM-02 a metadata document client is asked for consent every time, being public (RU-12)', async (t) => {
  const host = await documentHost(t, { '/c.json': doc() });
  const server = await serverWithUser(t);
  const browser = new Browser(server.app);
  const first = await continueFlow(browser, await browser.get(authorize(host.url('/c.json'), pkce().challenge)), DEFAULT_USER);
  assert.ok(first.searchParams.get('code'));
  const again = await browser.get(authorize(host.url('/c.json'), pkce().challenge));
  assert.match(String(again.headers.location), /^\/interaction\//, 'RU-12: public clients are asked every time');
});

test('CM-02 a document whose client_id is not its URL gives an error page, never a redirect', async (t) => {
  const host = await documentHost(t, {
    '/mismatch.json': json({ client_id: 'https://other.example/client.json', redirect_uris: [REDIRECT] }),
  });
  const server = await serverWithUser(t);
  const res = await new Browser(server.app).get(authorize(host.url('/mismatch.json'), pkce().challenge));
  assertErrorPage(res, REDIRECT);
  assert.match(res.body, /client_id in the document is not the URL/);
});

test('CM-02 documents listing unsafe redirect URIs give an error page (RU-06 rules of the CLI)', async (t) => {
  const bad = [
    'javascript:alert(1)',
    'http://evil.example/cb',
    'https://c.example/cb#frag',
    'https://*.example/cb',
    'https://user@c.example/cb',
  ];
  const routes: Record<string, Handler> = {};
  bad.forEach((uri, i) => (routes[`/bad${i}.json`] = doc({ redirect_uris: [REDIRECT, uri] })));
  const host = await documentHost(t, routes);
  const server = await serverWithUser(t);
  for (let i = 0; i < bad.length; i++) {
    const res = await new Browser(server.app).get(authorize(host.url(`/bad${i}.json`), pkce().challenge));
    assertErrorPage(res, bad[i]);
    assert.match(res.body, /redirect URI in the document is not acceptable/, bad[i]);
  }
});

test('RU-02 a redirect_uri the metadata document does not list gives an error page, never a redirect', async (t) => {
  const host = await documentHost(t, { '/c.json': doc() });
  const server = await serverWithUser(t);
  const url = authorizeUrl({
    clientId: host.url('/c.json'),
    redirectUri: 'http://127.0.0.1:7777/other',
    scope: 'openid',
    challenge: pkce().challenge,
  });
  assertErrorPage(await new Browser(server.app).get(url), 'http://127.0.0.1:7777/other');
});

test('CM-01 oversized, not-JSON, redirecting and failing documents give error pages', async (t) => {
  const big = JSON.stringify({ client_id: 'x', pad: 'a'.repeat(1024 * 1024) });
  const host = await documentHost(t, {
    '/big.json': (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(big) }).end(big),
    '/big-chunked.json': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big);
    },
    '/html.json': (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'),
    '/broken.json': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"client_id":'),
    '/array.json': json([1, 2, 3]),
    '/redirect.json': (_req, res) => res.writeHead(302, { location: 'http://10.0.0.1/client.json' }).end(),
    '/missing.json': (_req, res) => res.writeHead(404).end(),
  });
  const server = await serverWithUser(t);
  const cases: [string, RegExp][] = [
    ['/big.json', /too large/],
    ['/big-chunked.json', /too large/],
    ['/html.json', /not a JSON document/],
    ['/broken.json', /not a JSON document/],
    ['/array.json', /not a JSON object/],
    ['/redirect.json', /redirect, which is not followed/],
    ['/missing.json', /did not answer with the document/],
  ];
  for (const [path, message] of cases) {
    const res = await new Browser(server.app).get(authorize(host.url(path), pkce().challenge));
    assertErrorPage(res, REDIRECT);
    assert.match(res.body, message, path);
  }
  assert.equal(host.hits('/redirect.json'), 1, 'the redirect is not followed');
});

test('CM-01 a document that answers too slowly gives an error page within the deadline', async (t) => {
  const host = await documentHost(t, {
    '/slow.json': (_req, res) => {
      const timer = setTimeout(() => doc()(_req, res, host.base), 10_000);
      res.on('close', () => clearTimeout(timer));
    },
  });
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent', ...DEV });
  const gatehouse = await createGatehouse(config, {
    clock: testClock(),
    fetcher: createSafeFetcher({ allowInsecureLoopbackForDevelopment: true, timeoutMs: 400 }),
  });
  t.after(() => gatehouse.close());
  const started = Date.now();
  const res = await new Browser(gatehouse.app).get(authorize(host.url('/slow.json'), pkce().challenge));
  assertErrorPage(res, REDIRECT);
  assert.match(res.body, /did not answer in time/);
  assert.ok(Date.now() - started < 3000, 'the deadline bounds the wait');
});

test('CM-01 documents on private, loopback, link-local and metadata-service addresses are refused after resolution', async (t) => {
  const host = await documentHost(t, { '/client.json': doc() });
  // Without the development opt-out, loopback is refused like any private address.
  const strict = await startServer({});
  t.after(() => strict.close());
  const port = new URL(host.base).port;
  for (const clientId of [
    `https://127.0.0.1:${port}/client.json`,
    'https://169.254.169.254/latest/meta-data/client.json',
    'https://[::1]/client.json',
    'https://10.1.2.3/client.json',
  ]) {
    const res = await new Browser(strict.app).get(authorize(clientId, pkce().challenge));
    assertErrorPage(res, REDIRECT);
    assert.match(res.body, /resolves to an address the server does not contact/, clientId);
  }
  assert.equal(host.hits('/client.json'), 0, 'no request reached the loopback host');
  // A name that resolves to a private address (the DNS answer is the attacker's).
  const resolve = async (name: string) =>
    name === 'docs.example' ? [{ address: '10.0.0.5', family: 4 as const }] : [{ address: '192.168.1.1', family: 4 as const }];
  const config = loadConfig({ GATEHOUSE_DATABASE_URL: 'sqlite::memory:', GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_LOG_LEVEL: 'silent' });
  const gatehouse = await createGatehouse(config, { clock: testClock(), fetcher: createSafeFetcher({ resolve }) });
  t.after(() => gatehouse.close());
  const res = await new Browser(gatehouse.app).get(authorize('https://docs.example/client.json', pkce().challenge));
  assertErrorPage(res, REDIRECT);
  assert.match(res.body, /resolves to an address the server does not contact/);
});

test('CM-01 the operator deny list and allow list apply to metadata documents', async (t) => {
  const host = await documentHost(t, { '/client.json': doc() });
  const port = new URL(host.base).port;
  const denied = await startServer({ ...DEV, GATEHOUSE_FETCH_DENIED_DOMAINS: 'localhost' });
  t.after(() => denied.close());
  let res = await new Browser(denied.app).get(authorize(`http://localhost:${port}/client.json`, pkce().challenge));
  assertErrorPage(res, REDIRECT);
  assert.match(res.body, /does not accept client metadata documents from this host/);
  const allowOnly = await startServer({ ...DEV, GATEHOUSE_FETCH_ALLOWED_DOMAINS: 'apps.example.com' });
  t.after(() => allowOnly.close());
  res = await new Browser(allowOnly.app).get(authorize(host.url('/client.json'), pkce().challenge));
  assertErrorPage(res, REDIRECT);
  assert.equal(host.hits('/client.json'), 0);
});

test('CM-02 documents that ask for a client secret, another auth method or other grants are refused', async (t) => {
  const host = await documentHost(t, {
    '/secret.json': doc({ client_secret: 'hunter2' }),
    '/basic.json': doc({ token_endpoint_auth_method: 'client_secret_basic' }),
    '/pkjwt.json': doc({ token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://c.example/jwks' }),
    '/cc.json': doc({ grant_types: ['client_credentials'] }),
    '/implicit.json': doc({ response_types: ['token'] }),
  });
  const server = await serverWithUser(t);
  for (const path of ['/secret.json', '/basic.json', '/pkjwt.json', '/cc.json', '/implicit.json']) {
    const res = await new Browser(server.app).get(authorize(host.url(path), pkce().challenge));
    assertErrorPage(res, REDIRECT);
    assert.match(res.body, /metadata document is not acceptable/, path);
  }
});

test('CM-01 with metadata documents disabled a URL client_id is an unknown client, and discovery says so', async (t) => {
  const host = await documentHost(t, { '/client.json': doc() });
  const off = await startServer({ ...DEV, GATEHOUSE_CLIENT_ID_METADATA_DOCUMENTS: 'false' });
  t.after(() => off.close());
  const res = await new Browser(off.app).get(authorize(host.url('/client.json'), pkce().challenge));
  assertErrorPage(res, REDIRECT);
  assert.match(res.body, /not registered/);
  assert.equal(host.hits('/client.json'), 0);
  const meta = (await off.app.inject('/.well-known/oauth-authorization-server')).json() as Record<string, unknown>;
  assert.equal(meta.client_id_metadata_document_supported, undefined);
  const on = await startServer({});
  t.after(() => on.close());
  const metaOn = (await on.app.inject('/.well-known/oauth-authorization-server')).json() as Record<string, unknown>;
  assert.equal(metaOn.client_id_metadata_document_supported, true);
  const oidc = (await on.app.inject('/.well-known/openid-configuration')).json() as Record<string, unknown>;
  assert.equal(oidc.client_id_metadata_document_supported, true);
});

test('CM-02 at the token endpoint a URL client whose document is unusable is invalid_client (JSON, no stack trace)', async (t) => {
  const host = await documentHost(t, { '/mismatch.json': json({ client_id: 'https://x.example/c', redirect_uris: [REDIRECT] }) });
  const server = await serverWithUser(t);
  const res = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code: 'nope', redirect_uri: REDIRECT, code_verifier: pkce().verifier },
    { clientId: host.url('/mismatch.json') },
  );
  assertOAuthError(res, 401, 'invalid_client');
});

test('CM-02 the document rules as a table: URL shapes and document contents', () => {
  const url = 'https://app.example/oauth/client.json';
  assert.equal(isClientIdMetadataDocumentUrl(url), true);
  for (const bad of [
    'http://app.example/c.json',
    'https://app.example',
    'https://app.example/',
    'https://app.example/c.json#x',
    'https://u:p@app.example/c.json',
    'https://APP.example/c.json',
    'https://app.example/a/../c.json',
    'https://app.example:443/c.json',
    `https://app.example/${'a'.repeat(260)}`,
  ]) {
    assert.equal(isClientIdMetadataDocumentUrl(bad), false, bad);
  }
  assert.equal(isClientIdMetadataDocumentUrl('http://127.0.0.1:8000/c.json'), false, 'http needs the development opt-out');
  assert.equal(isClientIdMetadataDocumentUrl('http://127.0.0.1:8000/c.json', true), true);
  assert.equal(isClientIdMetadataDocumentUrl('http://evil.example/c.json', true), false, 'the opt-out is for loopback only');

  const client = clientFromMetadataDocument(url, { client_id: url, redirect_uris: ['https://app.example/cb'] }, ['mcp:tools'], 1);
  assert.equal(client.isPublic, true);
  assert.equal(client.authMethod, 'none');
  assert.equal(client.clientName, 'app.example', 'without client_name the host names the client');
  assert.ok(
    client.scopes.includes('openid') && client.scopes.includes('mcp:tools'),
    'default scope: OpenID scopes and the registered resources',
  );
  assert.deepEqual([...client.grantTypes].sort(), ['authorization_code', 'refresh_token']);
  const scoped = clientFromMetadataDocument(
    url,
    { client_id: url, redirect_uris: ['https://app.example/cb'], scope: 'openid mcp:tools', client_name: ' Inspector ' },
    [],
    1,
  );
  assert.deepEqual(scoped.scopes, ['openid', 'mcp:tools']);
  assert.equal(scoped.clientName, 'Inspector');
  for (const bad of [
    { client_id: url },
    { client_id: url, redirect_uris: [] },
    { client_id: url, redirect_uris: 'https://app.example/cb' },
    { client_id: url, redirect_uris: ['https://app.example/cb'], scope: 5 },
    { client_id: url, redirect_uris: ['https://app.example/cb'], scope: 'a"b' },
    { client_id: `${url}?x`, redirect_uris: ['https://app.example/cb'] },
  ]) {
    assert.throws(() => clientFromMetadataDocument(url, bad, [], 1), ClientMetadataDocumentError, JSON.stringify(bad));
  }
});
