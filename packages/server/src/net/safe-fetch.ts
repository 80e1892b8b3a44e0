// The one fetcher for URLs that a client or a document names: Client ID Metadata Documents,
// `jwks_uri`, sector identifiers. OWASP SSRF Prevention Cheat Sheet; RFC 9110 §15.4 (redirects);
// RFC 9111 §4.2 and §5.2 (freshness from Cache-Control max-age, Expires, Age).
//
// What it guarantees, in the order the steps run:
//   1. the URL is https (plain http only with the development opt-out, and then only to loopback),
//      has no user information and no fragment, and its host passes the operator's allow/deny lists;
//   2. a fresh cached answer (or a recent failure) is returned without touching the network;
//   3. the per-host and global bounds (concurrent fetches, fetches per minute) are respected;
//   4. the host is resolved here (c-ares, off the libuv thread pool; `localhost` and `*.localhost`
//      are loopback by RFC 6761 §6.3 without asking anyone), and EVERY address it resolves to must be
//      public (see ip-address.ts); the connection is then made only to the checked addresses (a
//      custom `lookup` answers with them), so a DNS answer that changes between the check and the
//      connect cannot win;
//   5. no redirect is followed; only 200 with a JSON media type is accepted; the body is counted as
//      it streams and the request is cut off past the size limit; one deadline covers resolution,
//      connect, TLS, headers and body;
//   6. the parsed JSON is cached for the server's freshness lifetime clamped to [min, max]; failures
//      are cached only for a few seconds.
import { Resolver as DnsResolver } from 'node:dns/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { classifyAddress, type AddressRange } from './ip-address.js';

export type SafeFetchErrorCode =
  | 'invalid_url' // not https (or http without the development opt-out), user info, fragment, too long, unparsable
  | 'domain_denied' // the host is on the deny list, or not on a non-empty allow list
  | 'dns_error' // the host does not resolve
  | 'blocked_address' // the host is, or resolves to, an address that is not public
  | 'rate_limited' // too many fetches to this host (or in total) right now
  | 'connection_failed' // refused, reset, TLS failure, malformed HTTP
  | 'timeout' // the whole fetch took longer than the deadline
  | 'redirect_refused' // the server answered 3xx: redirects are never followed
  | 'bad_status' // any other status than 200
  | 'not_json' // the media type is not application/json or */*+json, or the body is not UTF-8 JSON
  | 'too_large'; // Content-Length or the streamed body exceeds the size limit

