import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@rayvault/shared';

/** Express's "trust proxy": off, a hop count, or the proxies' addresses/CIDRs (and proxy-addr's named ranges). */
export type TrustProxy = false | number | string[];

/** proxy-addr's named ranges: each a bounded set of addresses an operator chose on purpose. */
const NAMED = ['loopback', 'linklocal', 'uniquelocal'] as const;
const MAX_HOPS = 10;
/**
 * Shorter prefixes are "much of the internet", not a set of proxies (10/8 and fc00::/7, the private ranges, still
 * pass).
 */
const MIN_PREFIX = { 4: 8, 6: 7 } as const;
const HOW =
  'set the number of proxies in front of the API (e.g. 1) or their addresses/CIDRs (e.g. 10.0.0.5,10.1.0.0/24 or loopback)';

function entryProblem(entry: string): string | undefined {
  if ((NAMED as readonly string[]).includes(entry)) return undefined;
  const [addr, bits, extra] = entry.split('/');
  const family = isIP(addr) as 0 | 4 | 6;
  if (!family || extra !== undefined || (bits !== undefined && !/^\d{1,3}$/.test(bits))) {
    return `"${entry}" is not a hop count, an IP, a CIDR or one of ${NAMED.join(', ')}`;
  }
  if (bits === undefined) return undefined;
  const prefix = Number(bits);
  if (prefix > (family === 4 ? 32 : 128)) return `"${entry}": the prefix is longer than an IPv${family} address`;
  if (prefix < MIN_PREFIX[family])
    return `"${entry}" trusts nearly every address, so any client could claim any IP: ${HOW}`;
  if (family === 6 && prefix <= 96) {
    // An IPv4 peer is matched as ::ffff:a.b.c.d, so a wide IPv6 range can trust every IPv4 client.
    const range = new BlockList();
    range.addSubnet(addr, prefix, 'ipv6');
    if (range.check('::ffff:0.0.0.0', 'ipv6')) return `"${entry}" contains every IPv4 address (::ffff:0:0/96): ${HOW}`;
  }
  return undefined;
}

/** Why OPS_TRUST_PROXY cannot be used, or undefined when it can. */
export function trustProxyProblem(text: string | undefined): string | undefined {
  const v = text?.trim() ?? '';
  if (v === '' || v === 'false') return undefined;
  if (v === 'true')
    return `"true" believes X-Forwarded-For from anyone, so any client could claim an allowlisted address: ${HOW}`;
  if (/^\d+$/.test(v))
    return Number(v) > MAX_HOPS
      ? `a hop count of ${v} is more proxies than any deployment has (at most ${MAX_HOPS}): ${HOW}`
      : undefined;
  const entries = v.split(',').map((e) => e.trim());
  if (entries.some((e) => e === '')) return `an empty entry in "${v}": ${HOW}`;
  for (const e of entries) {
    const problem = entryProblem(e);
    if (problem) return problem;
  }
  return undefined;
}

/** The express value for a checked OPS_TRUST_PROXY (see trustProxyProblem); throws on one that was not checked. */
export function parseTrustProxy(text: string | undefined): TrustProxy {
  const problem = trustProxyProblem(text);
  if (problem) throw new ConfigError(`OPS_TRUST_PROXY: ${problem}`);
  const v = text?.trim() ?? '';
  if (v === '' || v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v) || false;
  return v.split(',').map((e) => e.trim());
}
