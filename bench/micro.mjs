// In-process measurements, run by bench/run.mjs as a child pinned to the server core while no server
// is under load. Prints one JSON line.
//   verify: packages/resource-server's verifier (JWKS fetched once from a local node:http server and
//           cached) against raw jose.jwtVerify with the public key in hand, same token, same checks;
//           interleaved rounds, the median of each.
//   hash:   ms per argon2id hash and per verification with Gatehouse's parameters (oauth/passwords.js).
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { createVerifier } from '../packages/resource-server/dist/src/index.js';
import { hashPassword, verifyPassword } from '../packages/server/dist/src/oauth/passwords.js';

const seconds = Number(process.argv[2] ?? 1);
const rounds = Number(process.argv[3] ?? 3);
const issuer = 'http://127.0.0.1:9000';
const audience = 'https://api.bench.example';

const { publicKey, privateKey } = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ keys: [jwk] }));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const jwksUri = `http://127.0.0.1:${server.address().port}/jwks`;

const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ client_id: 'c1', scope: 'api:read' })
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
  .setIssuer(issuer)
  .setAudience(audience)
  .setSubject('user-1')
  .setJti('j1')
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey);

const verify = createVerifier({ issuer, audience, jwksUri });
await verify(token); // fetches the JWKS once
const raw = () =>
  jwtVerify(token, publicKey, {
    issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['ES256'],
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id'],
  });
const rs = () => verify(token, { scopes: ['api:read'] });

async function rate(fn) {
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  const start = process.hrtime.bigint();
  let n = 0;
  while (process.hrtime.bigint() < end) {
    for (let i = 0; i < 50; i++) await fn();
    n += 50;
  }
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

await rate(raw); // warm-up
await rate(rs);
const rawRates = [];
const rsRates = [];
for (let i = 0; i < rounds; i++) {
  rawRates.push(await rate(raw));
  rsRates.push(await rate(rs));
}
server.close();

const hashMs = [];
const verifyMs = [];
let hash;
for (let i = 0; i < 6; i++) {
  const t0 = process.hrtime.bigint();
  hash = await hashPassword('correct horse battery staple');
  hashMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  const t1 = process.hrtime.bigint();
  await verifyPassword(hash, 'correct horse battery staple');
  verifyMs.push(Number(process.hrtime.bigint() - t1) / 1e6);
}

process.stdout.write(
  `${JSON.stringify({
    verify: { resource_server_ops: median(rsRates), jose_ops: median(rawRates), rounds_rs: rsRates, rounds_jose: rawRates },
    password: { hash_ms: median(hashMs), verify_ms: median(verifyMs) },
  })}\n`,
);
