// Assembles a server from a configuration: storage (migrated), keys, throttle, app.
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import type { AppDeps, Clock } from './app-types.js';
import { ConfigError, type Config } from './config/config.js';
import { nowSeconds } from './oauth/crypto.js';
import { KeyStore } from './oauth/keys/key-store.js';
import { KEY_RELOAD_INTERVAL, keyPolicy, maintainKeys } from './oauth/keys/rotation.js';
import { codeRetention, startSweeper } from './storage/cleanup.js';
import { DbThrottleStore, LoginThrottle } from './interaction/login-throttle.js';
import { redisOptions, SharedRedis } from './redis/redis.js';
import { RedisReplayCache } from './redis/replay-cache.js';
import { RedisThrottleStore } from './redis/login-throttle-store.js';
import type { ReplayCaches } from './oauth/replay-cache.js';
import { createRepositories, openStorage } from './storage/index.js';
import { exclusively } from './storage/database.js';
import { createSafeFetcher, type SafeFetcher } from './net/safe-fetch.js';
import { clientResolver } from './oauth/client-metadata-document.js';
import { ensureAdminApiResource } from './oauth/admin/api-resource.js';
import { removeAllSecondFactors } from './oauth/two-factor/second-factor.js';
import { SecurityEvents } from './oauth/security-events.js';
import { AtRest } from './oauth/at-rest.js';
import { Metrics } from './metrics/metrics.js';
import { startMetricsListener, type MetricsListener } from './metrics/listener.js';

export interface Gatehouse {
  app: FastifyInstance;
  deps: AppDeps;
  /** The metrics listener, when `--metrics-port` is set. */
  metricsListener: MetricsListener | undefined;
  close(): Promise<void>;
}

