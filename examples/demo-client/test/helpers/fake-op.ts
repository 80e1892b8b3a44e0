// A tiny, scripted OpenID provider + photos API on 127.0.0.1:0 for the demo-client tests:
// just enough of RFC 6749/7636/9207 and OIDC Core to exercise the client, with a strict
// token endpoint (PKCE checked, codes single-use, refresh tokens rotated, reuse rejected).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CLIENT_ID = 'photo-printer-test';
export const CLIENT_SECRET = 'test-secret-0123456789';

const b64u = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export function signJwt(privateKey: KeyObject, kid: string, payload: Record<string, unknown>): string {
  const header = b64u(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid }));
  const body = b64u(JSON.stringify(payload));
  const signature = sign('sha256', Buffer.from(`${header}.${body}`), privateKey);
  return `${header}.${body}.${b64u(signature)}`;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string;
  sub: string;
  scope: string;
}

export interface TokenRequestRecord {
  grantType: string | null;
  code?: string | null;
  refreshToken?: string | null;
  codeVerifier?: string | null;
  authorization?: string | undefined;
  /** The DPoP proof header (RFC 9449), when the client sent one. */
  dpop?: string | undefined;
}

export interface FakeOpOptions {
  endSession?: boolean;
  accessTokenTtl?: number;
  /** Advertise and serve a pushed authorization request endpoint (RFC 9126). */
  par?: boolean;
}

/** A request pushed to /par: its parameters and the DPoP proof header, if any. */
export interface ParRequestRecord {
  params: URLSearchParams;
  requestUri: string;
  authorization?: string | undefined;
  dpop?: string | undefined;
}

export interface FakeOp {
  issuer: string;
  apiUrl: string;
  tokenRequests: TokenRequestRecord[];
  /** Requests pushed to /par (only with `par: true`). */
  parRequests: ParRequestRecord[];
  revoked: string[];
  /** Access tokens the fake API answers with 401 invalid_token. */
  rejectedAccessTokens: Set<string>;
  /** Access tokens the API accepted, in order. */
  apiCalls: string[];
  /** Access tokens issued by the token endpoint, in order. */
  issuedAccessTokens: string[];
  accessTokenTtl: number;
  /** When set, refresh requests are answered with invalid_grant. */
  refuseRefresh: boolean;
  /** What /authorize would have done after the user said yes: a code for these parameters. */
  approve(authorizationUrl: URL, sub?: string): string;
  currentRefreshToken(sub?: string): string | undefined;
  close(): Promise<void>;
}

export const USERS: Record<string, { name: string; email: string }> = {
  'user-alice': { name: 'Alice <Example>', email: 'alice@example.com' },
};

