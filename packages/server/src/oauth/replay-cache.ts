// RFC 7523 §3 item 7, RFC 9449 §11.1: a replay cache remembers each one-time identifier (a client
// assertion's or a DPoP proof's jti, as a digest) until it expires, so that a second use is refused.
// One shape for every cache, so that the server chooses where they live in one place (server.ts):
//   - in the database (storage/repositories/client-assertion-jtis.ts and its like), when there is no Redis;
//   - in Redis (redis/replay-cache.ts, `SET key 1 NX PXAT …`), when `--redis` is set.
// A cache that cannot answer throws; replay caches fail CLOSED: the request gets 503
// temporarily_unavailable (replayCacheUnavailable), never a 500 and never an acceptance.
import { OAuthError } from './errors.js';

export interface ReplayCache {
  /** Records `key` until `expiresAt` (epoch seconds); false when it was already recorded (a replay). */
  record(key: string, expiresAt: number): Promise<boolean>;
}

/** The caches of the server, by what they remember. */
export interface ReplayCaches {
  clientAssertions: ReplayCache;
}

/** Seconds a client is asked to wait when a replay cache cannot answer. */
export const REPLAY_CACHE_RETRY_AFTER = 5;

export function replayCacheUnavailable(cause?: unknown): OAuthError {
  return new OAuthError('temporarily_unavailable', 'the service is temporarily unavailable, try again shortly', {
    detail: 'replay cache unreachable',
    cause,
    headers: { 'Retry-After': String(REPLAY_CACHE_RETRY_AFTER) },
  });
}
