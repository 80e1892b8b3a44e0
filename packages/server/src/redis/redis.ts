// The optional Redis connection (`--redis URL`, GATEHOUSE_REDIS_URL) that every node shares: login
// throttle entries, rate-limit counters and the jti replay caches live there when it is configured
// (docs/deployment.md, "Redis").
//
// Failing fast: every command has a timeout (`commandTimeout`), a command issued while the
// connection is down fails at once instead of queueing (`enableOfflineQueue: false`), and a command
// in flight when the connection drops is not retried (`maxRetriesPerRequest: 0`). So a dead or
// paused Redis costs a request at most one command timeout, and load cannot pile up behind it.
//
// What a failure means is decided by the caller: replay caches fail CLOSED (the request gets 503
// temporarily_unavailable), rate limits and login throttles fail OPEN. An outage is logged once, at
// warn, when the first command fails (or the connection drops), and once at info when Redis answers
// again.
import { Redis } from 'ioredis';
import type { Log } from '../log.js';

export interface RedisOptions {
  url: string;
  /** Prepended to every key, so that several deployments (or tests) can share one Redis. */
  keyPrefix: string;
  /** Milliseconds a command may take. */
  commandTimeout: number;
}

export type RedisState = 'ok' | 'unreachable';

export class SharedRedis {
  readonly client: Redis;
  readonly keyPrefix: string;
  /** Set once the app's logger exists (server.ts). */
  log: Log | undefined;
  private up = true;
  private closed = false;

  constructor(options: RedisOptions) {
    this.keyPrefix = options.keyPrefix;
    this.client = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      commandTimeout: options.commandTimeout,
      connectTimeout: Math.max(1000, options.commandTimeout * 4),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      // Reconnect forever, backing off to one attempt a second.
      retryStrategy: (times) => Math.min(times * 100, 1000),
      lazyConnect: true,
    });
    // Without a listener an 'error' event would crash the process.
    this.client.on('error', (err) => this.failed(err));
    this.client.on('close', () => {
      if (!this.closed) this.failed(new Error('connection closed'));
    });
    this.client.on('ready', () => this.succeeded());
  }

  /** Connects, waiting at most the connect timeout; a Redis that is down at boot is an outage, not a crash. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      this.failed(err);
    }
  }

  get state(): RedisState {
    return this.up && this.client.status === 'ready' ? 'ok' : 'unreachable';
  }

  /** A command failed: the first failure of an outage is logged at warn. */
  failed(err: unknown): void {
    if (this.closed || !this.up) return;
    this.up = false;
    this.log?.warn(
      { err: err instanceof Error ? { message: err.message } : { message: String(err) } },
      'redis unreachable: rate limits and login throttles let requests through (fail open), jti replay caches answer 503 (fail closed) until it answers again',
    );
  }

  /** A command succeeded: the end of an outage is logged at info. */
  succeeded(): void {
    if (this.up) return;
    this.up = true;
    this.log?.info({}, 'redis answers again: rate limits, login throttles and replay caches are shared again');
  }

  /** Runs one command, keeping the outage state. */
  async run<T>(command: (client: Redis) => Promise<T>): Promise<T> {
    try {
      const result = await command(this.client);
      this.succeeded();
      return result;
    } catch (err) {
      this.failed(err);
      throw err;
    }
  }

  /** Readiness: PING within the command timeout. */
  async ping(): Promise<boolean> {
    try {
      return (await this.run((c) => c.ping())) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/** The key prefix of a deployment: `gatehouse:` unless the URL's query names one (`?prefix=…`). */
export function redisOptions(url: string, commandTimeout: number): RedisOptions {
  const parsed = new URL(url);
  const prefix = parsed.searchParams.get('prefix');
  parsed.searchParams.delete('prefix');
  return { url: parsed.toString(), keyPrefix: prefix ?? 'gatehouse:', commandTimeout };
}
