// The SSRF-safe fetcher (src/net/): address classification, URL and domain rules, resolution and
// pinning, size/time/redirect/content-type limits, caching and rate limits — against local servers
// on 127.0.0.1 (the development opt-out allows loopback), with injected resolvers for names.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { classifyAddress, isPublicAddress, type AddressRange } from '../src/net/ip-address.js';
import {
  cacheLifetimeSeconds,
  createSafeFetcher,
  domainMatches,
  pinnedLookup,
  SafeFetchError,
  type ResolvedAddress,
  type SafeFetchErrorCode,
  type SafeFetcherOptions,
} from '../src/net/safe-fetch.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Local {
  server: Server;
  port: number;
  hits: string[];
  origin: string;
  close(): Promise<void>;
}

async function serve(handler: Handler, host = '127.0.0.1', port = 0): Promise<Local> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    hits,
    origin: `http://${host}:${actual}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(body: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
}

/** A fetcher for the loopback test servers. */
function dev(options: SafeFetcherOptions = {}) {
  return createSafeFetcher({ allowInsecureLoopbackForDevelopment: true, ...options });
}

async function rejectsWith(promise: Promise<unknown>, code: SafeFetchErrorCode, check?: (e: SafeFetchError) => void): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof SafeFetchError, `expected SafeFetchError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    check?.(e);
    return true;
  });
}

/** A resolver that must not be called: proves a decision was made before any resolution. */
const noResolve = async (): Promise<ResolvedAddress[]> => {
  throw new Error('resolver must not be called');
};

