// The login throttle's entries in Redis (interaction/login-throttle.ts): one JSON value per key,
// written by a compare-and-set script so that failures counted at once on several nodes are all
// kept, expiring by themselves. Redis down or slow: reads find nothing and writes are dropped, so
// sign-ins go on without throttling (fail open; redis/redis.ts logs the outage once).
import type { Stored, ThrottleEntry, ThrottleStore } from '../interaction/login-throttle.js';
import type { SharedRedis } from './redis.js';

const CAS = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
`;

const PREFIX = 'login:';

export class RedisThrottleStore implements ThrottleStore {
  constructor(private readonly redis: SharedRedis) {
    if (!('loginCas' in redis.client)) redis.client.defineCommand('loginCas', { numberOfKeys: 1, lua: CAS });
  }

  async read(keys: readonly string[]): Promise<Map<string, Stored>> {
    const found = new Map<string, Stored>();
    if (keys.length === 0) return found;
    let values: (string | null)[];
    try {
      values = await this.redis.run((c) => c.mget(keys.map((k) => PREFIX + k)));
    } catch {
      return found;
    }
    keys.forEach((key, i) => {
      const raw = values[i];
      if (typeof raw === 'string') found.set(key, { entry: JSON.parse(raw) as ThrottleEntry, version: raw });
    });
    return found;
  }

  async write(
    key: string,
    _account: string | null,
    previous: Stored | undefined,
    next: ThrottleEntry,
    expiresAt: number,
  ): Promise<boolean> {
    const client = this.redis.client as unknown as {
      loginCas(key: string, expected: string, value: string, pxat: number): Promise<number>;
    };
    try {
      const expected = previous ? (previous.version as string) : '';
      return (await this.redis.run(() => client.loginCas(PREFIX + key, expected, JSON.stringify(next), Math.ceil(expiresAt) * 1000))) === 1;
    } catch {
      return true; // fail open: the failure is not counted, and nobody retries against a dead Redis
    }
  }

  /** Keys of an account are `a:ACCOUNT`, `n:ACCOUNT:…` and `d:ACCOUNT:…` (the account is a hex digest). */
  async clearAccount(account: string): Promise<number> {
    const prefix = this.redis.keyPrefix;
    let deleted = 0;
    for (const kind of ['a', 'n', 'd']) {
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.run((c) => c.scan(cursor, 'MATCH', `${prefix}${PREFIX}${kind}:${account}*`, 'COUNT', 500));
        cursor = next;
        // SCAN returns whole keys; the client adds its prefix to DEL's arguments itself.
        if (keys.length > 0) deleted += await this.redis.run((c) => c.del(...keys.map((k) => k.slice(prefix.length))));
      } while (cursor !== '0');
    }
    return deleted;
  }
}