/** A failed fetch. `code` is stable (branch on it); `message` is for logs, not for clients. */
export class SafeFetchError extends Error {
  override readonly name = 'SafeFetchError';
  readonly code: SafeFetchErrorCode;
  /** The HTTP status for `bad_status` and `redirect_refused`. */
  readonly status: number | undefined;
  /** The refused address and its range for `blocked_address`. */
  readonly address: string | undefined;
  readonly range: AddressRange | undefined;
  /** For `rate_limited`: when trying again may succeed. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: SafeFetchErrorCode,
    message: string,
    extra: { status?: number; address?: string; range?: AddressRange; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.status = extra.status;
    this.address = extra.address;
    this.range = extra.range;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to every address it has (the signal aborts at the deadline). The default
 * asks the system's DNS servers (/etc/resolv.conf) for A and AAAA records through c-ares; it does
 * not read /etc/hosts.
 */
export type Resolver = (hostname: string, signal: AbortSignal) => Promise<readonly ResolvedAddress[]>;

export interface SafeFetcherOptions {
  /**
   * DEVELOPMENT ONLY. Allows loopback addresses (127.0.0.0/8, ::1 and their IPv4-mapped forms) and
   * plain http to them. Every other non-public address stays refused. Default false.
   */
  allowInsecureLoopbackForDevelopment?: boolean;
  /** Largest accepted body in bytes. Default 65536 (64 KiB). */
  maxBytes?: number;
  /** Deadline for the whole fetch: resolution, connect, TLS, headers and body. Default 5000 ms. */
  timeoutMs?: number;
  /** When non-empty, only these hosts: `example.com` (exactly that host) or `.example.com` (any subdomain). */
  allowedDomains?: readonly string[];
  /** Hosts never fetched, same syntax as `allowedDomains`. Checked first. */
  deniedDomains?: readonly string[];
  /** Lower bound of the cache lifetime of a successful fetch, whatever the headers say. Default 60 s. */
  minCacheSeconds?: number;
  /** Upper bound of the cache lifetime. Default 86400 s (a day). */
  maxCacheSeconds?: number;
  /** Lifetime when the response has neither Cache-Control max-age nor Expires. Default 300 s. */
  defaultCacheSeconds?: number;
  /** How long a failed fetch is remembered (and answered again without refetching). Default 5 s, at most 60. */
  failureCacheSeconds?: number;
  /** Entries in the cache (least recently used are dropped). Default 1000. */
  maxCacheEntries?: number;
  /** Fetches in flight to one host. Default 2. */
  maxConcurrentPerHost?: number;
  /** Fetches started to one host name per minute (cache hits do not count). Default 30. */
  maxFetchesPerHostPerMinute?: number;
  /** Fetches started in total per minute, whatever the host (many names can point at one victim). Default 600. */
  maxFetchesPerMinute?: number;
  /** Fetches in flight in total. Default 16. */
  maxConcurrent?: number;
  /** Extra trusted CA certificates (PEM), e.g. a private PKI. The system roots stay trusted unless `ca` replaces them: Node's semantics. */
  ca?: string | readonly string[];
  /** DNS servers for the default resolver (`ip` or `ip:port`, e.g. a filtering resolver). Default: the system's. */
  dnsServers?: readonly string[];
  /** Replaces DNS resolution altogether (tests, or a resolver of your own). */
  resolve?: Resolver;
  /** The User-Agent header. Default `Gatehouse`. */
  userAgent?: string;
  /** Clock in milliseconds (tests). Default Date.now. */
  now?: () => number;
}

export interface SafeFetchResult {
  /** The parsed JSON body; the caller validates its shape. */
  json: unknown;
  /** The URL as fetched (normalised by the WHATWG URL parser). */
  url: string;
  /** The address the connection was made to (one of the checked ones). */
  address: string;
  /** The media type of the response, lower case, without parameters. */
  contentType: string;
  /** Body size in bytes. */
  bytes: number;
  /** When the document was fetched (ms since the epoch). */
  fetchedAt: number;
  /** When the cached copy stops being used (ms since the epoch). */
  expiresAt: number;
  /** The lifetime chosen for it: the server's freshness lifetime clamped to [minCacheSeconds, maxCacheSeconds]. */
  cacheSeconds: number;
  /** True when this answer came from the cache. */
  fromCache: boolean;
}

export interface SafeFetcher {
  /** Fetches a JSON document, or throws a SafeFetchError. */
  fetchJson(url: string | URL): Promise<SafeFetchResult>;
  /** Forgets every cached answer and failure (e.g. an operator asked to refresh a client's metadata). */
  clearCache(): void;
}

const MAX_URL_LENGTH = 2048;
const MAX_REQUESTS_PER_HOST_MAP = 10_000;

interface Resolved {
  maxBytes: number;
  timeoutMs: number;
  minCacheSeconds: number;
  maxCacheSeconds: number;
  defaultCacheSeconds: number;
  failureCacheSeconds: number;
  maxCacheEntries: number;
  maxConcurrentPerHost: number;
  maxFetchesPerHostPerMinute: number;
  maxFetchesPerMinute: number;
  maxConcurrent: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max)
    throw new TypeError(`safe fetch: ${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  return v;
}

function resolveOptions(o: SafeFetcherOptions): Resolved {
  const r: Resolved = {
    maxBytes: positiveInteger('maxBytes', o.maxBytes, 64 * 1024, 16 * 1024 * 1024),
    timeoutMs: positiveInteger('timeoutMs', o.timeoutMs, 5000, 60_000),
    minCacheSeconds: positiveInteger('minCacheSeconds', o.minCacheSeconds, 60, 86_400 * 30, 0),
    maxCacheSeconds: positiveInteger('maxCacheSeconds', o.maxCacheSeconds, 86_400, 86_400 * 30, 0),
    defaultCacheSeconds: positiveInteger('defaultCacheSeconds', o.defaultCacheSeconds, 300, 86_400 * 30, 0),
    failureCacheSeconds: positiveInteger('failureCacheSeconds', o.failureCacheSeconds, 5, 60, 0),
    maxCacheEntries: positiveInteger('maxCacheEntries', o.maxCacheEntries, 1000, 1_000_000, 0),
    maxConcurrentPerHost: positiveInteger('maxConcurrentPerHost', o.maxConcurrentPerHost, 2, 100),
    maxFetchesPerHostPerMinute: positiveInteger('maxFetchesPerHostPerMinute', o.maxFetchesPerHostPerMinute, 30, 100_000),
    maxFetchesPerMinute: positiveInteger('maxFetchesPerMinute', o.maxFetchesPerMinute, 600, 1_000_000),
    maxConcurrent: positiveInteger('maxConcurrent', o.maxConcurrent, 16, 1000),
  };
  if (r.minCacheSeconds > r.maxCacheSeconds) throw new TypeError('safe fetch: minCacheSeconds must not exceed maxCacheSeconds');
  return r;
}

/** A domain list entry: `example.com` matches that host only; `.example.com` matches its subdomains. */
function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

export function domainMatches(host: string, entry: string): boolean {
  const h = normaliseHost(host);
  const e = normaliseHost(entry.trim());
  if (e.startsWith('.')) return h.endsWith(e) && h.length > e.length;
  return h === e;
}

function checkDomainEntries(name: string, list: readonly string[] | undefined): readonly string[] {
  for (const entry of list ?? []) {
    const e = normaliseHost(entry.trim());
    if (e === '' || e === '.' || /[\s/:@*]/.test(e))
      throw new TypeError(`safe fetch: ${name} entry ${JSON.stringify(entry)} is not a host name or .suffix`);
  }
  return list ?? [];
}

interface Target {
  url: URL;
  /** The host as the request names it (IPv6 without brackets). */
  host: string;
  port: number;
  /** Set when the URL's host is an IP literal: nothing to resolve. */
  literal: ResolvedAddress | undefined;
}

/** Step 1: the URL itself. */
function checkUrl(input: string | URL, devLoopback: boolean): Target {
  const text = typeof input === 'string' ? input : input.href;
  if (text.length > MAX_URL_LENGTH) throw new SafeFetchError('invalid_url', `URL longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new SafeFetchError('invalid_url', 'not an absolute URL', { cause });
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && devLoopback)) {
    throw new SafeFetchError('invalid_url', `scheme ${url.protocol} refused: https only`);
  }
  if (url.username !== '' || url.password !== '') throw new SafeFetchError('invalid_url', 'URL carries user information');
  if (url.hash !== '' || text.includes('#')) throw new SafeFetchError('invalid_url', 'URL carries a fragment');
  const bracketed = url.hostname.startsWith('[');
  const host = bracketed ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new SafeFetchError('invalid_url', 'URL has no host');
  const family = isIP(host);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { url, host, port, literal: family === 0 ? undefined : { address: host, family: family as 4 | 6 } };
}

