// Which IP addresses the server may connect to when it fetches a URL that a client or a document
// names. IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its updates): RFC 1122
// ("this network"), RFC 1918 (private), RFC 6598 (CGNAT), RFC 3927 (IPv4 link-local), RFC 5737 and
// RFC 3849 / RFC 9637 (documentation), RFC 2544 and RFC 5180 (benchmarking), RFC 4193 (unique local),
// RFC 4291 (IPv6 loopback, link-local, IPv4-mapped, multicast), RFC 6052 (NAT64), RFC 3056 (6to4).
//
// IPv4 is a denylist of the special-purpose blocks. IPv6 is an allowlist: only global unicast
// (2000::/3) minus its special blocks is public; forms that embed an IPv4 address (IPv4-mapped,
// IPv4-translated, NAT64, 6to4) are judged by the IPv4 address they carry.
import { isIPv4, isIPv6 } from 'node:net';

export type AddressRange =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'unique-local'
  | 'site-local'
  | 'multicast'
  | 'broadcast'
  | 'benchmarking'
  | 'documentation'
  | 'cloud-metadata'
  | 'reserved'
  | 'invalid';

export interface AddressClass {
  /** The address family of the literal that was classified. */
  family: 4 | 6 | 0;
  /** The special-purpose block it falls in, `public` when none does. */
  range: AddressRange;
  /** For IPv6 forms that embed an IPv4 address: that address (it decided the range). */
  embeddedIPv4?: string;
}

type V4Rule = readonly [base: string, prefix: number, range: AddressRange];

// First match wins: the metadata endpoints come before the blocks that contain them.
const V4_RULES: readonly V4Rule[] = [
  ['169.254.169.254', 32, 'cloud-metadata'], // AWS, GCP, Azure, OCI, DigitalOcean …
  ['100.100.100.200', 32, 'cloud-metadata'], // Alibaba Cloud
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['255.255.255.255', 32, 'broadcast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** A dotted-quad IPv4 literal as an unsigned 32-bit number (the caller checked `isIPv4`). */
function v4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function numberToV4(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

const V4_TABLE = V4_RULES.map(([base, prefix, range]) => {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { net: (v4ToNumber(base) & mask) >>> 0, mask, range };
});

function classifyV4Number(n: number): AddressRange {
  for (const rule of V4_TABLE) if ((n & rule.mask) >>> 0 === rule.net) return rule.range;
  return 'public';
}

/** An IPv6 literal (no brackets; a zone such as `%eth0` is dropped) as a 128-bit number. */
function v6ToBigInt(input: string): bigint {
  let address = input;
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  // A trailing dotted quad stands for the last two groups.
  const lastColon = address.lastIndexOf(':');
  const tail = address.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToNumber(tail);
    address = `${address.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = address.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - headGroups.length - restGroups.length;
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...restGroups];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function v6(base: string): bigint {
  return v6ToBigInt(base);
}

type V6Rule = { net: bigint; mask: bigint; range: AddressRange | 'embedded-low32' | 'embedded-6to4' };

function v6Rule(base: string, prefix: number, range: V6Rule['range']): V6Rule {
  const all = (1n << 128n) - 1n;
  const mask = prefix === 0 ? 0n : (all << BigInt(128 - prefix)) & all;
  return { net: v6(base) & mask, mask, range };
}

// First match wins. Anything that matches no rule and is outside 2000::/3 is 'reserved'.
const V6_TABLE: readonly V6Rule[] = [
  v6Rule('::', 128, 'unspecified'),
  v6Rule('::1', 128, 'loopback'),
  v6Rule('::ffff:0:0', 96, 'embedded-low32'), // IPv4-mapped (RFC 4291 §2.5.5.2)
  v6Rule('::ffff:0:0:0', 96, 'embedded-low32'), // IPv4-translated (RFC 2765)
  v6Rule('64:ff9b::', 96, 'embedded-low32'), // NAT64 well-known prefix (RFC 6052)
  v6Rule('64:ff9b:1::', 48, 'reserved'), // NAT64 local use (RFC 8215)
  v6Rule('::', 96, 'reserved'), // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1)
  v6Rule('100::', 64, 'reserved'), // discard-only (RFC 6666)
  v6Rule('2001:db8::', 32, 'documentation'),
  v6Rule('2001:2::', 48, 'benchmarking'),
  v6Rule('2001::', 23, 'reserved'), // IETF protocol assignments: Teredo, ORCHID, …
  v6Rule('2002::', 16, 'embedded-6to4'), // 6to4 (RFC 3056): the IPv4 address is bits 16–47
  v6Rule('3fff::', 20, 'documentation'), // RFC 9637
  v6Rule('5f00::', 16, 'reserved'), // SRv6 SIDs (RFC 9602)
  v6Rule('fd00:ec2::254', 128, 'cloud-metadata'), // AWS instance metadata over IPv6
  v6Rule('fc00::', 7, 'unique-local'),
  v6Rule('fe80::', 10, 'link-local'),
  v6Rule('fec0::', 10, 'site-local'), // deprecated (RFC 3879)
  v6Rule('ff00::', 8, 'multicast'),
  v6Rule('2000::', 3, 'public'),
];

function classifyV6(address: string): AddressClass {
  const n = v6ToBigInt(address);
  for (const rule of V6_TABLE) {
    if ((n & rule.mask) !== rule.net) continue;
    if (rule.range === 'embedded-low32' || rule.range === 'embedded-6to4') {
      const v4 = rule.range === 'embedded-low32' ? Number(n & 0xffffffffn) : Number((n >> 80n) & 0xffffffffn);
      return { family: 6, range: classifyV4Number(v4), embeddedIPv4: numberToV4(v4) };
    }
    return { family: 6, range: rule.range };
  }
  return { family: 6, range: 'reserved' };
}

/**
 * Classifies an IP address literal: an IPv4 dotted quad, or IPv6 with or without brackets (as in
 * `URL.hostname`). Anything that is not an IP literal is `invalid`.
 */
export function classifyAddress(literal: string): AddressClass {
  const address = literal.startsWith('[') && literal.endsWith(']') ? literal.slice(1, -1) : literal;
  if (isIPv4(address)) return { family: 4, range: classifyV4Number(v4ToNumber(address)) };
  if (isIPv6(address)) return classifyV6(address);
  return { family: 0, range: 'invalid' };
}

/** True only for an address on the public internet (see the tables above). */
export function isPublicAddress(literal: string): boolean {
  return classifyAddress(literal).range === 'public';
}
