// SECURITY-CHECKLIST R8; DESIGN.md "expired rows are swept in the background".
// Deletes rows nobody can use any more, in small batches (one short DELETE … LIMIT n statement each,
// with a pause between batches), so that a sweep never holds a lock for long and never runs on a
// request's path. Every statement is idempotent: several nodes may sweep the same database at once.
//
// What goes, and when:
//   interactions            past expires_at
//   sessions                past expires_at
//   revoked_access_tokens   past the access token's exp + CLOCK_SKEW_MARGIN (an expired token is refused anyway)
//   refresh_tokens          past their absolute expiry (the whole family is dead by then); and the sealed
//                           successor response of a rotated token once its grace window is over
//   signing_keys            retired and past remove_after (no longer in the JWKS on any node)
//   client_assertion_jtis   past the assertion's exp + CLOCK_SKEW_MARGIN (an expired assertion is refused anyway)
//   pushed_requests         past expires_at (used or not, a request_uri is dead by then)
//   registration_tokens     past expires_at, or with no use left (RFC 7591 initial access tokens)
//   authorization_codes     CODE_REUSE_WINDOW (30 min, or the access token lifetime when longer) after they
//                           expired and after they were used: a replayed code must still be recognised so
//                           that it fails with invalid_grant AND revokes what it issued (AC-01, Hydra `newUsedExpiry`).
//   device_codes            as authorization codes: kept as long after expiry and redemption (DV-01 replay)
//   dpop_jtis               past the proof's last acceptable moment + CLOCK_SKEW_MARGIN (a stale proof is refused anyway)
//   webauthn_challenges     past expires_at (a challenge lives a few minutes)
//   security_events         older than the event retention (--security-event-retention, 90 days by default)
import type { Config } from '../config/config.js';
import type { Log } from '../log.js';
import type { Repositories } from './repositories/index.js';

export const CODE_REUSE_WINDOW = 30 * 60;
export const CLOCK_SKEW_MARGIN = 300;
export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_PAUSE_MS = 50;
/** Per table and sweep; what is left waits for the next sweep. */
export const DEFAULT_MAX_BATCHES = 200;
export const SWEEP_INTERVAL_MS = 5 * 60_000;
/** DS-01: after a sweep that stopped at maxBatches (a backlog: a flood of anonymous rows), the next starts this soon. */
export const BACKLOG_SWEEP_DELAY_MS = 1000;
export const DEFAULT_SECURITY_EVENT_RETENTION = 90 * 86400;

/**
 * How long a code row is kept after it expired or was used. At least 30 minutes, and never less than
 * the access token lifetime: the access token issued from a code is recorded only on the code's row,
 * so a replay (or `gatehouse sessions revoke`) can deny it only while that row exists.
 */
export function codeRetention(config: Pick<Config, 'accessTokenTtl'>): number {
  return Math.max(CODE_REUSE_WINDOW, config.accessTokenTtl);
}

export type SweepTable =
  | 'interactions'
  | 'sessions'
  | 'revokedAccessTokens'
  | 'refreshTokens'
  | 'refreshSuccessors'
  | 'authorizationCodes'
  | 'signingKeys'
  | 'deviceCodes'
  | 'clientAssertionJtis'
  | 'pushedRequests'
  | 'registrationTokens'
  | 'securityEvents'
  | 'dpopJtis'
  | 'loginLocks'
  | 'webauthnChallenges';
export type SweepCounts = Record<SweepTable, number>;

export interface SweepOptions {
  /** Seconds to keep code rows after expiry and use (see codeRetention). */
  codeRetention: number;
  /** Seconds security events are kept (default DEFAULT_SECURITY_EVENT_RETENTION). */
  securityEventRetention?: number;
  batchSize?: number;
  pauseMs?: number;
  maxBatches?: number;
  /** Stops the sweep between two batches (server shutdown). */
  signal?: AbortSignal;
}

export type SweepStorage = Pick<
  Repositories,
  | 'interactions'
  | 'sessions'
  | 'revokedAccessTokens'
  | 'refreshTokens'
  | 'codes'
  | 'signingKeys'
  | 'deviceCodes'
  | 'clientAssertionJtis'
  | 'pushedRequests'
  | 'registrationTokens'
  | 'securityEvents'
  | 'dpopJtis'
  | 'loginLocks'
  | 'webauthnChallenges'
