// DS-03, UI-06 (RFC 6819 §4.4.3.6, §5.1.4.2; OWASP ASVS 2.2.1): password guessing is slowed down without
// letting anyone lock an account's owner out.
//
// Four counters, each a failure score that halves every FAILURE_HALF_LIFE (15 min) without failures
// (compared rounded: five failures within about three minutes count as five):
//   account             every failure on the account, from anywhere. From 2 × `maxFailures` (10) on, each
//                       further failure doubles a delay (1 s, 2 s, 4 s … at most --login-max-delay, 15 min)
//                       during which unknown devices get 429: a slow-down, never a lock. (One network
//                       meets its own lock first; the delay is what slows a guesser on many networks.)
//   account + network   the hard lock: `maxFailures` failures on the account from one network (IPv4 /24,
//                       IPv6 /64) lock the account *for that network* for --login-lock-seconds, doubling
//                       with each further lock (at most a day); the lock level falls by one per quiet day.
//                       Failures from other networks never lock the owner's network.
//   IP                  one address (IPv6 /64) failing on many accounts is locked like a network.
//   known device        a browser that signed in to the account before carries a signed cookie
//                       (known-device.ts). With it, the right password gets in whatever the other
//                       counters say, until that device itself has failed KNOWN_DEVICE_FAILURES (10)
//                       times recently.
// During a delay or a lock every attempt gets the same answer, the right password included, and the
// password is not checked. Every lock is a `login.locked` security event; `gatehouse users unlock`
// clears an account's entries (a `login.unlocked` event).
//
// Where the counters live: Redis when configured (redis/login-throttle-store.ts; Redis down → fail
// open), else the database (login_locks, DbThrottleStore below), so that every node and the CLI see
// the same locks and a restart forgets none.
import { isIPv6 } from 'node:net';
import { sha256 } from '../oauth/crypto.js';
import type { LoginLockRepository } from '../storage/index.js';
// UN-01: the one canonical form of usernames (the unique, looked-up one), so that throttles and accounts agree.
import { canonicalUsername } from '../storage/index.js';

export const FAILURE_HALF_LIFE = 15 * 60;
/** A lock level is forgotten one step per day without failures. */
export const LEVEL_DECAY = 86400;
export const MAX_LOCK_SECONDS = 86400;
/** Failures a known device may make before it is treated like any other browser. */
export const KNOWN_DEVICE_FAILURES = 10;

export interface ThrottleEntry {
  /** Failure score as of `at` (decays). */
  score: number;
  /** When the score was last updated (epoch seconds). */
  at: number;
  lockedUntil: number;
  /** Locks so far (decays one per LEVEL_DECAY after `at`). */
  level: number;
}

export interface Stored {
  entry: ThrottleEntry;
  /** The store's compare-and-set token. */
  version: unknown;
}

/** Where entries live: compare-and-set writes, so concurrent failures on several nodes are all counted. */
export interface ThrottleStore {
  read(keys: readonly string[]): Promise<Map<string, Stored>>;
  /** Writes `next` if the entry is still `previous` (undefined: still absent); false when another writer came first. */
  write(key: string, account: string | null, previous: Stored | undefined, next: ThrottleEntry, expiresAt: number): Promise<boolean>;
  /** Forgets every entry of one account; returns how many there were. */
  clearAccount(account: string): Promise<number>;
}

/** The account's id in throttle keys: a digest, so that no username is stored in them. */
export function accountKey(username: string): string {
  return sha256(`gatehouse-login.${canonicalUsername(username)}`).slice(0, 32);
}

/** Groups of eight bits or sixteen, as a network prefix: IPv4 /24, IPv6 /64 (IPv4-mapped IPv6 as IPv4). */
export function networkOf(ip: string, v4Bits = 24): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  if (!isIPv6(address)) {
    const octets = address.split('.');
    if (octets.length !== 4) return address;
    const kept = Math.round(v4Bits / 8);
    return `${octets.slice(0, kept).join('.')}${'.0'.repeat(4 - kept)}/${kept * 8}`;
  }
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export interface LoginThrottleOptions {
  maxFailures: number;
  lockSeconds: number;
  maxDelay: number;
}

export interface AttemptKeys {
  account: string;
  accountKey: string;
  networkKey: string;
  ipKey: string;
  deviceKey: string | undefined;
}

export interface Verdict {
  /** Seconds to wait (0: the attempt may proceed). */
  wait: number;
  /** The known device carried the attempt past delays and locks. */
  knownDevice: boolean;
}

export interface NewLock {
  scope: 'network' | 'ip';
  network: string;
  seconds: number;
}

const decayed = (e: ThrottleEntry, now: number): number => e.score * 2 ** (-Math.max(0, now - e.at) / FAILURE_HALF_LIFE);
const levelOf = (e: ThrottleEntry, now: number): number =>
  Math.max(0, e.level - Math.floor(Math.max(0, now - Math.max(e.at, e.lockedUntil)) / LEVEL_DECAY));

export class LoginThrottle {
  constructor(
    readonly store: ThrottleStore,
    private readonly options: LoginThrottleOptions,
  ) {}

  keys(username: string, ip: string, deviceId: string | undefined): AttemptKeys {
    const account = accountKey(username);
    return {
      account,
      accountKey: `a:${account}`,
      networkKey: `n:${account}:${networkOf(ip)}`,
      ipKey: `i:${networkOf(ip, 32)}`,
      deviceKey: deviceId === undefined ? undefined : `d:${account}:${sha256(deviceId).slice(0, 32)}`,
    };
  }

