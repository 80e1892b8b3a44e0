// RFC 9449 DPoP at a resource server (checklist DP-01, DP-02): the proof verifier on its own, then the
// verifier with a Fetch Request, the Express middleware and the Fastify plugin. Every rejection the
// RFC names is a test here.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import express from 'express';
import Fastify from 'fastify';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import {
  accessTokenHash,
  createVerifier,
  DpopProofError,
  expressAccessToken,
  fastifyAccessToken,
  InvalidDpopProofError,
  InvalidTokenError,
  MemoryDpopReplayCache,
  normalizeHtu,
  verifyDpopProof,
  type AccessTokenVerifier,
  type DpopProofCheck,
} from '../src/index.js';
import { AUDIENCE, nowSeconds, rejection, signCompact, startAuthServer, type TestAuthServer } from './helpers.js';

interface ProofKey {
  privateKey: CryptoKey;
  jwk: JWK;
  privateJwk: JWK;
  jkt: string;
}

async function proofKey(): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, jwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(jwk) };
}

interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  accessToken?: string;
  /** Header members merged over { typ, alg, jwk }; undefined removes one. */
  header?: Record<string, unknown>;
  /** Claims merged over the defaults; undefined removes one. */
  claims?: Record<string, unknown>;
  signer?: CryptoKey | Uint8Array | null;
}

async function proof(key: ProofKey, options: ProofOptions = {}): Promise<string> {
  const header: Record<string, unknown> = { typ: 'dpop+jwt', alg: 'ES256', jwk: key.jwk, ...options.header };
  const payload: Record<string, unknown> = {
    htm: options.htm ?? 'GET',
    htu: options.htu ?? 'https://photos.example/api/photos',
    iat: options.iat ?? nowSeconds(),
    jti: options.jti ?? randomUUID(),
    ...(options.accessToken === undefined ? {} : { ath: await accessTokenHash(options.accessToken) }),
    ...options.claims,
  };
  for (const record of [header, payload]) for (const [k, v] of Object.entries(record)) if (v === undefined) delete record[k];
  return signCompact(header, payload, options.signer === undefined ? key.privateKey : options.signer);
}

let key: ProofKey;
let otherKey: ProofKey;
before(async () => {
  key = await proofKey();
  otherKey = await proofKey();
});

function check(proofs: string[], overrides: Partial<DpopProofCheck> = {}): DpopProofCheck {
  return {
    proofs,
    method: 'GET',
    url: 'https://photos.example/api/photos?page=2',
    now: nowSeconds(),
    replayCache: new MemoryDpopReplayCache(),
    ...overrides,
  };
}

async function refused(promise: Promise<unknown>, code = 'invalid_dpop_proof'): Promise<DpopProofError> {
  const error = await rejection(promise);
  assert.ok(error instanceof DpopProofError, `expected a DpopProofError, got ${String(error)}`);
  assert.equal(error.code, code);
  return error;
}

