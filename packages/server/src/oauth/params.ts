// RFC 6749 §3.1, §3.2: parameters sent without a value are treated as omitted; request and response
// parameters MUST NOT be included more than once. application/x-www-form-urlencoded per WHATWG URL
// (`+` is a space), but strict: malformed percent-encoding or UTF-8 is an error, not a replacement char.
import { invalidRequest } from './errors.js';

/** Parsed parameters: every name maps to all the non-empty values it was sent with, in order. */
export type Params = ReadonlyMap<string, readonly string[]>;

/** Parameters that may legitimately repeat (RFC 8707 `resource`, RFC 8693 §2.1 `audience`). */
const MAY_REPEAT = new Set(['resource', 'audience']);

export class ParamsError extends Error {}

function decode(component: string): string {
  // decodeURIComponent throws URIError on a bad escape or on invalid UTF-8 (e.g. %C3%28).
  return decodeURIComponent(component.replace(/\+/g, ' '));
}

/** Strict parser for a query string or form body. Throws ParamsError on bad encoding. */
export function parseUrlEncoded(input: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (input.length === 0) return out;
  for (const pair of input.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decode(eq === -1 ? pair : pair.slice(0, eq));
      value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    } catch {
      throw new ParamsError('malformed percent-encoding or UTF-8 in the request parameters');
    }
    if (name.length === 0 || value.length === 0) continue; // RFC 6749 §3.1: empty means omitted
    const list = out.get(name);
    if (list) list.push(value);
    else out.set(name, [value]);
  }
  return out;
}

/** The raw query string of a request URL ('' when there is none). */
export function queryOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q + 1);
}

/** Names sent more than once (excluding those that may repeat). */
export function repeatedNames(params: Params): string[] {
  const names: string[] = [];
  for (const [name, values] of params) if (values.length > 1 && !MAY_REPEAT.has(name)) names.push(name);
  return names;
}

export function rejectRepeated(params: Params): void {
  const repeated = repeatedNames(params);
  if (repeated.length > 0) {
    throw invalidRequest(`parameters must not be provided more than once: ${repeated.join(', ')}`);
  }
}

/** One value, or undefined; throws invalid_request when repeated. */
export function single(params: Params, name: string): string | undefined {
  const values = params.get(name);
  if (!values) return undefined;
  if (values.length > 1) throw invalidRequest(`${name} must not be provided more than once`);
  return values[0];
}

export function required(params: Params, name: string): string {
  const value = single(params, name);
  if (value === undefined) throw invalidRequest(`missing required parameter: ${name}`);
  return value;
}

/** Only the named parameters (RFC 6749 §3.2: a handler ignores the ones it does not define). */
export function pick(params: Params, names: readonly string[]): Params {
  const out = new Map<string, readonly string[]>();
  for (const name of names) {
    const values = params.get(name);
    if (values) out.set(name, values);
  }
  return out;
}