  /** The per-account delay after a score of `score` failures (0 below 2 × maxFailures). */
  accountDelay(score: number): number {
    const over = Math.round(score) - 2 * this.options.maxFailures;
    return over < 0 ? 0 : Math.min(this.options.maxDelay, 2 ** over);
  }

  /** May this attempt go ahead? `knownDevice`: the browser carries a valid known-device cookie for the account. */
  async check(keys: AttemptKeys, knownDevice: boolean, now: number): Promise<Verdict> {
    const wanted = [keys.accountKey, keys.networkKey, keys.ipKey, ...(keys.deviceKey ? [keys.deviceKey] : [])];
    const entries = await this.store.read(wanted);
    if (knownDevice && keys.deviceKey) {
      const device = entries.get(keys.deviceKey)?.entry;
      if (!device || Math.round(decayed(device, now)) < KNOWN_DEVICE_FAILURES) return { wait: 0, knownDevice: true };
    }
    let wait = 0;
    const account = entries.get(keys.accountKey)?.entry;
    if (account) wait = Math.max(wait, account.at + this.accountDelay(account.score) - now);
    for (const key of [keys.networkKey, keys.ipKey]) {
      const e = entries.get(key)?.entry;
      if (e) wait = Math.max(wait, e.lockedUntil - now);
    }
    return { wait: Math.max(0, Math.ceil(wait)), knownDevice: false };
  }

  /** Counts a failure on every counter of the attempt; returns the locks it started. */
  async recordFailure(keys: AttemptKeys, knownDevice: boolean, now: number): Promise<NewLock[]> {
    const locks: NewLock[] = [];
    const { maxFailures, lockSeconds } = this.options;
    const count = (e: ThrottleEntry | undefined): ThrottleEntry => ({
      score: (e ? decayed(e, now) : 0) + 1,
      at: now,
      lockedUntil: e?.lockedUntil ?? 0,
      level: e ? levelOf(e, now) : 0,
    });
    const lockable = (scope: NewLock['scope'], network: string) => (e: ThrottleEntry | undefined) => {
      const next = count(e);
      if (next.lockedUntil <= now && Math.round(next.score) >= maxFailures) {
        const seconds = Math.min(lockSeconds * 2 ** next.level, MAX_LOCK_SECONDS);
        locks.push({ scope, network, seconds });
        return { score: 0, at: now, lockedUntil: now + seconds, level: next.level + 1 };
      }
      return next;
    };
    const keep = (e: ThrottleEntry) => Math.max(e.lockedUntil, now) + Math.max(1, e.level) * LEVEL_DECAY;
    await this.update(keys.accountKey, keys.account, count, keep);
    await this.update(keys.networkKey, keys.account, lockable('network', keys.networkKey.split(':').slice(2).join(':')), keep);
    await this.update(keys.ipKey, null, lockable('ip', keys.ipKey.slice(2)), keep);
    if (knownDevice && keys.deviceKey) await this.update(keys.deviceKey, keys.account, count, keep);
    return locks;
  }

  /** The right password: this network's and this device's counters start over (the account's decays by itself). */
  async recordSuccess(keys: AttemptKeys, now: number): Promise<void> {
    const clear = (e: ThrottleEntry | undefined): ThrottleEntry => ({ score: 0, at: now, lockedUntil: 0, level: e ? levelOf(e, now) : 0 });
    const entries = await this.store.read([keys.networkKey, ...(keys.deviceKey ? [keys.deviceKey] : [])]);
    for (const [key, stored] of entries) {
      if (stored.entry.score > 0 || stored.entry.lockedUntil > now) await this.update(key, keys.account, clear, () => now + LEVEL_DECAY);
    }
  }

  /** `gatehouse users unlock`: every entry of the account, on every node. */
  unlock(username: string): Promise<number> {
    return this.store.clearAccount(accountKey(username));
  }

  private async update(
    key: string,
    account: string | null,
    fn: (e: ThrottleEntry | undefined) => ThrottleEntry,
    expiry: (e: ThrottleEntry) => number,
  ): Promise<void> {
    // Another writer first: read again and re-apply (eight writers in a row: theirs were counted, this one is not).
    for (let attempt = 0; attempt < 8; attempt++) {
      const previous = (await this.store.read([key])).get(key);
      const next = fn(previous?.entry);
      if (await this.store.write(key, account, previous, next, expiry(next))) return;
    }
  }
}

/** The database store (login_locks): compare-and-set on a version column. */
export class DbThrottleStore implements ThrottleStore {
  constructor(private readonly repo: Pick<LoginLockRepository, 'findMany' | 'compareAndSet' | 'deleteAccount'>) {}

  async read(keys: readonly string[]): Promise<Map<string, Stored>> {
    const rows = await this.repo.findMany(keys);
    return new Map(rows.map((r) => [r.key, { entry: r.state as unknown as ThrottleEntry, version: r.version }]));
  }

  write(key: string, account: string | null, previous: Stored | undefined, next: ThrottleEntry, expiresAt: number): Promise<boolean> {
    const version = previous ? (previous.version as number) : 0;
    return this.repo.compareAndSet(key, account, version, { ...next }, Math.ceil(expiresAt));
  }

  clearAccount(account: string): Promise<number> {
    return this.repo.deleteAccount(account);
  }
}
