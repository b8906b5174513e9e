import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { FetchAllow } from './address-policy';
import {
  BadResponseError,
  DestinationRefusedError,
  FetchNetworkError,
  FetchTimeoutError,
  isDestinationRefused,
} from './fetch-errors';
import { readBody } from './read-body';
import { resolveDestination, type Destination } from './resolve-destination';

export type GuardedFetchOptions = {
  /** Private destinations the operator permits (RAYVAULT_FETCH_ALLOW, parsed with `parseFetchAllow`). */
  allow: FetchAllow;
  /** Decoded body cap (RAYVAULT_FETCH_MAX_BYTES); past it the read stops with BodyTooLargeError. */
  maxBytes: number;
  /** Deadline of the whole fetch: DNS, every redirect hop, headers and body. */
  timeoutMs: number;
  /** Redirects followed, each hop checked like the first URL (default 5). */
  maxRedirects?: number;
  /** Aborts the fetch; its reason is rethrown as is. */
  signal?: AbortSignal;
  /** Extra request headers, sent to the first URL's origin only. */
  headers?: Record<string, string>;
  /** The Accept header (default `*\/*`). */
  accept?: string;
};

export type GuardedResponse = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  url: string;
};

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * GET a URL that came from outside (a product source, an image) without
 * letting it reach the machine's own network: every hop's host is resolved
 * once, each address checked by `decideAddress`, and the socket opened to
 * that very address (Host and TLS SNI carry the name). Redirects are
 * followed here, never by the HTTP client. Throws DestinationRefusedError,
 * BodyTooLargeError, BadResponseError (permanent), FetchTimeoutError and
 * FetchNetworkError (transient); any HTTP status is returned to the caller.
 */
export async function guardedFetch(url: string, opts: GuardedFetchOptions): Promise<GuardedResponse> {
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const origin = safeOrigin(url);
  let href = url;
  try {
    for (let hop = 0; ; hop++) {
      const dest = await resolveDestination(href, opts.allow, signal).catch((err: unknown) => {
        // A refused redirect hop is reported against the URL the caller asked for, naming the hop.
        throw hop > 0 && isDestinationRefused(err)
          ? new DestinationRefusedError(url, `redirect to ${err.url}: ${err.reason}`, { cause: err })
          : err;
      });
      const headers = dest.url.origin === origin ? opts.headers : undefined;
      const res = await request(dest, headers, opts.accept, signal);
      const location = res.headers.location;
      if (REDIRECTS.has(res.statusCode ?? 0) && location) {
        res.destroy();
        if (hop >= (opts.maxRedirects ?? 5))
          throw new BadResponseError(`${url}: more than ${opts.maxRedirects ?? 5} redirects (last to ${location})`);
        href = new URL(location, dest.url).href;
        continue;
      }
      const body = await readBody(res, dest.url.href, opts.maxBytes, signal);
      return { status: res.statusCode ?? 0, headers: res.headers, body, url: dest.url.href };
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (deadline.aborted) throw new FetchTimeoutError(url, opts.timeoutMs, { cause: err });
    throw err;
  }
}

/** One GET on a socket to the checked address. */
function request(
  dest: Destination,
  headers: Record<string, string> | undefined,
  accept: string | undefined,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const secure = dest.url.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request({
      host: dest.ip,
      port: dest.port,
      path: `${dest.url.pathname}${dest.url.search}`,
      method: 'GET',
      agent: false,
      signal,
      // The certificate is checked against the name, not the address we dialled.
      ...(secure && !net.isIP(dest.hostname) ? { servername: dest.hostname } : {}),
      headers: {
        'user-agent': 'RayVault/0.1',
        accept: accept ?? '*/*',
        'accept-encoding': 'gzip, deflate, br',
        ...headers,
        host: dest.url.host,
      },
    });
    req.on('response', resolve);
    req.on('error', (err) =>
      reject(
        signal.aborted
          ? err
          : new FetchNetworkError(dest.url.href, (err as NodeJS.ErrnoException).code ?? err.message, { cause: err }),
      ),
    );
    req.end();
  });
}

function safeOrigin(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
