import { BlockList, isIP } from 'node:net';
import { ConfigError } from '@rayvault/shared';

/** HEALTH_ALLOWLIST: IPs or CIDRs, as CSV or a JSON array. Returns a matcher for client addresses. */
export function parseAllowlist(value: string | undefined): (ip: string | undefined) => boolean {
  const text = value?.trim();
  if (!text) return () => false;
  let entries: unknown;
  try {
    entries = text.startsWith('[') ? JSON.parse(text) : text.split(',');
  } catch {
    throw new ConfigError('HEALTH_ALLOWLIST: not a valid JSON array (use CSV or ["10.0.0.0/8", "127.0.0.1"])');
  }
  if (!Array.isArray(entries)) throw new ConfigError('HEALTH_ALLOWLIST: expected a CSV list or a JSON array');
  const list = new BlockList();
  for (const raw of entries) {
    const entry = String(raw).trim();
    if (!entry) continue;
    const [addr, bits] = entry.split('/');
    const family = isIP(addr);
    if (!family || (bits !== undefined && !/^\d+$/.test(bits)))
      throw new ConfigError(`HEALTH_ALLOWLIST: "${entry}" is not an IP or CIDR`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return (ip) => {
    if (!ip) return false;
    const v4 = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
    const family = isIP(v4);
    return family !== 0 && list.check(v4, family === 4 ? 'ipv4' : 'ipv6');
  };
}
