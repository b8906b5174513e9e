import { BlockList } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 or an IPv4-mapped loopback address (::ffff:127.0.0.1). */
export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  try {
    return v4.includes(':') ? LOOPBACK.check(v4, 'ipv6') : LOOPBACK.check(v4, 'ipv4');
  } catch {
    return false; // not an address at all
  }
}
