// RFC 6750 §2–§3 for Express (4 and 5): a middleware that verifies the access token, sets
// `req.accessToken`, and answers failures with the RFC 6750 status, `WWW-Authenticate` challenge and a
// JSON `{ error, error_description }` body. Typed structurally: no import of express at run time or in types.

import type { AccessTokenClaims } from './claims.js';
import { AccessTokenError, type ChallengeParameters } from './errors.js';
import type { NodeRequestLike } from './extract-token.js';
import type { VerifierOptions } from './options.js';
import { checkScopeList, requireScopes } from './scopes.js';
import { createVerifier, type AccessTokenVerifier, type VerifyRequirements } from './verifier.js';

declare global {
  namespace Express {
    interface Request {
      /** Set by `expressAccessToken` once the token is verified. */
      accessToken?: AccessTokenClaims;
    }
  }
}

/** The parts of Express's `req` the middleware uses. */
export interface ExpressRequestLike extends NodeRequestLike {
  accessToken?: AccessTokenClaims;
}
/** The parts of Express's `res` the middleware uses. */
export interface ExpressResponseLike {
  status(code: number): this;
  set(field: string, value: string): this;
  json(body: unknown): unknown;
}
export type ExpressNext = (error?: unknown) => void;
export type ExpressMiddleware = (req: ExpressRequestLike, res: ExpressResponseLike, next: ExpressNext) => void;

// The challenge parameters of the verifier that authenticated a request, for requireScopesExpress.
const challenges = new WeakMap<object, ChallengeParameters>();

function reply(res: ExpressResponseLike, error: AccessTokenError, challenge: ChallengeParameters): void {
  const { status, headers, body } = error.toReply(challenge);
  res.status(status);
  for (const [name, value] of Object.entries(headers)) res.set(name, value);
  res.json(body);
}

/**
 * Express middleware: verifies the request's access token and sets `req.accessToken`, or answers
 * 400/401/403/503 itself. Other errors go to `next(error)`. For body tokens (`access_token` in a
 * form-encoded POST), mount `express.urlencoded()` before it.
 */
export function expressAccessToken(
  optionsOrVerifier: VerifierOptions | AccessTokenVerifier,
  requirements: VerifyRequirements = {},
): ExpressMiddleware {
  const verifier = typeof optionsOrVerifier === 'function' ? optionsOrVerifier : createVerifier(optionsOrVerifier);
  if (requirements.scopes !== undefined) checkScopeList(requirements.scopes);
  return (req, res, next) => {
    verifier(req, requirements).then(
      (claims) => {
        req.accessToken = claims;
        challenges.set(req, verifier.challenge);
        next();
      },
      (error: unknown) => {
        if (error instanceof AccessTokenError) reply(res, error, verifier.challenge);
        else next(error);
      },
    );
  };
}

/**
 * Express middleware for after `expressAccessToken`: answers 403 `insufficient_scope` unless
 * `req.accessToken` grants every scope listed. Without `req.accessToken` it is a programming error
 * (passed to `next`).
 */
export function requireScopesExpress(scopes: readonly string[]): ExpressMiddleware {
  const required = checkScopeList(scopes);
  return (req, res, next) => {
    const claims = req.accessToken;
    if (claims === undefined) {
      next(new Error('requireScopesExpress needs expressAccessToken to run first'));
      return;
    }
    try {
      requireScopes(claims, required);
    } catch (error) {
      if (error instanceof AccessTokenError) {
        reply(res, error, challenges.get(req) ?? {});
        return;
      }
      next(error);
      return;
    }
    next();
  };
}