describe('verifyDpopProof', () => {
  it('DP-01 a valid proof is accepted and yields the RFC 7638 thumbprint of its key', async () => {
    const verified = await verifyDpopProof(check([await proof(key)]));
    assert.equal(verified.jkt, key.jkt);
    assert.equal(verified.alg, 'ES256');
  });

  it('DP-01 htu is compared without query and fragment, after normalisation', async () => {
    const url = 'https://Photos.Example:443/api/photos?page=2#x';
    assert.equal(normalizeHtu(url), 'https://photos.example/api/photos');
    await verifyDpopProof(check([await proof(key, { htu: 'HTTPS://photos.example:443/api/photos' })], { url }));
  });

  it('DP-01 a DPoP proof with a wrong htu is refused', async () => {
    await refused(verifyDpopProof(check([await proof(key, { htu: 'https://photos.example/api/other' })])));
    await refused(verifyDpopProof(check([await proof(key, { htu: 'https://evil.example/api/photos' })])));
    await refused(verifyDpopProof(check([await proof(key, { claims: { htu: undefined } })])));
  });

  it('DP-01 a DPoP proof with a wrong htm is refused', async () => {
    await refused(verifyDpopProof(check([await proof(key, { htm: 'POST' })])));
    await refused(verifyDpopProof(check([await proof(key, { htm: 'get' })])));
  });

  it('DP-01 a DPoP proof with a stale or future iat is refused', async () => {
    const now = nowSeconds();
    await refused(verifyDpopProof(check([await proof(key, { iat: now - 61 })], { now })));
    await refused(verifyDpopProof(check([await proof(key, { iat: now + 31 })], { now })));
    await refused(verifyDpopProof(check([await proof(key, { claims: { iat: String(now) } })], { now })));
    // Within the window (60 s old, 30 s ahead) it is fine.
    await verifyDpopProof(check([await proof(key, { iat: now - 60 })], { now }));
    await verifyDpopProof(check([await proof(key, { iat: now + 30 })], { now }));
  });

  it('DP-01 a replayed DPoP proof jti is refused', async () => {
    const replayCache = new MemoryDpopReplayCache();
    const once = await proof(key);
    await verifyDpopProof(check([once], { replayCache }));
    await refused(verifyDpopProof(check([once], { replayCache })));
    // The same jti under another key is another proof.
    const jti = randomUUID();
    await verifyDpopProof(check([await proof(key, { jti })], { replayCache }));
    await verifyDpopProof(check([await proof(otherKey, { jti })], { replayCache }));
    await refused(verifyDpopProof(check([await proof(key, { jti })], { replayCache })));
  });

  it('DP-01 a DPoP proof with private key members in its jwk header is refused', async () => {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      const jwk = { ...key.jwk, [member]: key.privateJwk.d };
      await refused(verifyDpopProof(check([await proof(key, { header: { jwk } })])));
    }
  });

  it('DP-01 a DPoP proof with a symmetric alg (HS256) is refused', async () => {
    const secret = new TextEncoder().encode('a shared secret of thirty-two bytes!');
    const jwk = { kty: 'oct', k: Buffer.from(secret).toString('base64url') };
    await refused(verifyDpopProof(check([await proof(key, { header: { alg: 'HS256', jwk }, signer: secret })])));
    await refused(verifyDpopProof(check([await proof(key, { header: { alg: 'HS256' }, signer: secret })])));
    assert.throws(() => createVerifier({ issuer: 'https://as.example', audience: AUDIENCE, dpop: { algorithms: ['HS256'] } }), TypeError);
  });

  it('DP-01 a DPoP proof with alg none is refused', async () => {
    await refused(verifyDpopProof(check([await proof(key, { header: { alg: 'none' }, signer: null })])));
  });

  it('DP-01 a DPoP proof with another typ, no jwk, a bad signature or no jti is refused', async () => {
    await refused(verifyDpopProof(check([await proof(key, { header: { typ: 'JWT' } })])));
    await refused(verifyDpopProof(check([await proof(key, { header: { jwk: undefined } })])));
    await refused(verifyDpopProof(check([await proof(key, { header: { jwk: otherKey.jwk } })])));
    await refused(verifyDpopProof(check([await proof(key, { claims: { jti: undefined } })])));
    await refused(verifyDpopProof(check(['not-a-jwt'])));
    await refused(verifyDpopProof(check([])));
    await refused(verifyDpopProof(check([await proof(key), await proof(key)])));
  });

  it('DP-01 a DPoP proof whose ath does not match the access token is refused', async () => {
    await refused(verifyDpopProof(check([await proof(key, { accessToken: 'another-token' })], { accessToken: 'the-token' })));
    await refused(verifyDpopProof(check([await proof(key)], { accessToken: 'the-token' })));
    await verifyDpopProof(check([await proof(key, { accessToken: 'the-token' })], { accessToken: 'the-token' }));
  });

  it('DP-01 a DPoP proof signed by another key than the token is bound to is refused', async () => {
    await refused(verifyDpopProof(check([await proof(otherKey)], { expectedJkt: key.jkt })));
  });

  it('DP-01 a required server nonce that is missing or wrong gives use_dpop_nonce', async () => {
    const nonce = (value: string | undefined) => value === 'n-1';
    await refused(verifyDpopProof(check([await proof(key)], { nonce })), 'use_dpop_nonce');
    await refused(verifyDpopProof(check([await proof(key, { claims: { nonce: 'n-0' } })], { nonce })), 'use_dpop_nonce');
    await verifyDpopProof(check([await proof(key, { claims: { nonce: 'n-1' } })], { nonce }));
  });

  it('the in-memory replay cache is bounded and forgets expired entries', async () => {
    let now = 1000;
    const cache = new MemoryDpopReplayCache({ maxEntries: 3, now: () => now });
    assert.equal(await cache.record('a', 1100), true);
    assert.equal(await cache.record('a', 1100), false);
    await cache.record('b', 1100);
    await cache.record('c', 1100);
    await cache.record('d', 1100);
    assert.equal(cache.size, 3);
    now = 1200;
    assert.equal(await cache.record('b', 1300), true, 'an expired entry no longer counts');
  });
});

