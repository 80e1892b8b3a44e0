// RFC 9449 §4.2 (the DPoP proof JWT), §4.3 (checking it), §7.1 (`ath` at a resource), §8–§9 (nonces),
// §11.1 (jti replay), RFC 7638 (the JWK thumbprint `jkt`), RFC 8725 §3.1 (asymmetric algorithms only).
// One verifier for the authorization server and for resource servers. jose does the cryptography (the
// signature against the embedded key, the thumbprint); this module decides what is acceptable.
//
// The iat window: a proof is accepted when its `iat` is at most DPOP_PROOF_MAX_AGE_SECONDS (60) in the
// past and at most `leewaySeconds` (the clock leeway, 30 by default, at most 60) in the future. Its jti is
// recorded in the replay cache until the proof could no longer be accepted anyway (iat + 60 + leeway).

import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { ASYMMETRIC_JWS_ALGORITHMS, DEFAULT_ASYMMETRIC_ALGORITHMS } from './algorithms.js';

/** A jti replay cache shared by whoever verifies proofs: `record` answers false when the key was already there. */
export interface DpopReplayCache {
  /** Records `key` until `expiresAt` (epoch seconds); false when it was already recorded (a replay). */
  record(key: string, expiresAt: number): Promise<boolean>;
}

/** Asymmetric JWS algorithms a proof may use (algorithms.ts, shared with access tokens). Never `none`, never HS*. */
export const DPOP_SUPPORTED_ALGORITHMS = ASYMMETRIC_JWS_ALGORITHMS;
export const DEFAULT_DPOP_ALGORITHMS: readonly string[] = DEFAULT_ASYMMETRIC_ALGORITHMS;
/** How old (by its `iat`) a proof may be. */
export const DPOP_PROOF_MAX_AGE_SECONDS = 60;
/** Default clock leeway for proofs from the future. */
export const DPOP_DEFAULT_LEEWAY_SECONDS = 30;
/** Proofs longer than this are refused before they are decoded. */
export const MAX_DPOP_PROOF_LENGTH = 8 * 1024;
const MAX_JTI_LENGTH = 256;
const MAX_NONCE_LENGTH = 512;
/** JWK members that only a private (or symmetric) key has: such a key in a header is refused. */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const;

export type DpopErrorCode = 'invalid_dpop_proof' | 'use_dpop_nonce';

/** A refused proof. `description` is public (RFC 6749 §5.2 characters); `cause` is for logs only. */
export class DpopProofError extends Error {
  readonly code: DpopErrorCode;
  readonly description: string;
  constructor(code: DpopErrorCode, description: string, options: { cause?: unknown } = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DpopProofError';
    this.code = code;
    this.description = description;
  }
}

const invalid = (description: string, cause?: unknown) => new DpopProofError('invalid_dpop_proof', description, { cause });

/**
 * RFC 9449 §4.3 item 9: the `htu` a request is checked against — its URL without query and fragment,
 * with the syntax- and scheme-based normalisation of RFC 3986 §6.2.2–§6.2.3 (as the WHATWG URL parser
 * does it: scheme and host in lower case, default port dropped, an empty path becomes `/`, dot segments
 * removed). Throws TypeError when `url` is not an absolute http(s) URL.
 */
export function normalizeHtu(url: string | URL): string {
  const parsed = new URL(typeof url === 'string' ? url : url.href);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError('htu must be an http(s) URL');
  parsed.search = '';
  parsed.hash = '';
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}

/** base64url(SHA-256(ASCII(accessToken))): the `ath` claim (RFC 9449 §4.2). */
export async function accessTokenHash(accessToken: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)));
  let binary = '';
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** What a proof is checked against. */
export interface DpopProofCheck {
  /** The DPoP header values of the request (exactly one is required). */
  proofs: readonly string[];
  /** The request's method (compared case-sensitively with `htm`, as RFC 9110 methods are). */
  method: string;
  /** The request's URL as the client addressed it (the external URL behind proxies). */
  url: string | URL;
  /** The access token sent with the proof: `ath` is then required and must match. */
  accessToken?: string | undefined;
  /** The key the access token is bound to (`cnf.jkt`): the proof must be signed by it. */
  expectedJkt?: string | undefined;
  /** Current time, epoch seconds. */
  now: number;
  /** The jti replay cache (RFC 9449 §11.1). */
  replayCache: DpopReplayCache;
  /** Accepted algorithms (default ES256, RS256, PS256, EdDSA); a symmetric one or `none` is a TypeError. */
  algorithms?: readonly string[] | undefined;
  /** Seconds a proof's iat may lie in the future (default 30, at most 60). */
  leewaySeconds?: number | undefined;
  /**
   * Server-provided nonces (§8, §9): called with the proof's `nonce` (undefined when absent); true if
   * acceptable. A false answer is `use_dpop_nonce`, and the caller sends a fresh nonce.
   */
  nonce?: ((nonce: string | undefined) => boolean | Promise<boolean>) | undefined;
}

/** A proof that passed. */
export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key: what `cnf.jkt` binds to. */
  jkt: string;
  jwk: JWK;
  jti: string;
  iat: number;
  alg: string;
}

/** Checks an algorithm list: every entry an asymmetric JWS algorithm. TypeError otherwise. */
export function checkDpopAlgorithms(value: readonly string[] | undefined): readonly string[] {
  if (value === undefined) return DEFAULT_DPOP_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0) throw new TypeError('DPoP algorithms must be a non-empty array');
  for (const alg of value) {
    if (typeof alg !== 'string' || !(DPOP_SUPPORTED_ALGORITHMS as readonly string[]).includes(alg)) {
      throw new TypeError(`DPoP algorithm ${JSON.stringify(alg)} is not an asymmetric JWS algorithm`);
    }
  }
  return value;
}

