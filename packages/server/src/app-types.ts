// The dependencies the HTTP layer is built from (created by server.ts or by a test).
import type { Config } from './config/config.js';
import type { KeyStore } from './oauth/keys/key-store.js';
import type { Storage } from './storage/index.js';
import type { LoginThrottle } from './interaction/login-throttle.js';
import type { SafeFetcher } from './net/safe-fetch.js';

/** The time in epoch seconds. Tests pass their own to move time instead of rewriting rows. */
export type Clock = () => number;

export interface AppDeps {
  config: Config;
  storage: Storage;
  keys: KeyStore;
  throttle: LoginThrottle;
  clock: Clock;
  /** The one SSRF-safe fetcher of the server (client jwks_uri documents); absent: such URLs are never fetched. */
  fetcher?: SafeFetcher;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Browser route: errors render an HTML page instead of JSON. */
    browser?: boolean;
  }
}
