// DV-01: throttles guesses of device user codes per client network and per browser (interaction/device.ts).
// After `maxFailures` failures a key is locked; each further lock doubles (capped at a day). During a
// lock every attempt gets the same answer, the right code included. State is per node (memory). Sign-in
// attempts have their own, shared and progressive throttle (login-throttle.ts, DS-03).
export interface ThrottleOptions {
  maxFailures: number;
  lockSeconds: number;
  /** Failures older than this are forgotten. */
  windowSeconds?: number;
  maxEntries?: number;
}

interface Entry {
  failures: number;
  locks: number;
  lockedUntil: number;
  lastFailure: number;
}

export class GuessThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly window: number;
  private readonly maxEntries: number;

  constructor(private readonly options: ThrottleOptions) {
    this.window = options.windowSeconds ?? 15 * 60;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Seconds until every key is free again (0 when none is locked). */
  retryAfter(keys: readonly string[], now: number): number {
    let wait = 0;
    for (const key of keys) {
      const e = this.entries.get(key);
      if (e && e.lockedUntil > now) wait = Math.max(wait, e.lockedUntil - now);
    }
    return wait;
  }

  recordFailure(keys: readonly string[], now: number): void {
    for (const key of keys) {
      let e = this.entries.get(key);
      if (!e || (now - e.lastFailure > this.window && e.lockedUntil <= now)) {
        e = { failures: 0, locks: e?.locks ?? 0, lockedUntil: 0, lastFailure: now };
      }
      e.failures += 1;
      e.lastFailure = now;
      if (e.failures >= this.options.maxFailures) {
        const seconds = Math.min(this.options.lockSeconds * 2 ** e.locks, 86400);
        e.lockedUntil = now + seconds;
        e.locks += 1;
        e.failures = 0;
      }
      this.entries.delete(key); // re-insert: the Map's order is the eviction order
      this.entries.set(key, e);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  recordSuccess(key: string): void {
    this.entries.delete(key);
  }
}