let as: TestAuthServer;
let verify: AccessTokenVerifier;
before(async () => {
  as = await startAuthServer();
  verify = createVerifier({ issuer: as.issuer, audience: AUDIENCE, realm: 'photos' });
});
after(() => as.close());

const URL_ = 'https://photos.example/api/photos';

async function boundToken(jkt = key.jkt): Promise<string> {
  return as.mint({ claims: { cnf: { jkt } } });
}

async function dpopRequest(token: string, proofs: string[], init: { method?: string; url?: string } = {}): Promise<Request> {
  const headers = new Headers({ authorization: `DPoP ${token}` });
  for (const p of proofs) headers.append('dpop', p);
  return new Request(init.url ?? URL_, { method: init.method ?? 'GET', headers });
}

async function challengeOf(error: unknown): Promise<string | undefined> {
  return verify.errorReply(error)?.headers['www-authenticate'];
}

describe('verifyAccessToken with DPoP', () => {
  it('DP-01 a DPoP-bound token with a valid proof is accepted', async () => {
    const token = await boundToken();
    const claims = await verify(await dpopRequest(token, [await proof(key, { accessToken: token })]));
    assert.deepEqual(claims.cnf, { jkt: key.jkt });
  });

  it('DP-02 a DPoP-bound token sent as a Bearer token is refused with a DPoP challenge', async () => {
    const token = await boundToken();
    const error = await rejection(verify(new Request(URL_, { headers: { authorization: `Bearer ${token}` } })));
    assert.ok(error instanceof InvalidTokenError);
    const challenge = await challengeOf(error);
    assert.match(challenge ?? '', /^DPoP /);
    assert.match(challenge ?? '', /error="invalid_token"/);
    assert.match(challenge ?? '', /algs="ES256 RS256 PS256 EdDSA"/);
    // A raw token (no request to carry a proof) is a bearer token too.
    assert.ok((await rejection(verify(token))) instanceof InvalidTokenError);
  });

  it('DP-02 a DPoP-bound token without a proof is refused with invalid_dpop_proof', async () => {
    const token = await boundToken();
    const error = await rejection(verify(await dpopRequest(token, [])));
    assert.ok(error instanceof InvalidDpopProofError);
    const reply = verify.errorReply(error);
    assert.equal(reply?.status, 401);
    assert.match(reply?.headers['www-authenticate'] ?? '', /^DPoP realm="photos", error="invalid_dpop_proof"/);
    assert.equal(reply?.body.error, 'invalid_dpop_proof');
  });

  it('DP-01 each bad proof against the request is refused with invalid_dpop_proof', async () => {
    const token = await boundToken();
    const cases: [string, Promise<string>, { method?: string; url?: string }?][] = [
      ['wrong htu', proof(key, { accessToken: token, htu: 'https://photos.example/api/notes' })],
      ['wrong htm', proof(key, { accessToken: token }), { method: 'DELETE' }],
      ['stale iat', proof(key, { accessToken: token, iat: nowSeconds() - 120 })],
      ['future iat', proof(key, { accessToken: token, iat: nowSeconds() + 120 })],
      ['ath of another token', proof(key, { accessToken: `${token}x` })],
      ['no ath', proof(key)],
      ['wrong key (jkt mismatch)', proof(otherKey, { accessToken: token })],
      ['alg none', proof(key, { accessToken: token, header: { alg: 'none' }, signer: null })],
      ['private key in header', proof(key, { accessToken: token, header: { jwk: key.privateJwk } })],
    ];
    for (const [name, made, init] of cases) {
      const error = await rejection(verify(await dpopRequest(token, [await made], init)));
      assert.ok(error instanceof InvalidDpopProofError, `${name} must be invalid_dpop_proof, got ${String(error)}`);
    }
  });

  it('DP-01 a replayed proof is refused at the resource', async () => {
    const token = await boundToken();
    const once = await proof(key, { accessToken: token });
    await verify(await dpopRequest(token, [once]));
    assert.ok((await rejection(verify(await dpopRequest(token, [once])))) instanceof InvalidDpopProofError);
  });

  it('DP-01 a token that is not DPoP-bound sent with the DPoP scheme is refused', async () => {
    const token = await as.mint();
    const error = await rejection(verify(await dpopRequest(token, [await proof(key, { accessToken: token })])));
    assert.ok(error instanceof InvalidTokenError);
    assert.match((await challengeOf(error)) ?? '', /^DPoP /);
  });

  it('DP-02 with dpop: false a DPoP-bound token is refused in every form', async () => {
    const strict = createVerifier({ issuer: as.issuer, audience: AUDIENCE, dpop: false });
    const token = await boundToken();
    assert.ok((await rejection(strict(new Request(URL_, { headers: { authorization: `Bearer ${token}` } })))) instanceof InvalidTokenError);
    const error = await rejection(strict(await dpopRequest(token, [await proof(key, { accessToken: token })])));
    assert.equal((error as { code?: string }).code, 'missing_token');
  });

  it('DP-01 publicUrl decides the htu behind a proxy', async () => {
    const behind = createVerifier({ issuer: as.issuer, audience: AUDIENCE, publicUrl: 'https://api.example/v1' });
    const token = await boundToken();
    const request = await dpopRequest(token, [await proof(key, { accessToken: token, htu: 'https://api.example/v1/photos' })], {
      url: 'http://10.0.0.5:8080/photos?x=1',
    });
    await behind(request);
    const direct = await dpopRequest(token, [await proof(key, { accessToken: token, htu: 'http://10.0.0.5:8080/photos' })], {
      url: 'http://10.0.0.5:8080/photos',
    });
    assert.ok((await rejection(behind(direct))) instanceof InvalidDpopProofError);
  });
});

