// RFC 6749 §2.1, OAuth 2.1 §2.4: a public client names itself with client_id and proves nothing; PKCE
// and the exact redirect URI protect its codes.
import { single } from '../params.js';
import type { ClientAuthStrategy } from './types.js';

export const noClientAuthentication = {
  method: 'none' as const,
  confidential: false,
  uses: (request) => request.params.has('client_id'),
  extract: (request) => ({ clientId: single(request.params, 'client_id')! }),
  verify: (_presented, client) => client !== undefined,
} satisfies ClientAuthStrategy;
