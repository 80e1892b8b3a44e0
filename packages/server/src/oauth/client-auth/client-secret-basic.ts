// RFC 6749 §2.3.1: HTTP Basic with client_id and client_secret form-urlencoded before base64.
import { invalidRequest } from '../errors.js';
import { single } from '../params.js';
import { secretMatches } from './secret.js';
import { ClientAuthFailure, type ClientAuthStrategy } from './types.js';

export interface BasicCredentials {
  clientId: string;
  clientSecret: string;
}

const formDecode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));

/** Parses `Basic <base64>`; returns undefined for another scheme, null when Basic is malformed. */
export function parseBasic(header: string | undefined): BasicCredentials | null | undefined {
  if (header === undefined) return undefined;
  const m = /^basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!m) return /^basic(?: |$)/i.test(header.trim()) ? null : undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  try {
    const clientId = formDecode(decoded.slice(0, colon));
    const clientSecret = formDecode(decoded.slice(colon + 1));
    if (clientId.length === 0 || clientSecret.length === 0) return null;
    return { clientId, clientSecret };
  } catch {
    return null;
  }
}

export const clientSecretBasic = {
  method: 'client_secret_basic' as const,
  confidential: true,
  uses: (request) => parseBasic(request.authorization) !== undefined,
  extract(request) {
    const basic = parseBasic(request.authorization);
    if (!basic) throw new ClientAuthFailure('malformed Basic credentials');
    const bodyId = single(request.params, 'client_id');
    if (bodyId !== undefined && bodyId !== basic.clientId) throw invalidRequest('client_id does not match the authenticated client');
    return { clientId: basic.clientId, secret: basic.clientSecret };
  },
  verify: secretMatches,
} satisfies ClientAuthStrategy;
