// Assembles a server from a configuration: storage (migrated), keys, throttle, app.
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import type { AppDeps } from './app-types.js';
import type { Config } from './config/config.js';
import { nowSeconds } from './oauth/crypto.js';
import { KeyStore } from './oauth/keys/key-store.js';
import { LoginThrottle } from './interaction/login-throttle.js';
import { openStorage } from './storage/index.js';

export interface Gatehouse {
  app: FastifyInstance;
  deps: AppDeps;
  close(): Promise<void>;
}

export async function createGatehouse(config: Config, options: { logger?: FastifyServerOptions['logger'] } = {}): Promise<Gatehouse> {
  const storage = await openStorage(config.databaseUrl);
  try {
    const keys = new KeyStore(storage.signingKeys);
    await keys.initialise(nowSeconds());
    const throttle = new LoginThrottle({ maxFailures: config.loginMaxFailures, lockSeconds: config.loginLockSeconds });
    const deps: AppDeps = { config, storage, keys, throttle };
    const app = await buildApp(deps, options);
    // Pick up keys rotated by another node.
    const reload = setInterval(() => {
      keys.reload(nowSeconds()).catch((err: unknown) => app.log.warn({ err }, 'reloading signing keys failed'));
    }, 60_000);
    reload.unref();
    return {
      app,
      deps,
      async close() {
        clearInterval(reload);
        await app.close();
        await storage.close();
      },
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}
