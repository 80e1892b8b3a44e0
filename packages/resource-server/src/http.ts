// RFC 8414 §3.2 and RFC 7662 §2.2 (JSON responses from the authorization server). One small helper for
// every call this library makes to the authorization server: bounded time, bounded size, no redirects.

import { readTextBounded } from './read-bounded.js';

/** Largest JSON document accepted from the authorization server. */
const MAX_RESPONSE_BYTES = 512 * 1024;

export interface JsonResponse {
  status: number;
  /** The parsed JSON object, or undefined when the status is not 200. */
  body: Record<string, unknown> | undefined;
}

export interface HttpSettings {
  fetch: typeof fetch | undefined;
  timeoutMs: number;
}

/**
 * Sends one request and parses a 200 response as a JSON object. Redirects are not followed. Throws on
 * network failure, timeout, a body over 512 KiB, or a 200 whose body is not a JSON object.
 */
export async function fetchJson(
  url: URL,
  init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string },
  settings: HttpSettings,
): Promise<JsonResponse> {
  const fetchImpl = settings.fetch ?? fetch;
  const response = await fetchImpl(url.href, {
    method: init.method ?? 'GET',
    headers: { accept: 'application/json', ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
    redirect: 'manual',
    signal: AbortSignal.timeout(settings.timeoutMs),
  });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, body: undefined };
  }
  const text = await readTextBounded(response.body, MAX_RESPONSE_BYTES);
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${url.href} did not answer with a JSON object`);
  }
  return { status: 200, body: parsed as Record<string, unknown> };
}