export async function createGatehouse(
  config: Config,
  options: { logger?: FastifyServerOptions['logger']; clock?: Clock; fetcher?: SafeFetcher; atRest?: AtRest } = {},
): Promise<Gatehouse> {
  const clock = options.clock ?? nowSeconds;
  // KP-01: the key-encryption key comes from the environment or a file, never from a flag or Config.
  const atRest = options.atRest ?? AtRest.load(process.env, config);
  // Connection errors the pool handled (a terminated backend, a reset) are logged once the app's logger exists.
  let log: FastifyBaseLogger | undefined;
  const storage = await openStorage(config.databaseUrl, {
    statementTimeout: config.databaseStatementTimeout,
    acquireTimeout: config.databaseAcquireTimeout,
    poolSize: config.databasePoolSize,
    onConnectionError: (err) => log?.warn({ err }, 'database connection lost; the pool replaces it'),
    sealer: atRest,
  });
  // Issue 12 item 4: Redis, when configured, holds what every node must share and fast.
  const redis = config.redisUrl ? new SharedRedis(redisOptions(config.redisUrl, config.redisCommandTimeout)) : undefined;
  try {
    // KP-01: refuse to start on keys this process cannot open; seal keys stored in plaintext.
    const missing = [
      ...new Set([
        ...(await storage.signingKeys.missingKeyEncryptionKeys()),
        ...(await storage.dpopNonceKeys.missingKeyEncryptionKeys()),
        ...(await storage.totpCredentials.missingKeyEncryptionKeys()),
      ]),
    ].sort();
    if (missing.length > 0) {
      throw new ConfigError(
        `the database holds signing keys or TOTP secrets sealed under key-encryption key ${missing.join(', ')}, which ${
          atRest.configured ? 'is not the one configured' : 'is not configured'
        }: set GATEHOUSE_KEY_ENCRYPTION_KEY (or --key-encryption-key-file) to the key that sealed them; while rotating it, the former key goes in GATEHOUSE_KEY_ENCRYPTION_KEY_PREVIOUS`,
      );
    }
    const sealedAtStart = atRest.configured ? (await storage.signingKeys.sealAll({ rewrap: false })).sealed : 0;
    // The DPoP nonce key (oauth/dpop.ts) is sealed under the same key-encryption key.
    if (atRest.configured) await storage.dpopNonceKeys.sealAll({ rewrap: false });
    // KP-01: TOTP secrets stored before a key was configured are sealed now too.
    const totpSealed = atRest.configured ? await storage.totpCredentials.sealAll() : 0;
    await redis?.connect();
    const keys = new KeyStore(storage.signingKeys);
    // R5: the first keys are created once for the cluster, under a database lock.
    await keys.initialise(clock(), (fn) =>
      exclusively(storage.db, 'signing-keys', (trx) => fn(createRepositories(trx, storage.repositoryOptions).signingKeys)),
    );
    // DS-03: the login throttle's counters in Redis, else in the database (so that the CLI can unlock).
    const throttle = new LoginThrottle(redis ? new RedisThrottleStore(redis) : new DbThrottleStore(storage.loginLocks), {
      maxFailures: config.loginMaxFailures,
      lockSeconds: config.loginLockSeconds,
      maxDelay: config.loginMaxDelay,
    });
    // The jti replay caches (oauth/replay-cache.ts): Redis (fail closed) or the database.
    const replayCaches: ReplayCaches = {
      clientAssertions: redis ? new RedisReplayCache(redis, 'client-assertion') : storage.clientAssertionJtis,
    };
    // One fetcher per server: it owns the cache and the rate limits of everything fetched from URLs.
    const fetcher =
      options.fetcher ??
      createSafeFetcher({
        allowInsecureLoopbackForDevelopment: config.fetchAllowInsecureLoopbackForDevelopment,
        allowedDomains: config.fetchAllowedDomains,
        deniedDomains: config.fetchDeniedDomains,
      });
    const resolver = clientResolver(storage.clients, {
      enabled: config.clientIdMetadataDocuments,
      fetcher,
      allowInsecureLoopbackForDevelopment: config.fetchAllowInsecureLoopbackForDevelopment,
      resources: storage.resources,
      clock,
    });
    const events = new SecurityEvents(storage.securityEvents, clock);
    // Metrics (off unless --metrics-port): this node's own numbers, on a listener of their own.
    const metrics =
      config.metricsPort > 0
        ? new Metrics({ pool: () => storage.poolStats(), keys: () => keys.list().filter((k) => k.status === 'active'), now: clock })
        : undefined;
    if (metrics) {
      events.observer = (type) => {
        if (type === 'refresh.reused') metrics.refreshTokenReused();
        else if (type === 'dpop.replay') metrics.dpopProofReplayed();
      };
    }
    // The admin API (/admin/api) is a resource of its own: its tokens carry its URI as aud.
    await ensureAdminApiResource(storage, config, clock());
    const deps: AppDeps = {
      config,
      storage,
      keys,
      throttle,
      clock,
      fetcher,
      clientResolver: resolver,
      events,
      atRest,
      replayCaches,
      redis,
      metrics,
      // The admin API and console remove a user's second factors through the two-factor module.
      secondFactors: { removeAll: (userId) => removeAllSecondFactors(storage, userId) },
      // DP-01: DPoP proof jtis in Redis too when it is configured (fail closed), else the dpop_jtis table.
      ...(redis ? { dpopReplay: new RedisReplayCache(redis, 'dpop') } : {}),
    };
    const app = await buildApp(deps, { logger: options.logger });
    log = app.log;
    events.log = app.log;
    if (redis) redis.log = app.log;
    let metricsListener: MetricsListener | undefined;
    if (metrics) {
      metricsListener = await startMetricsListener(metrics, config.metricsHost, config.metricsPort);
      app.log.info({ url: metricsListener.url }, 'metrics listening');
    }
    if (!atRest.configured) {
      app.log.warn(
        'NO KEY-ENCRYPTION KEY: private signing keys and TOTP secrets are stored in plaintext in the database; set GATEHOUSE_KEY_ENCRYPTION_KEY or --key-encryption-key-file (README "Keys at rest")',
      );
    } else if (sealedAtStart > 0) {
      app.log.info({ sealed: sealedAtStart, kek: atRest.kid }, 'sealed plaintext signing keys under the key-encryption key');
    }
    if (totpSealed > 0) app.log.info({ sealed: totpSealed, kek: atRest.kid }, 'sealed plaintext TOTP secrets under the key-encryption key');
    // KR-02, R5: promote published `next` keys, start scheduled rotations, and pick up keys rotated by
    // another node (oauth/keys/rotation.ts). Ticks never overlap; the timer never keeps the process alive.
    const policy = keyPolicy(config);
    await maintainKeys(storage, keys, policy, clock(), app.log, events);
    let keysBusy: Promise<void> | undefined;
    const reload = setInterval(() => {
      keysBusy ??= maintainKeys(storage, keys, policy, clock(), app.log, events).finally(() => {
        keysBusy = undefined;
      });
    }, KEY_RELOAD_INTERVAL * 1000);
    reload.unref();
    // R8: expired rows are swept in small batches in the background (storage/cleanup.ts).
    const sweeper = startSweeper(
      storage,
      { codeRetention: codeRetention(config), securityEventRetention: config.securityEventRetention, now: clock },
      app.log,
    );
    return {
      app,
      deps,
      metricsListener,
      async close() {
        clearInterval(reload);
        await metricsListener?.close();
        await sweeper.stop();
        await keysBusy;
        await app.close();
        await redis?.close();
        await storage.close();
      },
    };
  } catch (error) {
    await redis?.close();
    await storage.close();
    throw error;
  }
}
