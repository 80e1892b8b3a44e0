// RFC 6749 §3.2: form-encoded request bodies only, parsed strictly, repeated parameters rejected.
import type { FastifyRequest } from 'fastify';
import { invalidRequest } from '../oauth/errors.js';
import { queryOf, rejectRepeated, type Params } from '../oauth/params.js';

/** The form body of a POST; JSON or any other content type is refused (TE-02, IN-06). */
export function formParams(request: FastifyRequest, options: { allowQuery?: boolean } = {}): Params {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' || !(request.body instanceof Map)) {
    throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  }
  if (!options.allowQuery && queryOf(request.url).length > 0) {
    throw invalidRequest('parameters must be sent in the request body, not in the URL');
  }
  const params = request.body as Map<string, string[]>;
  rejectRepeated(params);
  return params;
}