/**
 * Step 4a: every address must be allowed; a name with one internal address is refused entirely.
 * Returns the checked addresses, with the family taken from the address itself.
 */
function checkAddresses(addresses: readonly ResolvedAddress[], devLoopback: boolean, host: string): ResolvedAddress[] {
  if (addresses.length === 0) throw new SafeFetchError('dns_error', `${host} has no address`);
  return addresses.map((a) => {
    const { range, family } = classifyAddress(a.address);
    if (range === 'public' || (range === 'loopback' && devLoopback)) return { address: a.address, family: family as 4 | 6 };
    throw new SafeFetchError('blocked_address', `${host} resolves to ${a.address} (${range})`, { address: a.address, range });
  });
}

/**
 * A `lookup` for http(s).request that answers every query, whatever the name, with the addresses
 * already checked: the first one for a single answer; all of them when Node races address
 * families (autoSelectFamily asks with `all: true`).
 */
export function pinnedLookup(checked: readonly ResolvedAddress[]): LookupFunction {
  if (checked.length === 0) throw new TypeError('pinnedLookup needs at least one address');
  const list = checked.map((a) => ({ address: a.address, family: a.family }));
  return (_hostname, options, callback) => {
    if (options.all)
      callback(
        null,
        list.map((a) => ({ ...a })),
      );
    else callback(null, list[0]!.address, list[0]!.family);
  };
}

