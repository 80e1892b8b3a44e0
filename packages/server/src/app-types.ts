// The dependencies the HTTP layer is built from (created by main.ts or by a test).
import type { Config } from './config/config.js';
import type { KeyStore } from './oauth/keys/key-store.js';
import type { Storage } from './storage/index.js';
import type { LoginThrottle } from './interaction/login-throttle.js';

export interface AppDeps {
  config: Config;
  storage: Storage;
  keys: KeyStore;
  throttle: LoginThrottle;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Browser route: errors render an HTML page instead of JSON. */
    browser?: boolean;
  }
  interface FastifyRequest {
    /** Parsed form body (strict parser), when the request had one. */
    form?: Map<string, string[]>;
  }
}