export async function startFakeOp(options: FakeOpOptions = {}): Promise<FakeOp> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = 'test-key-1';
  const codes = new Map<string, IssuedCode>();
  // refresh token -> { sub, scope, used }
  const refreshTokens = new Map<string, { sub: string; scope: string; used: boolean }>();
  const accessTokens = new Map<string, { sub: string; scope: string }>();
  let issuer = '';

  const state: FakeOp = {
    issuer: '',
    apiUrl: '',
    tokenRequests: [],
    parRequests: [],
    revoked: [],
    rejectedAccessTokens: new Set(),
    apiCalls: [],
    issuedAccessTokens: [],
    accessTokenTtl: options.accessTokenTtl ?? 600,
    refuseRefresh: false,
    approve(authorizationUrl, sub = 'user-alice') {
      // A pushed request (RFC 9126 §4): the parameters are the ones pushed, found by request_uri.
      const requestUri = authorizationUrl.searchParams.get('request_uri');
      const pushed = requestUri ? state.parRequests.find((r) => r.requestUri === requestUri) : undefined;
      if (requestUri && !pushed) throw new Error(`unknown request_uri ${requestUri}`);
      const p = pushed?.params ?? authorizationUrl.searchParams;
      const code = b64u(randomBytes(16));
      codes.set(code, {
        clientId: p.get('client_id') ?? '',
        redirectUri: p.get('redirect_uri') ?? '',
        codeChallenge: p.get('code_challenge') ?? '',
        nonce: p.get('nonce') ?? '',
        sub,
        scope: p.get('scope') ?? '',
      });
      return code;
    },
    currentRefreshToken(sub = 'user-alice') {
      for (const [token, record] of refreshTokens) if (record.sub === sub && !record.used) return token;
      return undefined;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  }

  async function form(req: IncomingMessage): Promise<URLSearchParams> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  }

  function issueTokens(sub: string, scope: string, nonce?: string): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = b64u(randomBytes(24));
    accessTokens.set(accessToken, { sub, scope });
    state.issuedAccessTokens.push(accessToken);
    const refreshToken = b64u(randomBytes(24));
    refreshTokens.set(refreshToken, { sub, scope, used: false });
    const user = USERS[sub];
    const idToken = signJwt(privateKey, kid, {
      iss: issuer,
      aud: CLIENT_ID,
      sub,
      iat: now,
      exp: now + 300,
      ...(nonce ? { nonce } : {}),
      ...(user ? { name: user.name, email: user.email } : {}),
    });
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: state.accessTokenTtl,
      scope,
      refresh_token: refreshToken,
      id_token: idToken,
    };
  }

  // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding (openid-client
  // encodes every non-alphanumeric character, e.g. "-" as %2D).
  function clientAuthenticated(req: IncomingMessage): boolean {
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!basic) return false;
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return formDecode(decoded.slice(0, colon)) === CLIENT_ID && formDecode(decoded.slice(colon + 1)) === CLIENT_SECRET;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        revocation_endpoint: `${issuer}/revoke`,
        ...(options.endSession ? { end_session_endpoint: `${issuer}/logout` } : {}),
        ...(options.par ? { pushed_authorization_request_endpoint: `${issuer}/par` } : {}),
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') {
      return json(res, 200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
    }
    if (options.par && req.method === 'POST' && url.pathname === '/par') {
      const params = await form(req);
      if (!clientAuthenticated(req)) return json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic' });
      const requestUri = `urn:ietf:params:oauth:request_uri:${b64u(randomBytes(16))}`;
      state.parRequests.push({
        params,
        requestUri,
        authorization: req.headers.authorization,
        dpop: typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined,
      });
      return json(res, 201, { request_uri: requestUri, expires_in: 60 });
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const params = await form(req);
      const record: TokenRequestRecord = {
        grantType: params.get('grant_type'),
        code: params.get('code'),
        refreshToken: params.get('refresh_token'),
        codeVerifier: params.get('code_verifier'),
        authorization: req.headers.authorization,
        dpop: typeof req.headers.dpop === 'string' ? req.headers.dpop : undefined,
      };
      state.tokenRequests.push(record);
      if (!clientAuthenticated(req)) return json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic' });
      if (record.grantType === 'authorization_code') {
        const issued = codes.get(record.code ?? '');
        codes.delete(record.code ?? '');
        const challenge = b64u(
          createHash('sha256')
            .update(record.codeVerifier ?? '')
            .digest(),
        );
        if (!issued || issued.codeChallenge !== challenge || issued.redirectUri !== params.get('redirect_uri')) {
          return json(res, 400, { error: 'invalid_grant' });
        }
        return json(res, 200, issueTokens(issued.sub, issued.scope, issued.nonce));
      }
      if (record.grantType === 'refresh_token') {
        const current = refreshTokens.get(record.refreshToken ?? '');
        if (state.refuseRefresh || !current || current.used) return json(res, 400, { error: 'invalid_grant' });
        current.used = true;
        const tokens = issueTokens(current.sub, current.scope);
        delete tokens.id_token;
        return json(res, 200, tokens);
      }
      return json(res, 400, { error: 'unsupported_grant_type' });
    }
    if (req.method === 'POST' && url.pathname === '/revoke') {
      const params = await form(req);
      if (!clientAuthenticated(req)) return json(res, 401, { error: 'invalid_client' });
      const token = params.get('token') ?? '';
      state.revoked.push(token);
      refreshTokens.delete(token);
      res.writeHead(200).end();
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const grant = bearer && !state.rejectedAccessTokens.has(bearer) ? accessTokens.get(bearer) : undefined;
    if (url.pathname === '/userinfo' || url.pathname.startsWith('/api/')) {
      if (!bearer || !grant) {
        return json(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      if (url.pathname === '/userinfo') return json(res, 200, { sub: grant.sub, ...USERS[grant.sub] });
      state.apiCalls.push(bearer);
      if (url.pathname === '/api/me') return json(res, 200, { sub: grant.sub, client_id: CLIENT_ID, scope: grant.scope });
      if (url.pathname === '/api/photos') {
        const svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 3"><rect width="4" height="3" fill="#4a7"/></svg>';
        return json(res, 200, {
          photos: [
            { id: 'p1', title: 'Harbour at dusk', thumbnail: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` },
            { id: 'p2', title: '<img src=x onerror=alert(1)>', thumbnail: 'javascript:alert(1)' },
          ],
        });
      }
    }
    json(res, 404, { error: 'not_found' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.issuer = issuer;
  state.apiUrl = `${issuer}/api`;
  return state;
}