/** RFC 6761 §6.3: `localhost` and names under it are loopback; they are never sent to DNS. */
function isLocalhostName(host: string): boolean {
  const h = normaliseHost(host);
  return h === 'localhost' || h.endsWith('.localhost');
}

const LOCALHOST: readonly ResolvedAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

/**
 * A and AAAA through c-ares: DNS does not occupy the libuv thread pool (which dns.lookup would,
 * for as long as the system resolver takes, also after our deadline) that crypto and fs share.
 */
function dnsResolver(timeoutMs: number, servers: readonly string[] | undefined): Resolver {
  return async (hostname, signal) => {
    const resolver = new DnsResolver({ timeout: Math.max(100, Math.min(2000, Math.floor(timeoutMs / 2))), tries: 2 });
    if (servers && servers.length > 0) resolver.setServers([...servers]);
    const cancel = (): void => resolver.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
      const addresses: ResolvedAddress[] = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
      ];
      if (addresses.length === 0 && v4.status === 'rejected') throw v4.reason;
      return addresses;
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  };
}

/** Step 6: RFC 9111 §4.2.1 freshness lifetime (max-age, else Expires − Date), minus Age, clamped. */
export function cacheLifetimeSeconds(
  headers: IncomingHttpHeaders,
  nowMs: number,
  bounds: { min: number; max: number; fallback: number },
): number {
  const clamp = (s: number): number => Math.min(bounds.max, Math.max(bounds.min, Math.floor(s)));
  const directives = new Map<string, string | undefined>();
  for (const part of String(headers['cache-control'] ?? '').split(',')) {
    const [k, v] = part.split('=', 2).map((s) => s.trim());
    if (k) directives.set(k.toLowerCase(), v?.replace(/^"|"$/g, ''));
  }
  if (directives.has('no-store') || directives.has('no-cache')) return clamp(0);
  const ageHeader = Number(headers.age);
  const age = Number.isFinite(ageHeader) && ageHeader > 0 ? ageHeader : 0;
  const maxAge = directives.get('max-age');
  if (maxAge !== undefined) {
    const n = /^\d+$/.test(maxAge) ? Number(maxAge) : 0; // an invalid max-age means stale (RFC 9111 §4.2.1)
    return clamp(n - age);
  }
  if (headers.expires !== undefined) {
    const expires = Date.parse(headers.expires);
    const date = headers.date === undefined ? Number.NaN : Date.parse(headers.date);
    if (Number.isNaN(expires)) return clamp(0); // an invalid Expires means already expired
    return clamp((expires - (Number.isNaN(date) ? nowMs : date)) / 1000 - age);
  }
  return clamp(bounds.fallback);
}

/** `application/json`, or any `type/subtype+json` (application/jwk-set+json, application/jrd+json …). */
function jsonMediaType(header: string | undefined): string | undefined {
  const type = (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return /^application\/json$|^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]*\+json$/.test(type) ? type : undefined;
}

interface CacheEntry {
  expiresAt: number;
  result?: SafeFetchResult;
  error?: SafeFetchError;
}

interface HostCounter {
  windowStart: number;
  started: number;
  active: number;
}