const fixed =
  (...addresses: string[]) =>
  async (): Promise<ResolvedAddress[]> =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('address classification (table)', () => {
  const table: [string, AddressRange][] = [
    // IPv4
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['93.184.216.34', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.63.255.255', 'public'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', 'public'],
    ['100.100.100.200', 'cloud-metadata'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.0.1', 'link-local'],
    ['169.254.169.254', 'cloud-metadata'],
    ['172.15.255.255', 'public'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.20.0.0', 'public'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv6
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:82a::200e', 'public'],
    ['::', 'unspecified'],
    ['[::]', 'unspecified'],
    ['0:0:0:0:0:0:0:0', 'unspecified'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'cloud-metadata'],
    ['::ffff:a9fe:a9fe', 'cloud-metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['::ffff:0:127.0.0.1', 'loopback'], // IPv4-translated
    ['64:ff9b::127.0.0.1', 'loopback'], // NAT64 of loopback
    ['64:ff9b::808:808', 'public'], // NAT64 of 8.8.8.8
    ['64:ff9b:1::1', 'reserved'],
    ['::127.0.0.1', 'reserved'], // IPv4-compatible, deprecated
    ['::7f00:1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'reserved'], // Teredo
    ['2002:7f00:1::', 'loopback'], // 6to4 of 127.0.0.1
    ['2002:c0a8:101::1', 'private'], // 6to4 of 192.168.1.1
    ['2002:808:808::1', 'public'],
    ['3fff::1', 'documentation'],
    ['5f00::1', 'reserved'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['ff05::2', 'multicast'],
    ['4000::1', 'reserved'], // outside 2000::/3: unallocated
    // not IP literals
    ['localhost', 'invalid'],
    ['example.com', 'invalid'],
    ['2130706433', 'invalid'], // only the URL parser turns this into an address; see below
    ['', 'invalid'],
  ];
  for (const [literal, range] of table) {
    test(`${JSON.stringify(literal)} is ${range}`, () => {
      assert.equal(classifyAddress(literal).range, range);
      assert.equal(isPublicAddress(literal), range === 'public');
    });
  }

  test('IPv6 forms that embed an IPv4 address report it', () => {
    assert.equal(classifyAddress('::ffff:7f00:1').embeddedIPv4, '127.0.0.1');
    assert.equal(classifyAddress('2002:c0a8:101::1').embeddedIPv4, '192.168.1.1');
    assert.equal(classifyAddress('64:ff9b::808:808').embeddedIPv4, '8.8.8.8');
  });
});

describe('SSRF: URL host forms are normalised by the WHATWG URL parser, then refused', () => {
  const forms: [string, string, AddressRange][] = [
    ['https://2130706433/', '127.0.0.1', 'loopback'],
    ['https://0x7f.1/', '127.0.0.1', 'loopback'],
    ['https://017700000001/', '127.0.0.1', 'loopback'],
    ['https://127.1/', '127.0.0.1', 'loopback'],
    ['https://%31%32%37.0.0.1/', '127.0.0.1', 'loopback'],
    ['https://0/', '0.0.0.0', 'unspecified'],
    ['https://0300.0250.0.1/', '192.168.0.1', 'private'],
    ['https://0xa9fea9fe/', '169.254.169.254', 'cloud-metadata'],
    ['https://[::]/', '[::]', 'unspecified'],
    ['https://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]', 'loopback'],
    ['https://[0:0:0:0:0:ffff:169.254.169.254]/', '[::ffff:a9fe:a9fe]', 'cloud-metadata'],
    ['https://[fd00:ec2::254]/', '[fd00:ec2::254]', 'cloud-metadata'],
    ['https://[fe80::1]/', '[fe80::1]', 'link-local'],
    ['https://[fc00::1]/', '[fc00::1]', 'unique-local'],
    ['https://100.64.0.1/', '100.64.0.1', 'cgnat'],
  ];
  for (const [url, hostname, range] of forms) {
    test(`${url} is the address ${hostname} (${range}) and is refused without resolving anything`, async () => {
      assert.equal(new URL(url).hostname, hostname);
      await rejectsWith(createSafeFetcher({ resolve: noResolve }).fetchJson(url), 'blocked_address', (e) => assert.equal(e.range, range));
    });
  }

  test('the development opt-out allows loopback literals but still refuses every other internal address', async () => {
    const f = dev({ resolve: noResolve, timeoutMs: 500 });
    for (const url of [
      'http://10.0.0.1/',
      'https://169.254.169.254/latest/meta-data/',
      'http://[fe80::1]/',
      'http://0.0.0.0/',
      'http://[::ffff:a00:1]/',
    ]) {
      await rejectsWith(f.fetchJson(url), 'blocked_address');
    }
  });
});

describe('URL and domain rules', () => {
  test('only https is fetched: http, ftp, file and data URLs are invalid_url without the opt-out', async () => {
    const f = createSafeFetcher({ resolve: noResolve });
    for (const url of [
      'http://example.com/',
      'ftp://example.com/x',
      'file:///etc/passwd',
      'data:application/json,{}',
      'gopher://example.com/',
    ]) {
      await rejectsWith(f.fetchJson(url), 'invalid_url');
    }
  });

  test('user information, fragments, relative and overlong URLs are invalid_url', async () => {
    const f = createSafeFetcher({ resolve: noResolve });
    for (const url of [
      'https://user:pass@example.com/',
      'https://user@example.com/',
      'https://example.com/doc#frag',
      'https://example.com/doc#',
      '/relative',
      'not a url',
      `https://example.com/${'a'.repeat(2100)}`,
    ]) {
      await rejectsWith(f.fetchJson(url), 'invalid_url');
    }
  });

  test('with the opt-out, plain http still goes only to loopback: a public address over http is refused', async () => {
    await rejectsWith(dev({ resolve: fixed('93.184.216.34') }).fetchJson('http://example.test/doc'), 'invalid_url');
  });

  test('domain entries match the exact host, or with a leading dot any subdomain (not the apex, not look-alikes)', () => {
    const cases: [string, string, boolean][] = [
      ['example.com', 'example.com', true],
      ['EXAMPLE.com.', 'example.com', true],
      ['www.example.com', 'example.com', false],
      ['www.example.com', '.example.com', true],
      ['a.b.example.com', '.example.com', true],
      ['example.com', '.example.com', false],
      ['evilexample.com', '.example.com', false],
      ['example.com.evil.net', 'example.com', false],
    ];
    for (const [host, entry, expected] of cases) assert.equal(domainMatches(host, entry), expected, `${host} vs ${entry}`);
  });

  test('a denied domain, or a host missing from a non-empty allow list, is domain_denied before resolution', async () => {
    const denied = createSafeFetcher({ deniedDomains: ['.evil.example'], resolve: noResolve });
    await rejectsWith(denied.fetchJson('https://a.evil.example/jwks'), 'domain_denied');
    const allowed = createSafeFetcher({
      allowedDomains: ['clients.example', '.trusted.example'],
      deniedDomains: ['bad.trusted.example'],
      resolve: noResolve,
    });
    await rejectsWith(allowed.fetchJson('https://other.example/x'), 'domain_denied');
    await rejectsWith(allowed.fetchJson('https://bad.trusted.example/x'), 'domain_denied');
    await rejectsWith(allowed.fetchJson('https://trusted.example/x'), 'domain_denied');
  });

  test('malformed domain entries and out-of-range limits are refused when the fetcher is created', () => {
    assert.throws(() => createSafeFetcher({ allowedDomains: ['*.example.com'] }), TypeError);
    assert.throws(() => createSafeFetcher({ deniedDomains: ['https://example.com'] }), TypeError);
    assert.throws(() => createSafeFetcher({ failureCacheSeconds: 3600 }), TypeError);
    assert.throws(() => createSafeFetcher({ minCacheSeconds: 100, maxCacheSeconds: 10 }), TypeError);
    assert.throws(() => createSafeFetcher({ maxBytes: 0 }), TypeError);
  });
});

describe('SSRF: resolution and pinning', () => {
  test('SSRF: a hostname that resolves to a private address is refused after resolution', async () => {
    let asked = '';
    const f = createSafeFetcher({
      resolve: async (host) => {
        asked = host;
        return [{ address: '10.1.2.3', family: 4 }];
      },
    });
    await rejectsWith(f.fetchJson('https://internal.example/jwks'), 'blocked_address', (e) => {
      assert.equal(e.address, '10.1.2.3');
      assert.equal(e.range, 'private');
    });
    assert.equal(asked, 'internal.example');
  });

  test('SSRF: a hostname that resolves to 127.0.0.1 is refused without the opt-out', async () => {
    await rejectsWith(
      createSafeFetcher({ resolve: fixed('127.0.0.1') }).fetchJson('https://app.example/client.json'),
      'blocked_address',
      (e) => assert.equal(e.range, 'loopback'),
    );
  });

  test('SSRF: localhost and *.localhost are loopback (RFC 6761) without asking any resolver, and refused without the opt-out', async () => {
    for (const url of ['https://localhost/.well-known/jwks.json', 'https://LOCALHOST./x', 'https://api.localhost/x']) {
      await rejectsWith(createSafeFetcher({ resolve: noResolve }).fetchJson(url), 'blocked_address', (e) =>
        assert.equal(e.range, 'loopback'),
      );
    }
  });

  test('SSRF: a name resolving to a mix of public and private addresses is refused entirely', async () => {
    for (const mix of [
      ['93.184.216.34', '127.0.0.1'],
      ['2606:4700::1', 'fd00:ec2::254'],
      ['93.184.216.34', '::ffff:169.254.169.254'],
    ]) {
      await rejectsWith(createSafeFetcher({ resolve: fixed(...mix) }).fetchJson('https://mixed.example/doc'), 'blocked_address');
    }
  });

  test('SSRF: the development opt-out allows loopback only; a name resolving to loopback plus a private address is still refused', async () => {
    await rejectsWith(dev({ resolve: fixed('127.0.0.1', '192.168.0.10') }).fetchJson('http://mixed.test/doc'), 'blocked_address', (e) =>
      assert.equal(e.range, 'private'),
    );
  });

  test('a name that does not resolve is dns_error', async () => {
    await rejectsWith(
      createSafeFetcher({
        resolve: async () => {
          throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
        },
      }).fetchJson('https://nowhere.example/'),
      'dns_error',
    );
    await rejectsWith(createSafeFetcher({ resolve: async () => [] }).fetchJson('https://empty.example/'), 'dns_error');
  });

  test('pinnedLookup answers every query, whatever the name, with the checked addresses only (first, or all)', async () => {
    const lookup = pinnedLookup([
      { address: '127.0.0.9', family: 4 },
      { address: '::1', family: 6 },
    ]);
    const single = await new Promise<[string, number | undefined]>((resolve, reject) =>
      lookup('anything.example', {}, (err, address, family) => (err ? reject(err) : resolve([address as string, family]))),
    );
    assert.deepEqual(single, ['127.0.0.9', 4]);
    const all = await new Promise<unknown>((resolve, reject) =>
      lookup('other.example', { all: true }, (err, address) => (err ? reject(err) : resolve(address))),
    );
    assert.deepEqual(all, [
      { address: '127.0.0.9', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });

  describe('SSRF: DNS rebinding between check and connect cannot win', () => {
    let checked: Local;
    let rebound: Local;
    before(async () => {
      checked = await serve(json({ from: 'checked address' }), '127.0.0.1');
      rebound = await serve(json({ from: 'rebound address' }), '127.0.0.2', checked.port);
    });
    after(async () => {
      await checked.close();
      await rebound.close();
    });

    test('SSRF: the connection goes to the address that was checked, not to a second resolution', async () => {
      // The resolver answers the checked address once and another one ever after, like a rebinding
      // DNS server. The host name itself is unknown to the system resolver, so any connection at all
      // proves that the pinned lookup was used.
      let calls = 0;
      const f = dev({
        resolve: async () => (calls++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.2', family: 4 }]),
      });
      const result = await f.fetchJson(`http://rebind.invalid:${checked.port}/doc`);
      assert.deepEqual(result.json, { from: 'checked address' });
      assert.equal(result.address, '127.0.0.1');
      assert.equal(calls, 1, 'resolved once per fetch');
      assert.equal(rebound.hits.length, 0, 'nothing reached the rebound address');
      assert.deepEqual(checked.hits, ['/doc']);
    });

    test('SSRF: of several checked addresses, the first one is the one connected to', async () => {
      // The whole answer list is checked; its first entry is pinned (here the second server).
      const f = dev({ resolve: fixed('127.0.0.2', '127.0.0.1') });
      const result = await f.fetchJson(`http://order.invalid:${checked.port}/first`);
      assert.equal(result.address, '127.0.0.2');
      assert.deepEqual(result.json, { from: 'rebound address' });
    });
  });
});

describe('limits on the answer (loopback servers, development opt-out)', () => {
  let srv: Local;
  const routes = new Map<string, Handler>();
  before(async () => {
    srv = await serve((req, res) => {
      const h = routes.get(new URL(req.url!, 'http://x').pathname);
      if (h) h(req, res);
      else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{}');
      }
    });
  });
  after(() => srv.close());
  const url = (path: string): string => `${srv.origin}${path}`;

  test('a 200 JSON answer returns the parsed body, the connected address and cache information', async () => {
    routes.set(
      '/ok',
      json({ client_id: 'https://app.example/client.json', redirect_uris: ['https://app.example/cb'] }, { 'cache-control': 'max-age=600' }),
    );
    const t0 = Date.now();
    const r = await dev().fetchJson(url('/ok'));
    assert.deepEqual(r.json, { client_id: 'https://app.example/client.json', redirect_uris: ['https://app.example/cb'] });
    assert.equal(r.address, '127.0.0.1');
    assert.equal(r.contentType, 'application/json');
    assert.equal(r.cacheSeconds, 600);
    assert.equal(r.fromCache, false);
    assert.ok(r.fetchedAt >= t0 && r.expiresAt === r.fetchedAt + 600_000);
  });

  test('the request asks for JSON, identity encoding, and names Gatehouse', async () => {
    let seen: IncomingMessage['headers'] = {};
    routes.set('/headers', (req, res) => {
      seen = req.headers;
      json({})(req, res);
    });
    await dev().fetchJson(url('/headers'));
    assert.equal(seen.accept, 'application/json');
    assert.equal(seen['accept-encoding'], 'identity');
    assert.equal(seen['user-agent'], 'Gatehouse');
    assert.equal(seen.host, `127.0.0.1:${srv.port}`);
  });

  test('+json media types and charset parameters are accepted', async () => {
    routes.set('/jwks', json({ keys: [] }, { 'content-type': 'application/jwk-set+json; charset=utf-8' }));
    assert.equal((await dev().fetchJson(url('/jwks'))).contentType, 'application/jwk-set+json');
  });

  test('not_json: text/html, a missing content type, application/jsonp, a body that is not JSON, non-UTF-8 bytes, gzip', async () => {
    routes.set('/html', (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('{}');
    });
    routes.set('/none', (_q, res) => {
      res.removeHeader('content-type');
      res.writeHead(200);
      res.end('{}');
    });
    routes.set('/jsonp', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/jsonp' });
      res.end('{}');
    });
    routes.set('/broken', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"a":');
    });
    routes.set('/latin1', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(Buffer.from([0x22, 0xe9, 0x22]));
    });
    routes.set('/gzip', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      res.end('{}');
    });
    for (const path of ['/html', '/none', '/jsonp', '/broken', '/latin1', '/gzip'])
      await rejectsWith(dev().fetchJson(url(path)), 'not_json');
  });

  test('bad_status: 404 and 500 carry the status; 204 is not a document either', async () => {
    routes.set('/500', (_q, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{}');
    });
    routes.set('/204', (_q, res) => {
      res.writeHead(204);
      res.end();
    });
    await rejectsWith(dev().fetchJson(url('/missing')), 'bad_status', (e) => assert.equal(e.status, 404));
    await rejectsWith(dev().fetchJson(url('/500')), 'bad_status', (e) => assert.equal(e.status, 500));
    await rejectsWith(dev().fetchJson(url('/204')), 'bad_status', (e) => assert.equal(e.status, 204));
  });

  test('redirect_refused: 301, 302, 303, 307 and 308 are not followed, not even to the same origin', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      routes.set(`/r${status}`, (_q, res) => {
        res.writeHead(status, { location: '/ok' });
        res.end();
      });
      routes.set('/ok', json({ followed: true }));
      const before = srv.hits.length;
      await rejectsWith(dev().fetchJson(url(`/r${status}`)), 'redirect_refused', (e) => assert.equal(e.status, status));
      assert.deepEqual(srv.hits.slice(before), [`/r${status}`], 'the redirect target was never requested');
    }
  });

  test('too_large: a Content-Length over the limit is refused before the body is read', async () => {
    // The server promises 100000 bytes, sends 10 and stalls: only the header can tell it is too large.
    routes.set('/big-declared', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
      res.write('["xxxxxxx"');
    });
    const t0 = Date.now();
    await rejectsWith(dev({ maxBytes: 1000, timeoutMs: 3000 }).fetchJson(url('/big-declared')), 'too_large');
    assert.ok(Date.now() - t0 < 2500, 'refused on the header, not at the deadline');
  });

  test('too_large: a chunked body is counted as it streams and the connection is cut off past the limit', async () => {
    let written = 0;
    let closedEarly = false;
    routes.set('/big-streamed', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // no Content-Length: chunked
      res.write('["');
      const timer = setInterval(() => {
        if (written >= 200) {
          clearInterval(timer);
          res.end('"]');
          return;
        }
        res.write('x'.repeat(512));
        written++;
      }, 2);
      res.on('close', () => {
        clearInterval(timer);
        if (written < 200) closedEarly = true;
      });
    });
    await rejectsWith(dev({ maxBytes: 4096 }).fetchJson(url('/big-streamed')), 'too_large');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(closedEarly, `the server was cut off (it wrote ${written} of 200 chunks)`);
  });

  test('a body of exactly the limit is accepted', async () => {
    const body = JSON.stringify({ pad: 'x'.repeat(1000 - 10) });
    assert.equal(body.length, 1000);
    routes.set('/exact', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    assert.equal((await dev({ maxBytes: 1000 }).fetchJson(url('/exact'))).bytes, 1000);
  });

  test('timeout: a server that never answers is abandoned at the deadline', async () => {
    routes.set('/hang', () => {
      /* never answers */
    });
    const t0 = Date.now();
    await rejectsWith(dev({ timeoutMs: 300 }).fetchJson(url('/hang')), 'timeout');
    assert.ok(Date.now() - t0 < 3000, 'bounded');
  });

  test('timeout: the deadline covers the body too (a slow trickle of bytes cannot hold the fetch open)', async () => {
    routes.set('/trickle', (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const timer = setInterval(() => res.write('1,'), 50); // each chunk well within any idle timeout
      res.on('close', () => clearInterval(timer));
    });
    await rejectsWith(dev({ timeoutMs: 400 }).fetchJson(url('/trickle')), 'timeout');
  });

  test('timeout: the deadline covers resolution (a resolver that never answers)', async () => {
    await rejectsWith(
      dev({ timeoutMs: 200, resolve: () => new Promise<never>(() => {}) }).fetchJson('https://slow-dns.example/'),
      'timeout',
    );
  });

  test('connection_failed: nothing listening', async () => {
    const closed = await serve(json({}));
    await closed.close();
    await rejectsWith(dev().fetchJson(`${closed.origin}/x`), 'connection_failed');
  });
});

describe('cache and rate limits', () => {
  let srv: Local;
  let headers: Record<string, string> = {};
  let status = 200;
  let hold: Promise<void> | undefined;
  before(async () => {
    srv = await serve(async (_req, res) => {
      if (hold) await hold;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify({ n: srv.hits.length }));
    });
  });
  after(() => srv.close());

  function clock(): { now: () => number; advance(seconds: number): void } {
    let t = Date.now();
    return {
      now: () => t,
      advance: (s) => {
        t += s * 1000;
      },
    };
  }

  test('a fresh answer is served from the cache (one fetch), and refetched once its lifetime is over', async () => {
    headers = { 'cache-control': 'public, max-age=120' };
    status = 200;
    const c = clock();
    const f = dev({ now: c.now });
    const before = srv.hits.length;
    const first = await f.fetchJson(`${srv.origin}/cached`);
    const second = await f.fetchJson(`${srv.origin}/cached`);
    assert.equal(first.fromCache, false);
    assert.equal(second.fromCache, true);
    assert.deepEqual(second.json, first.json);
    assert.equal(srv.hits.length - before, 1);
    c.advance(121);
    const third = await f.fetchJson(`${srv.origin}/cached`);
    assert.equal(third.fromCache, false);
    assert.equal(srv.hits.length - before, 2);
  });

  test("the lifetime is the server's max-age clamped to [min, max]: max-age=1 is kept for min, a year for max", async () => {
    const f = dev({ minCacheSeconds: 30, maxCacheSeconds: 3600 });
    headers = { 'cache-control': 'max-age=1' };
    assert.equal((await f.fetchJson(`${srv.origin}/short`)).cacheSeconds, 30);
    headers = { 'cache-control': 'max-age=31536000' };
    assert.equal((await f.fetchJson(`${srv.origin}/long`)).cacheSeconds, 3600);
    headers = {};
    assert.equal((await f.fetchJson(`${srv.origin}/none`)).cacheSeconds, 300);
  });

  test('cacheLifetimeSeconds reads max-age, Expires − Date, Age, no-store and no-cache (table)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const bounds = { min: 60, max: 86_400, fallback: 300 };
    const cases: [Record<string, string>, number][] = [
      [{ 'cache-control': 'max-age=600' }, 600],
      [{ 'cache-control': 'max-age="600"' }, 600],
      [{ 'cache-control': 'max-age=600', age: '100' }, 500],
      [{ 'cache-control': 'max-age=600', expires: 'Thu, 01 Jan 2026 10:00:00 GMT' }, 600], // max-age wins
      [{ 'cache-control': 'max-age=abc' }, 60],
      [{ 'cache-control': 'no-store, max-age=600' }, 60],
      [{ 'cache-control': 'no-cache' }, 60],
      [{ expires: 'Thu, 01 Jan 2026 01:00:00 GMT', date: 'Thu, 01 Jan 2026 00:00:00 GMT' }, 3600],
      [{ expires: 'Thu, 01 Jan 2026 00:20:00 GMT' }, 1200], // no Date: relative to now
      [{ expires: '0' }, 60],
      [{ expires: 'Wed, 01 Jan 2025 00:00:00 GMT' }, 60],
      [{ 'cache-control': 'max-age=999999999' }, 86_400],
      [{}, 300],
    ];
    for (const [h, expected] of cases) assert.equal(cacheLifetimeSeconds(h, now, bounds), expected, JSON.stringify(h));
  });

  test('a failure is remembered only for failureCacheSeconds, then fetched again', async () => {
    headers = {};
    status = 503;
    const c = clock();
    const f = dev({ now: c.now, failureCacheSeconds: 5 });
    const before = srv.hits.length;
    await rejectsWith(f.fetchJson(`${srv.origin}/failing`), 'bad_status');
    await rejectsWith(f.fetchJson(`${srv.origin}/failing`), 'bad_status');
    assert.equal(srv.hits.length - before, 1, 'the second failure came from the cache');
    c.advance(6);
    status = 200;
    assert.equal((await f.fetchJson(`${srv.origin}/failing`)).fromCache, false);
    assert.equal(srv.hits.length - before, 2);
  });

  test('the cache holds at most maxCacheEntries documents (least recently used dropped)', async () => {
    headers = { 'cache-control': 'max-age=600' };
    status = 200;
    const f = dev({ maxCacheEntries: 2 });
    await f.fetchJson(`${srv.origin}/a`);
    await f.fetchJson(`${srv.origin}/b`);
    await f.fetchJson(`${srv.origin}/a`); // a is now the most recent
    await f.fetchJson(`${srv.origin}/c`); // evicts b
    assert.equal((await f.fetchJson(`${srv.origin}/a`)).fromCache, true);
    assert.equal((await f.fetchJson(`${srv.origin}/b`)).fromCache, false);
    f.clearCache();
    assert.equal((await f.fetchJson(`${srv.origin}/c`)).fromCache, false);
  });

  test('rate_limited: a host gets at most maxFetchesPerHostPerMinute fetches; cache hits do not count; the window resets', async () => {
    headers = { 'cache-control': 'max-age=600' };
    status = 200;
    const c = clock();
    const f = dev({ now: c.now, maxFetchesPerHostPerMinute: 2 });
    await f.fetchJson(`${srv.origin}/rl1`);
    await f.fetchJson(`${srv.origin}/rl2`);
    await f.fetchJson(`${srv.origin}/rl1`); // cached
    await rejectsWith(f.fetchJson(`${srv.origin}/rl3`), 'rate_limited', (e) =>
      assert.ok(e.retryAfterSeconds! > 0 && e.retryAfterSeconds! <= 60),
    );
    // Another host name is counted separately (same server, reached as "localhost.test").
    const other = dev({ now: c.now, maxFetchesPerHostPerMinute: 2, resolve: fixed('127.0.0.1') });
    await other.fetchJson(`http://localhost.test:${srv.port}/rl3`);
    c.advance(61);
    await f.fetchJson(`${srv.origin}/rl3`);
  });

  test('rate_limited: concurrent fetches to one host are bounded; the same URL in flight is shared, not fetched twice', async () => {
    headers = {};
    status = 200;
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    const f = dev({ maxConcurrentPerHost: 1 });
    const before = srv.hits.length;
    const first = f.fetchJson(`${srv.origin}/slow`);
    const same = f.fetchJson(`${srv.origin}/slow`);
    await rejectsWith(f.fetchJson(`${srv.origin}/slow-other`), 'rate_limited');
    await new Promise((r) => setTimeout(r, 20));
    hold = undefined;
    release();
    const [a, b] = await Promise.all([first, same]);
    assert.deepEqual(a.json, b.json);
    assert.equal(srv.hits.length - before, 1);
    // The slot is free again.
    assert.equal((await f.fetchJson(`${srv.origin}/slow-other`)).fromCache, false);
  });

  test('rate_limited: a minute ending while a fetch is in flight does not leak its concurrency slot', async () => {
    headers = {};
    status = 200;
    const c = clock();
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    const f = dev({ now: c.now, maxConcurrentPerHost: 1 });
    const first = f.fetchJson(`${srv.origin}/across-1`);
    await new Promise((r) => setTimeout(r, 20));
    c.advance(61); // a new counting window starts while the fetch is in flight
    await rejectsWith(f.fetchJson(`${srv.origin}/across-2`), 'rate_limited'); // still in flight: still counted
    hold = undefined;
    release();
    await first;
    assert.equal((await f.fetchJson(`${srv.origin}/across-2`)).fromCache, false, 'the slot was given back');
  });

  test('rate_limited: a global per-minute bound covers many host names (they may all point at one victim)', async () => {
    headers = {};
    status = 200;
    const c = clock();
    const f = dev({ now: c.now, maxFetchesPerMinute: 3, resolve: fixed('127.0.0.1') });
    for (const name of ['a', 'b', 'c']) await f.fetchJson(`http://${name}.victim.test:${srv.port}/x`);
    await rejectsWith(f.fetchJson(`http://d.victim.test:${srv.port}/x`), 'rate_limited');
    c.advance(61);
    await f.fetchJson(`http://d.victim.test:${srv.port}/x`);
  });

  test('rate_limited refusals are not remembered as failures', async () => {
    headers = {};
    status = 200;
    const c = clock();
    const f = dev({ now: c.now, maxFetchesPerHostPerMinute: 1, failureCacheSeconds: 60 });
    await f.fetchJson(`${srv.origin}/once`);
    await rejectsWith(f.fetchJson(`${srv.origin}/twice`), 'rate_limited');
    c.advance(61);
    assert.equal((await f.fetchJson(`${srv.origin}/twice`)).fromCache, false);
  });
});

