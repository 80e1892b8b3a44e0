// RFC 9449 at the authorization server: §4.3 (proofs at the token and PAR endpoints, checked by the one
// verifier of @gatehouse/resource-server), §5 (bound access tokens; public clients' refresh tokens bound
// to the key), §8 (server-provided nonces), §10 (dpop_jkt at the authorization endpoint).
//
// Nonces (--dpop-nonce true) must work on every node without shared memory: a nonce is
// `<slot>.<HMAC-SHA-256(key, "gatehouse dpop nonce" || slot)>`, where slot = floor(now / 60) and the key
// is one random 256-bit value in the dpop_nonce_keys table (created by the first node that needs it).
// A nonce is accepted during its own minute and the next, so it lives 60 to 120 seconds; any node
// mints and accepts the same nonces. The key authenticates nobody: it only proves freshness.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DpopProofError, verifyDpopProof, type DpopReplayCache } from '@gatehouse/resource-server';
import type { Config } from '../config/config.js';
import type { DpopNonceKeyRepository } from '../storage/index.js';
import { randomToken, sha256 } from './crypto.js';
import { invalidGrant, OAuthError } from './errors.js';
import type { SecurityEvents } from './security-events.js';

/** The proof algorithms accepted (and advertised as dpop_signing_alg_values_supported). */
export const DPOP_SIGNING_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;
/** Clock leeway for proofs from the future (the iat window is 60 s back, this far ahead). */
export const DPOP_LEEWAY = 30;
export const NONCE_SLOT_SECONDS = 60;
const NONCE_INFO = 'gatehouse dpop nonce';
/** RFC 7638 SHA-256 thumbprint: 43 base64url characters. */
const JKT = /^[A-Za-z0-9_-]{43}$/;

export function isJkt(value: string): boolean {
  return JKT.test(value);
}

/** Server-provided nonces: an HMAC of the time slot under a key every node reads from the database. */
export class DpopNonces {
  private key: Promise<Buffer> | undefined;
  constructor(private readonly keys: Pick<DpopNonceKeyRepository, 'getOrCreate'>) {}

  private secret(now: number): Promise<Buffer> {
    if (!this.key) {
      const loading = this.keys.getOrCreate(randomToken(32), now).then((s) => Buffer.from(s, 'base64url'));
      this.key = loading;
      loading.catch(() => {
        if (this.key === loading) this.key = undefined; // a database error is not remembered
      });
    }
    return this.key;
  }

  private async mac(slot: number, now: number): Promise<string> {
    return createHmac('sha256', await this.secret(now))
      .update(`${NONCE_INFO}:${slot}`)
      .digest('base64url');
  }

  /** The nonce to hand out now. */
  async current(now: number): Promise<string> {
    const slot = Math.floor(now / NONCE_SLOT_SECONDS);
    return `${slot.toString(36)}.${await this.mac(slot, now)}`;
  }

  /** Whether `nonce` was minted in this slot or the previous one. */
  async accepts(nonce: string | undefined, now: number): Promise<boolean> {
    if (nonce === undefined || nonce.length > 128) return false;
    const match = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/.exec(nonce);
    if (!match) return false;
    const slot = parseInt(match[1]!, 36);
    const currentSlot = Math.floor(now / NONCE_SLOT_SECONDS);
    if (slot !== currentSlot && slot !== currentSlot - 1) return false;
    const expected = Buffer.from(await this.mac(slot, now));
    const presented = Buffer.from(match[2]!);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }
}

export interface DpopDeps {
  config: Pick<Config, 'issuer' | 'dpopNonce'>;
  /** The jti replay cache (the dpop_jtis table by default; any `record(key, expiresAt)` implementation). */
  replay: DpopReplayCache;
  nonces: DpopNonces;
  /** EV-01: a replayed proof (its jti seen before) is a `dpop.replay` security event. */
  events?: Pick<SecurityEvents, 'record'> | undefined;
}

/** What the endpoint read from the request. */
export interface PresentedProof {
  /** The DPoP header values (a repeated header gives several; several are refused). */
  proofs: string[];
  method: string;
  /** The endpoint's URL as the issuer publishes it (its `htu`). */
  url: string;
  /** For requests to a protected resource (userinfo): the access token, so `ath` is required. */
  accessToken?: string | undefined;
  /** For a bound access token: the key it is bound to. */
  expectedJkt?: string | undefined;
  /** Whether a server nonce is required here (the token and PAR endpoints, with --dpop-nonce). */
  nonce: boolean;
  now: number;
  /** For the security event of a replay: the authenticated client, if any, and the caller's address. */
  clientId?: string | undefined;
  ip?: string | undefined;
}

/**
 * DP-01: verifies the one DPoP proof of a request and returns its key thumbprint. OAuthError
 * `invalid_dpop_proof`, or `use_dpop_nonce` with a fresh nonce in the DPoP-Nonce header.
 * Replay-cache errors propagate (a database that is down is a 503, not a refused proof).
 */
export async function verifyProof(deps: DpopDeps, presented: PresentedProof): Promise<string> {
  const { now } = presented;
  let replayed = false;
  try {
    const verified = await verifyDpopProof({
      proofs: presented.proofs,
      method: presented.method,
      url: presented.url,
      accessToken: presented.accessToken,
      expectedJkt: presented.expectedJkt,
      now,
      // The replay key is hashed once more, so that what is stored has a fixed, column-sized form.
      replayCache: {
        record: async (key, expiresAt) => {
          const fresh = await deps.replay.record(sha256(key), expiresAt);
          replayed = !fresh;
          return fresh;
        },
      },
      algorithms: DPOP_SIGNING_ALGS,
      leewaySeconds: DPOP_LEEWAY,
      nonce: presented.nonce ? (nonce) => deps.nonces.accepts(nonce, now) : undefined,
    });
    return verified.jkt;
  } catch (e) {
    if (!(e instanceof DpopProofError)) throw e;
    // EV-01: which endpoint and client, never the proof itself.
    if (replayed) {
      await deps.events?.record({
        type: 'dpop.replay',
        clientId: presented.clientId ?? null,
        ip: presented.ip ?? null,
        details: { htm: presented.method, htu: presented.url },
      });
    }
    const description = e.description.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, ' ');
    if (e.code === 'use_dpop_nonce') {
      throw new OAuthError('use_dpop_nonce', description, { headers: { 'DPoP-Nonce': await deps.nonces.current(now) } });
    }
    throw new OAuthError('invalid_dpop_proof', description, { detail: (e.cause as Error | undefined)?.message });
  }
}

/** RFC 9449 §10: a code bound with dpop_jkt is redeemed only with a proof of that key. */
export function assertCodeBinding(boundJkt: string | null | undefined, proofJkt: string | undefined, invalid: string): void {
  if (boundJkt && boundJkt !== proofJkt) {
    throw invalidGrant(invalid, { detail: proofJkt ? 'DPoP key differs from dpop_jkt' : 'dpop_jkt bound code without a DPoP proof' });
  }
}

/** The DPoP header values of a request: a JWT has no comma, so a comma-joined repeated header gives several. */
export function dpopHeaderValues(header: string | string[] | undefined, rawHeaders: readonly string[] = []): string[] {
  const values = (Array.isArray(header) ? header : header === undefined ? [] : [header])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  let raw = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'dpop') raw++;
  while (values.length < raw) values.push('');
  return values;
}