>;

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** One sweep over every table, as of `now`. Returns how many rows each table lost. */
export async function sweepExpiredRows(storage: SweepStorage, now: number, options: SweepOptions): Promise<SweepCounts> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const pauseMs = options.pauseMs ?? DEFAULT_PAUSE_MS;
  const maxBatches = options.maxBatches ?? DEFAULT_MAX_BATCHES;
  const codesBefore = now - options.codeRetention;
  const tasks: [SweepTable, (limit: number) => Promise<number>][] = [
    ['interactions', (limit) => storage.interactions.deleteExpired(now, limit)],
    ['sessions', (limit) => storage.sessions.deleteExpired(now, limit)],
    ['revokedAccessTokens', (limit) => storage.revokedAccessTokens.deleteExpired(now - CLOCK_SKEW_MARGIN, limit)],
    ['refreshTokens', (limit) => storage.refreshTokens.deleteExpired(now, limit)],
    ['refreshSuccessors', (limit) => storage.refreshTokens.clearExpiredSuccessors(now, limit)],
    ['authorizationCodes', (limit) => storage.codes.deleteSpent(codesBefore, limit)],
    ['signingKeys', (limit) => storage.signingKeys.deleteRemoved(now, limit)],
    ['deviceCodes', (limit) => storage.deviceCodes.deleteSpent(codesBefore, limit)],
    ['clientAssertionJtis', (limit) => storage.clientAssertionJtis.deleteExpired(now - CLOCK_SKEW_MARGIN, limit)],
    ['pushedRequests', (limit) => storage.pushedRequests.deleteExpired(now, limit)],
    ['registrationTokens', (limit) => storage.registrationTokens.deleteExpired(now, limit)],
    [
      'securityEvents',
      (limit) => storage.securityEvents.deleteOlderThan(now - (options.securityEventRetention ?? DEFAULT_SECURITY_EVENT_RETENTION), limit),
    ],
    ['dpopJtis', (limit) => storage.dpopJtis.deleteExpired(now - CLOCK_SKEW_MARGIN, limit)],
    ['loginLocks', (limit) => storage.loginLocks.deleteExpired(now, limit)],
    ['webauthnChallenges', (limit) => storage.webauthnChallenges.deleteExpired(now, limit)],
  ];
  const counts: SweepCounts = {
    interactions: 0,
    sessions: 0,
    revokedAccessTokens: 0,
    refreshTokens: 0,
    refreshSuccessors: 0,
    authorizationCodes: 0,
    signingKeys: 0,
    deviceCodes: 0,
    clientAssertionJtis: 0,
    pushedRequests: 0,
    registrationTokens: 0,
    securityEvents: 0,
    dpopJtis: 0,
    loginLocks: 0,
    webauthnChallenges: 0,
  };
  for (const [table, deleteBatch] of tasks) {
    for (let batch = 0; batch < maxBatches && !options.signal?.aborted; batch++) {
      const deleted = await deleteBatch(batchSize);
      counts[table] += deleted;
      if (deleted < batchSize) break;
      await pause(pauseMs, options.signal);
    }
  }
  return counts;
}

export interface Sweeper {
  /** Stops the timer and waits for a sweep in progress to stop at its next batch boundary. */
  stop(): Promise<void>;
}

/**
 * The background sweep of a server: first after `firstDelayMs` (jittered, so that nodes started
 * together do not sweep together), then `intervalMs` after the previous sweep ended (sweeps never
 * overlap). Timers are unref'd: they never keep a process alive.
 */
export function startSweeper(
  storage: SweepStorage,
  options: Omit<SweepOptions, 'signal'> & { intervalMs?: number; firstDelayMs?: number; backlogDelayMs?: number; now: () => number },
  log: Log,
): Sweeper {
  const controller = new AbortController();
  const intervalMs = options.intervalMs ?? SWEEP_INTERVAL_MS;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const schedule = (delay: number) => {
    if (controller.signal.aborted) return;
    timer = setTimeout(run, delay);
    timer.unref();
  };
  const perTableCap = (options.batchSize ?? DEFAULT_BATCH_SIZE) * (options.maxBatches ?? DEFAULT_MAX_BATCHES);
  function run() {
    let backlog = false;
    running = sweepExpiredRows(storage, options.now(), { ...options, signal: controller.signal })
      .then((counts) => {
        const total = Object.values(counts).reduce((a, b) => a + b, 0);
        if (total > 0) log.info({ deleted: counts }, 'expired rows swept');
        // DS-01: a table that filled the whole run is swept again soon, not after the interval.
        backlog = Object.values(counts).some((n) => n >= perTableCap);
      })
      .catch((err: unknown) => log.warn({ err }, 'sweeping expired rows failed'))
      .finally(() => {
        running = undefined;
        schedule(backlog ? (options.backlogDelayMs ?? BACKLOG_SWEEP_DELAY_MS) : intervalMs);
      });
  }
  schedule(options.firstDelayMs ?? 60_000 + Math.floor(Math.random() * 60_000));

  return {
    async stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
