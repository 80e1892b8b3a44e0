// The one reader of request parameters (RFC 6749 §3.1, §3.2). The body parser registered in app.ts
// turns an application/x-www-form-urlencoded body into a Map (strictly: bad encoding is an
// invalid_request); these functions pick where parameters may come from.
import type { FastifyRequest } from 'fastify';
import { invalidRequest } from '../oauth/errors.js';
import { parseUrlEncoded, ParamsError, queryOf, rejectRepeated, type Params } from '../oauth/params.js';

function isFormBody(request: FastifyRequest): boolean {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded' && request.body instanceof Map;
}

/**
 * The form body of a POST, repeated parameters rejected (TE-02, IN-06): JSON or any other content type
 * is refused, and so are parameters in the URL unless `allowQuery`.
 */
export function formBody(request: FastifyRequest, options: { allowQuery?: boolean } = {}): Params {
  if (!isFormBody(request)) throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  if (!options.allowQuery && queryOf(request.url).length > 0)
    throw invalidRequest('parameters must be sent in the request body, not in the URL');
  const params = request.body as Params;
  rejectRepeated(params);
  return params;
}

/**
 * Parameters of an endpoint that takes GET and POST (authorization, end-session): the query of a GET,
 * the form body of a POST, never both. Repeated parameters are left for the endpoint to judge.
 */
export function queryOrBody(request: FastifyRequest): Params {
  const query = queryOf(request.url);
  if (request.method === 'GET') {
    try {
      return parseUrlEncoded(query);
    } catch (e) {
      if (e instanceof ParamsError) throw invalidRequest(e.message);
      throw e;
    }
  }
  if (!isFormBody(request)) throw invalidRequest('the request body must be application/x-www-form-urlencoded');
  if (query.length > 0) throw invalidRequest('send the parameters either in the URL or in the body, not both');
  return request.body as Params;
}
