import ipaddr from 'ipaddr.js';
import { ConfigError } from '../errors/errors';

type Addr = ipaddr.IPv4 | ipaddr.IPv6;
type AllowEntry = { text: string; port?: number } & (
  { kind: 'cidr'; range: [Addr, number] } | { kind: 'host'; host: string }
);

/** Destinations an operator lets the fetcher reach although they are private (RAYVAULT_FETCH_ALLOW, parsed). */
export type FetchAllow = { readonly entries: readonly AllowEntry[] };

export type AddressDecision = { ok: true } | { ok: false; reason: string };

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * Parses RAYVAULT_FETCH_ALLOW: comma-separated host names (`wiki.corp`), IP
 * addresses (`127.0.0.1`, `::1`), `host:port` pairs (`127.0.0.1:8080`,
 * `[::1]:8080`) and CIDRs (`10.0.0.0/8`). Every bad entry is listed in one
 * ConfigError. IPv4 must be written as four decimal parts, so the list means
 * what it looks like.
 */
export function parseFetchAllow(csv: string | undefined): FetchAllow {
  const entries: AllowEntry[] = [];
  const problems: string[] = [];
  for (const text of (csv ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const entry = parseEntry(text);
    if (typeof entry === 'string') problems.push(`"${text}" ${entry}`);
    else entries.push(entry);
  }
  if (problems.length)
    throw new ConfigError(
      `RAYVAULT_FETCH_ALLOW: ${problems.join('; ')} (expected hosts, host:port pairs, IPs or CIDRs, comma-separated)`,
    );
  return { entries };
}

function parseEntry(text: string): AllowEntry | string {
  const lower = text.toLowerCase();
  if (lower.includes('/')) {
    if (
      !ipaddr.isValidCIDR(lower) ||
      (lower.includes('.') && !lower.includes(':') && !ipaddr.IPv4.isValidCIDRFourPartDecimal(lower))
    )
      return 'is not a valid CIDR';
    return { text, kind: 'cidr', range: unmapRange(ipaddr.parseCIDR(lower)) };
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(lower);
  const [host, portText] = bracketed
    ? [bracketed[1], bracketed[2]]
    : ipaddr.IPv6.isValid(lower)
      ? [lower, undefined]
      : splitPort(lower);
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) return 'has a bad port (1-65535)';
  if (ipaddr.IPv6.isValid(host) || ipaddr.IPv4.isValidFourPartDecimal(host)) {
    const addr = unmap(ipaddr.parse(host));
    return { text, port, kind: 'cidr', range: [addr, addr.kind() === 'ipv4' ? 32 : 128] };
  }
  if (ipaddr.IPv4.isValid(host))
    return 'is an IPv4 address in a short, octal or hex spelling: write it as four decimal parts';
  const name = host.replace(/\.$/, '');
  return HOST_NAME.test(name) ? { text, port, kind: 'host', host: name } : 'is not a host name, IP address or CIDR';
}

function splitPort(s: string): [string, string | undefined] {
  const m = /^(.*):(\d*)$/.exec(s);
  return m ? [m[1], m[2]] : [s, undefined];
}

/** IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is the IPv4 address it carries. */
function unmap(addr: Addr): Addr {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? (addr as ipaddr.IPv6).toIPv4Address()
    : addr;
}
function unmapRange([addr, bits]: [Addr, number]): [Addr, number] {
  return addr.kind() === 'ipv6' && bits >= 96 && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? [unmap(addr), bits - 96]
    : [addr, bits];
}

/**
 * Whether the fetcher may connect to `ip` (the address the host resolved to)
 * on `port` for URL host `host`. Public unicast addresses pass; every
 * special-purpose range is refused unless RAYVAULT_FETCH_ALLOW names the
 * address (or its CIDR) or the host, optionally with the port. Any spelling
 * is read (`127.1`, `2130706433`, `0x7f000001`, `0177.0.0.1`, `::ffff:7f00:1`)
 * and decided as the address it means.
 */
export function decideAddress(ip: string, port: number, host: string, allow: FetchAllow): AddressDecision {
  let addr: Addr;
  try {
    addr = unmap(ipaddr.parse(ip.replace(/^\[|\]$/g, '')));
  } catch {
    return { ok: false, reason: `${ip} is not an IP address` };
  }
  const name = host
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (isAllowed(allow, addr, port, name)) return { ok: true };
  const what = specialRange(addr);
  if (!what) return { ok: true };
  const shown = addr.toString();
  const subject =
    name && name !== shown && name !== ip ? `${host} resolves to ${shown}, ${what}` : `${shown} is ${what}`;
  return { ok: false, reason: `${subject}; set RAYVAULT_FETCH_ALLOW to permit it` };
}

function isAllowed(allow: FetchAllow, addr: Addr, port: number, name: string): boolean {
  return allow.entries.some(
    (e) =>
      (e.port === undefined || e.port === port) &&
      (e.kind === 'host' ? e.host === name : e.range[0].kind() === addr.kind() && addr.match(e.range)),
  );
}

const IPV4_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  linkLocal: 'a link-local address',
  carrierGradeNat: 'a carrier-grade NAT (RFC 6598) address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified (0.0.0.0/8) address',
  broadcast: 'the broadcast address',
};
const IPV6_WORDS: Record<string, string> = {
  loopback: 'a loopback address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local (fc00::/7) address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  rfc6052: 'a NAT64 (64:ff9b::/96) address',
  rfc6145: 'an IPv4-translated address',
};

/** How a non-public address is described, or null for a public unicast one. Anything not plainly public is refused. */
function specialRange(addr: Addr): string | null {
  const range = addr.range();
  if (addr.kind() === 'ipv4') {
    if (range === 'unicast') return null;
    if (addr.toString() === '169.254.169.254') return 'a link-local address (the cloud metadata service)';
    return IPV4_WORDS[range] ?? `a special-purpose (${range}) address`;
  }
  if (range === 'unicast') {
    // ::a.b.c.d (IPv4-compatible, deprecated) is not a routable public address on any network we serve.
    const parts = (addr as ipaddr.IPv6).parts;
    return parts.slice(0, 6).every((p) => p === 0) ? 'an IPv4-compatible (::/96) address' : null;
  }
  return IPV6_WORDS[range] ?? `a special-purpose (${range}) address`;
}
