// The limit: what one core can do with node:http and nothing else. Two answers:
//   /static  a token-sized JSON body, fixed (the ceiling of any JSON endpoint)
//   /sign    the same body around a fresh ES256 JWT per request, signed with node:crypto (the
//            ceiling of an endpoint that must sign one token per request)
// Every request body is read before answering, as a server must. Prints `listening on URL`.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const b64 = (s) => Buffer.from(s).toString('base64url');
const header = b64(JSON.stringify({ alg: 'ES256', typ: 'at+jwt', kid: 'limit-key-0000000000000000000000000000000' }));
const issuer = 'http://127.0.0.1:9000';

function jwt() {
  const now = Math.floor(Date.now() / 1000);
  const payload = b64(
    JSON.stringify({
      iss: issuer,
      sub: 'AbCdEfGhIjKlMnOpQrStUv',
      aud: 'https://api.bench.example',
      exp: now + 600,
      iat: now,
      jti: randomBytes(16).toString('base64url'),
      client_id: 'AbCdEfGhIjKlMnOpQrStUv',
      scope: 'api:read',
    }),
  );
  const input = `${header}.${payload}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

const body = (token) => JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 600, scope: 'api:read' });
const staticBody = Buffer.from(body(jwt()));

const server = createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const payload = req.url === '/sign' ? Buffer.from(body(jwt())) : staticBody;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length, 'cache-control': 'no-store' });
    res.end(payload);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
