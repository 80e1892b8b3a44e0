// The security event log as the admin API and console read it (EV-01), with the CLI's filters.
import type { SecurityEvent } from '../../storage/index.js';
import { eventTypesMatching } from '../security-events.js';
import { badInput, type AdminContext } from './context.js';

export interface EventFilter {
  since?: number | undefined;
  /** Exact types or subjects (`login` selects login.*). */
  types?: readonly string[] | undefined;
  userId?: string | undefined;
  clientId?: string | undefined;
  limit?: number | undefined;
}

export async function listEvents(ctx: Pick<AdminContext, 'storage'>, filter: EventFilter = {}): Promise<SecurityEvent[]> {
  const types = (filter.types ?? []).flatMap((t) => {
    const matched = eventTypesMatching(t);
    if (matched.length === 0) throw badInput('no security event type is or starts with that type');
    return matched;
  });
  const limit = filter.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw badInput('limit must be a whole number from 1 to 10000');
  return ctx.storage.securityEvents.list({
    ...(filter.since !== undefined ? { since: filter.since } : {}),
    types,
    ...(filter.userId !== undefined ? { userId: filter.userId } : {}),
    ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
    limit,
  });
}
