// RFC 6750 §2.1 (Authorization request header), §2.2 (form-encoded body parameter), §2.3 + OAuth 2.1 §5.1
// (a token in the URI query MUST be ignored), §3.1 (invalid_request for a malformed request or a token sent
// more than one way); RFC 9110 §11.1 (the auth scheme name is case-insensitive).

import { InvalidRequestError, MissingTokenError } from './errors.js';
import { BodyTooLargeError, readTextBounded } from './read-bounded.js';

/**
 * A Node-style request: Node's `IncomingMessage`, Express's `req`, or Fastify's `request`.
 * `body` is only looked at when it was already parsed (an object of form fields, or the raw form string).
 * `rawHeaders` (Node's) lets a repeated `Authorization` header be detected, since Node keeps only the first.
 */
export interface NodeRequestLike {
  headers: Readonly<Record<string, string | readonly string[] | undefined>> | Headers;
  method?: string | undefined;
  body?: unknown;
  rawHeaders?: readonly string[] | undefined;
}

/** What `verifyAccessToken` accepts: a raw token, a Fetch API `Request`, or a Node-style request. */
export type AccessTokenInput = string | Request | NodeRequestLike;

/** RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
export const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
/** RFC 9110 §5.6.2 token, as used for the auth-scheme. */
const AUTHORIZATION = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;
/** A form body is read (Fetch `Request` only) up to this many bytes. */
const MAX_FORM_BODY_BYTES = 1024 * 1024;

function isFetchRequest(input: object): input is Request {
  if (typeof Request === 'function' && input instanceof Request) return true;
  const candidate = input as { headers?: unknown; clone?: unknown; text?: unknown };
  return (
    typeof candidate.clone === 'function' &&
    typeof candidate.text === 'function' &&
    typeof (candidate.headers as { get?: unknown } | undefined)?.get === 'function'
  );
}

function headerValues(headers: NodeRequestLike['headers'], name: string): string[] {
  if (typeof (headers as Headers).get === 'function') {
    const value = (headers as Headers).get(name);
    return value === null ? [] : [value];
  }
  const value = (headers as Readonly<Record<string, string | readonly string[] | undefined>>)[name];
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}

function isFormPost(method: string | undefined, contentType: string | undefined): boolean {
  if (method?.toUpperCase() !== 'POST' || contentType === undefined) return false;
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded';
}

/** The Bearer token of the Authorization header, undefined when there is none (or another scheme). */
function tokenFromAuthorization(values: readonly string[], rawCount: number): string | undefined {
  if (values.length > 1 || rawCount > 1) throw new InvalidRequestError('The Authorization header is repeated');
  const value = values[0];
  if (value === undefined) return undefined;
  const match = AUTHORIZATION.exec(value.trim());
  if (match === null) throw new InvalidRequestError('The Authorization header is malformed');
  const [, scheme = '', credentials] = match;
  if (scheme.toLowerCase() !== 'bearer') return undefined;
  if (credentials === undefined || credentials === '') throw new InvalidRequestError('The Bearer credentials are missing');
  if (!B64TOKEN.test(credentials)) throw new InvalidRequestError('The Bearer credentials are malformed');
  return credentials;
}

/** The `access_token` form parameter, undefined when absent or empty (RFC 6749 §3.1). */
function tokenFromForm(values: readonly unknown[]): string | undefined {
  if (values.length > 1) throw new InvalidRequestError('The access_token parameter is repeated');
  const value = values[0];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !B64TOKEN.test(value)) {
    throw new InvalidRequestError('The access_token parameter is malformed');
  }
  return value;
}

function formValues(body: unknown): unknown[] {
  if (typeof body === 'string') return new URLSearchParams(body).getAll('access_token');
  if (body instanceof Uint8Array) return new URLSearchParams(new TextDecoder().decode(body)).getAll('access_token');
  if (body instanceof URLSearchParams) return body.getAll('access_token');
  if (typeof body === 'object' && body !== null && Object.hasOwn(body, 'access_token')) {
    const value = (body as Record<string, unknown>)['access_token'];
    return Array.isArray(value) ? value : [value];
  }
  return [];
}

function countRawAuthorization(rawHeaders: readonly string[] | undefined): number {
  if (rawHeaders === undefined) return 0;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === 'authorization') count++;
  }
  return count;
}

function combine(fromHeader: string | undefined, fromBody: string | undefined): string {
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw new InvalidRequestError('The access token was sent in more than one way');
  }
  const token = fromHeader ?? fromBody;
  if (token === undefined) throw new MissingTokenError();
  return token;
}

/**
 * Finds the access token in a request, as RFC 6750 allows: the `Authorization: Bearer` header, or the
 * `access_token` parameter of a form-encoded POST body. The URI query is never looked at.
 * Throws MissingTokenError (no credentials) or InvalidRequestError (malformed or ambiguous request).
 */
export async function extractAccessToken(input: Request | NodeRequestLike): Promise<string> {
  if (isFetchRequest(input)) {
    const fromHeader = tokenFromAuthorization(headerValues(input.headers, 'authorization'), 0);
    let fromBody: string | undefined;
    if (isFormPost(input.method, input.headers.get('content-type') ?? undefined) && !input.bodyUsed) {
      let text: string;
      try {
        text = await readTextBounded(input.clone().body, MAX_FORM_BODY_BYTES);
      } catch (error) {
        if (error instanceof BodyTooLargeError) throw new InvalidRequestError('The request body is too large');
        throw new InvalidRequestError('The request body could not be read', { cause: error });
      }
      fromBody = tokenFromForm(new URLSearchParams(text).getAll('access_token'));
    }
    return combine(fromHeader, fromBody);
  }
  const fromHeader = tokenFromAuthorization(headerValues(input.headers, 'authorization'), countRawAuthorization(input.rawHeaders));
  const contentType = headerValues(input.headers, 'content-type')[0];
  const fromBody = isFormPost(input.method, contentType) ? tokenFromForm(formValues(input.body)) : undefined;
  return combine(fromHeader, fromBody);
}
