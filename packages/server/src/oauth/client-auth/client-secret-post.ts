// RFC 6749 §2.3.1: client_id and client_secret in the form body.
import { single } from '../params.js';
import { secretMatches } from './secret.js';
import { ClientAuthFailure, type ClientAuthStrategy } from './types.js';

export const clientSecretPost = {
  method: 'client_secret_post' as const,
  confidential: true,
  uses: (request) => request.params.has('client_secret'),
  extract(request) {
    const clientId = single(request.params, 'client_id');
    if (clientId === undefined) throw new ClientAuthFailure('client_secret without client_id');
    return { clientId, secret: single(request.params, 'client_secret')! };
  },
  verify: secretMatches,
} satisfies ClientAuthStrategy;
