// R4: one clock for expiry across nodes. Codes and refresh tokens are stamped with the issuing node's
// clock and checked against the redeeming node's, JWTs against each verifier's: all of that holds only
// while every node's clock agrees with the others'. Rather than ask the database for the time on every
// request, each node measures its offset from the database's clock at start and every
// CLOCK_CHECK_INTERVAL seconds; a node more than CLOCK_LEEWAY (60 s) off logs a warning on each check
// and fails /readyz (health.ts) until it is back, so the load balancer stops sending it traffic.
// SQLite has no clock of its own (its date functions read this machine's clock): nothing to compare,
// the check reports "ok (one clock: SQLite)".
import type { Log } from '../log.js';
import { CLOCK_LEEWAY } from '../oauth/clock-leeway.js';
import type { Storage } from '../storage/index.js';
import { databaseClock } from '../storage/database.js';

/** Seconds between two measurements of the node's offset from the database's clock. */
export const CLOCK_CHECK_INTERVAL = 300;

export interface ClockSkewDeps {
  db: Storage['db'];
  /** The node's clock (epoch seconds), the one every handler uses. */
  clock: () => number;
  log: Pick<Log, 'warn' | 'info'>;
  /** Longest a measurement may wait for the database (ms). */
  timeoutMs: number;
}

export class ClockSkewMonitor {
  /** Database clock minus node clock, in seconds, from the last measurement; null before the first. */
  offset: number | null = null;
  /** True on SQLite: the database reads this machine's clock. */
  oneClock = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: ClockSkewDeps) {}

  /** True while the last measurement found the node more than CLOCK_LEEWAY seconds off the database. */
  get off(): boolean {
    return this.offset !== null && Math.abs(this.offset) > CLOCK_LEEWAY;
  }

  /** One measurement. A database that does not answer leaves the last result (readiness reports the database itself). */
  check(): Promise<void> {
    this.running ??= this.measure().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async measure(): Promise<void> {
    const before = this.deps.clock();
    let database: number | null;
    try {
      database = await databaseClock(this.deps.db, this.deps.timeoutMs);
    } catch {
      return;
    }
    if (database === null) {
      this.oneClock = true;
      this.offset = 0;
      return;
    }
    // The node's clock has a resolution of a second; the midpoint of the round trip is the best guess.
    const offset = Math.round(database - (before + this.deps.clock()) / 2);
    const wasOff = this.off;
    this.offset = offset;
    if (this.off) {
      this.deps.log.warn(
        { offsetSeconds: offset, toleranceSeconds: CLOCK_LEEWAY },
        `this node's clock is ${Math.abs(offset)} s ${offset > 0 ? 'behind' : 'ahead of'} the database's: /readyz fails until it is back within ${CLOCK_LEEWAY} s (fix NTP)`,
      );
    } else if (wasOff) {
      this.deps.log.info({ offsetSeconds: offset }, "this node's clock agrees with the database's again");
    }
  }

  /** What /readyz reports. */
  status(): string {
    if (this.oneClock) return 'ok (one clock: SQLite)';
    if (this.offset === null) return 'ok (not measured yet)';
    if (this.off)
      return `off: ${Math.abs(this.offset)} s ${this.offset > 0 ? 'behind' : 'ahead of'} the database (tolerance ${CLOCK_LEEWAY} s)`;
    return 'ok';
  }

  /** Measures now and then every CLOCK_CHECK_INTERVAL seconds; the timer never keeps the process alive. */
  async start(): Promise<void> {
    await this.check();
    if (this.oneClock || this.timer) return;
    this.timer = setInterval(() => void this.check(), CLOCK_CHECK_INTERVAL * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
