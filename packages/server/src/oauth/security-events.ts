// The security event log (SECURITY-CHECKLIST EV-01): one structured warn-level log line and one
// `security_events` row per event, never with a secret in either. Recording is best effort on the row:
// a database that cannot take the row does not turn a refused login into a 500, but the log line is
// always written.
import type { Clock } from '../app-types.js';
import type { Log } from '../log.js';
import type { SecurityEvent, SecurityEventRepository } from '../storage/index.js';
import { randomToken } from './crypto.js';

/** Every kind of event; the dotted prefix is the subject (what `events list --type login` selects). */
export const SECURITY_EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'login.locked',
  'login.unlocked',
  'consent.granted',
  'consent.revoked',
  'code.reused',
  'refresh.reused',
  'client_auth.failed',
  'key.rotated',
  'key.retired',
  'user.created',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.password_set',
  'user.profile_updated',
  'client.created',
  'client.updated',
  'client.deleted',
  'client.secret_rotated',
  'session.revoked',
  'grant.revoked',
  'dpop.replay',
  'login.second_factor_failed',
  'two_factor.totp_enabled',
  'two_factor.totp_disabled',
  'two_factor.passkey_added',
  'two_factor.passkey_removed',
  'two_factor.recovery_codes_created',
  'two_factor.recovery_code_used',
  // The admin API, console and CLI (oauth/admin/): actions without an older type of their own.
  'admin.role_granted',
  'admin.role_revoked',
  'admin.second_factors_removed',
  'admin.session_ended',
  'admin.client_disabled',
  'admin.client_enabled',
  'admin.resource_created',
  'admin.resource_updated',
  'admin.resource_deleted',
] as const;
export type SecurityEventType = (typeof SECURITY_EVENT_TYPES)[number];

export interface SecurityEventInput {
  type: SecurityEventType;
  userId?: string | null;
  username?: string | null;
  clientId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

/** Detail names that could only hold a secret; such a field is dropped, never written. */
const SECRET_FIELD = /(password|secret|token|code|assertion|cookie|authorization)$/i;
/** Fields that end like a secret name but hold none (identifiers and counts). */
const NOT_SECRET = new Set(['error_code', 'token_type', 'status_code']);

function withoutSecrets(details: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(details)) if (v !== undefined && (NOT_SECRET.has(k) || !SECRET_FIELD.test(k))) out[k] = v;
  return out;
}

/** Types selected by `--type X`: the exact type, or every type under the prefix `X.`. */
export function eventTypesMatching(selector: string): SecurityEventType[] {
  return SECURITY_EVENT_TYPES.filter((t) => t === selector || t.startsWith(`${selector}.`));
}

let sequence = 0;
/** Sortable ids: events of one process list in the order they happened, even within one second. */
function eventId(): string {
  sequence = (sequence + 1) % 0x10000;
  return `${Date.now().toString(16).padStart(12, '0')}${sequence.toString(16).padStart(4, '0')}${randomToken(12)}`;
}

export class SecurityEvents {
  /** Set once the server's logger exists; until then lines go to standard error. */
  log: Log | undefined;
  /** Told the type of every event as it is recorded (the metrics count some of them). */
  observer: ((type: SecurityEventType) => void) | undefined;
  constructor(
    private readonly repository: Pick<SecurityEventRepository, 'insert'>,
    private readonly clock: Clock,
    log?: Log,
  ) {
    this.log = log;
  }

  async record(input: SecurityEventInput): Promise<SecurityEvent> {
    const event: SecurityEvent = {
      id: eventId(),
      type: input.type,
      createdAt: this.clock(),
      userId: input.userId ?? null,
      username: input.username ?? null,
      clientId: input.clientId ?? null,
      ip: input.ip ?? null,
      details: withoutSecrets(input.details ?? {}),
    };
    const line = {
      security_event: event.type,
      event_id: event.id,
      user_id: event.userId ?? undefined,
      username: event.username ?? undefined,
      client_id: event.clientId ?? undefined,
      ip: event.ip ?? undefined,
      ...event.details,
    };
    this.write(line, 'security event');
    this.observer?.(event.type);
    try {
      await this.repository.insert(event);
    } catch (err) {
      this.write({ security_event: event.type, event_id: event.id, err }, 'security event not stored');
    }
    return event;
  }

  private write(obj: Record<string, unknown>, msg: string): void {
    if (this.log) this.log.warn(obj, msg);
    else process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj, err: obj.err ? String(obj.err) : undefined })}\n`);
  }
}