function replayKey(jkt: string, jti: string): Promise<string> {
  return accessTokenHash(JSON.stringify(['dpop', jkt, jti]));
}

/**
 * Verifies one DPoP proof against a request (RFC 9449 §4.3) and records its jti. Throws DpopProofError
 * (`invalid_dpop_proof`, or `use_dpop_nonce` when a server nonce is required and missing or stale);
 * errors of the replay cache itself propagate unchanged (the caller decides: 503).
 */
export async function verifyDpopProof(check: DpopProofCheck): Promise<VerifiedDpopProof> {
  const algorithms = checkDpopAlgorithms(check.algorithms);
  const leeway = Math.min(Math.max(check.leewaySeconds ?? DPOP_DEFAULT_LEEWAY_SECONDS, 0), 60);
  if (check.proofs.length !== 1)
    throw invalid(check.proofs.length === 0 ? 'A DPoP proof is required' : 'Exactly one DPoP proof is allowed');
  const proof = check.proofs[0]!;
  if (proof.length > MAX_DPOP_PROOF_LENGTH) throw invalid('The DPoP proof is too large');
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(proof)) throw invalid('The DPoP proof is not a signed JWT');

  let header;
  try {
    header = decodeProtectedHeader(proof);
  } catch (cause) {
    throw invalid('The DPoP proof header is malformed', cause);
  }
  if (header.typ !== 'dpop+jwt') throw invalid('The DPoP proof typ must be dpop+jwt');
  if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
    throw invalid('The DPoP proof is signed with an algorithm that is not allowed');
  }
  const jwk = header.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw invalid('The DPoP proof header has no jwk');
  for (const member of PRIVATE_JWK_MEMBERS) {
    if (Object.hasOwn(jwk, member)) throw invalid('The DPoP proof jwk must be a public key');
  }

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...algorithms] }));
  } catch (cause) {
    throw invalid('The DPoP proof signature is invalid', cause);
  }

  if (typeof payload['jti'] !== 'string' || payload['jti'].length === 0 || payload['jti'].length > MAX_JTI_LENGTH) {
    throw invalid('The DPoP proof has no valid jti');
  }
  if (payload['htm'] !== check.method) throw invalid('The DPoP proof htm does not match the request method');
  let expectedHtu: string;
  let presentedHtu: string;
  try {
    expectedHtu = normalizeHtu(check.url);
  } catch (cause) {
    throw new TypeError('The request URL for the DPoP check is not an absolute http(s) URL', { cause });
  }
  try {
    if (typeof payload['htu'] !== 'string') throw new TypeError('htu missing');
    presentedHtu = normalizeHtu(payload['htu']);
  } catch (cause) {
    throw invalid('The DPoP proof htu does not match the request URL', cause);
  }
  if (presentedHtu !== expectedHtu) throw invalid('The DPoP proof htu does not match the request URL');
  const iat = payload['iat'];
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw invalid('The DPoP proof has no valid iat');
  if (iat < check.now - DPOP_PROOF_MAX_AGE_SECONDS) throw invalid('The DPoP proof is too old');
  if (iat > check.now + leeway) throw invalid('The DPoP proof was issued in the future');

  if (check.accessToken !== undefined) {
    if (typeof payload['ath'] !== 'string') throw invalid('The DPoP proof has no ath for the access token');
    if (payload['ath'] !== (await accessTokenHash(check.accessToken))) {
      throw invalid('The DPoP proof ath does not match the access token');
    }
  }
  if (check.nonce !== undefined) {
    const nonce = payload['nonce'];
    if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length > MAX_NONCE_LENGTH)) {
      throw invalid('The DPoP proof nonce is malformed');
    }
    if (!(await check.nonce(nonce))) {
      throw new DpopProofError('use_dpop_nonce', 'The authorization server requires a fresh DPoP nonce');
    }
  }

  const publicJwk = jwk as JWK;
  const jkt = await calculateJwkThumbprint(publicJwk, 'sha256');
  if (check.expectedJkt !== undefined && jkt !== check.expectedJkt) {
    throw invalid('The DPoP proof is signed by another key than the access token is bound to');
  }
  // Last, so that a refused proof spends nothing: the jti is kept until the proof is stale anyway.
  const fresh = await check.replayCache.record(await replayKey(jkt, payload['jti']), Math.ceil(iat) + DPOP_PROOF_MAX_AGE_SECONDS + leeway);
  if (!fresh) throw invalid('The DPoP proof was already used');
  return { jkt, jwk: publicJwk, jti: payload['jti'], iat, alg: header.alg };
}

/**
 * An in-memory replay cache for one process, bounded in size: entries leave at their expiry, and when
 * full the oldest entry goes first (the one closest to being stale, so the least useful to replay).
 * Several instances of an API behind a load balancer need a shared cache instead (a database or Redis
 * behind the same `record` interface).
 */
export class MemoryDpopReplayCache implements DpopReplayCache {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  get size(): number {
    return this.#entries.size;
  }

  async record(key: string, expiresAt: number): Promise<boolean> {
    const now = this.#now();
    const known = this.#entries.get(key);
    if (known !== undefined && known > now) return false;
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) this.#evict(now);
    this.#entries.set(key, expiresAt);
    return true;
  }

  // Entries are inserted in (roughly) expiry order, since every proof lives the same time after its iat:
  // the oldest go first, expired or not.
  #evict(now: number): void {
    for (const [key, expiresAt] of this.#entries) {
      if (expiresAt > now && this.#entries.size < this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }
}