/**
 * A tiny DNS server on 127.0.0.1 (UDP) for the default resolver: `answers(name, type)` gives the
 * addresses of each query, so tests can play a rebinding DNS server.
 */
async function dnsServer(
  answers: (name: string, type: 'A' | 'AAAA') => string[] | 'NXDOMAIN',
): Promise<{ server: string; queries: string[]; close(): Promise<void> }> {
  const socket: UdpSocket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, peer) => {
    // RFC 1035 §4.1: header (12 bytes), one question (labels, qtype, qclass).
    const labels: string[] = [];
    let i = 12;
    while (msg[i]! !== 0) {
      labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString('ascii'));
      i += msg[i]! + 1;
    }
    const question = msg.subarray(12, i + 5);
    const qtype = msg.readUInt16BE(i + 1);
    const name = labels.join('.').toLowerCase();
    const type = qtype === 28 ? 'AAAA' : 'A';
    queries.push(`${type} ${name}`);
    const result = qtype === 1 || qtype === 28 ? answers(name, type) : [];
    const list = result === 'NXDOMAIN' ? [] : result.filter((a) => (type === 'A') === !a.includes(':'));
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(0x8180 | (result === 'NXDOMAIN' ? 3 : 0), 2); // response, RD, RA, rcode
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(list.length, 6);
    const records = list.map((address) => {
      // AAAA answers are written in full 8-group form, so no '::' expansion is needed here.
      const rdata =
        type === 'A'
          ? Buffer.from(address.split('.').map(Number))
          : Buffer.from(address.split(':').flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(0, 6); // TTL 0: a rebinding server's favourite
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    socket.send(Buffer.concat([header, question, ...records]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

describe('SSRF: the default resolver (c-ares) against a local DNS server', () => {
  let checked: Local;
  let rebound: Local;
  let dns: Awaited<ReturnType<typeof dnsServer>>;
  let aCount = 0;
  before(async () => {
    checked = await serve(json({ from: 'checked address' }), '127.0.0.1');
    rebound = await serve(json({ from: 'rebound address' }), '127.0.0.2', checked.port);
    dns = await dnsServer((name, type) => {
      if (name === 'rebind.test') return type === 'A' ? (aCount++ === 0 ? ['127.0.0.1'] : ['127.0.0.2']) : [];
      if (name === 'private.test') return ['10.0.0.7'];
      if (name === 'mixed.test') return ['93.184.216.34', '0000:0000:0000:0000:0000:ffff:a9fe:a9fe'];
      if (name === 'metadata.test') return ['fd00:0ec2:0000:0000:0000:0000:0000:0254'];
      return 'NXDOMAIN';
    });
  });
  after(async () => {
    await checked.close();
    await rebound.close();
    await dns.close();
  });

  test('SSRF: a name whose DNS answer changes on every query (TTL 0) is fetched from the first, checked answer only', async () => {
    const f = dev({ dnsServers: [dns.server] });
    const r = await f.fetchJson(`http://rebind.test:${checked.port}/doc`);
    assert.deepEqual(r.json, { from: 'checked address' });
    assert.equal(r.address, '127.0.0.1');
    assert.equal(dns.queries.filter((q) => q === 'A rebind.test').length, 1, 'one A query: the connection did not resolve again');
    assert.equal(rebound.hits.length, 0);
  });

  test('SSRF: DNS answers with a private address, or a public A next to an IPv4-mapped metadata AAAA, are refused', async () => {
    const f = createSafeFetcher({ dnsServers: [dns.server] });
    await rejectsWith(f.fetchJson('https://private.test/jwks'), 'blocked_address', (e) => assert.equal(e.range, 'private'));
    await rejectsWith(f.fetchJson('https://mixed.test/jwks'), 'blocked_address', (e) => assert.equal(e.range, 'cloud-metadata'));
    await rejectsWith(f.fetchJson('https://metadata.test/jwks'), 'blocked_address', (e) => assert.equal(e.range, 'cloud-metadata'));
  });

  test('a name the DNS server does not know is dns_error', async () => {
    await rejectsWith(createSafeFetcher({ dnsServers: [dns.server] }).fetchJson('https://unknown.test/jwks'), 'dns_error');
  });

  test('a DNS server that never answers is timeout, within the deadline', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    try {
      const t0 = Date.now();
      await rejectsWith(
        createSafeFetcher({ dnsServers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 300 }).fetchJson('https://slow.test/'),
        'timeout',
      );
      assert.ok(Date.now() - t0 < 3000);
    } finally {
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe('https with a pinned address (test certificate made with the openssl CLI)', () => {
  let dir: string;
  let cert: string;
  let port: number;
  let server: ReturnType<typeof createHttpsServer>;
  let opensslMissing: string | false = false;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-safe-fetch-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=jwks.gatehouse.test',
          '-addext',
          'subjectAltName=DNS:jwks.gatehouse.test',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'pipe', timeout: 20_000 },
      );
    } catch (e) {
      opensslMissing = `openssl could not make a test certificate: ${(e as Error).message}`;
      return;
    }
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert },
      json({ keys: [{ kty: 'EC' }] }, { 'content-type': 'application/jwk-set+json' }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    if (server)
      await new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      });
    rmSync(dir, { recursive: true, force: true });
  });

  test('https to a name pinned to its checked address verifies the certificate against the name (SNI), not the address', async (t) => {
    if (opensslMissing) return t.skip(opensslMissing);
    const f = dev({ ca: cert, resolve: fixed('127.0.0.1') });
    const r = await f.fetchJson(`https://jwks.gatehouse.test:${port}/jwks`);
    assert.deepEqual(r.json, { keys: [{ kty: 'EC' }] });
    assert.equal(r.address, '127.0.0.1');
  });

  test('https to a name the certificate does not cover, or without trusting its CA, is connection_failed', async (t) => {
    if (opensslMissing) return t.skip(opensslMissing);
    await rejectsWith(
      dev({ ca: cert, resolve: fixed('127.0.0.1') }).fetchJson(`https://other.gatehouse.test:${port}/jwks`),
      'connection_failed',
    );
    await rejectsWith(dev({ resolve: fixed('127.0.0.1') }).fetchJson(`https://jwks.gatehouse.test:${port}/jwks`), 'connection_failed');
  });

  test('without the development opt-out the same https server is refused: its name resolves to loopback', async (t) => {
    if (opensslMissing) return t.skip(opensslMissing);
    await rejectsWith(
      createSafeFetcher({ ca: cert, resolve: fixed('127.0.0.1') }).fetchJson(`https://jwks.gatehouse.test:${port}/jwks`),
      'blocked_address',
    );
  });
});
