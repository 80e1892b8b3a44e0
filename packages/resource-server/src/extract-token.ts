// RFC 6750 §2.1 (Authorization request header), §2.2 (form-encoded body parameter), §2.3 + OAuth 2.1 §5.1
// (a token in the URI query MUST be ignored), §3.1 (invalid_request for a malformed request or a token sent
// more than one way); RFC 9110 §11.1 (the auth scheme name is case-insensitive); RFC 9449 §7.1 (the
// `DPoP` scheme, with the proof in the `DPoP` header).

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
  /** The request target (path and query) as received: Node's and Fastify's `url`. */
  url?: string | undefined;
  /** Express's path before any router mount point was stripped. Preferred over `url`. */
  originalUrl?: string | undefined;
  /** Node's socket: `encrypted` tells https from http when no public URL is configured. */
  socket?: object | undefined;
}

/** The credentials of a request: the token, the scheme it came with, and any DPoP proofs. */
export interface Credentials {
  token: string;
  /** `DPoP` for `Authorization: DPoP`, `Bearer` for a Bearer header or a form-body token. */
  scheme: 'Bearer' | 'DPoP';
  /** The values of the `DPoP` header (a repeated or comma-joined header gives several). */
  proofs: string[];
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

/** The Bearer or DPoP token of the Authorization header, undefined when there is none (or another scheme). */
function tokenFromAuthorization(values: readonly string[], rawCount: number): { token: string; scheme: 'Bearer' | 'DPoP' } | undefined {
  if (values.length > 1 || rawCount > 1) throw new InvalidRequestError('The Authorization header is repeated');
  const value = values[0];
  if (value === undefined) return undefined;
  const match = AUTHORIZATION.exec(value.trim());
  if (match === null) throw new InvalidRequestError('The Authorization header is malformed');
  const [, scheme = '', credentials] = match;
  const name = scheme.toLowerCase() === 'bearer' ? 'Bearer' : scheme.toLowerCase() === 'dpop' ? 'DPoP' : undefined;
  if (name === undefined) return undefined;
  if (credentials === undefined || credentials === '') throw new InvalidRequestError(`The ${name} credentials are missing`);
  if (!B64TOKEN.test(credentials)) throw new InvalidRequestError(`The ${name} credentials are malformed`);
  return { token: credentials, scheme: name };
}

/** The DPoP header's values: a JWT has no comma, so a comma-joined (repeated) header gives several. */
function proofsFrom(values: readonly string[]): string[] {
  return values
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '');
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

function countRaw(rawHeaders: readonly string[] | undefined, name: string): number {
  if (rawHeaders === undefined) return 0;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === name) count++;
  }
  return count;
}

function combine(
  fromHeader: { token: string; scheme: 'Bearer' | 'DPoP' } | undefined,
  fromBody: string | undefined,
  proofs: string[],
): Credentials {
  if (fromHeader !== undefined && fromBody !== undefined) {
    throw new InvalidRequestError('The access token was sent in more than one way');
  }
  if (fromHeader !== undefined) return { ...fromHeader, proofs };
  if (fromBody === undefined) throw new MissingTokenError();
  return { token: fromBody, scheme: 'Bearer', proofs };
}

/**
 * Finds the access token in a request, as RFC 6750 allows: the `Authorization: Bearer` header, or the
 * `access_token` parameter of a form-encoded POST body; or, RFC 9449 §7.1, `Authorization: DPoP` with
 * the proof in the `DPoP` header. The URI query is never looked at.
 * Throws MissingTokenError (no credentials) or InvalidRequestError (malformed or ambiguous request).
 */
export async function extractCredentials(input: Request | NodeRequestLike): Promise<Credentials> {
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
    return combine(fromHeader, fromBody, proofsFrom(headerValues(input.headers, 'dpop')));
  }
  const fromHeader = tokenFromAuthorization(headerValues(input.headers, 'authorization'), countRaw(input.rawHeaders, 'authorization'));
  const contentType = headerValues(input.headers, 'content-type')[0];
  const fromBody = isFormPost(input.method, contentType) ? tokenFromForm(formValues(input.body)) : undefined;
  const proofs = proofsFrom(headerValues(input.headers, 'dpop'));
  // Node keeps the first of some repeated headers: rawHeaders tells that there were several.
  const rawProofs = countRaw(input.rawHeaders, 'dpop');
  return combine(
    fromHeader,
    fromBody,
    rawProofs > proofs.length ? [...proofs, ...Array<string>(rawProofs - proofs.length).fill('')] : proofs,
  );
}

/** The access token of a request (see extractCredentials), whichever scheme carried it. */
export async function extractAccessToken(input: Request | NodeRequestLike): Promise<string> {
  return (await extractCredentials(input)).token;
}
