// RFC 7515 compact JWS with our own keys, signed and verified synchronously with node:crypto KeyObjects
// (RFC 7518 §3.3 RS256 = RSASSA-PKCS1-v1_5 with SHA-256, §3.4 ES256 = P-256 with SHA-256 and the
// signature as R || S, RFC 8037 EdDSA = Ed25519 with no separate digest). WebCrypto (what jose uses)
// runs every operation as an async job on the thread pool; for our own tokens on the hot path the
// one-shot crypto.sign/verify is several times cheaper. test/jws-cross-check.test.ts checks the
// output against jose's verification for every algorithm.
import { sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import type { LoadedKey, SigningAlg } from '../keys/key-store.js';

function digestOf(alg: SigningAlg): string | null {
  return alg === 'EdDSA' ? null : 'sha256';
}

/** The base64url protected header {alg, typ, kid} of `key` (the same bytes jose's setProtectedHeader produces). */
export function encodedHeader(key: LoadedKey, typ: string): string {
  let header = key.encodedHeaders.get(typ);
  if (header === undefined) {
    header = Buffer.from(JSON.stringify({ alg: key.alg, typ, kid: key.kid })).toString('base64url');
    key.encodedHeaders.set(typ, header);
  }
  return header;
}

/** A compact JWS of `payload` (JSON-serialised) under header {alg, typ, kid}. */
export function signCompact(key: LoadedKey, typ: string, payload: object): string {
  const signingInput = `${encodedHeader(key, typ)}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const data = Buffer.from(signingInput, 'ascii');
  const signature =
    key.alg === 'ES256'
      ? cryptoSign('sha256', data, { key: key.privateKeyObject, dsaEncoding: 'ieee-p1363' })
      : cryptoSign(digestOf(key.alg), data, key.privateKeyObject);
  return `${signingInput}.${signature.toString('base64url')}`;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Decodes base64url only in its canonical form (what we produce); anything else is undefined. */
export function strictBase64url(value: string): Buffer | undefined {
  if (!BASE64URL.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  return bytes.toString('base64url') === value ? bytes : undefined;
}

/** Does `signature` (base64url) sign `signingInput` (the ASCII "header.payload") under `key`? */
export function verifySignature(key: LoadedKey, signingInput: string, signature: string): boolean {
  const sig = strictBase64url(signature);
  if (!sig) return false;
  const data = Buffer.from(signingInput, 'ascii');
  try {
    return key.alg === 'ES256'
      ? sig.length === 64 && cryptoVerify('sha256', data, { key: key.publicKeyObject, dsaEncoding: 'ieee-p1363' }, sig)
      : cryptoVerify(digestOf(key.alg), data, key.publicKeyObject, sig);
  } catch {
    return false;
  }
}
