// The dependencies the HTTP layer is built from (created by server.ts or by a test).
import type { Config } from './config/config.js';
import type { KeyStore } from './oauth/keys/key-store.js';
import type { Storage } from './storage/index.js';
import type { LoginThrottle } from './interaction/login-throttle.js';
import type { SafeFetcher } from './net/safe-fetch.js';
import type { ClientResolver } from './oauth/client-metadata-document.js';
import type { SecurityEvents } from './oauth/security-events.js';
import type { AtRest } from './oauth/at-rest.js';
import type { DpopReplayCache } from '@gatehouse/resource-server';
import type { ReplayCaches } from './oauth/replay-cache.js';
import type { SharedRedis } from './redis/redis.js';
import type { Metrics } from './metrics/metrics.js';
import type { SecondFactorRemover } from './oauth/admin/context.js';

/** The time in epoch seconds. Tests pass their own to move time instead of rewriting rows. */
export type Clock = () => number;

export interface AppDeps {
  config: Config;
  storage: Storage;
  keys: KeyStore;
  throttle: LoginThrottle;
  clock: Clock;
  /** The one SSRF-safe fetcher for URLs that clients and documents name (net/safe-fetch.ts). */
  fetcher: SafeFetcher;
  /** Finds clients for every endpoint: registered ones, then Client ID Metadata Documents. */
  clientResolver: ClientResolver;
  /** The security event log (oauth/security-events.ts): a warn-level line and a row per event. */
  events: SecurityEvents;
  /** Seals secrets kept in the database under the key-encryption key (oauth/at-rest.ts, KP-01). */
  atRest: AtRest;
  /**
   * RFC 9449 §11.1: where DPoP proof jtis are remembered across nodes. Default: the dpop_jtis table;
   * any `record(key, expiresAt)` store (e.g. Redis) can take its place.
   */
  dpopReplay?: DpopReplayCache;
  /** The jti replay caches: Redis when configured, else the database (chosen in server.ts). */
  replayCaches: ReplayCaches;
  /** Removes a user's second factors for the admin API and console (wired by the two-factor part). */
  secondFactors?: SecondFactorRemover | undefined;
  /** The shared Redis, when `--redis` is set: rate limits and throttles use it too. */
  redis?: SharedRedis | undefined;
  /** Prometheus metrics, when `--metrics-port` turns them on (metrics/metrics.ts); undefined otherwise. */
  metrics?: Metrics | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Browser route: errors render an HTML page instead of JSON. */
    browser?: boolean;
  }
}
