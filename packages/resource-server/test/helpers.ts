// Test fixtures: a tiny authorization server on 127.0.0.1 (discovery, JWKS, introspection) that counts
// what it serves, real keys made with jose, and a compact-JWS signer that lets a test forge any header.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';

export const AUDIENCE = 'https://photos.example/api';
export const OTHER_AUDIENCE = 'https://notes.example/api';

export interface TestKey {
  kid: string;
  alg: 'ES256' | 'RS256' | 'PS256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** Public JWK as published (kid, alg, use). */
  jwk: JWK;
}

export async function makeKey(alg: TestKey['alg'], kid = `${alg.toLowerCase()}-${randomUUID()}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export async function spkiPem(key: TestKey): Promise<string> {
  return exportSPKI(key.publicKey);
}

const b64u = (data: Uint8Array | string): string =>
  Buffer.from(typeof data === 'string' ? new TextEncoder().encode(data) : data).toString('base64url');

/**
 * Signs a compact JWS exactly as given: `signer` is a private CryptoKey (ECDSA/RSA), an HMAC secret (bytes),
 * or null for an unsigned `alg: none` token. Nothing is added to the header or payload.
 */
export async function signCompact(
  header: Record<string, unknown>,
  payload: Record<string, unknown> | string,
  signer: CryptoKey | Uint8Array | null,
): Promise<string> {
  const input = `${b64u(JSON.stringify(header))}.${b64u(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
  if (signer === null) return `${input}.`;
  const data = new TextEncoder().encode(input);
  let signature: ArrayBuffer;
  if (signer instanceof Uint8Array) {
    const key = await crypto.subtle.importKey('raw', new Uint8Array(signer), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    signature = await crypto.subtle.sign('HMAC', key, data);
  } else if (signer.algorithm.name === 'ECDSA') {
    signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer, data);
  } else if (signer.algorithm.name === 'RSA-PSS') {
    signature = await crypto.subtle.sign({ name: 'RSA-PSS', saltLength: 32 }, signer, data);
  } else {
    signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', signer, data);
  }
  return `${input}.${b64u(new Uint8Array(signature))}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export interface MintOptions {
  key?: TestKey;
  /** Claims merged over the defaults; a value of undefined removes the claim. */
  claims?: Record<string, unknown>;
  /** Header members merged over the defaults ({ alg, kid, typ: 'at+jwt' }); undefined removes one. */
  header?: Record<string, unknown>;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...base, ...over };
  for (const [name, value] of Object.entries(out)) if (value === undefined) delete out[name];
  return out;
}

export interface TestAuthServer {
  issuer: string;
  jwksUri: string;
  introspectionEndpoint: string;
  es256: TestKey;
  rs256: TestKey;
  /** Requests served, per endpoint. */
  counts: { oauthMetadata: number; openidMetadata: number; jwks: number; introspection: number; attacker: number };
  /** The JWKS served (mutable: rotation tests publish new keys). */
  jwks: JWK[];
  /** Status of each metadata document (404 to make it missing); issuer it claims (to fake a mismatch). */
  metadata: { oauthStatus: number; openidStatus: number; issuer: string | undefined };
  /** Status of the JWKS endpoint (500 to simulate an outage). */
  jwksStatus: number;
  /** Introspection answers by token; unknown tokens are inactive. */
  introspection: Map<string, Record<string, unknown>>;
  introspectionClient: { id: string; secret: string };
  /** What the last introspection request looked like. */
  lastIntrospection: { authorization: string | undefined; contentType: string | undefined; body: string } | undefined;
  /** A JWT access token signed with `options.key` (default ES256) for `AUDIENCE`, valid for 10 minutes. */
  mint(options?: MintOptions): Promise<string>;
  close(): Promise<void>;
}

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/** Starts the fake authorization server on 127.0.0.1, port 0. */
export async function startAuthServer(): Promise<TestAuthServer> {
  const es256 = await makeKey('ES256');
  const rs256 = await makeKey('RS256');
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const state: TestAuthServer = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    introspectionEndpoint: `${issuer}/introspect`,
    es256,
    rs256,
    counts: { oauthMetadata: 0, openidMetadata: 0, jwks: 0, introspection: 0, attacker: 0 },
    jwks: [es256.jwk, rs256.jwk],
    metadata: { oauthStatus: 200, openidStatus: 200, issuer: undefined },
    jwksStatus: 200,
    introspection: new Map(),
    introspectionClient: { id: 'rs a', secret: 'p@ss:wörd/+' },
    lastIntrospection: undefined,
    async mint(options = {}) {
      const key = options.key ?? es256;
      const now = nowSeconds();
      const header = merge({ alg: key.alg, kid: key.kid, typ: 'at+jwt' }, options.header);
      const claims = merge(
        {
          iss: issuer,
          sub: 'user-1',
          aud: AUDIENCE,
          client_id: 'client-1',
          scope: 'openid photos:read',
          iat: now,
          exp: now + 600,
          jti: randomUUID(),
        },
        options.claims,
      );
      return signCompact(header, claims, key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const document = () => ({
    issuer: state.metadata.issuer ?? issuer,
    jwks_uri: state.jwksUri,
    introspection_endpoint: state.introspectionEndpoint,
  });

  server.on('request', (request, response) => {
    void (async () => {
      const path = new URL(request.url ?? '/', issuer).pathname;
      if (request.method === 'GET' && path === '/.well-known/oauth-authorization-server') {
        state.counts.oauthMetadata++;
        if (state.metadata.oauthStatus !== 200) return json(response, state.metadata.oauthStatus, { error: 'not_found' });
        return json(response, 200, document());
      }
      if (request.method === 'GET' && path === '/.well-known/openid-configuration') {
        state.counts.openidMetadata++;
        if (state.metadata.openidStatus !== 200) return json(response, state.metadata.openidStatus, { error: 'not_found' });
        return json(response, 200, document());
      }
      if (request.method === 'GET' && path === '/jwks') {
        state.counts.jwks++;
        if (state.jwksStatus !== 200) return json(response, state.jwksStatus, { error: 'server_error' });
        return json(response, 200, { keys: state.jwks });
      }
      if (request.method === 'GET' && path === '/attacker-jwks') {
        state.counts.attacker++;
        return json(response, 200, { keys: [] });
      }
      if (request.method === 'POST' && path === '/introspect') {
        state.counts.introspection++;
        const body = await readBody(request);
        state.lastIntrospection = {
          authorization: request.headers.authorization,
          contentType: request.headers['content-type'],
          body,
        };
        const { id, secret } = state.introspectionClient;
        const form = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
        const expected = `Basic ${Buffer.from(`${form(id)}:${form(secret)}`).toString('base64')}`;
        if (request.headers.authorization !== expected) return json(response, 401, { error: 'invalid_client' });
        const token = new URLSearchParams(body).get('token') ?? '';
        return json(response, 200, state.introspection.get(token) ?? { active: false });
      }
      return json(response, 404, { error: 'not_found' });
    })();
  });
  return state;
}

/** An active introspection answer for `AUDIENCE`, valid for 10 minutes, merged with `extra`. */
export function activeIntrospection(issuer: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return merge(
    {
      active: true,
      iss: issuer,
      sub: 'user-1',
      aud: AUDIENCE,
      client_id: 'client-1',
      scope: 'openid photos:read',
      iat: now,
      exp: now + 600,
      jti: randomUUID(),
      token_type: 'Bearer',
    },
    extra,
  );
}

/** Awaits a promise that must reject, and returns the rejection (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
