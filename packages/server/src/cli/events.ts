// gatehouse events list — read the security event log (oauth/security-events.ts).
import { parseArgs } from 'node:util';
import { eventTypesMatching, SECURITY_EVENT_TYPES } from '../oauth/security-events.js';
import { nowSeconds } from '../oauth/crypto.js';
import type { SecurityEvent } from '../storage/index.js';
import { listEvents } from '../oauth/admin/events.js';
import { print, UsageError, withStorage } from './common.js';

const HELP = `gatehouse events — the security event log

  gatehouse events list [--since WHEN] [--type TYPE]... [--user USERNAME] [--client CLIENT_ID]
                        [--limit N] [--database URL] [--json]
      Prints security events, newest first: sign-ins and failed sign-ins, locks, consents granted and
      revoked, reuse of codes and refresh tokens, failed client authentication, key rotation and every
      lifecycle action of the CLI. No event holds a token, code, secret or password.
      --since: an ISO date or time (2026-12-01, 2026-12-01T10:00:00Z) or a duration back from now
               (90s, 30m, 12h, 7d); default: everything kept.
      --type:  a type (login.failed) or a subject (login); repeatable.
      --limit: at most N events (default 100, at most 10000).
      Types: ${SECURITY_EVENT_TYPES.join(', ')}.
`;

/** --since as epoch seconds: a duration back from now, or an ISO 8601 date or time. */
export function parseSince(value: string, now: number): number {
  const duration = /^(\d+)([smhd])$/.exec(value);
  if (duration) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400 }[duration[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(duration[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return Math.floor(ms / 1000);
  }
  throw new UsageError(`--since must be an ISO date or time (2026-12-01T10:00:00Z) or a duration such as 30m, 12h or 7d, not ${value}`);
}

function line(e: SecurityEvent): string {
  const who = [e.username ?? e.userId, e.clientId ? `client ${e.clientId}` : undefined, e.ip ? `from ${e.ip}` : undefined]
    .filter((x) => x !== undefined && x !== null)
    .join(' ');
  const details = Object.entries(e.details)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return [new Date(e.createdAt * 1000).toISOString(), e.type.padEnd(20), who, details].filter((s) => s.length > 0).join('  ');
}

export async function eventsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'list') throw new UsageError(`unknown events command: ${sub} (try gatehouse events --help)`);
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      since: { type: 'string' },
      type: { type: 'string', multiple: true },
      user: { type: 'string' },
      client: { type: 'string' },
      limit: { type: 'string' },
      database: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const since = values.since === undefined ? undefined : parseSince(values.since, nowSeconds());
  const types = (values.type ?? []).flatMap((t) => {
    const matched = eventTypesMatching(t);
    if (matched.length === 0) throw new UsageError(`no security event type is ${t} or starts with ${t}. (see gatehouse events --help)`);
    return matched;
  });
  let limit = 100;
  if (values.limit !== undefined) {
    if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1 || Number(values.limit) > 10_000) {
      throw new UsageError('--limit must be a whole number from 1 to 10000');
    }
    limit = Number(values.limit);
  }
  return withStorage(values.database, async (storage) => {
    let userId: string | undefined;
    if (values.user !== undefined) {
      const user = await storage.users.findByUsername(values.user);
      // A deleted user's events keep the name they had: match on the recorded username too.
      userId = user?.id;
      if (!user) {
        const events = (await storage.securityEvents.list({ since, types, clientId: values.client, limit: 10_000 }))
          .filter((e) => e.username === values.user)
          .slice(0, limit);
        print(values.json === true, events, events.map(line).join('\n') || 'no events');
        return 0;
      }
    }
    const events = await listEvents({ storage }, { since, types, userId, clientId: values.client, limit });
    print(values.json === true, events, events.map(line).join('\n') || 'no events');
    return 0;
  });
}
