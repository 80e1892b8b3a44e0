// The jti replay caches in Redis (oauth/replay-cache.ts): one key per identifier, set only if absent
// and expiring at the identifier's own expiry. SET NX is atomic, so of two nodes recording the same
// jti at once exactly one wins. Redis down or slow: the cache throws the 503 of replayCacheUnavailable
// (fail closed).
import { replayCacheUnavailable, type ReplayCache } from '../oauth/replay-cache.js';
import type { SharedRedis } from './redis.js';

/** Kept this long past the identifier's expiry, so that a Redis clock ahead of the node's cannot drop it early. */
const CLOCK_MARGIN_SECONDS = 60;

export class RedisReplayCache implements ReplayCache {
  constructor(
    private readonly redis: SharedRedis,
    /** What the cache remembers (`client-assertion`, `dpop`): keys of different caches never meet. */
    private readonly name: string,
  ) {}

  async record(key: string, expiresAt: number): Promise<boolean> {
    let reply: string | null;
    try {
      reply = await this.redis.run((c) => c.set(`jti:${this.name}:${key}`, '1', 'PXAT', (expiresAt + CLOCK_MARGIN_SECONDS) * 1000, 'NX'));
    } catch (err) {
      throw replayCacheUnavailable(err);
    }
    return reply === 'OK';
  }
}
