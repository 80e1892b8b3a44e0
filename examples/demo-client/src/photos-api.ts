// Calls to the photos API (examples/demo-api) with a Bearer access token (RFC 6750 §2.1), or with a
// DPoP-bound one and a proof made by openid-client (RFC 9449 §7.1).
import * as client from 'openid-client';

export interface Photo {
  id: string;
  title: string;
  description?: string;
  /** A small image as a data: URI (the demo API serves SVG). */
  thumbnail?: string;
  createdAt?: string;
}

export interface WhoAmI {
  sub: string;
  client_id?: string;
  scope?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** The `error` of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3), if any. */
    readonly bearerError: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** 401 invalid_token: the access token expired or was revoked; a refresh may help. */
  get isInvalidToken(): boolean {
    return this.status === 401 && (this.bearerError === 'invalid_token' || this.bearerError === undefined);
  }
}

/** Extracts error="..." from a Bearer challenge. */
export function bearerErrorOf(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /(?:^|[\s,])error="([^"]*)"/i.exec(header) ?? /(?:^|[\s,])error=([^\s,]+)/i.exec(header);
  return match?.[1];
}

export async function getJson<T>(apiUrl: string, path: string, accessToken: string): Promise<T> {
  const response = await fetch(new URL(path, `${apiUrl}/`), {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    signal: AbortSignal.timeout(10_000),
    redirect: 'error',
  });
  if (!response.ok) {
    const bearerError = bearerErrorOf(response.headers.get('www-authenticate'));
    await response.body?.cancel();
    throw new ApiError(response.status, bearerError, `the photos API answered ${response.status}${bearerError ? ` (${bearerError})` : ''}`);
  }
  return (await response.json()) as T;
}

/** GET with `Authorization: DPoP` and a proof of the session's key (openid-client retries on use_dpop_nonce). */
export async function getJsonWithDpop<T>(
  config: client.Configuration,
  dpop: client.DPoPHandle,
  apiUrl: string,
  path: string,
  accessToken: string,
): Promise<T> {
  let response: Response;
  try {
    response = await client.fetchProtectedResource(
      config,
      accessToken,
      new URL(path, `${apiUrl}/`),
      'GET',
      undefined,
      new Headers({ accept: 'application/json' }),
      { DPoP: dpop },
    );
  } catch (error) {
    if (error instanceof client.WWWAuthenticateChallengeError) {
      const challenge = error.cause.find((c) => c.scheme === 'dpop' || c.scheme === 'bearer');
      const code = challenge?.parameters.error;
      await error.response.body?.cancel();
      throw new ApiError(error.status, code, `the photos API answered ${error.status}${code ? ` (${code})` : ''}`);
    }
    throw error;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new ApiError(response.status, undefined, `the photos API answered ${response.status}`);
  }
  return (await response.json()) as T;
}

const SAFE_IMAGE = /^data:image\/(?:svg\+xml|png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}$/;

/** Only base64 data: images are shown (no remote fetches, nothing that could run script). */
export function safeThumbnail(value: unknown): string | undefined {
  return typeof value === 'string' && value.length <= 100_000 && SAFE_IMAGE.test(value) ? value : undefined;
}