/** Creates the fetcher. Make one per server (it owns the cache and the rate limits) and share it. */
export function createSafeFetcher(options: SafeFetcherOptions = {}): SafeFetcher {
  const limits = resolveOptions(options);
  const devLoopback = options.allowInsecureLoopbackForDevelopment === true;
  const allowed = checkDomainEntries('allowedDomains', options.allowedDomains);
  const denied = checkDomainEntries('deniedDomains', options.deniedDomains);
  if (options.dnsServers) new DnsResolver().setServers([...options.dnsServers]); // a bad address fails here, at boot
  const resolve = options.resolve ?? dnsResolver(limits.timeoutMs, options.dnsServers);
  const now = options.now ?? Date.now;
  const ca = options.ca === undefined ? undefined : typeof options.ca === 'string' ? options.ca : [...options.ca];
  const userAgent = options.userAgent ?? 'Gatehouse';

  const cache = new Map<string, CacheEntry>(); // insertion order = least recently used first
  const inFlight = new Map<string, Promise<SafeFetchResult>>();
  const hosts = new Map<string, HostCounter>();
  const total: HostCounter = { windowStart: 0, started: 0, active: 0 };

  function remember(key: string, entry: CacheEntry): void {
    if (limits.maxCacheEntries === 0 || entry.expiresAt <= now()) return;
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > limits.maxCacheEntries) cache.delete(cache.keys().next().value!);
  }

  function cached(key: string): CacheEntry | undefined {
    const entry = cache.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now()) {
      cache.delete(key);
      return undefined;
    }
    cache.delete(key); // refresh its place in the LRU order
    cache.set(key, entry);
    return entry;
  }

  /** Step 3: take a slot or refuse at once (never queue: a queue is what an attacker would fill). */
  function acquire(host: string): () => void {
    const t = now();
    let counter = hosts.get(host);
    if (!counter) {
      if (hosts.size >= MAX_REQUESTS_PER_HOST_MAP) {
        for (const [h, c] of hosts) if (c.active === 0 && t - c.windowStart >= 60_000) hosts.delete(h);
        if (hosts.size >= MAX_REQUESTS_PER_HOST_MAP)
          throw new SafeFetchError('rate_limited', 'too many hosts being fetched', { retryAfterSeconds: 60 });
      }
      counter = { windowStart: t, started: 0, active: 0 };
      hosts.set(host, counter);
    }
    // A new minute starts a new count; fetches still in flight keep counting as active.
    for (const c of [counter, total]) {
      if (t - c.windowStart >= 60_000) {
        c.windowStart = t;
        c.started = 0;
      }
    }
    const retryAfter = (c: HostCounter): number => Math.max(1, Math.ceil((c.windowStart + 60_000 - t) / 1000));
    if (total.active >= limits.maxConcurrent)
      throw new SafeFetchError('rate_limited', 'too many fetches in flight', { retryAfterSeconds: 1 });
    if (total.started >= limits.maxFetchesPerMinute)
      throw new SafeFetchError('rate_limited', 'too many fetches this minute', { retryAfterSeconds: retryAfter(total) });
    if (counter.active >= limits.maxConcurrentPerHost)
      throw new SafeFetchError('rate_limited', `too many fetches in flight to ${host}`, { retryAfterSeconds: 1 });
    if (counter.started >= limits.maxFetchesPerHostPerMinute) {
      throw new SafeFetchError('rate_limited', `too many fetches to ${host} this minute`, { retryAfterSeconds: retryAfter(counter) });
    }
    const c = counter;
    for (const k of [c, total]) {
      k.started++;
      k.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      c.active--;
      total.active--;
    };
  }

  async function fetchOnce(target: Target): Promise<SafeFetchResult> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
    const timedOut = (): SafeFetchError => new SafeFetchError('timeout', `no complete answer within ${limits.timeoutMs} ms`);
    try {
      // Step 4: resolve and check, under the same deadline.
      let addresses: readonly ResolvedAddress[];
      if (target.literal) addresses = [target.literal];
      else if (isLocalhostName(target.host)) addresses = LOCALHOST;
      else {
        const aborted = new Promise<never>((_, reject) =>
          controller.signal.addEventListener('abort', () => reject(timedOut()), { once: true }),
        );
        aborted.catch(() => undefined); // it may fire after the race is over, during the request
        try {
          addresses = await Promise.race([resolve(target.host, controller.signal), aborted]);
        } catch (cause) {
          if (cause instanceof SafeFetchError) throw cause;
          throw new SafeFetchError('dns_error', `${target.host} does not resolve`, { cause });
        }
      }
      const checked = checkAddresses(addresses, devLoopback, target.host);
      if (target.url.protocol === 'http:' && checked.some((a) => classifyAddress(a.address).range !== 'loopback')) {
        throw new SafeFetchError('invalid_url', 'plain http is allowed only to loopback, and only for development');
      }
      return await request(target, checked, controller.signal, timedOut);
    } finally {
      clearTimeout(timer);
    }
  }

  function request(
    target: Target,
    checked: readonly ResolvedAddress[],
    signal: AbortSignal,
    timedOut: () => SafeFetchError,
  ): Promise<SafeFetchResult> {
    return new Promise<SafeFetchResult>((resolvePromise, reject) => {
      let settled = false;
      const fail = (error: SafeFetchError): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(error);
      };
      const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send({
        host: target.host,
        port: target.port,
        path: `${target.url.pathname}${target.url.search}`,
        method: 'GET',
        headers: { accept: 'application/json', 'accept-encoding': 'identity', 'user-agent': userAgent },
        lookup: pinnedLookup(checked),
        agent: false, // a fresh connection to a checked address; no pooled socket from another resolution
        signal,
        ...(ca === undefined ? {} : { ca }),
      });
      req.on('error', (cause) =>
        fail(signal.aborted ? timedOut() : new SafeFetchError('connection_failed', `connection to ${target.host} failed`, { cause })),
      );
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const connectedTo = res.socket?.remoteAddress ?? checked[0]!.address;
        if (status >= 300 && status < 400)
          return fail(new SafeFetchError('redirect_refused', `answered ${status}: redirects are not followed`, { status }));
        if (status !== 200) return fail(new SafeFetchError('bad_status', `answered ${status}`, { status }));
        const contentType = jsonMediaType(res.headers['content-type']);
        if (!contentType)
          return fail(new SafeFetchError('not_json', `content type ${JSON.stringify(res.headers['content-type'] ?? '')} is not JSON`));
        const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
        if (encoding !== 'identity') return fail(new SafeFetchError('not_json', `content encoding ${encoding} was not asked for`));
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > limits.maxBytes)
          return fail(new SafeFetchError('too_large', `Content-Length ${declared} exceeds ${limits.maxBytes} bytes`));
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > limits.maxBytes) return fail(new SafeFetchError('too_large', `body exceeds ${limits.maxBytes} bytes`));
          chunks.push(chunk);
        });
        res.on('error', (cause) =>
          fail(signal.aborted ? timedOut() : new SafeFetchError('connection_failed', 'response interrupted', { cause })),
        );
        res.on('aborted', () => fail(signal.aborted ? timedOut() : new SafeFetchError('connection_failed', 'response interrupted')));
        res.on('end', () => {
          if (settled) return;
          let json: unknown;
          try {
            const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
            json = JSON.parse(text);
          } catch (cause) {
            return fail(new SafeFetchError('not_json', 'body is not UTF-8 JSON', { cause }));
          }
          settled = true;
          const fetchedAt = now();
          const cacheSeconds = cacheLifetimeSeconds(res.headers, fetchedAt, {
            min: limits.minCacheSeconds,
            max: limits.maxCacheSeconds,
            fallback: limits.defaultCacheSeconds,
          });
          resolvePromise({
            json,
            url: target.url.href,
            address: connectedTo,
            contentType,
            bytes,
            fetchedAt,
            expiresAt: fetchedAt + cacheSeconds * 1000,
            cacheSeconds,
            fromCache: false,
          });
        });
      });
      req.end();
    });
  }

  async function fetchAndRemember(key: string, target: Target): Promise<SafeFetchResult> {
    const release = acquire(normaliseHost(target.host));
    try {
      const result = await fetchOnce(target);
      remember(key, { expiresAt: result.expiresAt, result });
      return result;
    } catch (error) {
      const e = error instanceof SafeFetchError ? error : new SafeFetchError('connection_failed', 'fetch failed', { cause: error });
      if (limits.failureCacheSeconds > 0) remember(key, { expiresAt: now() + limits.failureCacheSeconds * 1000, error: e });
      throw e;
    } finally {
      release();
    }
  }

  return {
    async fetchJson(input) {
      const target = checkUrl(input, devLoopback);
      const host = target.host;
      if (denied.some((d) => domainMatches(host, d))) throw new SafeFetchError('domain_denied', `${host} is on the deny list`);
      if (allowed.length > 0 && !allowed.some((d) => domainMatches(host, d)))
        throw new SafeFetchError('domain_denied', `${host} is not on the allow list`);
      // An IP literal is checked before anything else: no cache, no slot for a refused address.
      if (target.literal) checkAddresses([target.literal], devLoopback, host);

      const key = target.url.href;
      const hit = cached(key);
      if (hit?.error) throw hit.error;
      if (hit?.result) return { ...hit.result, fromCache: true };
      const pending = inFlight.get(key);
      if (pending) return pending.then((r) => ({ ...r, fromCache: true }));
      // Rate-limit refusals are about us, not the document: never remembered.
      const promise = fetchAndRemember(key, target);
      inFlight.set(key, promise);
      try {
        return await promise;
      } finally {
        inFlight.delete(key);
      }
    },
    clearCache() {
      cache.clear();
    },
  };
}
