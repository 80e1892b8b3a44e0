// DS-01, DS-02: per-endpoint rate limits with @fastify/rate-limit, registered once for the app.
//
//   - Only routes that name a limit (routeRateLimit) are limited: /healthz, /readyz, /jwks, discovery
//     and the stylesheet never are.
//   - Keys: the client IP (IPv6 per /64), and for endpoints where clients authenticate also the
//     client_id the request names (Basic user name or client_id parameter), so that clients behind one
//     address do not share a budget and nobody can spend another client's budget from elsewhere.
//   - Counters live in Redis when `--redis` is set (every node counts into the same key), else in
//     each node's memory (an LRU of the plugin).
//   - Over the limit: 429 with Retry-After. JSON endpoints answer `temporarily_unavailable`: RFC 6749
//     names no rate-limit error, and this is the registered code that means "temporary overloading,
//     retry later" (§4.1.2.1); RFC 6585 §4 gives the status. Browser routes get an error page
//     "Too many attempts" (app.ts's error handler).
//   - Redis down or slow: the request goes through (fail open, `skipOnError`), and redis/redis.ts logs
//     the outage once.
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit, { normalizeIP, type RateLimitOptions, type RateLimitPluginOptions } from '@fastify/rate-limit';
import type { Config } from '../config/config.js';
import { OAuthError } from '../oauth/errors.js';
import { parseBasic } from '../oauth/client-auth/client-secret-basic.js';
import type { SharedRedis } from '../redis/redis.js';

/** The limited endpoints and the option that sets each one's budget per window. */
export const RATE_LIMITED = {
  authorize: 'rateLimitAuthorize',
  token: 'rateLimitToken',
  introspect: 'rateLimitIntrospect',
  revoke: 'rateLimitRevoke',
  register: 'rateLimitRegister',
  par: 'rateLimitPar',
  deviceAuthorization: 'rateLimitDeviceAuthorization',
  userinfo: 'rateLimitUserinfo',
  login: 'rateLimitLogin',
} as const satisfies Record<string, keyof Config>;
export type RateLimited = keyof typeof RATE_LIMITED;

/** Endpoints where clients authenticate: keyed by IP and the named client_id. */
const PER_CLIENT: ReadonlySet<RateLimited> = new Set(['token', 'introspect', 'revoke', 'par', 'deviceAuthorization']);

const ipKey = (request: FastifyRequest): string => normalizeIP(request.ip);

function clientKey(request: FastifyRequest): string {
  let clientId: string | undefined;
  try {
    clientId = parseBasic(request.headers.authorization)?.clientId;
  } catch {
    clientId = undefined;
  }
  if (clientId === undefined && request.body instanceof Map) {
    const values = (request.body as Map<string, string[]>).get('client_id');
    if (values?.length === 1) clientId = values[0];
  }
  return clientId === undefined ? ipKey(request) : `${ipKey(request)}|${clientId.slice(0, 255)}`;
}

/** The route option of one endpoint: `{ rateLimit: … }` (or `false`: unlimited, when its option is 0). */
export function routeRateLimit(config: Config, endpoint: RateLimited): { rateLimit: RateLimitOptions | false } {
  const max = config[RATE_LIMITED[endpoint]];
  if (max === 0) return { rateLimit: false };
  const perClient = PER_CLIENT.has(endpoint);
  return {
    rateLimit: {
      max,
      timeWindow: config.rateLimitWindow * 1000,
      // The body is parsed by preHandler, so the client_id parameter can be read; IP-only limits run first thing.
      hook: perClient ? 'preHandler' : 'onRequest',
      keyGenerator: perClient ? clientKey : ipKey,
    },
  };
}

type Callback = (err: Error | null, result?: { current: number; ttl: number }) => void;
interface PluginStore {
  incr(key: string, cb: Callback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): PluginStore;
}

/** The plugin's own Redis store (its Lua INCR/PEXPIRE script), reporting failures to the outage log. */
function sharedStore(redis: SharedRedis): RateLimitPluginOptions['store'] {
  const require = createRequire(import.meta.url);
  const RedisStore = require('@fastify/rate-limit/store/RedisStore') as new (
    continueExceeding: boolean,
    exponentialBackoff: boolean,
    client: unknown,
    key: string,
  ) => PluginStore;
  const watched = (inner: PluginStore): PluginStore => ({
    incr(key, cb, timeWindow, max) {
      inner.incr(
        key,
        (err, result) => {
          if (err) redis.failed(err);
          else redis.succeeded();
          cb(err, result);
        },
        timeWindow,
        max,
      );
    },
    child: (routeOptions) => watched(inner.child(routeOptions)),
  });
  return class {
    constructor() {
      return watched(new RedisStore(false, false, redis.client, 'rate:'));
    }
  } as unknown as RateLimitPluginOptions['store'];
}

/** Registers the plugin on the root instance (before any route). */
export async function registerRateLimits(app: FastifyInstance, redis: SharedRedis | undefined): Promise<void> {
  await app.register(rateLimit, {
    global: false,
    skipOnError: true,
    cache: 10_000,
    ...(redis ? { store: sharedStore(redis) } : {}),
    // Only Retry-After (and the limit headers of a refused request): nothing extra on every answer.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) => {
      const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
      return new OAuthError('temporarily_unavailable', `too many requests, retry in ${seconds} seconds`, {
        status: 429,
        detail: 'rate limit',
        headers: { 'Retry-After': String(seconds) },
      });
    },
  });
}
