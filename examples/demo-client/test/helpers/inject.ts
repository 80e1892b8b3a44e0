import type { LightMyRequestResponse } from 'fastify';

/** The value of a cookie set by a response, or undefined (also when it is being cleared). */
export function setCookieValue(response: LightMyRequestResponse, name: string): string | undefined {
  const cookie = response.cookies.find((c) => c.name === name);
  if (!cookie || cookie.value === '') return undefined;
  return cookie.value;
}

export function setCookieHeader(response: LightMyRequestResponse, name: string): string | undefined {
  const header = response.headers['set-cookie'];
  const all = Array.isArray(header) ? header : header ? [header] : [];
  return all.find((h) => h.startsWith(`${name}=`));
}
