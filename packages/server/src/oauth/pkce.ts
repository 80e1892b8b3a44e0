// RFC 7636 §4.1-4.2, §4.6; RFC 9700 §2.1.1: S256 only.
import { createHash } from 'node:crypto';
import { constantTimeEqual } from './crypto.js';

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

export function isValidVerifier(verifier: string): boolean {
  return VERIFIER.test(verifier);
}

export function isValidS256Challenge(challenge: string): boolean {
  return S256_CHALLENGE.test(challenge);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export function verifierMatches(verifier: string, challenge: string): boolean {
  return isValidVerifier(verifier) && constantTimeEqual(s256(verifier), challenge);
}
