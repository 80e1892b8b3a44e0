// SECURITY-CHECKLIST IN-05: limits at the HTTP edge, before any parsing. RFC 9110 §15.5.9 (408),
// §15.5.15 (414), RFC 6585 §5 (431). A request line over 8 KiB gets 414, headers over 16 KiB 431, a
// client too slow to send its headers or its whole request 408 — within about a second of its
// deadline, because Node checks those deadlines every connectionsCheckingInterval (30 s by default,
// which is how a dribbled body used to take 84 s to be refused).
import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/config.js';
import { OAuthError } from '../oauth/errors.js';

/** Longest request target (path and query) answered: longer ones get 414. */
export const MAX_URL_BYTES = 8 * 1024;
/** Request line plus headers (Node's llhttp limit): more gets 431 (or 414 when the URL alone is too long). */
export const MAX_HEADER_BYTES = 16 * 1024;
/** How often Node looks for requests past their header or request deadline. */
const DEADLINE_CHECK_INTERVAL = 1000;

type EdgeConfig = Pick<Config, 'httpHeadersTimeout' | 'httpRequestTimeout'>;

/** The Fastify options that set the edge limits for a configuration. */
export function edgeServerOptions(config: EdgeConfig): {
  requestTimeout: number;
  http: ServerOptions;
  clientErrorHandler: (this: FastifyInstance, err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket) => void;
} {
  return {
    requestTimeout: config.httpRequestTimeout,
    http: {
      headersTimeout: Math.min(config.httpHeadersTimeout, config.httpRequestTimeout),
      connectionsCheckingInterval: DEADLINE_CHECK_INTERVAL,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    clientErrorHandler,
  };
}

/** Registers the URL length check: 414 as JSON, or as an error page on browser routes (the error handler decides). */
export function registerEdgeLimits(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (Buffer.byteLength(request.raw.url ?? '', 'utf8') > MAX_URL_BYTES) {
      throw new OAuthError('invalid_request', 'the request URI is too long', { status: 414 });
    }
  });
}

/** Did the header block overflow inside the request line (a URL too long for the header limit)? */
function requestLineOverflowed(raw: unknown): boolean {
  if (!Buffer.isBuffer(raw)) return false;
  const end = raw.indexOf('\r\n');
  return end === -1 ? raw.length > MAX_URL_BYTES : end > MAX_URL_BYTES;
}

/**
 * Errors Node raises before a request exists (no route, no reply): a protocol-shaped JSON answer and
 * the connection closed. A browser meets these only with a URL over 16 KiB or a slow connection.
 */
function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let status = 400;
  let description = 'the request is malformed';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = 408;
    description = 'the request was not received in time';
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    if (requestLineOverflowed(err.rawPacket)) {
      status = 414;
      description = 'the request URI is too long';
    } else {
      status = 431;
      description = 'the request headers are too large';
    }
  }
  this.log.info({ error: 'invalid_request', status, detail: err.code }, 'request refused at the edge');
  const reason = { 400: 'Bad Request', 408: 'Request Timeout', 414: 'URI Too Long', 431: 'Request Header Fields Too Large' }[status];
  const body = JSON.stringify({ error: 'invalid_request', error_description: description });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