describe('DPoP in the Express and Fastify adapters', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const app = express();
    app.get('/photos', expressAccessToken({ issuer: as.issuer, audience: AUDIENCE, realm: 'photos' }), (req, res) => {
      res.json({ jkt: req.accessToken?.cnf?.jkt });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('DP-01 Express accepts a DPoP-bound token with a proof for its URL (from the Host header)', async () => {
    const token = await boundToken();
    const response = await fetch(`${base}/photos?size=big`, {
      headers: { authorization: `DPoP ${token}`, dpop: await proof(key, { accessToken: token, htu: `${base}/photos` }) },
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { jkt: key.jkt });
  });

  it('DP-02 Express refuses a bound token as Bearer, and a proof for another URL, with DPoP challenges', async () => {
    const token = await boundToken();
    const asBearer = await fetch(`${base}/photos`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate') ?? '', /^DPoP realm="photos", error="invalid_token"/);
    const wrongUrl = await fetch(`${base}/photos`, {
      headers: { authorization: `DPoP ${token}`, dpop: await proof(key, { accessToken: token, htu: `${base}/notes` }) },
    });
    assert.equal(wrongUrl.status, 401);
    assert.match(wrongUrl.headers.get('www-authenticate') ?? '', /error="invalid_dpop_proof"/);
    assert.equal(((await wrongUrl.json()) as { error: string }).error, 'invalid_dpop_proof');
  });

  it('DP-01 / DP-02 Fastify accepts a proof for its publicUrl and refuses a bound token as Bearer', async (t) => {
    const app = Fastify();
    t.after(() => app.close());
    await app.register(fastifyAccessToken, { issuer: as.issuer, audience: AUDIENCE, publicUrl: 'https://photos.example/api' });
    app.get('/photos', { config: { scopes: [] } }, async (request) => ({ jkt: request.accessToken?.cnf?.jkt }));
    const token = await boundToken();
    const ok = await app.inject({
      url: '/photos?page=1',
      headers: { authorization: `DPoP ${token}`, dpop: await proof(key, { accessToken: token }) },
    });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { jkt: key.jkt });
    const bearer = await app.inject({ url: '/photos', headers: { authorization: `Bearer ${token}` } });
    assert.equal(bearer.statusCode, 401);
    assert.match(String(bearer.headers['www-authenticate']), /^DPoP realm="https:\/\/photos.example\/api", error="invalid_token"/);
  });
});
