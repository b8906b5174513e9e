import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { decideAddress, type FetchAllow } from './address-policy';
import { DestinationRefusedError, FetchNetworkError } from './fetch-errors';

/** Where one hop connects: the checked address, and the names the request must carry. */
export type Destination = { url: URL; ip: string; port: number; hostname: string };

/**
 * Resolves a URL's host once and checks every address it resolves to; the
 * caller connects to the returned `ip` and nothing else, so a second DNS
 * answer (rebinding) never gets a say. A host with any refused address is
 * refused as a whole: a name that mixes public and private answers is
 * suspect. `new URL` has already turned `127.1`, `2130706433` and
 * `0x7f000001` into `127.0.0.1`; `decideAddress` reads odd spellings too.
 */
export async function resolveDestination(href: string, allow: FetchAllow, signal: AbortSignal): Promise<Destination> {
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    throw new DestinationRefusedError(href, 'not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DestinationRefusedError(href, `only http and https URLs are fetched, not ${url.protocol}`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const addresses = net.isIP(hostname) ? [hostname] : await resolveAll(href, hostname, signal);
  for (const ip of addresses) {
    const decision = decideAddress(ip, port, hostname, allow);
    if (!decision.ok) throw new DestinationRefusedError(url.href, decision.reason);
  }
  return { url, ip: addresses[0], port, hostname };
}

async function resolveAll(href: string, hostname: string, signal: AbortSignal): Promise<string[]> {
  signal.throwIfAborted();
  // dns.lookup cannot be cancelled: race it against the deadline instead.
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener('abort', (onAbort = () => reject(signal.reason)), { once: true }),
  );
  try {
    const found = await Promise.race([lookup(hostname, { all: true, verbatim: true }), aborted]);
    if (!found.length) throw Object.assign(new Error('no address'), { code: 'ENOTFOUND' });
    return found.map((a) => a.address);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new FetchNetworkError(href, (err as NodeJS.ErrnoException).code ?? (err as Error).message, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
