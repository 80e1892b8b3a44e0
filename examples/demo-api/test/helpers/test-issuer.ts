// A stand-in authorization server for the API tests: RFC 8414 metadata and a JWKS on
// 127.0.0.1:0, and RFC 9068 access tokens signed with its local RSA key.
import { generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestIssuer {
  issuer: string;
  /** Signs an access token: defaults iss/aud/sub/client_id/iat/exp/jti, `claims` override them. */
  accessToken(claims?: Record<string, unknown>, options?: { key?: KeyObject; kid?: string; typ?: string }): string;
  /** A key that is not in the JWKS. */
  strangerKey: KeyObject;
  close(): Promise<void>;
}

const b64u = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export async function startTestIssuer(audience: string): Promise<TestIssuer> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const kid = 'test-key';
  let issuer = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration') {
      return send({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token` });
    }
    if (path === '/jwks') {
      return send({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    strangerKey: stranger,
    accessToken(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const header = { alg: 'RS256', typ: options.typ ?? 'at+jwt', kid: options.kid ?? kid };
      const payload = {
        iss: issuer,
        aud: audience,
        sub: 'user-alice',
        client_id: 'photo-printer',
        scope: 'openid photos:read',
        iat: now,
        exp: now + 300,
        jti: randomUUID(),
        ...claims,
      };
      const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
      return `${input}.${b64u(sign('sha256', Buffer.from(input), options.key ?? privateKey))}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
