// Request ids: every request gets one, Fastify's `request.id`, which pino writes as `reqId` on every
// log line of the request; it is echoed in the X-Request-Id response header, in JSON error bodies
// (`request_id`) and on error pages ("Reference: …"), so that an operator finds the log lines of the
// answer a user reports.
//
// The id is random (96 bits, 16 base64url characters), never a sequence that reveals the request
// rate. An incoming X-Request-Id is taken over only from a trusted reverse proxy (--trust-proxy
// addresses, checked against the socket's peer, or --trust-proxy-hops, where every peer is the proxy)
// and only when it is short and safe (1 to 64 of A-Z a-z 0-9 . _ : -), so that the proxy's logs and
// ours share one id; from anybody else the header is ignored, since a client could otherwise write
// misleading ids into our logs or reuse another request's.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config/config.js';
import { randomToken } from '../oauth/crypto.js';

export const REQUEST_ID_HEADER = 'x-request-id';
const SAFE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Which socket peers may hand us their request id: the configured proxies (or any peer, with hops). */
function trustedPeers(config: Pick<Config, 'trustProxy' | 'trustProxyHops'>): ((address: string | undefined) => boolean) | undefined {
  if (config.trustProxyHops > 0) return () => true;
  if (config.trustProxy.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of config.trustProxy) {
    const [address, prefix] = entry.split('/');
    const type = isIP(address!) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(prefix), type);
  }
  return (address) => {
    if (address === undefined) return false;
    const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const type = isIP(plain);
    return type !== 0 && list.check(plain, type === 6 ? 'ipv6' : 'ipv4');
  };
}

/** Fastify's genReqId for this configuration. */
export function requestIdGenerator(config: Pick<Config, 'trustProxy' | 'trustProxyHops'>): (req: IncomingMessage) => string {
  const trusted = trustedPeers(config);
  return (req) => {
    if (trusted) {
      const incoming = req.headers[REQUEST_ID_HEADER];
      if (typeof incoming === 'string' && SAFE_ID.test(incoming) && trusted(req.socket?.remoteAddress)) return incoming;
    }
    return randomToken(12);
  };
}

/** A JSON error body with the request's id as an extra member (RFC 6749 §5.2 allows extensions). */
export function errorBody<T extends { error: string }>(body: T, request: Pick<FastifyRequest, 'id'>): T & { request_id: string } {
  return { ...body, request_id: request.id };
}
